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

import os
import time
import traceback

from . import analytic, chaos, floor, hermite, kernels, rates, ridge, stein, theorem, w1
from ._result import STATUSES, Result, Timer, verdict

__all__ = ["Result", "STATUSES", "Timer", "CLAIM_MODULES", "load_claim", "run_claims", "full_requested",
           "assert_no_failure", "verdict"]

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

_MODULES = {m.__name__.rsplit(".", 1)[1]: m for m in (analytic, chaos, floor, hermite, kernels, rates, ridge, stein,
                                                       theorem, w1)}


def full_requested() -> bool:
    """True when the environment asks for the full-size checks (``GETHEORY_PROOFS_FULL=1``)."""
    return os.environ.get("GETHEORY_PROOFS_FULL", "").strip().lower() in ("1", "true", "yes")


def load_claim(name: str):
    """The claim module ``getheory._claims.<name>``."""
    if name not in CLAIM_MODULES:
        raise ValueError(f"unknown claim {name!r}: choose from {', '.join(CLAIM_MODULES)}")
    return _MODULES[name]


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
