"""Steps 2 and 3: plan n (``samples="auto"``, docs/theory.md §4.1), then stream n samples of (λ, ν) (§1).

The pilot runs on the check's ``pilot`` stream and the measured run on its ``fields``
stream; the samples are never held in memory, only the streamed statistics of
:class:`getheory.distances.FieldStream`.  A sharded run (``options.shards``) cuts the
measured run into shards, runs them on the check's executor and merges their statistics in
shard-index order (§4.1, Sharded runs); the pilot runs in this process either way, and the
planned n is rounded up to whole shards.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..distances import FieldStats, FieldStream, merge_stats
from ..fields import stream_fields
from ..moments import GaussianMatch
from ..plan import Plan, plan_samples
from ._context import CheckRun
from ._options import CheckOptions
from ._problem import Problem
from ._shards import ShardJob

__all__ = ["Sampled", "plan_step", "planned_n", "sample_step", "sharded_sample_step"]


@dataclass(frozen=True, eq=False)
class Sampled:
    """The streamed statistics of the measured run, its number of samples n and, for a sharded
    run, its number of shards."""

    stats: FieldStats
    n: int
    shards: int | None = None


def plan_step(problem: Problem, match: GaussianMatch, options: CheckOptions, run: CheckRun, *,
              spent: float, progress: bool = False) -> Plan | None:
    """With ``samples="auto"``: the pilot and the planned n, within what is left of the budget
    after the ``spent`` seconds of the moments; ``None`` with a fixed n."""
    if not options.auto:
        return None
    budget = options.plan.time_budget - spent
    if budget <= 0:
        raise ValueError(f"the moments alone took {spent:.1f} s, the whole time budget of "
                         f"{options.plan.time_budget:g} s; raise the budget or give a fixed number of samples")
    return plan_samples(problem.generator, problem.W_student, problem.W_teacher, match,
                        options=dataclasses.replace(options.plan, time_budget=budget),
                        stream=options.stream, cumulant=options.dms.cumulant, seed=run.seeds.pilot,
                        backend=run.backend, dtype=options.dtype, progress=progress, deadline=run.deadline,
                        shard_size=options.shards.size)


def planned_n(plan: Plan | None, options: CheckOptions) -> int:
    """The measured run's n: the plan's, or the fixed ``options.samples``."""
    return plan.n if plan is not None else options.samples


def sample_step(problem: Problem, match: GaussianMatch, n: int, options: CheckOptions, run: CheckRun, *,
                progress: bool = False) -> Sampled:
    """Stream n samples of (λ, ν) into the statistics of the d_MS estimators (§1, §4); in shards
    on the run's executor when ``options.shards`` says so (:func:`sharded_sample_step`)."""
    if options.shards.on:
        return sharded_sample_step(problem, match, n, options, run, progress=progress)
    sink = FieldStream(match.mean, match.cov, options=options.stream, backend=run.backend)
    stream_fields(problem.generator, problem.W_student, problem.W_teacher, n, sink, seed=run.seeds.fields,
                  backend=run.backend, dtype=options.dtype, progress=progress, deadline=run.deadline,
                  stage="the measured run's sampling")
    return Sampled(sink.finish(), n)


def sharded_sample_step(problem: Problem, match: GaussianMatch, n: int, options: CheckOptions, run: CheckRun, *,
                        progress: bool = False) -> Sampled:
    """n samples of (λ, ν) in shards of ``options.shards.size`` rows (§4.1, Sharded runs).

    Shard i draws its latents from ``shard_seed(fields, i)``, streams them into its own
    :class:`~getheory.distances.FieldStream` (starting at group (i·size) mod G), and keeps
    the rows of the run's first ``n_plugin`` that fall in it; the executor returns the
    shards' statistics in index order and :func:`~getheory.distances.merge_stats` adds them
    group by group in that order.  The result depends on the seed and the shard size only.
    """
    job = ShardJob(W_student=problem.W_student, W_teacher=problem.W_teacher, mean=match.mean, cov=match.cov,
                   stream=options.stream, n=int(n), size=options.shards.size, seed=run.seeds.fields,
                   backend=run.backend, dtype=options.dtype)
    parts = run.executor.map(job, progress=progress, deadline=run.deadline)
    stats = merge_stats(parts, n_plugin=options.stream.n_plugin)
    if stats.reservoir is not None and run.executor.host_results:  # rows from other processes come as NumPy
        stats.reservoir = run.backend.asarray(stats.reservoir)
    return Sampled(stats, int(n), job.count)
