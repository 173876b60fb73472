"""Claim 10 -- Leading-order cumulants without sampling (docs/theory.md §4.2): exact through ρ² against
polar quadrature at N = 2, agreement with Monte Carlo κ4 within SE + truncation (χ² reported), slope −1.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.analytic` (shared with ``getheory proofs`` once registered); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the full size.
"""

import pytest

from getheory._claims import analytic as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_analytic(results):
    assert_no_failure(results)
