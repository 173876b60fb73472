"""Claim 8 -- The theorem itself, empirically (docs/theory.md §4-§5): d_MS / bound stays bounded over N for sign,
erf2, tanh and relu single-layer generators; resolved estimates decay at a fitted rate; generators that
violate a condition give a large d_MS together with a large bound term.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.theorem` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import theorem as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_theorem(results):
    assert_no_failure(results)
