"""Full-batch ridge regression on generator features (docs/theory.md §8).

Private modules, re-exported here:

* ``_stream``: XᵀX and Xᵀy accumulated in batches for generator and Gaussian-equivalent
  data (never an n × N array; the generator source is :class:`getheory.equivalent.GeneratorData`),
  predictors at nested sample sizes, test errors on fresh data; :class:`RidgeProblem`, what every
  data seed shares;
* ``_solve``: the ridge predictors for every λ from (XᵀX, Xᵀy) (eigh once, or Cholesky per λ);
* ``_theory``: the teacher's decomposition y = b·x̂ + noise and the deterministic equivalent;
* ``_experiment``: learning curves over α, λ and seeds (:class:`RidgeOptions`), finite-size gaps;
  :func:`ridge_curves` resolves its run context (:class:`getheory._run.RunContext`: the backend, the
  :data:`getheory._seeds.RIDGE` streams, progress, the timings and notes) once and passes it down.
"""

from ._experiment import (DEFAULT_ALPHAS, DEFAULT_LAMBDAS, FiniteSizeGap, RidgeOptions, RidgeResult, draw_problem,
                          ridge_curves, ridge_finite_size, sample_sizes)
from ._solve import SOLVERS, ridge_predictors
from ._stream import (GaussianEquivalentSource, GeneratorSource, RidgeProblem, RidgeStatistics, check_ridge_memory,
                      ridge_memory_bytes, stream_ridge, stream_test_error)
from ._theory import (TEACHERS, LabelDecomposition, RidgeSpectrum, Teacher, get_teacher, label_decomposition,
                      ridge_spectrum, ridge_theory, solve_kappa)

__all__ = [
    "DEFAULT_ALPHAS",
    "DEFAULT_LAMBDAS",
    "FiniteSizeGap",
    "RidgeOptions",
    "RidgeResult",
    "ridge_curves",
    "ridge_finite_size",
    "draw_problem",
    "sample_sizes",
    "SOLVERS",
    "ridge_predictors",
    "GaussianEquivalentSource",
    "GeneratorSource",
    "RidgeProblem",
    "RidgeStatistics",
    "check_ridge_memory",
    "ridge_memory_bytes",
    "stream_ridge",
    "stream_test_error",
    "TEACHERS",
    "LabelDecomposition",
    "RidgeSpectrum",
    "Teacher",
    "get_teacher",
    "label_decomposition",
    "ridge_spectrum",
    "ridge_theory",
    "solve_kappa",
]
