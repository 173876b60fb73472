"""The proofs runner: check every step of the Gaussian Equivalence Theorem and write a report.

docs/theory.md §2-§5 state the identities and rates getheory relies on; the
claims of :mod:`getheory._claims` check each of them numerically (mpmath at
high precision for identities, statistical tests with derived error bars
for rates and limits).  This module runs them and writes

* ``report.json`` -- every :class:`getheory._claims.Result` (claim, name,
  section, method, precision reached, tolerance, status, numbers, note);
* ``report.md`` -- the same as tables, with the contradictions with
  docs/theory.md listed first.

The same ``check(full)`` functions are called by the pytest wrappers in
``proofs_numeric/`` (``python -m pytest proofs_numeric``), so the report
and the tests cannot drift apart.

Why the claim logic is inside the package: ``proofs_numeric/`` is a
top-level folder that an installed getheory does not ship; keeping the
logic in :mod:`getheory._claims` makes ``getheory proofs`` work from any
installation, and the tests stay thin.
"""

from __future__ import annotations

from ._claims import CLAIM_MODULES, Result, run_claims

__all__ = ["CLAIM_MODULES", "run_proofs"]


def run_proofs(full: bool = False, only=None, progress=None) -> list[Result]:
    """Run the claims (``only``: a subset of :data:`CLAIM_MODULES`) and return their results."""
    return run_claims(full=full, only=only, progress=progress)
