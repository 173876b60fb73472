"""The one run context: what a workflow resolves once at its entry and passes down whole.

Every workflow (``check_generator``, a sweep task, ``run_dynamics``, ``ridge_curves``)
starts by resolving, once, the few things every step below it needs, and carries them in
one :class:`RunContext`:

* the **backend** object (:class:`getheory.backend.Backend`; code below the entry never
  resolves a backend from its name) and the **dtype** the samples are drawn in;
* the named **seed streams** of the workflow's :class:`getheory._seeds.SeedLayout`;
* the **deadline** (a :class:`getheory._deadline.Deadline`, or ``None`` without a time budget);
* whether **progress** is shown (:mod:`getheory._progress`);
* the **timings** of its stages and the **notes** it collects for its result;
* for a check cut into shards, the **executor** the shards run on (``None`` otherwise).

A step takes the context and its own inputs, never the loose pieces; what it measures goes
into ``run.timings`` and what it wants the user to know into ``run.notes``.
"""

from __future__ import annotations

import contextlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from ._deadline import Deadline
from ._progress import Progress, status
from ._seeds import SeedLayout, Streams
from ._validation import check_dtype
from .backend import Backend, get_backend

__all__ = ["RunContext", "Timings", "start_run_context"]


class Timings(dict):
    """Seconds per stage of a run, in the order the stages ran (a result's ``timings``)."""

    @contextmanager
    def stage(self, name: str, *, since: float | None = None, when: bool = True, add: bool = False):
        """Time the block as stage ``name``: from ``since`` (a :func:`time.perf_counter` reading)
        when given; added to what the stage already has with ``add``; nothing is recorded when
        ``when`` is false or the block raises."""
        t0 = time.perf_counter() if since is None else since
        yield
        if when:
            self.record(name, time.perf_counter() - t0, add=add)

    def record(self, name: str, seconds: float, *, add: bool = False) -> None:
        """Set stage ``name`` to ``seconds`` (or add them to it with ``add``)."""
        self[name] = self.get(name, 0.0) + seconds if add else seconds


@dataclass(frozen=True, eq=False)
class RunContext:
    """The resolved backend and dtype, the seed streams, the deadline, the progress switch, the
    timings and notes of one run, the :func:`time.perf_counter` reading at which its clock
    started, and (a sharded check) the executor of its shards.

    Made by :func:`start_run_context` at a workflow's entry; frozen, but its ``timings`` and
    ``notes`` fill as the run goes.
    """

    backend: Backend
    dtype: str = "float64"
    seeds: Streams | None = None
    deadline: Deadline | None = None
    progress: bool = False
    started: float = field(default_factory=time.perf_counter)
    timings: Timings = field(default_factory=Timings)
    notes: list = field(default_factory=list)
    executor: object = None

    # ---- time -------------------------------------------------------------------------------
    def elapsed(self) -> float:
        """Seconds since the run's clock started."""
        return time.perf_counter() - self.started

    def stage(self, name: str, **kw):
        """Time a block as stage ``name`` in ``timings`` (see :meth:`Timings.stage`)."""
        return self.timings.stage(name, **kw)

    def guard(self, what: str = "the moments, the pilot and the sampling"):
        """The deadline's guard around blocking work (a no-op without a deadline)."""
        if self.deadline is None:
            return contextlib.nullcontext()
        return self.deadline.guard(what)

    def check_deadline(self, stage: str) -> None:
        """Raise when the time budget is spent (a no-op without a deadline); call between batches."""
        if self.deadline is not None:
            self.deadline.check(stage)

    # ---- what the user is told ----------------------------------------------------------------
    def note(self, text: str) -> None:
        """Add a note to the run's result."""
        self.notes.append(text)

    def status(self, text: str) -> None:
        """One status line on stderr when progress is on."""
        status(text, self.progress)

    def progress_bar(self, total: int, label: str, **kw) -> Progress:
        """A :class:`getheory._progress.Progress` over ``total`` units, shown when progress is on."""
        return Progress(total, label, self.progress, **kw)

    # ---- derived contexts ---------------------------------------------------------------------
    def with_(self, **changes) -> "RunContext":
        """The same run with some fields replaced (the timings and notes stay shared unless replaced)."""
        return replace(self, **changes)


def start_run_context(*, backend="numpy", dtype="float64", layout: SeedLayout | None = None, seed=None,
                      time_budget: float | None = None, budget_option: str = "the time budget",
                      progress: bool = False, executor=None) -> RunContext:
    """Resolve a run's context at a workflow's entry.

    Parameters
    ----------
    backend : str or Backend
        Resolved here, once, to its object (:func:`getheory.backend.get_backend`).
    dtype : str or numpy dtype
        The samples' floating dtype, one of :data:`getheory._validation.SAMPLE_DTYPES`, kept as its
        NumPy name (``"float64"``, ``"float32"``); any other is refused, naming the choices.
    layout, seed
        The workflow's :class:`getheory._seeds.SeedLayout` and master seed: ``seeds`` are its
        named streams (``None`` without a layout).
    time_budget : float, optional
        Starts a :class:`getheory._deadline.Deadline` of that many seconds, named
        ``budget_option`` in messages (e.g. ``"--time-budget"``).
    progress : bool
        Show progress on stderr.
    executor : optional
        Where the shards of a sharded check run.
    """
    dtype = check_dtype(dtype)  # before the backend: a bad dtype is refused before any device is touched
    bk = get_backend(backend)
    seeds = layout.streams(seed) if layout is not None else None
    deadline = Deadline(time_budget, budget_option) if time_budget is not None else None
    return RunContext(bk, dtype, seeds, deadline, bool(progress), executor=executor)
