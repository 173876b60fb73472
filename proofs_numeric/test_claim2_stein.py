"""Claim 2 -- Stein's lemma E[ζ f(sζ)] = s E f'(sζ) and the exact Φ = diag(E σ'(h_i)) A/√D of single-layer
generators, including the distributional derivative of sign, E sign'(sζ) = √(2/π)/s (docs/theory.md §2).

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.stein` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import stein as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_stein(results):
    assert_no_failure(results)
