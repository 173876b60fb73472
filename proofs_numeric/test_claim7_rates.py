"""Claim 7 -- Deterministic rates of the bound terms for i.i.d. Gaussian A, W, W̃ at fixed δ (docs/theory.md §5):
fitted exponents of the M1, M2 and teacher terms in N, with intervals, against the stated expectations.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.rates` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import rates as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_rates(results):
    assert_no_failure(results)
