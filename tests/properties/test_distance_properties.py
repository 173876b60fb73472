"""Property tests of the exact 1-D distances of docs/theory.md §4 step 1.

Moved from tests/distances/test_distances.py (same properties, same tolerances, the same number of
examples under the ``ci`` profile, scaled by the others: tests/properties/_profiles.py).
"""

import numpy as np
import pytest
from _profiles import examples
from _references import quad_w1, quad_w2
from hypothesis import given, settings
from hypothesis import strategies as st

from getheory.distances import w1_to_normal, w2_to_normal


@settings(max_examples=examples(25))
@given(
    y=st.lists(st.floats(-4, 4, allow_nan=False), min_size=1, max_size=9),
    mu=st.floats(-1, 1),
    sigma=st.floats(0.3, 2.5),
)
def test_w1_matches_quadrature(y, mu, sigma):
    # quad reaches ~1e-12 relative on each smooth piece; 1e-9 absolute leaves room for 10 pieces
    assert abs(w1_to_normal(y, mu, sigma) - quad_w1(y, mu, sigma)) < 1e-9


@settings(max_examples=examples(15))
@given(
    y=st.lists(st.floats(-4, 4, allow_nan=False), min_size=1, max_size=7),
    mu=st.floats(-1, 1),
    sigma=st.floats(0.3, 2.5),
)
def test_w2_matches_quadrature(y, mu, sigma):
    # the end cells have log-singular Φ^{-1}; quad still reaches ~1e-10
    assert abs(w2_to_normal(y, mu, sigma) - quad_w2(y, mu, sigma)) < 1e-8


@settings(max_examples=examples(30))
@given(
    seed=st.integers(0, 2**31),
    a=st.floats(-5, 5),
    b=st.floats(-3, 3).filter(lambda v: abs(v) > 1e-2),
    mu=st.floats(-1, 1),
    sigma=st.floats(0.2, 3),
)
def test_translation_scale_equivariance(seed, a, b, mu, sigma):
    # W_p(a + b y, a + b mu, |b| sigma) = |b| W_p(y, mu, sigma), exactly up to rounding
    y = np.random.default_rng(seed).standard_normal(50) * 1.3 + 0.4
    for f in (w1_to_normal, w2_to_normal):
        lhs = f(a + b * y, a + b * mu, abs(b) * sigma)
        assert lhs == pytest.approx(abs(b) * f(y, mu, sigma), rel=1e-9, abs=1e-12)
