"""The one progress helper: a single self-updating line on stderr for long loops.

Numerical code never prints; it takes ``progress`` (a bool) and reports through
:class:`Progress`, which the command line switches on and everything else leaves off.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A minimal progress line on stderr for long loops (shown after 2 s)."""

    def __init__(self, total, label, enabled):
        self.total, self.label, self.enabled = total, label, enabled
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done):
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        if el < 2.0 and done < self.total:
            return
        if not self.shown and done >= self.total:
            return
        rate = done / el if el > 0 else float("nan")
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        sys.stderr.write(
            f"\r{self.label}: {done:,}/{self.total:,} ({100 * done / self.total:5.1f} %), "
            f"{rate:,.0f}/s, ETA {eta:5.1f} s "
        )
        self.shown = True
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
