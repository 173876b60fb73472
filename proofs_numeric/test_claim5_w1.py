"""Claim 5 -- The exact 1-D W1 between an empirical law and a normal (docs/theory.md §4 step 1): the closed form
against adaptive quadrature of |F_n − Φ|, and W1(Rademacher, N(0,1)) = 0.535377321547880 to 12 digits.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.w1` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import w1 as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_w1(results):
    assert_no_failure(results)
