"""`getheory check`: test one generator against the theorem (docs/theory.md §6).

:func:`check_generator` runs, for one generator and one draw of weights, a pipeline of
small steps, each a function returning a small typed result:

1. the problem: the generator and the weights, drawn when not given (``_problem``,
   :class:`CheckProblem`, :func:`draw_weights`);
2. the Gaussian match P̂ of (λ, ν): from the exact moments of a single-layer generator,
   otherwise estimated from the fields, with the Monte Carlo Ω, Φ formed only for the §6
   condition that reads them (§2; ``_moments``, :class:`MomentsStep`);
3. with ``samples="auto"``, a pilot that plans n (§4.1; ``_plan``, :func:`plan_step`), then n
   streamed samples of (λ, ν) (§1; ``_sample``, :class:`Sampled`), in shards when
   :class:`ShardOptions` says so (§4.1, Sharded runs: ``_shards``, one shard and the
   generator's :class:`GeneratorRecipe`; ``_executors``, this process, a local pool or a Dask
   cluster);
4. every d_MS estimate of §4: plug-in with floor, excess, certified upper bound, and the
   cumulant/Edgeworth estimate (``_estimate``);
5. every bound term of §5 for single-layer generators (``_bounds``, :class:`BoundsStep`);
6. each condition of §6 with its verdict and the numbers behind it (``_conditions``,
   :class:`Condition`);
7. for single-layer generators, the leading-order cumulants without sampling beside the
   sampled ones (§4.2; ``_analytic``, :class:`AnalyticComparison`).

Its settings are one frozen :class:`CheckOptions` (``_options``); the backend, the dtype, the
time budget, the seed streams (:data:`getheory._seeds.CHECK`), the progress switch and the
shards' executor are resolved once at the entry into one :class:`getheory._run.RunContext`
(:func:`start_run` in ``_pipeline``; the executor from ``_executors``), which every step takes
whole.  It returns a :class:`CheckResult` (``_result``), data only: the table, check.md and
check.json are :mod:`getheory.reports`' (``format_check``, ``write_check_report``), and the
command line (:mod:`getheory.cli`) prints and writes them.

Private modules, re-exported here.
"""

from ._analytic import AnalyticComparison, analytic_step
from ._bounds import BoundsStep, bounds_step
from ._conditions import Condition, conditions_step, single_layer_conditions
from .._run import Timings
from ._estimate import estimate_step
from ._moments import MomentsStep, compute_moments
from ._options import OMEGA_SAMPLES, CheckOptions, ShardOptions
from ._pipeline import check_generator, start_run
from ._plan import plan_step, planned_n, planned_options
from ._problem import CheckProblem, build_problem, draw_weights
from ._result import CheckResult, CheckSteps, build_result
from ._sample import Sampled, sample_step, sharded_sample_step
from ._shards import GeneratorRecipe

__all__ = [
    "OMEGA_SAMPLES",
    "AnalyticComparison",
    "BoundsStep",
    "CheckOptions",
    "CheckProblem",
    "CheckResult",
    "CheckSteps",
    "Condition",
    "GeneratorRecipe",
    "MomentsStep",
    "Sampled",
    "ShardOptions",
    "Timings",
    "analytic_step",
    "bounds_step",
    "build_problem",
    "build_result",
    "check_generator",
    "compute_moments",
    "conditions_step",
    "draw_weights",
    "estimate_step",
    "plan_step",
    "planned_n",
    "planned_options",
    "sample_step",
    "sharded_sample_step",
    "single_layer_conditions",
    "start_run",
]
