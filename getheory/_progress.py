"""The one progress helper: a progress line on stderr for long loops.

Numerical and workflow code never print by themselves; they take ``progress`` (a bool) and
report through :class:`Progress`, which the command line switches on and everything else
leaves off.  On a terminal the line updates in place; in a log (not a tty) a line is written
at most every ``log_every`` seconds, and always at the end.
"""

from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress", "hms", "status"]


def hms(seconds) -> str:
    """Seconds as ``1h02m03s`` / ``2m03s`` / ``3.0s`` ("?" when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{seconds:.1f}s"


class Progress:
    """Done / total, rate, elapsed time and the estimated time left.

    Parameters
    ----------
    total : int
        Units of work (rows, tasks).
    label : str
    enabled : bool
    delay : float
        Nothing is shown before this many seconds (default 2: short loops stay quiet).
    log_every : float
        Seconds between lines when the stream is not a terminal (0: every update).
    stream : file, optional
        Default ``sys.stderr``.
    """

    def __init__(self, total, label, enabled, *, delay=2.0, log_every=10.0, stream=None):
        self.total, self.label = int(total), label
        self.enabled = bool(enabled) and self.total > 0
        self.delay, self.log_every = float(delay), float(log_every)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.last = -math.inf
        self.shown = False

    def update(self, done, *, fraction=None, note="", failed=0):
        """Report ``done`` units; ``fraction`` is the share of the *work* done (default
        done/total), which the time estimate uses; ``note`` names the last unit."""
        if not self.enabled:
            return
        now = time.perf_counter()
        el = now - self.t0
        finished = done >= self.total
        if not self._due(now, el, finished):
            return
        self.last = now
        frac = done / self.total if fraction is None else fraction
        self._write(self._line(done, el, frac, note, failed), finished)
        self.shown = True

    def _due(self, now, el, finished) -> bool:
        """Whether to write a line now: past the delay (a run shorter than it stays quiet even at its
        end), and on a log at most every ``log_every`` seconds (always at the end)."""
        if el < self.delay and not finished:
            return False
        if finished and not self.shown and el < self.delay:
            return False
        return self.tty or finished or now - self.last >= self.log_every

    def _line(self, done, el, frac, note, failed) -> str:
        """The progress line: done/total, rate, elapsed, ETA from ``frac``, failures and the note."""
        eta = el * (1 - frac) / frac if frac > 0 else math.nan
        return (f"{self.label}: {done:,}/{self.total:,} ({100 * done / self.total:5.1f} %), "
                f"{done / el if el > 0 else math.nan:,.0f}/s, elapsed {hms(el)}, ETA {hms(eta)}"
                + (f", {failed} failed" if failed else "") + (f"  ({note})" if note else ""))

    def _write(self, line, finished):
        """In place on a terminal (newline at the end), one line each on a log."""
        if self.tty:
            self.stream.write("\r" + line[:160].ljust(100) + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def status(text, enabled, stream=None):
    """One status line (a stage starting) on stderr, when ``enabled``."""
    if enabled:
        stream = stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()
