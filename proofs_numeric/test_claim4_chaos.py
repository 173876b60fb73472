"""Claim 4 -- The chaos decomposition Ω − (Gaussian equivalent) = Σ_{k≥2} μ_k²/k! offdiag(ρ^{∘k}) = M1 + M2 and
the default M1 (even), M2 (odd) of docs/theory.md §5(b), on random generators, against the exact Ω.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.chaos` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import chaos as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_chaos(results):
    assert_no_failure(results)
