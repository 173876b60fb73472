"""Step 3: stream the n samples of (λ, ν) of the measured run (docs/theory.md §1).

The measured run draws on the check's ``fields`` stream; the samples are never held in
memory, only the streamed statistics of :class:`getheory.distances.FieldStream`.  A sharded
run (``options.shards``) cuts it into shards, runs them on the run's executor and merges
their statistics in shard-index order (§4.1, Sharded runs).  The planned n comes from
:mod:`._plan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._run import RunContext
from ..distances import FieldStats, FieldStream, merge_stats
from ..fields import LatentDraw, stream_fields_in
from ..moments import GaussianMatch
from ._options import CheckOptions
from ._problem import CheckProblem
from ._shards import ShardJob

__all__ = ["Sampled", "sample_step", "sharded_sample_step"]


@dataclass(frozen=True, eq=False)
class Sampled:
    """The streamed statistics of the measured run, its number of samples n and, for a sharded
    run, its number of shards."""

    stats: FieldStats
    n: int
    shards: int | None = None


def sample_step(problem: CheckProblem, match: GaussianMatch, n: int, options: CheckOptions,
                run: RunContext) -> Sampled:
    """Stream n samples of (λ, ν) into the statistics of the d_MS estimators (§1, §4); in shards
    on the run's executor when ``options.shards`` says so (:func:`sharded_sample_step`)."""
    if options.shards.on:
        return sharded_sample_step(problem, match, n, options, run)
    sink = FieldStream(match.mean, match.cov, options=options.stream, backend=run.backend)
    draw = LatentDraw(n, run.seeds.fields, stage="the measured run's sampling")
    stream_fields_in(run, problem.generator, problem.W_student, problem.W_teacher, draw, sink)
    return Sampled(sink.finish(), n)


def sharded_sample_step(problem: CheckProblem, match: GaussianMatch, n: int, options: CheckOptions,
                        run: RunContext) -> Sampled:
    """n samples of (λ, ν) in shards of ``options.shards.size`` rows (§4.1, Sharded runs).

    Shard i draws its latents from ``shard_seed(fields, i)``, streams them into its own
    :class:`~getheory.distances.FieldStream` (starting at group (i·size) mod G), and keeps
    the rows of the run's first ``n_plugin`` that fall in it; the executor returns the
    shards' statistics in index order and :func:`~getheory.distances.merge_stats` adds them
    group by group in that order.  The result depends on the seed and the shard size only.
    """
    job = ShardJob(W_student=problem.W_student, W_teacher=problem.W_teacher, mean=match.mean, cov=match.cov,
                   stream=options.stream, n=int(n), size=options.shards.size, seed=run.seeds.fields,
                   backend=run.backend, dtype=run.dtype)
    parts = run.executor.map(job, run)
    stats = merge_stats(parts, n_plugin=options.stream.n_plugin)
    if stats.reservoir is not None and run.executor.host_results:  # rows from other processes come as NumPy
        stats.reservoir = run.backend.asarray(stats.reservoir)
    return Sampled(stats, int(n), job.count)
