"""Step 3: stream the n samples of (λ, ν) of the measured run (docs/theory.md §1).

The measured run draws on the check's ``fields`` stream; the samples are never held in
memory, only the streamed statistics of :class:`getheory.distances.FieldStream`.  A sharded
run (``options.shards``) cuts it into shards, runs them on the run's executor and merges
their statistics in shard-index order (§4.1, Sharded runs).  The planned n comes from
:mod:`._plan`.

Under a time budget the measured run is *cut*, not lost, when it reaches the budget: it stops
at the next batch boundary (a sharded run keeps its first shards that all finished) and the
check goes on with the n it reached (§4.1, "A run cut at its budget").  The statistics are
sums over rows and the stopping time does not depend on the data, so the cut run's numbers
are those of a run asked for that n.  Fewer rows than the plan's ``min_samples`` are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._deadline import TimeBudgetExceeded
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
    run, its number of shards; ``n_planned`` the n it was asked for (more than n when the time
    budget cut it)."""

    stats: FieldStats
    n: int
    shards: int | None = None
    n_planned: int | None = None

    @property
    def cut(self) -> bool:
        """Whether the time budget stopped the run before its planned n."""
        return self.n_planned is not None and self.n < self.n_planned

    def cut_statement(self) -> str:
        """One line on the cut (empty when the run was not cut)."""
        if not self.cut:
            return ""
        return (f"the measured run reached the time budget and was cut at n = {self.n:,} of the planned "
                f"{self.n_planned:,} (the numbers are those of a run of n = {self.n:,}; sampling ran "
                "slower than the pilot's rate)")


def sample_step(problem: CheckProblem, match: GaussianMatch, n: int, options: CheckOptions,
                run: RunContext) -> Sampled:
    """Stream n samples of (λ, ν) into the statistics of the d_MS estimators (§1, §4); in shards
    on the run's executor when ``options.shards`` says so (:func:`sharded_sample_step`)."""
    if options.shards.on:
        return sharded_sample_step(problem, match, n, options, run)
    sink = FieldStream(match.mean, match.cov, options=options.stream, backend=run.backend)
    draw = LatentDraw(n, run.seeds.fields, stage="the measured run's sampling", cut=run.deadline is not None)
    done = stream_fields_in(run, problem.generator, problem.W_student, problem.W_teacher, draw, sink)
    _enough(done, n, options, run)
    return Sampled(sink.finish(), done, n_planned=n)


def _enough(done: int, n: int, options: CheckOptions, run: RunContext) -> None:
    """Refuse a run the budget cut below the plan's ``min_samples`` rows (too few to estimate from)."""
    if done < n and done < options.plan.min_samples:
        d = run.deadline
        raise TimeBudgetExceeded(
            f"the measured run's sampling reached the time budget of {d.seconds:g} s ({d.option}) after "
            f"{done:,} of its planned {n:,} rows, fewer than min_samples = {options.plan.min_samples:,}; "
            f"raise {d.option} or lower the work asked for")


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
    parts = run.executor.map(job, run)  # under a time budget, the first shards that finished (at least one)
    done = sum(job.rows(i) for i in range(len(parts)))
    _enough(done, int(n), options, run)
    stats = merge_stats(parts, n_plugin=options.stream.n_plugin)
    if stats.reservoir is not None and run.executor.host_results:  # rows from other processes come as NumPy
        stats.reservoir = run.backend.asarray(stats.reservoir)
    return Sampled(stats, done, len(parts), n_planned=int(n))
