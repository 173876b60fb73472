"""Cross-backend agreement: the same seedless statistics on NumPy and CuPy.

Every test here needs CuPy and a GPU and is skipped (not failed) elsewhere.
Agreement is asked to 1e-10 in float64: the computations are the same
formulas on the same inputs, so only summation order differs (≈ 1e-14
relative for these sizes; 1e-10 leaves room for cuBLAS's blocking).
"""

import numpy as np
import pytest

from getheory import (
    bound_terms,
    draw_weights,
    exact_moments,
    gaussian_match,
    max_sliced_w1,
    random_single_layer,
    sample_fields,
    w1_to_normal,
)
from getheory.backend import available_backends, get_backend

pytestmark = pytest.mark.skipif(
    "cupy" not in available_backends(), reason="needs CuPy and a CUDA GPU (backend='cupy')"
)


@pytest.mark.parametrize("activation", ["sign", "erf2", "relu", "tanh"])
def test_exact_moments_agree_across_backends(activation):
    gen = random_single_layer(64, 32, activation, seed=0)
    a = exact_moments(gen, backend="numpy")
    b = exact_moments(gen, backend="cupy")
    for x, y in ((a.mean, b.mean), (a.Omega, b.Omega), (a.Phi, b.Phi)):
        assert isinstance(y, np.ndarray)
        np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["sign", "relu"])
def test_bound_terms_agree_across_backends(activation):
    gen = random_single_layer(80, 40, activation, seed=1)
    Ws, Wt = draw_weights(80, 40, 2, 2, seed=2)
    a = bound_terms(gen, Ws, Wt, backend="numpy").to_dict()
    b = bound_terms(gen, Ws, Wt, backend="cupy").to_dict()
    for k in ("M1_term", "M2_term", "teacher_term", "n_term"):
        assert b[k] == pytest.approx(a[k], rel=1e-10, abs=1e-14)


def test_w1_of_a_fixed_sample_agrees_across_backends():
    y = np.random.default_rng(3).standard_normal(10_001)
    cp = get_backend("cupy")
    assert w1_to_normal(cp.asarray(y), 0.1, 1.2) == pytest.approx(w1_to_normal(y, 0.1, 1.2), rel=1e-10)


def test_max_sliced_of_a_fixed_sample_agrees_across_backends():
    z = np.random.default_rng(4).standard_normal((20_000, 3))
    cov = np.eye(3)
    cp = get_backend("cupy")
    a = max_sliced_w1(z, np.zeros(3), cov, seed=5)
    b = max_sliced_w1(cp.asarray(z), np.zeros(3), cov, seed=5)
    assert isinstance(b.value, float)
    assert b.value == pytest.approx(a.value, rel=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cupy_fields_have_the_exact_covariance(dtype):
    gen = random_single_layer(40, 20, "sign", seed=6)
    Ws, Wt = draw_weights(40, 20, 2, 1, seed=7)
    n = 400_000
    lam, nu = sample_fields(gen, Ws, Wt, n, seed=8, backend="cupy", dtype=dtype)
    assert isinstance(lam, np.ndarray) and lam.dtype == np.dtype(dtype)
    z = np.concatenate([lam, nu], axis=1).astype(np.float64)
    cov = gaussian_match(exact_moments(gen), Ws, Wt).cov
    zc = z - z.mean(0)
    se = np.sqrt(np.var(zc[:, :, None] * zc[:, None, :], axis=0) / n)
    # 5 SE per entry (CLT); float32 rounding adds ≈ 1e-7 relative, far below SE ≈ 2e-3
    assert np.all(np.abs(np.cov(z.T) - cov) < 5 * se)
