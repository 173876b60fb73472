"""Numerical checks of every step of the Gaussian Equivalence Theorem (docs/theory.md §2-§5).

One module per claim of issue 3 (``proofs_numeric``).  The claim logic lives
here, inside the installed package, so that ``getheory proofs`` works from an
installed copy as well as from a checkout; the top-level folder
``proofs_numeric/`` holds thin pytest wrappers (``test_*.py``) that call the
same functions.

Registry
--------
Each claim module defines

* ``CLAIM`` -- a short identifier (``"1-hermite"``, ...),
* ``TITLE`` and ``SECTION`` (e.g. ``"docs/theory.md §3"``),
* ``check(full: bool = False) -> list[Result]``.

:data:`CLAIM_MODULES` lists them in order; :func:`run_claims` runs them and
returns every :class:`Result`.  A :class:`Result` says what was checked, by
which method, the precision reached (a number with its meaning), the
tolerance, and a status:

``pass``
    the check agrees with its reference within the stated tolerance;
``fail``
    it does not (a bug in getheory or in the claim);
``contradiction``
    a *measurement* disagrees with a figure or an expectation stated in
    docs/theory.md.  The measurement itself is sound; the disagreement is
    reported, not hidden by adjusting the expectation (issue 3, claim 7).
``info``
    a measured number with no pass/fail meaning (e.g. a fitted exponent that
    the theory does not predict).

pytest treats ``pass``, ``contradiction`` and ``info`` as success and
``fail`` as failure.

Independence
------------
References are computed without the code under test: mpmath quadrature of
our own (:mod:`getheory._claims._mpref`: composite Gauss--Legendre panels with
Hermite polynomials from their three-term recursion) for identities, and
statistical tests whose error bars are derived from the sampling
distribution (never tuned) for rates and limits.
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import asdict, dataclass, field

from .._json import to_plain

__all__ = ["Result", "CLAIM_MODULES", "load_claim", "run_claims", "full_requested", "assert_no_failure"]

#: claim modules in the order of issue 3
CLAIM_MODULES = (
    "hermite",  # 1. Hermite facts, §3
    "stein",  # 2. Stein's lemma and the exact Φ, §2
    "kernels",  # 3. Mehler's formula and the closed-form kernels, §2
    "chaos",  # 4. chaos decomposition of Ω and M1, M2, §5
    "w1",  # 5. exact 1-D W1 against a normal, §4
    "floor",  # 6. finite-sample floor n^{-1/2}, §4
    "rates",  # 7. rates of the bound terms, §5
    "theorem",  # 8. the theorem empirically, §4-§5
    "ridge",  # 9. full-batch ridge: deterministic equivalent and label decomposition, §8
    "analytic",  # 10. cumulants without sampling, §4.2
)

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



def full_requested() -> bool:
    """True when the environment asks for the full-size checks (``GETHEORY_PROOFS_FULL=1``)."""
    return os.environ.get("GETHEORY_PROOFS_FULL", "").strip().lower() in ("1", "true", "yes")


def load_claim(name: str):
    """Import the claim module ``getheory._claims.<name>``."""
    if name not in CLAIM_MODULES:
        raise ValueError(f"unknown claim {name!r}: choose from {', '.join(CLAIM_MODULES)}")
    return importlib.import_module(f"{__name__}.{name}")


def run_claims(full: bool = False, only=None, progress=None) -> list:
    """Run the claims (all, or the names in ``only``) and return every :class:`Result`.

    A claim whose ``check`` raises is reported as one ``fail`` result carrying
    the exception, so that the report is always complete.
    """
    names = CLAIM_MODULES if not only else tuple(only)
    out = []
    for name in names:
        mod = load_claim(name)
        if progress:
            progress(f"claim {mod.CLAIM}: {mod.TITLE} ...")
        t0 = time.perf_counter()
        try:
            res = mod.check(full=full)
        except Exception as exc:  # report, do not hide
            import traceback

            res = [
                Result(
                    claim=mod.CLAIM,
                    name=f"{mod.TITLE} (raised)",
                    section=mod.SECTION,
                    method="check() raised an exception",
                    precision=float("nan"),
                    precision_kind="n/a",
                    tolerance=None,
                    status="fail",
                    values={"traceback": traceback.format_exc()[-4000:]},
                    note=f"{type(exc).__name__}: {exc}",
                )
            ]
        if progress:
            progress(f"  {len(res)} checks, {sum(r.ok for r in res)} ok, {time.perf_counter() - t0:.1f} s")
        out.extend(res)
    return out


def assert_no_failure(results) -> None:
    """pytest helper: fail listing every ``fail`` result; pass/contradiction/info are success."""
    assert results, "the claim returned no results"
    print("\n".join(r.summary() + (f" -- {r.note}" if r.note else "") for r in results))
    bad = [r for r in results if not r.ok]
    assert not bad, "failed checks:\n" + "\n".join(r.summary() + f" -- {r.note}" for r in bad)
    for r in results:
        assert r.precision_kind, f"{r.name}: no precision reported"
