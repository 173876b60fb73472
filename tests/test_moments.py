"""Exact moments of single-layer generators against Monte Carlo (docs/theory.md §2)."""

import math

import numpy as np
import pytest

from getheory import (
    CallableGenerator,
    SingleLayerGenerator,
    draw_weights,
    exact_moments,
    gaussian_match,
    monte_carlo_moments,
    random_deep,
    random_single_layer,
)
from getheory.moments import check_covariance, monte_carlo_match


@pytest.mark.parametrize("activation", ["sign", "erf2", "erf", "tanh", "relu", "linear"])
def test_exact_moments_match_monte_carlo_within_clt_error(activation):
    gen = random_single_layer(6, 5, activation, seed=3)
    ex = exact_moments(gen)
    mc = monte_carlo_moments(gen, 200_000, seed=4, n_groups=20)
    # batch means over 20 groups: each z is ~ t with 19 dof; P(|t19| > 6) ≈ 1e-5,
    # so over the ~100 entries per activation a 6-SE miss has probability ~1e-3.
    # The diagonal of Ω for sign is degenerate (x_i² ≡ 1): a group's variance estimate
    # is (n_g/(n_g−1))(1 − m̂²), whose error n_g·m̂² ~ χ²_1 is far from normal, so the
    # batch-means SE is unreliable there; its exact SE √2/((n_g−1)√G) is used as a floor.
    G, n_g = 20, 200_000 // 20
    se_O = mc.stderr_Omega.copy()
    np.fill_diagonal(se_O, np.maximum(np.diag(se_O), math.sqrt(2) / ((n_g - 1) * math.sqrt(G))))
    for name, e, m, se in (
        ("mean", ex.mean, mc.mean, mc.stderr_mean),
        ("Omega", ex.Omega, mc.Omega, se_O),
        ("Phi", ex.Phi, mc.Phi, mc.stderr_Phi),
    ):
        z = np.abs(e - m) / np.maximum(se, 1e-12)
        assert np.max(z) < 6, f"{activation} {name}: max |z| = {np.max(z):.2f}"


def test_exact_omega_is_symmetric_psd_with_variance_diagonal():
    gen = random_single_layer(30, 10, "sign", seed=0)
    ex = exact_moments(gen)
    assert np.allclose(ex.Omega, ex.Omega.T)
    assert np.linalg.eigvalsh(ex.Omega).min() > -1e-10
    assert np.allclose(np.diag(ex.Omega), 1.0)  # sign: Var = E sign² = 1


def test_gaussian_match_blocks_follow_definitions(small_sign):
    gen, Ws, Wt = small_sign
    ex = exact_moments(gen)
    match = gaussian_match(ex, Ws, Wt)
    N, D = gen.N, gen.D
    assert np.allclose(match.Q, Ws @ ex.Omega @ Ws.T / N)
    assert np.allclose(match.R, Ws @ ex.Phi @ Wt.T / math.sqrt(N * D))
    assert np.allclose(match.T, Wt @ Wt.T / D)
    assert np.allclose(match.mean, 0.0)  # sign is odd: E x = 0


def test_match_invariant_under_latent_rotation(small_sign):
    gen, Ws, Wt = small_sign
    rng = np.random.default_rng(7)
    O, _ = np.linalg.qr(rng.standard_normal((gen.D, gen.D)))
    rot = SingleLayerGenerator(gen.A @ O, "sign")
    a = gaussian_match(exact_moments(gen), Ws, Wt).cov
    b = gaussian_match(exact_moments(rot), Ws, Wt @ O).cov
    assert np.allclose(a, b, atol=1e-12)


def test_match_invariant_under_hidden_unit_permutation(small_sign):
    gen, Ws, Wt = small_sign
    perm = np.random.default_rng(8).permutation(gen.N)
    perm_gen = SingleLayerGenerator(gen.A[perm], "sign")
    a = gaussian_match(exact_moments(gen), Ws, Wt).cov
    b = gaussian_match(exact_moments(perm_gen), Ws[:, perm], Wt).cov
    assert np.allclose(a, b, atol=1e-12)


def test_match_scales_quadratically_with_student_weights(small_sign):
    gen, Ws, Wt = small_sign
    ex = exact_moments(gen)
    a = gaussian_match(ex, Ws, Wt)
    b = gaussian_match(ex, 3 * Ws, Wt)
    assert np.allclose(b.Q, 9 * a.Q) and np.allclose(b.R, 3 * a.R)


def test_monte_carlo_moments_of_deep_generator_give_match_with_stderr():
    gen = random_deep([6, 10, 8], "sign", seed=1)
    Ws, Wt = draw_weights(8, 6, 2, 1, seed=2)
    mc = monte_carlo_moments(gen, 20_000, seed=3, weights=(Ws, Wt))
    match = gaussian_match(mc, Ws, Wt)
    assert match.stderr_cov is not None and match.stderr_cov.shape == (3, 3)
    assert np.all(match.stderr_cov[:2, :2] > 0)


def test_covariance_check_rejects_non_psd_and_asymmetric():
    with pytest.raises(ValueError, match="positive semi-definite"):
        check_covariance(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        check_covariance(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        check_covariance(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    cov, clipped = check_covariance(np.array([[1.0, 1.0], [1.0, 1.0 - 1e-15]]))
    assert clipped <= 1


def test_gaussian_match_rejects_wrong_weight_shapes(small_sign):
    gen, Ws, Wt = small_sign
    ex = exact_moments(gen)
    with pytest.raises(ValueError, match="W_student"):
        gaussian_match(ex, Ws[:, :-1], Wt)
    with pytest.raises(ValueError, match="W_teacher"):
        gaussian_match(ex, Ws, Wt[:, :-1])
    with pytest.raises(ValueError, match="NaN"):
        bad = Ws.copy()
        bad[0, 0] = np.nan
        gaussian_match(ex, bad, Wt)


def test_exact_moments_refuse_other_generators():
    with pytest.raises(TypeError, match="monte_carlo_moments"):
        exact_moments(random_deep([4, 5, 6], "sign", seed=0))


# -- the steps of monte_carlo_moments ------------------------------------------------------------

def test_monte_carlo_groups_split_n_into_sizes_that_differ_by_at_most_one():
    from getheory.moments import _group_sizes

    assert _group_sizes(45, 20) == [3] * 5 + [2] * 15  # 45 = 20·2 + 5: the first 5 groups take one more
    assert _group_sizes(40, 20) == [2] * 20
    with pytest.raises(ValueError, match="too small for 20 groups; use n >= 40"):
        _group_sizes(39, 20)
    with pytest.raises(ValueError, match="n_groups must be an integer >= 2"):
        _group_sizes(100, 1)


def test_batch_means_of_known_group_estimates():
    """Groups estimating 1, 2 and 3: mean 2, batch-means SE = sd/√G = 1/√3 (sd with G − 1 = 2 dof is 1)."""
    from getheory.backend import get_backend
    from getheory.moments import _BatchMeans

    acc = _BatchMeans(get_backend("numpy"))
    for v in (1.0, 2.0, 3.0):
        acc.add(m=np.array([v, -v]), O=np.full((2, 2), 10 * v))
    mean, se = acc.mean_se("m", 3)
    np.testing.assert_allclose(mean, [2.0, -2.0], rtol=1e-15)
    np.testing.assert_allclose(se, [1 / math.sqrt(3)] * 2, rtol=1e-14)
    mean, se = acc.mean_se("O", 3)
    np.testing.assert_allclose(mean, np.full((2, 2), 20.0), rtol=1e-15)
    np.testing.assert_allclose(se, np.full((2, 2), 10 / math.sqrt(3)), rtol=1e-14)


def test_monte_carlo_moments_are_reproducible_and_keep_one_match_covariance_per_group():
    gen = random_deep([4, 6, 5], "sign", seed=1)
    Ws, Wt = draw_weights(5, 4, 1, 1, seed=2)
    a = monte_carlo_moments(gen, 1000, seed=3, n_groups=4, weights=(Ws, Wt))
    b = monte_carlo_moments(gen, 1000, seed=np.random.SeedSequence(3), n_groups=4, weights=(Ws, Wt))
    for name in ("mean", "Omega", "Phi", "stderr_mean", "stderr_Omega", "stderr_Phi"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert len(a.group_match_covs) == 4 and a.group_match_covs[0].shape == (2, 2)
    assert a.n_samples == 1000 and "n=1000 in 4 groups" in a.source
    np.testing.assert_array_equal(a.Omega, a.Omega.T)


# -- the match from the fields (§2, Monte Carlo matches from the fields) --------------------------

def _tanh_user_generator():
    A = np.random.default_rng(11).standard_normal((9, 7))
    return CallableGenerator(lambda c: np.tanh(c @ A.T / math.sqrt(7) + 0.3), D=7, name="tanh user")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make", [lambda: random_deep([8, 12, 10], "sign", seed=0), _tanh_user_generator],
                         ids=["deep", "callable"])
def test_match_from_the_fields_equals_the_match_from_omega_on_the_same_latents(make, dtype):
    """Group g of both routes draws from child g of the seed: the same latents, so m, Σ and the batch-means
    errors agree to rounding (float64: 1e-13; float32, where Ω's sums were float32 and the fields' sums are
    float64: a thousandth of the match's own smallest standard error)."""
    gen = make()
    Ws, Wt = draw_weights(gen.N, gen.D, 2, 2, seed=1)
    old = gaussian_match(monte_carlo_moments(gen, 4000, seed=5, weights=(Ws, Wt), dtype=dtype), Ws, Wt)
    new = monte_carlo_match(gen, Ws, Wt, 4000, seed=5, dtype=dtype)
    tol = 1e-13 if dtype == "float64" else 1e-3 * float(np.min(old.stderr_cov[:2, :]))
    for name in ("mean", "cov", "stderr_cov"):
        np.testing.assert_allclose(getattr(new, name), getattr(old, name), rtol=0, atol=tol, err_msg=name)
    assert (new.K, new.M, new.exact) == (2, 2, False)
    np.testing.assert_array_equal(new.cov[2:, 2:], Wt @ Wt.T / gen.D)  # T exact
    np.testing.assert_allclose(new.stderr_cov[2:, 2:], 0.0, atol=1e-14)  # T is the same in every group
    np.testing.assert_array_equal(new.mean[2:], 0.0)


def test_match_from_the_fields_of_a_single_layer_generator_is_within_its_errors_of_the_exact_match():
    gen = random_single_layer(12, 6, "relu", seed=2)
    Ws, Wt = draw_weights(12, 6, 1, 1, seed=3)
    exact = gaussian_match(exact_moments(gen), Ws, Wt)
    mc = monte_carlo_match(gen, Ws, Wt, 40_000, seed=4)
    z = np.abs(mc.cov - exact.cov)[:1, :] / mc.stderr_cov[:1, :]
    assert z.max() < 4.0  # 2 entries (Q, R); P(max |t_19| > 4) < 0.2 %
    assert abs(mc.mean[0] - exact.mean[0]) < 4 * math.sqrt(exact.cov[0, 0] / 40_000)


def test_match_from_the_fields_refuses_bad_input():
    gen = random_deep([4, 6, 5], "sign", seed=1)
    Ws, Wt = draw_weights(5, 4, 1, 1, seed=2)
    with pytest.raises(ValueError, match="too small for 20 groups; use n >= 40"):
        monte_carlo_match(gen, Ws, Wt, 39)
    with pytest.raises(ValueError, match="W_student"):
        monte_carlo_match(gen, Ws[:, :-1], Wt, 400)
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'; got 'float16'"):
        monte_carlo_match(gen, Ws, Wt, 400, dtype="float16")


def test_float32_monte_carlo_moments_accumulate_in_float64():
    # x = A c/2 + 300: each batch's xᵀx is a float32 product of 64 rows, but the sums over the 256
    # batches of a group run in float64.  Summed in float32 (as before), the group sums of ~3·10^6
    # lose Ω by 39 SE here; in float64, Ω is within its CLT error (exact SE of a sample covariance:
    # √((Ω_ii Ω_jj + Ω_ij²)/n); 64 entries, |z| < 6)
    A = np.random.default_rng(1).standard_normal((8, 4))
    gen = CallableGenerator(lambda c: c @ A.T / 2.0 + 300.0, D=4, N=8, name="offset linear")
    n, Omega = 1 << 16, A @ A.T / 4
    mc = monte_carlo_moments(gen, n, seed=2, batch_size=64, n_groups=4, dtype="float32")
    assert {mc.mean.dtype, mc.Omega.dtype, mc.Phi.dtype} == {np.dtype(np.float64)}
    se = np.sqrt((np.outer(np.diag(Omega), np.diag(Omega)) + Omega**2) / n)
    z = np.abs(mc.Omega - Omega) / se
    assert np.max(z) < 6, f"max |z| of the float32 run's Ω = {np.max(z):.1f}"


def test_cross_moments_do_not_carry_the_inputs_mean():
    """Φ̂ and R are centred within each group, so shifting x by a constant (a generator with E x ≠ 0,
    as a deep relu network) leaves them unchanged on the same latents, to rounding.  Uncentred, they
    carried E x c̄_gᵀ, whose spread |E x|/√n_g here (shift 300, groups of 1000 rows) is ~10 against
    Φ's own standard error ~0.03 (§2, the match from the fields)."""
    A = np.random.default_rng(1).standard_normal((8, 4))
    base = CallableGenerator(lambda c: np.tanh(c @ A.T / 2.0), D=4, N=8, name="tanh")
    shifted = CallableGenerator(lambda c: np.tanh(c @ A.T / 2.0) + 300.0, D=4, N=8, name="shifted tanh")
    Ws, Wt = draw_weights(8, 4, 2, 1, seed=2)
    a = monte_carlo_moments(base, 20_000, seed=3, weights=(Ws, Wt))
    b = monte_carlo_moments(shifted, 20_000, seed=3, weights=(Ws, Wt))
    np.testing.assert_allclose(b.Phi, a.Phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b.stderr_Phi, a.stderr_Phi, rtol=0, atol=1e-9)
    ma = monte_carlo_match(base, Ws, Wt, 20_000, seed=3)
    mb = monte_carlo_match(shifted, Ws, Wt, 20_000, seed=3)
    np.testing.assert_allclose(mb.cov, ma.cov, rtol=0, atol=1e-8)
    np.testing.assert_allclose(mb.stderr_cov, ma.stderr_cov, rtol=0, atol=1e-8)
    assert float(np.max(a.stderr_Phi)) < 0.05
