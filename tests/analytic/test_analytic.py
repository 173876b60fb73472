"""Leading-order cumulants without sampling (getheory.analytic, docs/theory.md §4.2)."""

import json
import math

import numpy as np
import pytest

import getheory as gt
from getheory.analytic import analytic_dms, leading_cumulants, site_constants
from getheory.analytic._patterns import PatternSums
from getheory._claims.analytic import _two_rows, exact_central_moments_d2, mc_points, chi2
from getheory.distances import k_statistics


def test_site_constants_match_hermite_and_closed_forms():
    c = site_constants("sign", [0.7, 1.0, 2.0])
    r = math.sqrt(2 / math.pi)
    np.testing.assert_allclose(c["mu1"], r, atol=1e-13)
    np.testing.assert_allclose(c["mu3"], -r, atol=1e-13)  # E|g|³ − 3E|g|
    np.testing.assert_allclose(c["var"], 1 - 2 / math.pi, atol=1e-13)
    np.testing.assert_allclose(c["t22"], 0.0, atol=1e-12)  # E(g²−1)(sign g − r g)² = 0
    for act in ("erf2", "tanh", "relu"):
        for s in (0.6, 1.3):
            mu = gt.hermite_mu(act, 3, s)
            c = site_constants(act, [s])
            np.testing.assert_allclose([c["mu0"][0], c["mu1"][0], c["mu2"][0], c["mu3"][0]], mu[:4], atol=1e-10)


def test_sigma_is_the_exact_match_in_blocks():
    for act in ("sign", "erf2", "relu"):
        gen = gt.random_single_layer(40, 24, act, seed=3)
        W, Wt = gt.draw_weights(40, 24, 2, 2, seed=4)
        ps = PatternSums(gen, W, Wt, block=7)
        cov = gt.gaussian_match(gt.exact_moments(gen), W, Wt).cov
        np.testing.assert_allclose(ps.Sigma, cov, atol=1e-12)


def test_two_site_form_and_ring_against_brute_force():
    gen = gt.random_single_layer(12, 5, "relu", seed=5)
    W, Wt = gt.draw_weights(12, 5, 2, 1, seed=6)
    ps = PatternSums(gen, W, Wt, block=5)
    A = gen.A
    Ah = A / np.linalg.norm(A, axis=1, keepdims=True)
    rho = Ah @ Ah.T
    R = rho - np.eye(12)
    F = ps.features()
    np.testing.assert_allclose(ps.H, F.T @ (R * R) @ F, atol=1e-12)
    V = ps.consts["mu2"][:, None] * ps.P[:, :2]
    N = 12
    brute = np.zeros((2, 2, 2))
    for i in range(N):
        for j in range(N):
            for k in range(N):
                if len({i, j, k}) == 3:
                    brute += rho[i, j] * rho[j, k] * rho[k, i] * np.einsum("a,b,c->abc", V[i], V[j], V[k])
    np.testing.assert_allclose(ps.ring, brute, atol=1e-12)


def test_block_size_does_not_change_the_result():
    gen = gt.random_single_layer(50, 25, "erf2", seed=7)
    W, Wt = gt.draw_weights(50, 25, 1, 1, seed=8)
    a = leading_cumulants(gen, W, Wt, block=6)
    b = leading_cumulants(gen, W, Wt)
    np.testing.assert_allclose(a.K4, b.K4, atol=1e-14)


@pytest.mark.parametrize("act", ["sign", "erf2", "tanh", "relu"])
def test_exact_at_zero_correlation(act):
    """Rows at ρ = 0: the one-site terms are the whole cumulant (exact, any σ)."""
    W, Wt, u = np.array([[0.9, -1.4]]), np.array([[0.7, 0.5]]), np.array([0.8, 0.6])
    gen = gt.SingleLayerGenerator(_two_rows(0.0), act)
    k3, k4, s = leading_cumulants(gen, W, Wt).kappas(u)
    m = exact_central_moments_d2(gen.A, act, W, Wt, u)
    assert abs(m[2] - s[0] ** 2) < 1e-12
    assert abs(m[3] / m[2] ** 1.5 - k3[0]) < 1e-11
    assert abs(m[4] / m[2] ** 2 - 3 - k4[0]) < 1e-11


@pytest.mark.parametrize("act,which", [("sign", 4), ("erf2", 4), ("tanh", 4), ("relu", 3)])
def test_exact_through_second_order_in_rho(act, which):
    """κ4 (odd σ) and κ3 (any σ) are exact through ρ²: the residual falls like ρ³ or faster."""
    W, Wt, u = np.array([[0.9, 1.4]]), np.array([[0.7, 0.5]]), np.array([0.8, 0.6])
    eps = np.array([0.16, 0.08, 0.04])
    res = []
    for e in eps:
        gen = gt.SingleLayerGenerator(_two_rows(e), act)
        k3, k4, _ = leading_cumulants(gen, W, Wt).kappas(u)
        m = exact_central_moments_d2(gen.A, act, W, Wt, u)
        exact = m[4] / m[2] ** 2 - 3 if which == 4 else m[3] / m[2] ** 1.5
        res.append(abs(exact - (k4[0] if which == 4 else k3[0])))
    slope = np.polyfit(np.log(eps), np.log(res), 1)[0]
    assert slope > 2.5, (res, slope)


def test_relu_kappa4_is_flagged_incomplete():
    """For non-odd σ the two-site κ4 has O(ρ) patterns not in the expansion: flagged."""
    gen = gt.random_single_layer(16, 8, "relu", seed=1)
    W, Wt = gt.draw_weights(16, 8, 1, 1, seed=2)
    assert not leading_cumulants(gen, W, Wt).kappa4_complete
    gen = gt.random_single_layer(16, 8, "sign", seed=1)
    lc = leading_cumulants(gen, W, Wt)
    assert lc.kappa4_complete and np.all(lc.K3 == 0)


def test_analytic_dms_direction_and_dict():
    gen = gt.random_single_layer(64, 32, "sign", seed=0)
    W, Wt = gt.draw_weights(64, 32, 2, 2, seed=1)
    r = analytic_dms(gen, W, Wt)
    assert r.direction.shape == (4,) and abs(np.linalg.norm(r.direction) - 1) < 1e-12
    lc = r.cumulants
    # the maximiser beats every coordinate axis and 500 random directions
    U = np.concatenate([np.eye(4), np.random.default_rng(0).standard_normal((500, 4))])
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    k3, k4, s = lc.kappas(U)
    assert r.edgeworth_w1 >= np.max(s * np.abs(k4) * 1.5100 / 24) * (1 - 1e-3)
    assert r.edgeworth_w1 == pytest.approx(r.sigma_u * abs(r.kappa4) * 1.51002 / 24, rel=1e-4)
    json.dumps(r.to_dict())
    assert 0 < r.truncation_error < r.edgeworth_w1


def test_monte_carlo_agreement_small():
    """κ4 along the analytic direction vs the k-statistic of z·u (N = 64, sign and erf2)."""
    rows = mc_points(Ns=(64,), n=400_000, seed=11)
    for r in rows:
        assert abs(r["mc"] - r["analytic"]) < 3 * math.hypot(r["se"], r["tau"]), r


@pytest.mark.slow
def test_monte_carlo_agreement_k2_m2_and_weights():
    """K = M = 2, δ = 1/4 and 1, |Gaussian| student weights (sign, erf2, tanh): χ² of κ4."""
    rows = []
    for act, N, delta, ens in [("sign", 128, 0.25, "gaussian"), ("erf2", 128, 1.0, "abs_gaussian"),
                               ("tanh", 64, 0.5, "gaussian"), ("sign", 256, 0.5, "abs_gaussian")]:
        D = int(N * delta)
        gen = gt.random_single_layer(N, D, act, seed=N + D)
        W, Wt = gt.draw_weights(N, D, 2, 2, seed=N + D + 1, ensemble=ens)
        r = analytic_dms(gen, W, Wt)
        lam, nu = gt.sample_fields(gen, W, Wt, 1_500_000, seed=N + D + 2)
        ks = k_statistics(np.concatenate([lam, nu], axis=1) @ r.direction)
        s4 = r.sigma_u ** 4
        rows.append({"analytic": r.kappa4, "tau": r.kappa4_truncation, "mc": ks["k4"] / s4, "se": ks["se_k4"] / s4})
    for r in rows:
        assert abs(r["mc"] - r["analytic"]) < 3 * math.hypot(r["se"], r["tau"]), r
    from scipy.stats import chi2 as c2

    assert c2.sf(chi2(rows), len(rows)) > 1e-3


@pytest.mark.slow
def test_monte_carlo_kappa3_relu_abs_weights():
    """Non-odd σ: κ3 (leading, N^-1/2) along the analytic direction vs Monte Carlo."""
    for N in (64, 256):
        gen = gt.random_single_layer(N, N // 2, "relu", seed=N)
        W, Wt = gt.draw_weights(N, N // 2, 1, 1, seed=N + 1, ensemble="abs_gaussian")
        r = analytic_dms(gen, W, Wt)
        lam, nu = gt.sample_fields(gen, W, Wt, 1_000_000, seed=N + 2)
        ks = k_statistics(np.concatenate([lam, nu], axis=1) @ r.direction)
        mc, se = ks["k3"] / r.sigma_u ** 3, ks["se_k3"] / r.sigma_u ** 3
        assert abs(mc - r.kappa3) < 3 * math.hypot(se, r.kappa3_truncation), (N, mc, se, r.kappa3, r.kappa3_truncation)


def test_leading_cumulants_agree_across_backends(backend):
    gen = gt.random_single_layer(64, 32, "sign", seed=0)
    W, Wt = gt.draw_weights(64, 32, 1, 1, seed=1)
    a = leading_cumulants(gen, W, Wt)
    b = leading_cumulants(gen, W, Wt, backend=backend)
    np.testing.assert_allclose(a.K4, b.K4, atol=1e-12)


def test_rejects_other_generators():
    gen = gt.random_deep([8, 12, 16], "sign", seed=0)
    W, Wt = gt.draw_weights(16, 8, 1, 1, seed=1)
    with pytest.raises(TypeError, match="SingleLayerGenerator"):
        analytic_dms(gen, W, Wt)
