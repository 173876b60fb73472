"""Claim 3 -- Mehler's formula and the closed-form kernels (docs/theory.md §2): the arcsine law (sign), the erf2
kernel, the arc-cosine kernel (relu), and the Mehler series for tanh, against 2-D quadrature at high
precision across ρ ∈ (-1, 1) and unequal row scales.

The claim logic, its method and its tolerances are in
:mod:`getheory._claims.kernels` (shared with ``getheory proofs``); this file
is its pytest entry point.  ``--full`` / ``GETHEORY_PROOFS_FULL=1`` for the
full size.
"""

import pytest

from getheory._claims import kernels as claim

from getheory._claims import assert_no_failure


@pytest.fixture(scope="module")
def results(full):
    return claim.check(full=full)


def test_claim_kernels(results):
    assert_no_failure(results)
