"""Claim 6 -- The finite-sample floor (docs/theory.md §4 step 3): the max-sliced estimator on exact Gaussian
samples decays like n^{-1/2} (fitted slope with interval) for K + M = 2 and 4.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.floor` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import floor as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_floor(results):
    assert_no_failure(results)
