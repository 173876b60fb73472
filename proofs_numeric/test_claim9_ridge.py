"""Claim 9 -- Ridge on generator features (docs/theory.md §8): the decomposition of the labels into
their linear part in x̂ and the effective noise, and the deterministic equivalent against ridge
simulations on exactly Gaussian inputs.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.ridge` (shared with ``getheory proofs`` once registered); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the full size.
"""

import pytest

from getheory._claims import ridge as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_ridge(results):
    assert_no_failure(results)
