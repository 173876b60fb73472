"""Sweeps over N and D (or δ = D/N): specification, tasks, results database and runner.

A sweep measures how fast the local fields (λ, ν) become Gaussian
(docs/theory.md §4) and how the bound terms decay (§5) over a grid of sizes.

* :class:`SweepSpec` (and :func:`load_spec` for TOML files) describes the
  grid: generator families, student/teacher weight ensembles, N and D (or δ),
  K, M, the sample size n (fixed, or planned per point by the shared planner
  :func:`getheory.plan.plan_samples`: an independent pilot, then n fixed in
  advance, within a per-point time budget and a work cap), the d_MS
  estimator's settings, the number of seeds, backend and dtype.  The whole specification is validated before any
  work starts; every error names the offending key.
* Each grid point × seed is one :class:`Task`.  :func:`run_task` runs it: it
  draws the generator and weights from seeds derived deterministically from
  (master seed, point, seed index), runs :func:`getheory.check.check_generator`
  (every d_MS estimate, every bound term) and a Monte Carlo moment check, and
  returns one JSON-ready record.
* :func:`run_sweep` runs the tasks (:class:`SweepOptions`: workers, scheduler,
  progress, task cap and order, Dask worker timeout) in a local process pool (default) or on a
  Dask cluster and writes one row per finished task into an SQLite database
  (:class:`ResultsDB`), in its own transaction.  Re-running skips finished
  tasks, so an interrupted sweep loses only the tasks in flight.
* Faults: a database or folder that cannot be written, and a scheduler
  address where no Dask scheduler answers (within :data:`CONNECT_TIMEOUT_S`),
  are refused before anything is created or computed; a Dask sweep whose
  scheduler has no worker for :data:`WORKER_TIMEOUT_S` seconds, or whose
  scheduler is lost, stops with a :class:`SweepError` and keeps its finished
  rows; Dask keys carry a hash of the whole task (:func:`task_key`), so sweeps
  sharing a scheduler never share results; pool workers die with the sweep
  process, even under ``kill -9``.

The TOML format (every key optional unless marked)::

    name = "example"                 # required
    description = "..."
    seed = 0                         # master seed

    [grid]
    N = [16, 32, 64]                 # required
    delta = [0.5]                    # D = round(δ N) ... or D = [8, 16] (product grid)
    K = 1
    M = 1
    seeds = 3                        # independent draws of A, W, W̃ per point

    [[generator]]                    # one table per family; at least one
    activation = "sign"              # built-in name ...
    depth = 1                        # hidden widths N for depth > 1 (DeepGenerator)
    # factory = "module:function"    # ... or a user factory f(N, D, seed) -> Generator or callable c -> x
    name = "sign"                    # label (default: activation, or the factory)

    [weights]
    student = ["gaussian", "abs_gaussian"]   # or "module:function" f(K, N, rng) -> (K, N)
    teacher = "gaussian"                     # or "module:function" f(M, D, rng) -> (M, D)

    [samples]
    mode = "plan"                    # "fixed" (use n), "plan", or "analytic" (no sampling: §4.2)
    n = 100000                       # fixed mode (>= 1024)
    time_budget = 60                 # plan mode: seconds per point for pilot, sampling and estimation
                                     # (default getheory.plan.DEFAULT_TIME_BUDGET, as for getheory check)
    min_pilot = 20000                # plan mode: fewest pilot rows (PlanOptions.min_pilot, >= 1024)
    min_samples = 20000              # plan mode: fewest planned rows (PlanOptions.min_samples, >= 1024)
    max_samples = 2000000            # plan mode: PlanOptions.max_samples = min(max_samples, max_work/(N·D))
                                     # (spec files written before say pilot, min, max: still read)
    max_work = 2e11                  # per-point work cap in multiply-adds n·N·D
    moment_samples = 20000           # Monte Carlo moment check (0: off)
    moment_max_work = 2e10           # its budget, n·N·(N + D)
    # shard_size = 262144            # cut each point's run into shards of this many rows (>= 64;
                                     # §4.1): on Dask they run on the sweep's client

    [estimator]                      # getheory.distances.DmsOptions
    floor_replicates = 19            # >= 19: the plug-in's rank test at level 0.05 needs 1/0.05 - 1
    p = 1
    certify = false                  # also compute the certified upper bound (slow)
    confidence = 0.95                # level of the certified bound only

In plan mode each task calls :func:`getheory.check.check_generator` with
``samples="auto"`` and ``PlanOptions(time_budget, min_pilot, min_samples,
max_samples=min(max_samples, max_work/(N·D)))``; the task's record holds the
planner's findings (``Plan.to_dict()``).  Spec files written for earlier versions
(no ``time_budget`` or ``certify``) load with the defaults, except that fewer
than 19 floor replicates are refused; their ``pilot``, ``min`` and ``max`` are
read as ``min_pilot``, ``min_samples`` and ``max_samples`` (a spec is stored and
hashed under those earlier names, so the names a file uses never change its hash,
its task keys or whether its database resumes).  A spec written before the one
default time budget (60 s) and relying on the sweep's earlier default of 120 s
writes ``time_budget = 120`` to keep its meaning and its hash.

The [estimator] table also takes the settings of d_MS estimators registered since
(:class:`getheory.distances.Setting` with ``in_spec``), e.g. ``my_level = 0.1``.

    [run]
    backend = "numpy"
    dtype = "float32"                # or "float64"; products and σ in it, every sum over rows in float64

The default dtype is float32 (:data:`getheory._validation.CHECK_DTYPE`, as for ``getheory check``);
it was float64, and a spec that gives no ``dtype`` and resumes a database written then is refused
(its rows are float64 samples, never mixed with float32 ones): write ``dtype = "float64"`` in
its [run] table.

Layout: private modules re-exported here -- ``_spec`` (:class:`SweepSpec`, TOML
validation), ``_tasks`` (:class:`Task`, :func:`run_task`), ``_record``
(:class:`TaskRecord`, the typed, versioned result of a task), ``_database``
(:class:`ResultsDB`) and ``_runner`` (:func:`run_sweep` on a serial, pool or Dask runner).
"""

from ._database import DB_FORMAT, LEGACY_ESTIMATOR, SCHEMA_VERSION, ResultsDB, SweepError
from ._record import BOUND_TERMS, LEGACY, RECORD_VERSION, TaskRecord
from ._runner import (
    CONNECT_TIMEOUT_S,
    WORKER_TIMEOUT_S,
    DaskRunner,
    PoolRunner,
    SerialRunner,
    SweepOptions,
    SweepSummary,
    _make_pool,  # noqa: F401 (tests check the pool's thread limits)
    choose_runner,
    run_sweep,
    task_key,
)
from ._spec import (
    FLOOR_LEVEL,
    MIN_FLOOR_REPLICATES,
    MIN_ROWS,
    SPEC_KEYS,
    GeneratorSpec,
    SampleSpec,
    SpecError,
    SpecKey,
    SweepSpec,
    load_spec,
    spec_from_dict,
)
from ._tasks import BUILTIN_WEIGHTS, DEFAULT_TIME_BUDGET, Task, build_generator, build_weights, derive_seed, run_task

__all__ = [
    "BOUND_TERMS", "BUILTIN_WEIGHTS", "CONNECT_TIMEOUT_S", "DB_FORMAT", "DEFAULT_TIME_BUDGET",
    "FLOOR_LEVEL", "LEGACY", "LEGACY_ESTIMATOR", "MIN_FLOOR_REPLICATES", "MIN_ROWS", "RECORD_VERSION",
    "SCHEMA_VERSION", "SPEC_KEYS", "WORKER_TIMEOUT_S",
    "DaskRunner", "GeneratorSpec", "PoolRunner", "ResultsDB", "SampleSpec", "SerialRunner", "SpecError", "SpecKey",
    "SweepError", "SweepOptions", "SweepSpec", "SweepSummary", "Task", "TaskRecord",
    "build_generator", "build_weights", "choose_runner", "derive_seed", "load_spec", "run_sweep", "run_task",
    "spec_from_dict", "task_key",
]
