"""The problem of a dynamics run: the generator, its moments, the initial student and the teacher
(docs/theory.md §7.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._run import RunContext
from .._seeds import child_seed
from ..generators import SingleLayerGenerator
from ..moments import exact_moments, monte_carlo_moments
from ._checks import _vector, _weights
from ._options import DynamicsOptions
from ._problem_file import random_generator

__all__ = ["SGDProblem", "build_problem"]


@dataclass(frozen=True)
class SGDProblem:
    """The generator, its moments (E x, Ω, Φ), the initial student and the teacher weights and
    T = W̃W̃ᵀ/D of a dynamics run (docs/theory.md §7.1)."""

    generator: object
    moments: object
    W0: np.ndarray
    v0: np.ndarray
    Wt: np.ndarray
    vt: np.ndarray
    T: np.ndarray

    @property
    def N(self) -> int:
        return self.generator.N

    @property
    def D(self) -> int:
        return self.generator.D


def build_problem(run: RunContext, opts: DynamicsOptions, generator, moments, gen_kw, weights) -> SGDProblem:
    """The generator (a random one from ``gen_kw`` when None), its moments and the weights, checked.

    ``weights``: the given (W0, v0, W_teacher, v_teacher), None for those to draw.  The random
    generator and Monte Carlo moments come from ``run.seeds.problem``, the weights from
    ``run.seeds.weights`` (:data:`getheory._seeds.DYNAMICS`); the seconds so far go to
    ``run.timings["moments"]``.
    """
    rng = np.random.default_rng(run.seeds.problem.generate_state(2))
    if generator is None:
        generator, known = random_generator(**gen_kw, seed=child_seed(rng))
        moments = known if moments is None else moments
    N, D = generator.N, generator.D
    moments = _moments(run, opts, generator, moments, rng)
    run.timings.record("moments", run.elapsed())
    Omega, Phi = moments.Omega, moments.Phi
    if Omega.shape != (N, N) or Phi.shape != (N, D):
        raise ValueError(f"moments have Ω {Omega.shape}, Φ {Phi.shape}; the generator has N={N}, D={D}")
    W0, v0, Wt, vt = _initial_weights(run, opts, (N, D), weights)
    return SGDProblem(generator, moments, W0, v0, Wt, vt, Wt @ Wt.T / D)


def _moments(run: RunContext, opts: DynamicsOptions, generator, moments, rng):
    """The given moments, exact ones for a single-layer generator, or Monte Carlo ones (docs/theory.md §2)."""
    if moments is not None:
        return moments
    if isinstance(generator, SingleLayerGenerator):
        return exact_moments(generator)
    ns = opts.moment_samples or max(100_000, 50 * generator.N)
    run.status(f"getheory dynamics: Monte Carlo moments with {ns} samples ...")
    run.note(
        f"(E x, Ω, Φ) are Monte Carlo estimates from {ns} samples (N/n = {generator.N / ns:.3g}); the sampling "
        "error of Ω biases tr(Ω²)/N, which enters the η² term, by about that fraction"
    )
    return monte_carlo_moments(generator, ns, seed=child_seed(rng))


def _initial_weights(run: RunContext, opts: DynamicsOptions, sizes, weights):
    """W0 (K, N), v0 (K,), W̃ (M, D), ṽ (M,): given ones checked, the others drawn (docs/theory.md §7.1).

    ``sizes``: (N, D); ``weights``: the given (W0, v0, W_teacher, v_teacher), None for those to draw.
    """
    (N, D), (W0, v0, W_teacher, v_teacher) = sizes, weights
    wr = np.random.default_rng(run.seeds.weights)
    W0 = _weights(W0, "W0", N) if W0 is not None else wr.standard_normal((opts.K, N))
    v0 = _vector(v0, "v0", W0.shape[0]) if v0 is not None else wr.standard_normal(W0.shape[0])
    Wt = _weights(W_teacher, "W_teacher", D) if W_teacher is not None else wr.standard_normal((opts.M, D))
    vt = _vector(v_teacher, "v_teacher", Wt.shape[0]) if v_teacher is not None else np.ones(Wt.shape[0])
    return W0, v0, Wt, vt
