"""Step 1: the Gaussian match P̂ of (λ, ν), and the moments (E x, Ω, Φ) where they are needed (docs/theory.md §2).

Single-layer generators: the closed forms, and P̂ from them.  Other generators: P̂ estimated
from the fields themselves on the check's own ``moments`` stream (O((K+M)²) work a row on top
of sampling, never an N × N matrix), so P̂ is not fitted to the samples it is compared with;
the Monte Carlo Ω, Φ are formed only for the §6 condition that reads them, from their own
``omega_samples`` rows (an independent part of the same stream), or not at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._run import RunContext
from .._seeds import shard_seed
from ..distances import MomentNoise
from ..fields import LatentDraw
from ..moments import (
    GaussianMatch,
    Moments,
    exact_moments,
    gaussian_match,
    monte_carlo_match_in,
    monte_carlo_moments_in,
)
from ._options import CheckOptions
from ._problem import CheckProblem

__all__ = ["MomentsStep", "compute_moments", "moment_samples", "omega_samples"]

#: Monte Carlo moments: the batch-means groups the floor replicates re-estimate their match with
MOMENT_GROUPS = 20

#: the stage a spent time budget names while Ω, Φ are estimated for the §6 condition
OMEGA_STAGE = "Monte Carlo Ω, Φ (the linearised condition)"

#: how a refused Monte Carlo Ω, Φ is fixed
OMEGA_FIX = ", or lower --omega-samples (omega_samples=), 0 to skip the linearised condition"


@dataclass(frozen=True, eq=False)
class MomentsStep:
    """The Gaussian match P̂ = N(m, Σ), how it was obtained, and the moments.

    Attributes
    ----------
    moments : Moments or None
        (E x, Ω, Φ): the closed forms of a single-layer generator; for any other generator the
        Monte Carlo estimate from ``omega_samples`` rows that the §6 linearised condition reads
        (``moments.n_samples``), or ``None`` when it was not formed (``omega_samples = 0``).
    match : GaussianMatch
    noise : MomentNoise or None
        For a Monte Carlo match, what the floor replicates re-draw
        (:class:`getheory.distances.MomentNoise`); ``None`` when exact.
    source : str
        How the match and the moments were obtained, in words (the report's moments line).
    omega_seconds : float or None
        Seconds spent forming the Monte Carlo Ω, Φ (``None`` when none were formed).
    omega_halves : (Moments, Moments) or None
        The Monte Carlo (E x, Ω, Φ) of two independent halves of the ``omega_samples`` rows, which
        ``moments`` pools; their difference gives the noise of the condition's statistic.
    """

    moments: Moments | None
    match: GaussianMatch
    noise: MomentNoise | None
    source: str = ""
    omega_seconds: float | None = None
    omega_halves: tuple | None = None


def moment_samples(options: CheckOptions) -> int:
    """Monte Carlo rows of the match of a non-single-layer generator: ``options.moment_samples``,
    else 10^5 with ``samples="auto"``, else max(samples, 20000)."""
    return options.moment_samples or (100_000 if options.auto else max(options.samples, 20_000))


def omega_samples(options: CheckOptions) -> int:
    """Monte Carlo rows of Ω, Φ for the linearised condition (0: not formed): ``options.omega_samples``."""
    return options.omega_samples


def compute_moments(problem: CheckProblem, options: CheckOptions, run: RunContext) -> MomentsStep:
    """The match of the problem's fields (§2) and the moments, on the run's backend and, for a generator
    without closed forms, its ``moments`` seed stream, its dtype and under its deadline."""
    gen = problem.generator
    if gen.exact_moments:
        moments = exact_moments(gen, backend=run.backend)
        return MomentsStep(moments, gaussian_match(moments, problem.W_student, problem.W_teacher), None,
                           moments.source)
    nm = moment_samples(options)
    weights = (problem.W_student, problem.W_teacher)
    # group g of the match: part g of the moments stream; Ω, Φ: part MOMENT_GROUPS, independent of them
    match = monte_carlo_match_in(run, gen, weights, LatentDraw(nm, run.seeds.moments), MOMENT_GROUPS)
    noise = MomentNoise(n_samples=nm, n_groups=MOMENT_GROUPS, K=problem.K)
    source = (f"Monte Carlo match from the fields, n={nm} in {MOMENT_GROUPS} groups (batch-means standard "
              "errors; docs/theory.md §2)")
    n_omega = omega_samples(options)
    if n_omega == 0:
        return MomentsStep(None, match, noise, source + "; Ω, Φ not formed (omega_samples = 0)")
    t0 = time.perf_counter()
    halves = _omega_halves(run, gen, n_omega)
    source += (f"; Ω, Φ for the linearised condition: Monte Carlo, n={n_omega} in {MOMENT_GROUPS} groups "
               "(two independent halves)")
    return MomentsStep(_pooled(halves, source), match, noise, source, time.perf_counter() - t0, halves)


def _omega_halves(run: RunContext, gen, n_omega: int) -> tuple:
    """Ω, Φ from two independent halves of ``n_omega`` rows, ``MOMENT_GROUPS``/2 groups each, on parts
    ``MOMENT_GROUPS`` and ``MOMENT_GROUPS`` + 1 of the moments stream (independent of the match's
    parts 0 … MOMENT_GROUPS − 1); their difference measures the noise of the condition's statistic."""
    G = MOMENT_GROUPS // 2
    out = []
    for h, n in enumerate((n_omega - n_omega // 2, n_omega // 2)):
        draw = LatentDraw(n, shard_seed(run.seeds.moments, MOMENT_GROUPS + h), stage=OMEGA_STAGE)
        out.append(monte_carlo_moments_in(run, gen, draw, G, fix=OMEGA_FIX))
    return tuple(out)


def _pooled(halves: tuple, source: str) -> Moments:
    """The two halves' (E x, Ω, Φ) pooled: their mean, with the standard errors of the mean."""
    a, b = halves
    n = a.n_samples + b.n_samples
    wa = a.n_samples / n

    def pool(x, y):
        return wa * x + (1 - wa) * y

    def pool_se(x, y):
        return np.sqrt((wa * x) ** 2 + ((1 - wa) * y) ** 2)

    return Moments(mean=pool(a.mean, b.mean), Omega=pool(a.Omega, b.Omega), Phi=pool(a.Phi, b.Phi), exact=False,
                   source=source, n_samples=n, stderr_mean=pool_se(a.stderr_mean, b.stderr_mean),
                   stderr_Omega=pool_se(a.stderr_Omega, b.stderr_Omega), stderr_Phi=pool_se(a.stderr_Phi, b.stderr_Phi))
