"""One numerical check's outcome (:class:`Result`), its pass rule (:func:`verdict`) and a stopwatch
(:class:`Timer`): what every claim module reports with."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from .._json import to_plain

__all__ = ["STATUSES", "Result", "Timer", "verdict"]

STATUSES = ("pass", "fail", "contradiction", "info")


@dataclass
class Result:
    """One numerical check of one claim.

    Attributes
    ----------
    claim : str
        Claim identifier, e.g. ``"1-hermite"``.
    name : str
        What was checked, e.g. ``"orthogonality E[He_k He_l] = k! δ_kl, k,l ≤ 20"``.
    section : str
        Where docs/theory.md states it.
    method : str
        How it was checked (reference, precision, sample sizes).
    precision : float
        The precision reached: the largest error against the reference, or
        the half-width of a confidence interval (see ``precision_kind``).
    precision_kind : str
        What ``precision`` measures.
    tolerance : float or None
        The pass threshold on ``precision`` (None where not applicable).
    status : str
        ``pass``, ``fail``, ``contradiction`` or ``info``.
    values : dict
        The numbers behind the verdict (JSON-ready).
    note : str
        Anything a reader must know (contradictions with docs/theory.md).
    seconds : float
        Wall time of the check.
    """

    claim: str
    name: str
    section: str
    method: str
    precision: float
    precision_kind: str
    tolerance: float | None
    status: str
    values: dict = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        """True unless the check failed."""
        return self.status != "fail"

    def summary(self) -> str:
        tol = "" if self.tolerance is None else f" (tol {self.tolerance:.1e})"
        return f"[{self.status}] {self.claim}: {self.name}: {self.precision_kind} {self.precision:.3e}{tol}"

    def to_dict(self) -> dict:
        return to_plain(asdict(self))


def verdict(precision: float, tolerance: float) -> str:
    """``pass`` when precision <= tolerance (NaN fails)."""
    return "pass" if (precision == precision and precision <= tolerance) else "fail"


class Timer:
    """``with Timer() as t: ...; t.seconds``."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        return False
