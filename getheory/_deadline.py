"""The one deadline helper: a time budget that loops check between batches, and a guard for code that blocks.

A :class:`Deadline` is made once, at a workflow's entry (``check --time-budget T``), and
travels down to every loop that draws samples (Monte Carlo moments, the planner's pilot,
the measured run).  Each loop calls :meth:`Deadline.check` between batches, so it stops
within one batch of the budget; a stage that can measure its own rate first calls
:meth:`Deadline.refuse` to refuse up front, naming the budget it would need.  A batch that
never returns (a user generator that blocks) is stopped by :meth:`Deadline.guard`, which
raises :class:`TimeBudgetExceeded` inside the blocked call from a SIGALRM timer (POSIX, main
thread only; elsewhere it does nothing and the between-batch checks remain).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager

__all__ = ["Deadline", "TimeBudgetExceeded"]


class TimeBudgetExceeded(RuntimeError):
    """A stage ran past, or would run past, its time budget; the message names the budget needed."""


class Deadline:
    """A time budget of ``seconds`` from now, named ``option`` in messages (e.g. ``"--time-budget"``).

    Parameters
    ----------
    seconds : float
        The budget.
    option : str
        How the user sets it, for the messages.
    """

    def __init__(self, seconds: float, option: str = "the time budget"):
        self.seconds = float(seconds)
        self.option = option
        self._start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def check(self, stage: str) -> None:
        """Raise :class:`TimeBudgetExceeded` when the budget is spent (call between batches)."""
        if self.remaining() < 0:
            raise TimeBudgetExceeded(
                f"{stage} ran past the time budget of {self.seconds:g} s ({self.option}) after "
                f"{self.elapsed():.1f} s and was stopped; raise {self.option} or lower the work asked for")

    def refuse(self, stage: str, seconds_needed: float, *, share: float = 1.0, fix: str = "") -> None:
        """Refuse up front a stage that needs ``seconds_needed`` but may use ``share`` of what is left."""
        left = self.remaining()
        if seconds_needed > share * left:
            total = self.elapsed() + seconds_needed / share
            raise TimeBudgetExceeded(
                f"{stage} needs about {seconds_needed:.1f} s at the rate measured here, more than "
                f"{'its share of ' if share < 1 else ''}the {max(left, 0):.1f} s left of the time budget of "
                f"{self.seconds:g} s; raise {self.option} to at least {math.ceil(1.1 * total)} s{fix}")

    @contextmanager
    def guard(self, stage: str, grace: float = 0.1):
        """Stop the block at ``(1 + grace)`` × the budget even inside a blocking call (SIGALRM).

        A no-op outside the main thread, where signals cannot be delivered, and when a
        SIGALRM handler of someone else's is installed (it is left alone).
        """
        usable = (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
                  and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None))
        if not usable:
            yield self
            return
        limit = self.seconds * (1.0 + grace)

        def _fire(signum, frame):
            raise TimeBudgetExceeded(
                f"{stage} was still running at {limit:.1f} s, past the time budget of {self.seconds:g} s "
                f"({self.option}), and was stopped (a generator that blocks, or one far slower than its "
                f"first batches); raise {self.option} or make the generator faster")

        old = signal.signal(signal.SIGALRM, _fire)
        signal.setitimer(signal.ITIMER_REAL, max(limit - self.elapsed(), 1e-3))
        try:
            yield self
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
