"""What a check resolves once at its entry and carries through its steps: :class:`CheckRun`.

The backend object (never its name below the entry), the time budget of ``samples="auto"``
(a :class:`getheory._deadline.Deadline`), the named seed streams of
:data:`getheory._seeds.CHECK`, the seconds each stage took (:class:`Timings`) and, for a
sharded run, where its shards run (an executor of :mod:`._executors`).
"""

from __future__ import annotations

import contextlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from .._deadline import Deadline
from .._seeds import CHECK, Streams
from ..backend import Backend, get_backend
from ._options import CheckOptions

__all__ = ["CheckRun", "Timings", "start_run"]


class Timings(dict):
    """Seconds per stage of a check, in the order the stages ran (``CheckResult.timings``)."""

    @contextmanager
    def stage(self, name: str, *, since: float | None = None, when: bool = True):
        """Time the block as stage ``name`` (from ``since``, a :func:`time.perf_counter` reading,
        when given); record nothing when ``when`` is false or the block raises."""
        t0 = time.perf_counter() if since is None else since
        yield
        if when:
            self[name] = time.perf_counter() - t0


@dataclass(frozen=True, eq=False)
class CheckRun:
    """The resolved backend, the time budget (``None`` with a fixed n), the seed streams,
    the :func:`time.perf_counter` reading at which the check's clock started, the timings,
    and the shards' executor (``None`` when the run is not sharded)."""

    backend: Backend
    deadline: Deadline | None
    seeds: Streams
    started: float
    times: Timings = field(default_factory=Timings)
    executor: object = None

    def guard(self):
        """The budget's guard around the moments, the pilot and the sampling: a blocked
        generator is stopped at 1.1 × the budget (a no-op without a budget)."""
        if self.deadline is None:
            return contextlib.nullcontext()
        return self.deadline.guard("the moments, the pilot and the sampling")


def start_run(options: CheckOptions, executor=None) -> CheckRun:
    """Resolve the backend, start the time budget (``samples="auto"``), derive the seed
    streams, then start the clock of the moments' stage; ``executor`` runs the shards."""
    bk = get_backend(options.backend)  # resolved once: the object travels below, never the name
    # with samples="auto" the budget bounds the moments, the pilot and the sampling (checked between
    # batches, a blocked batch stopped at 1.1 × the budget)
    deadline = Deadline(options.plan.time_budget, "--time-budget") if options.auto else None
    seeds = CHECK.streams(options.seed)
    return CheckRun(bk, deadline, seeds, time.perf_counter(), executor=executor)
