"""The check as a pipeline: moments → plan → stream → estimate → bounds → conditions → analytic.

Each step is a function of :mod:`getheory.check` returning a small typed result; this
module resolves the run's context once (:func:`start_run`: a :class:`getheory._run.RunContext`
with the backend object, the dtype, the seed streams of :data:`getheory._seeds.CHECK`, the time
budget of ``samples="auto"``, the progress switch and the shards' executor), runs the steps in
order with it, times them (``CheckResult.timings``) and keeps the time budget around the
moments, the pilot and the sampling.
"""

from __future__ import annotations

from .._run import RunContext, start_run_context
from .._seeds import CHECK
from ..generators import Generator
from ._analytic import analytic_step, wants_analytic
from ._bounds import bounds_step
from ._conditions import conditions_step
from ._estimate import estimate_step
from ._executors import open_executor
from ._moments import compute_moments
from ._options import CheckOptions, check_client, with_overrides
from ._plan import plan_step, planned_n, planned_options
from ._problem import build_problem
from ._result import CheckResult, CheckSteps, build_result
from ._sample import sample_step
from ._shards import GeneratorRecipe

__all__ = ["check_generator", "start_run"]


def start_run(options: CheckOptions, executor=None, *, progress: bool = False) -> RunContext:
    """The check's run context, resolved once at its entry: the backend object (never its name
    below), the dtype, the seed streams of :data:`getheory._seeds.CHECK` from ``options.seed``,
    with ``samples="auto"`` the time budget (a deadline named ``--time-budget``; none with a fixed
    n), the progress switch and the shards' ``executor``; its clock starts here."""
    # with samples="auto" the budget bounds the moments, the pilot and the sampling (checked between
    # batches, a blocked batch stopped at 1.1 × the budget)
    budget = options.plan.time_budget if options.auto else None
    return start_run_context(backend=options.backend, dtype=options.dtype, layout=CHECK, seed=options.seed,
                             time_budget=budget, budget_option="--time-budget", progress=progress,
                             executor=executor)


def check_generator(generator: Generator | None = None, options: CheckOptions = CheckOptions(), *,  # noqa: B008 (frozen)
                    W_student=None, W_teacher=None, progress: bool = False, client=None,
                    recipe: GeneratorRecipe | None = None, **overrides) -> CheckResult:
    """Check a generator against the Gaussian Equivalence Theorem (docs/theory.md §6).

    For one generator and one draw of weights: the moments and the Gaussian match P̂ of
    (λ, ν) (§2); with ``samples="auto"`` a pilot that plans n (§4.1); n streamed samples
    of (λ, ν) (§1); every d_MS estimate of §4; every bound term of §5 (single-layer
    generators); each condition of §6 with its verdict and numbers; and, for single-layer
    generators, the leading-order cumulants without sampling (§4.2).

    Parameters
    ----------
    generator : Generator, optional
        Default: a random single-layer generator σ(A c/√D), A_ij ~ N(0, 1), with the
        options' ``activation``, ``N``, ``D`` and ``seed``.
    options : CheckOptions
        Every setting of the check (sizes, samples, planner, seed, estimators, backend).
    W_student, W_teacher : array, optional
        Shapes (K, N) and (M, D); default i.i.d. N(0, 1) (the options' ``weights`` ensemble).
    progress : bool
        Progress bars of the pilot and the sampling.
    client : distributed.Client, optional
        Run the shards of a sharded check (``options.shards.size``) on this Dask client's
        cluster (docs/theory.md §4.1, Sharded runs); instead of ``options.shards.scheduler``
        or local workers.  The result is the same wherever the shards run.
    recipe : GeneratorRecipe, optional
        How a worker process rebuilds ``generator`` (``function(*args)``), so that its weights
        are never sent.  Known without it for the default generator and for user functions
        importable as module:function; any other generator is sent whole, once per worker.
    **overrides
        Fields of :class:`CheckOptions` replacing those of ``options``
        (``check_generator(N=64, D=32, samples=20_000, seed=3)``); any other keyword is a TypeError.

    Returns
    -------
    CheckResult
        Data only; its report is :func:`getheory.reports.format_check` (a notebook shows it).

    Examples
    --------
    A sign generator at N = 32 with a fixed n (``samples="auto"``, the default, plans n with a pilot):

    >>> import getheory as gt
    >>> result = gt.check_generator(activation="sign", N=32, D=16, K=1, M=1, samples=20_000, seed=0,
    ...                             analytic=False)
    >>> bool(result.dms.resolved_any), round(float(result.dms.cumulant.z_kappa4))  # κ4 resolved at 11σ (§4)
    (True, -11)
    >>> 0.5 / 32 < result.dms.value < 2 / 32  # d_MS about 1/N for odd σ
    True
    >>> [c.verdict for c in result.conditions].count("fail")
    0
    """
    options = with_overrides(options, overrides)
    check_client(options.shards, client)  # the shards run in one place: a client and another one are refused
    with open_executor(options.shards, client) as executor:  # a scheduler address is checked here
        run = start_run(options, executor, progress=progress)  # backend object, budget, seeds; the clock starts
        problem = build_problem(generator, W_student, W_teacher, options, run.seeds, recipe, given=overrides)
        if executor is not None:  # before any work: a generator that cannot travel is refused here
            executor.prepare(problem.generator, problem.recipe)
        return _run_steps(problem, options, run)


def _run_steps(problem, options: CheckOptions, run: RunContext) -> CheckResult:
    """The check's steps on a built problem, timed in ``run.timings``."""
    with run.guard():
        with run.stage("moments", since=run.started):  # drawing the problem counts as the moments' time
            moments = compute_moments(problem, options, run)
        with run.stage("pilot", when=options.auto):
            plan = plan_step(problem, moments.match, options, run, spent=run.timings["moments"])
        with run.stage("sampling"):
            sampled = sample_step(problem, moments.match, planned_n(plan, options), planned_options(plan, options),
                                  run)
    with run.stage("d_MS"):
        estimate = estimate_step(sampled, moments, options, run)
    with run.stage("bounds"):
        bounds = bounds_step(problem, run)
        conditions = conditions_step(problem, moments, bounds, estimate, plan)
    with run.stage("analytic", when=wants_analytic(problem, options)):
        analytic = analytic_step(problem, sampled, moments.match.cov, options, run)
    steps = CheckSteps(moments, plan, sampled, estimate, bounds, conditions, analytic)
    return build_result(problem, options, run, steps)
