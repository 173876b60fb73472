"""Claim 1 -- Hermite facts (docs/theory.md §3): orthogonality E[He_k He_l] = k! δ_kl; the μ0, μ1, μ* table
at 30 digits; getheory's float64 coefficients; Parseval Σ μ_k²/k! = E σ² with the number of terms
for a 1e-12 tail and the slow K^{-1/2} tail of sign.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.hermite` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import hermite as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_hermite(results):
    assert_no_failure(results)
