"""Step 1: the moments (E x, Ω, Φ) and the Gaussian match P̂ of (λ, ν) (docs/theory.md §2).

Exact for single-layer generators; Monte Carlo otherwise, on the check's own ``moments``
stream, so P̂ is not fitted to the samples it is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..distances import MomentNoise
from ..fields import LatentDraw
from ..moments import GaussianMatch, Moments, exact_moments, gaussian_match, monte_carlo_moments_in
from .._run import RunContext
from ._options import CheckOptions
from ._problem import CheckProblem

__all__ = ["MomentsStep", "compute_moments", "moment_samples"]

#: Monte Carlo moments: the batch-means groups the floor replicates re-estimate their match with
MOMENT_GROUPS = 20


@dataclass(frozen=True, eq=False)
class MomentsStep:
    """The moments, their Gaussian match P̂ = N(m, Σ), and, for Monte Carlo moments, the noise
    the floor replicates re-draw (:class:`getheory.distances.MomentNoise`; ``None`` when exact)."""

    moments: Moments
    match: GaussianMatch
    noise: MomentNoise | None


def moment_samples(options: CheckOptions) -> int:
    """Monte Carlo samples of the moments: ``options.moment_samples``, else 10^5 with
    ``samples="auto"``, else max(samples, 20000)."""
    return options.moment_samples or (100_000 if options.auto else max(options.samples, 20_000))


def compute_moments(problem: CheckProblem, options: CheckOptions, run: RunContext) -> MomentsStep:
    """(E x, Ω, Φ) of the problem's generator and the match of its fields (§2), on the run's backend
    and, for Monte Carlo moments, its ``moments`` seed stream, its dtype and under its deadline."""
    gen = problem.generator
    noise = None
    if gen.exact_moments:
        moments = exact_moments(gen, backend=run.backend)
    else:
        nm = moment_samples(options)
        moments = monte_carlo_moments_in(run, gen, LatentDraw(nm, run.seeds.moments), MOMENT_GROUPS,
                                         (problem.W_student, problem.W_teacher))
        noise = MomentNoise(n_samples=nm, n_groups=MOMENT_GROUPS, K=problem.K)
    return MomentsStep(moments, gaussian_match(moments, problem.W_student, problem.W_teacher), noise)
