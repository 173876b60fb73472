"""Learning dynamics (docs/theory.md §7): Gaussian integrals against Monte Carlo,
the SGD kernel against plain NumPy, the ODEs against SGD, the plateau of
Saad & Solla, bad inputs, the CLI and the finite-size check."""

import json
import math

import numpy as np
import pytest
from scipy.special import erf

from getheory.dynamics import (
    GaussianEquivalentData,
    GeneratorData,
    _ODESystem,
    finite_size_check,
    gauss_I2,
    gauss_I3,
    gauss_I4,
    generalisation_error,
    identity_generator,
    identity_moments,
    integral_tables,
    integrate_odes,
    run_dynamics,
    run_sgd,
    spectral_projections,
)
from getheory.generators import SingleLayerGenerator
from getheory.moments import exact_moments


def _g(z):
    return erf(z / math.sqrt(2))


def _gp(z):
    return math.sqrt(2 / math.pi) * np.exp(-z * z / 2)


def _random_cov(rng, n, scale=1.0):
    A = rng.standard_normal((n, n + 2))
    return scale * A @ A.T / (n + 2) + 0.05 * np.eye(n)


# ---------------------------------------------------------------------------
# Gaussian integrals (§7.4) against Monte Carlo
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integrals_against_monte_carlo(seed):
    rng = np.random.default_rng(seed)
    C = _random_cov(rng, 4, scale=1.5)
    n = 1_000_000
    z = rng.standard_normal((n, 4)) @ np.linalg.cholesky(C).T
    cases = [
        (gauss_I2(C[:2, :2]), _g(z[:, 0]) * _g(z[:, 1])),
        (gauss_I3(C[:3, :3]), _gp(z[:, 0]) * z[:, 1] * _g(z[:, 2])),
        (gauss_I4(C), _gp(z[:, 0]) * _gp(z[:, 1]) * _g(z[:, 2]) * _g(z[:, 3])),
        # repeated fields, as used by the ODEs: I3(k,k,k), I3(k,k,n), I4(k,k,n,n)
        (gauss_I3(C[np.ix_([0, 0, 0], [0, 0, 0])]), _gp(z[:, 0]) * z[:, 0] * _g(z[:, 0])),
        (gauss_I3(C[np.ix_([0, 0, 2], [0, 0, 2])]), _gp(z[:, 0]) * z[:, 0] * _g(z[:, 2])),
        (gauss_I4(C[np.ix_([0, 0, 2, 2], [0, 0, 2, 2])]), _gp(z[:, 0]) ** 2 * _g(z[:, 2]) ** 2),
    ]
    for exact, samples in cases:
        se = samples.std() / math.sqrt(n)
        assert abs(samples.mean() - exact) < 5 * se + 1e-12, (exact, samples.mean(), se)


def test_linear_integrals_and_tables():
    rng = np.random.default_rng(5)
    C = _random_cov(rng, 4)
    n = 400_000
    z = rng.standard_normal((n, 4)) @ np.linalg.cholesky(C).T
    assert abs(gauss_I2(C[:2, :2], "linear") - np.mean(z[:, 0] * z[:, 1])) < 5 * np.std(z[:, 0] * z[:, 1]) / math.sqrt(n)
    assert gauss_I3(C[:3, :3], "linear") == pytest.approx(C[1, 2])
    assert gauss_I4(C, "linear") == pytest.approx(C[2, 3])
    # the vectorised tables equal the scalar formulas on every sub-covariance
    K = 2
    I2, I3, I4 = integral_tables(C, K, "erf2")
    F = C.shape[0]
    for a in range(F):
        for b in range(F):
            assert I2[a, b] == pytest.approx(gauss_I2(C[np.ix_([a, b], [a, b])]), abs=1e-14)
            for c in range(F):
                idx = [a, b, c]
                assert I3[a, b, c] == pytest.approx(gauss_I3(C[np.ix_(idx, idx)]), abs=1e-14)
    for k in range(K):
        for l in range(K):
            for c in range(F):
                for d in range(F):
                    idx = [k, l, c, d]
                    assert I4[k, l, c, d] == pytest.approx(gauss_I4(C[np.ix_(idx, idx)]), abs=1e-14)


def test_generalisation_error_closed_form_against_monte_carlo():
    rng = np.random.default_rng(7)
    K, M = 2, 3
    C = _random_cov(rng, K + M, scale=2.0)
    Q, R, T = C[:K, :K], C[:K, K:], C[K:, K:]
    v, vt = rng.standard_normal(K), rng.standard_normal(M)
    n = 1_000_000
    z = rng.standard_normal((n, K + M)) @ np.linalg.cholesky(C).T
    for g, f in (("erf2", _g), ("linear", lambda x: x)):
        err = 0.5 * (f(z[:, :K]) @ v - f(z[:, K:]) @ vt) ** 2
        exact = generalisation_error(Q, R, T, v, vt, g)
        assert abs(err.mean() - exact) < 5 * err.std() / math.sqrt(n)
    err = 0.5 * (np.maximum(z[:, :K], 0) @ v - np.maximum(z[:, K:], 0) @ vt) ** 2
    assert generalisation_error(Q, R, T, v, vt, "relu") == pytest.approx(err.mean(), rel=0.02)


@pytest.mark.parametrize("g", ["erf2", "linear"])
def test_stein_form_equals_the_spec_form(g):
    """The 1/det form of §7.5 and the Stein form give the same right-hand side."""
    rng = np.random.default_rng(11)
    K, M, P = 3, 2, 9
    rho = rng.uniform(0.1, 4, P)
    G, B = rng.standard_normal((K, P)), rng.standard_normal((M, P))
    y = np.concatenate([np.einsum("kp,lp->klp", G, G).ravel(), np.einsum("kp,mp->kmp", G, B).ravel(),
                        rng.standard_normal(K)])
    Wt = rng.standard_normal((M, 6))
    T = Wt @ Wt.T / 6
    tt = np.einsum("np,mp->nmp", B, B)
    out = [_ODESystem(rho, tt, T, np.array([1.0, -0.6]), 0.3, 0.4, g, True, K, M, form)(0.0, y)
           for form in ("stein", "spec")]
    np.testing.assert_allclose(out[0], out[1], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# SGD kernel and the Gaussian-equivalent sampler (§7.1, §7.2)
# ---------------------------------------------------------------------------
def _numpy_sgd(W, v, X, y, eta, g, train_v):
    K, N = W.shape
    gf = {"erf2": _g, "linear": lambda z: z, "relu": lambda z: np.maximum(z, 0)}[g]
    gd = {"erf2": _gp, "linear": lambda z: np.ones_like(z), "relu": lambda z: (z > 0).astype(float)}[g]
    for x, yy in zip(X, y):
        lam = W @ x / math.sqrt(N)
        delta = gf(lam) @ v - yy
        dW = (eta / math.sqrt(N)) * (v * gd(lam) * delta)[:, None] * x[None, :]
        dv = (eta / N) * gf(lam) * delta
        W = W - dW
        if train_v:
            v = v - dv
    return W, v


@pytest.mark.parametrize("g", ["erf2", "linear", "relu"])
@pytest.mark.parametrize("train_v", [True, False])
def test_kernel_matches_numpy_loop(g, train_v):
    from getheory.dynamics._kernel_cpu import G_CODES, sgd_segment

    rng = np.random.default_rng(3)
    K, N, n = 3, 37, 200
    W, v = rng.standard_normal((K, N)), rng.standard_normal(K)
    X, y = rng.standard_normal((n, N)), rng.standard_normal(n)
    W_ref, v_ref = _numpy_sgd(W.copy(), v.copy(), X, y, 0.3, g, train_v)
    W2, v2 = W.copy(), v.copy()
    assert sgd_segment(W2, v2, X, y, 0.3, G_CODES[g], train_v, 0, 120) == 120
    assert sgd_segment(W2, v2, X, y, 0.3, G_CODES[g], train_v, 120, n) == n - 120
    np.testing.assert_allclose(W2, W_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(v2, v_ref, rtol=1e-11, atol=1e-12)


def test_kernels_and_cli_take_g_from_the_activation_objects(capsys):
    """The compiled kernels' codes and CUDA source, and the CLI's --g choices, come from the network
    activations of the registry (getheory.activations), not from lists of names here."""
    from getheory.activations import NETWORK_ACTIVATIONS, get_network_activation
    from getheory.cli import main
    from getheory.dynamics._kernel_cpu import G_CODES
    from getheory.dynamics._kernel_cuda import CUDA_SOURCE

    assert G_CODES == {g: get_network_activation(g).kernel_code for g in NETWORK_ACTIVATIONS}
    for g in NETWORK_ACTIVATIONS:
        act = get_network_activation(g)
        for snippet in (act.cuda_g, act.cuda_gprime):
            assert f"if (code == {act.kernel_code}) return {snippet};" in CUDA_SOURCE or (
                act is get_network_activation(NETWORK_ACTIVATIONS[-1]) and f"    return {snippet};" in CUDA_SOURCE)
    with pytest.raises(SystemExit):
        main(["dynamics", "--g", "tanh", "--quiet", "--out", "/tmp/never-written"])
    assert "choose from " + ", ".join(repr(g) for g in NETWORK_ACTIVATIONS) in capsys.readouterr().err


def test_gaussian_equivalent_eigen_basis_is_the_same_run():
    """x' = Uᵀx̂ with W' = W U gives the same SGD run (the rotation trick of §7.2)."""
    from getheory.dynamics._kernel_cpu import G_CODES, sgd_segment
    from getheory.generators import random_single_layer

    gen = random_single_layer(30, 12, "sign", seed=4)
    mom = exact_moments(gen)
    direct = GaussianEquivalentData(mom.Omega, mom.Phi, basis="direct")
    eigen = GaussianEquivalentData(mom.Omega, mom.Phi, basis="eigen")
    rng = np.random.default_rng(0)
    c, xi = rng.standard_normal((500, 12)), rng.standard_normal((500, 30))
    Xd = direct.inputs(c, None, xi=xi)
    Xe = eigen.inputs(c, None, xi=xi @ eigen.U)  # ξ' = Uᵀξ, same law
    np.testing.assert_allclose(Xd @ eigen.U, Xe, atol=1e-10)
    W0, v0 = rng.standard_normal((2, 30)), rng.standard_normal(2)
    y = rng.standard_normal(500)
    Wd, vd = W0.copy(), v0.copy()
    We, ve = eigen.to_data_basis(W0.copy()), v0.copy()
    sgd_segment(Wd, vd, np.ascontiguousarray(Xd), y, 0.2, G_CODES["erf2"], True, 0, 500)
    sgd_segment(We, ve, np.ascontiguousarray(Xe), y, 0.2, G_CODES["erf2"], True, 0, 500)
    np.testing.assert_allclose(eigen.from_data_basis(We), Wd, atol=1e-9)
    np.testing.assert_allclose(ve, vd, atol=1e-11)
    # the sampler has the right covariance: Cov(x̂) = Ω, Cov(x̂, c) = Φ
    c = rng.standard_normal((200_000, 12))
    X = direct.inputs(c, rng)
    assert np.max(np.abs(X.T @ X / len(c) - mom.Omega)) < 0.03
    assert np.max(np.abs(X.T @ c / len(c) - mom.Phi)) < 0.02


# ---------------------------------------------------------------------------
# ODEs (§7.3-§7.5)
# ---------------------------------------------------------------------------
def test_ode_step_size_error_is_negligible_and_rk4_agrees():
    from getheory.generators import random_single_layer

    gen = random_single_layer(120, 60, "sign", seed=2)
    mom = exact_moments(gen)
    rng = np.random.default_rng(1)
    W0, Wt, v0 = rng.standard_normal((2, 120)), rng.standard_normal((2, 60)), rng.standard_normal(2)
    rho, G, B = spectral_projections(mom.Omega, mom.Phi, W0, Wt)
    t = np.concatenate([[0.0], np.geomspace(0.01, 10, 12)])
    a = integrate_odes(rho, G, B, v0, np.ones(2), D=60, eta=0.2, t_eval=t, W_teacher=Wt)
    assert a.step_error < 1e-6 and a.step_error_QR < 1e-6
    b = integrate_odes(rho, G, B, v0, np.ones(2), D=60, eta=0.2, t_eval=t, W_teacher=Wt, method="rk4", dt=0.05)
    assert b.step_error < 1e-6
    np.testing.assert_allclose(a.eps, b.eps, atol=1e-6)
    # t = 0: Q, R of §7.3 equal W Ω Wᵀ/N and W Φ W̃ᵀ/√(ND)
    np.testing.assert_allclose(a.Q[0], W0 @ mom.Omega @ W0.T / 120, atol=1e-9)
    np.testing.assert_allclose(a.R[0], W0 @ mom.Phi @ Wt.T / math.sqrt(120 * 60), atol=1e-9)


def _sgd_curves(gen, mom, W0, v0, Wt, vt, t, seeds, **kw):
    src = GeneratorData(gen, mom.mean)
    eps = []
    for s in seeds:
        (tr,), _ = run_sgd([src], W0, v0, Wt, vt, eta=kw.get("eta", 0.2), t_points=t, seed=s,
                           train_second_layer=kw.get("train_second_layer", True))
        T = Wt @ Wt.T / Wt.shape[1]
        e = []
        for W, v in zip(tr.W, tr.v):
            Q = W @ mom.Omega @ W.T / gen.N
            R = W @ mom.Phi @ Wt.T / math.sqrt(gen.N * gen.D)
            e.append(generalisation_error(Q, R, T, v, vt))
        eps.append(e)
    return np.array(eps)


def test_linear_generator_ode_matches_sgd_within_fluctuations():
    """σ = identity: Gaussian equivalence is exact; the ODE is the mean SGD curve."""
    N, D = 400, 200
    rng = np.random.default_rng(8)
    gen = SingleLayerGenerator(rng.standard_normal((N, D)), "linear")
    mom = exact_moments(gen)
    W0, Wt, v0, vt = rng.standard_normal((2, N)), rng.standard_normal((2, D)), rng.standard_normal(2), np.ones(2)
    t = np.unique(np.round(np.geomspace(0.05, 8, 10) * N)) / N
    rho, G, B = spectral_projections(mom.Omega, mom.Phi, W0, Wt)
    ode = integrate_odes(rho, G, B, v0, vt, D=D, eta=0.2, t_eval=t, W_teacher=Wt)
    eps = _sgd_curves(gen, mom, W0, v0, Wt, vt, t, seeds=range(4))
    mean, sd = eps.mean(0), eps.std(0, ddof=1)
    # the mean of 4 runs lies within 4 standard errors of the ODE (plus an O(1/N) bias allowance)
    assert np.all(np.abs(mean - ode.eps) <= 4 * sd / 2 + 2.0 / N), (mean, ode.eps, sd)
    assert ode.eps[-1] < 0.5 * ode.eps[0]  # it learns


def test_identity_generator_shows_saad_solla_plateau():
    """x = c (D = N): classic teacher-student; K = M = 2, small initial weights, v = ṽ = 1."""
    N = 500
    rng = np.random.default_rng(1)
    Qt, _ = np.linalg.qr(rng.standard_normal((N, 2)))
    Wt = Qt.T * math.sqrt(N)  # T = I
    W0 = 0.01 * rng.standard_normal((2, N))
    ones = np.ones(2)
    mom = identity_moments(N)
    t = np.unique(np.round(np.geomspace(0.1, 600, 40) * N)) / N
    rho, G, B = spectral_projections(mom.Omega, mom.Phi, W0, Wt)
    ode = integrate_odes(rho, G, B, ones, ones, D=N, eta=0.5, t_eval=t, W_teacher=Wt, train_second_layer=False,
                         step_check=False)
    plateau = np.interp(30.0, t, ode.eps)
    on = (t >= 10) & (t <= 100)
    assert np.all(np.abs(ode.eps[on] / plateau - 1) < 0.05)  # flat over a decade of time
    assert ode.eps[0] > 10 * plateau and ode.eps[-1] < 0.01 * plateau  # reached, then left
    eps = _sgd_curves(identity_generator(N), mom, W0, ones, Wt, ones, t, seeds=[0], eta=0.5,
                      train_second_layer=False)[0]
    near = np.abs(eps / plateau - 1) < 0.15
    # SGD sits on the ODE's plateau over at least a factor 3 in time, then escapes
    runs = [t[i:j + 1] for i in range(len(t)) for j in range(i, len(t)) if near[i:j + 1].all()]
    assert max(r[-1] / r[0] for r in runs) >= 3
    assert eps[-1] < 0.1 * plateau


# ---------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------
def test_bad_inputs_give_clear_errors():
    rng = np.random.default_rng(0)
    N, D = 20, 10
    W0, Wt = rng.standard_normal((2, N)), rng.standard_normal((2, D))
    Omega = np.eye(N)
    Phi = rng.standard_normal((N, D)) * 0.1
    rho, G, B = spectral_projections(Omega, Phi, W0, Wt)
    for eta in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="eta"):
            integrate_odes(rho, G, B, np.ones(2), np.ones(2), D=D, eta=eta, t_eval=[1.0], W_teacher=Wt)
        with pytest.raises(ValueError, match="eta"):
            run_dynamics(N=N, D=D, eta=eta)
        with pytest.raises(ValueError, match="eta"):
            run_sgd([GeneratorData(identity_generator(N), np.zeros(N))], W0, np.ones(2), rng.standard_normal((2, N)),
                    np.ones(2), eta=eta, t_points=[0.0, 1.0])
    with pytest.raises(ValueError, match="K"):
        run_dynamics(N=N, D=D, K=0)
    with pytest.raises(ValueError, match="no units"):
        spectral_projections(Omega, Phi, np.zeros((0, N)), Wt)
    bad = np.eye(N)
    bad[0, 0] = -1.0
    with pytest.raises(ValueError, match="positive semi-definite"):
        spectral_projections(bad, Phi, W0, Wt)
    with pytest.raises(ValueError, match="size"):
        spectral_projections(np.eye(N + 1), Phi, W0, Wt)
    with pytest.raises(ValueError, match="symmetric"):
        spectral_projections(np.eye(N) + np.triu(np.ones((N, N)), 1), Phi, W0, Wt)
    with pytest.raises(ValueError, match="Phi"):
        spectral_projections(Omega, Phi[:, :3], W0, Wt)
    with pytest.raises(ValueError, match="closed-form"):
        integrate_odes(rho, G, B, np.ones(2), np.ones(2), D=D, eta=0.1, t_eval=[1.0], W_teacher=Wt, g="relu")
    with pytest.raises(ValueError, match="activation"):
        run_dynamics(N=N, D=D, g="tanh")
    with pytest.raises(ValueError, match="v0"):
        integrate_odes(rho, G, B, np.ones(3), np.ones(2), D=D, eta=0.1, t_eval=[1.0], W_teacher=Wt)
    with pytest.raises(ValueError, match="t_eval"):
        integrate_odes(rho, G, B, np.ones(2), np.ones(2), D=D, eta=0.1, t_eval=[2.0, 1.0], W_teacher=Wt)


# ---------------------------------------------------------------------------
# Side by side, CLI, other generators
# ---------------------------------------------------------------------------
def test_cli_writes_report(tmp_path):
    from getheory.cli import main

    out = tmp_path / "dyn"
    rc = main(["dynamics", "--N", "80", "--D", "40", "--t-max", "2", "--points", "8", "--n-test", "500",
               "--out", str(out), "--quiet"])
    assert rc == 0
    for f in ("report.md", "report.json", "learning_curves.png", "gaps.png"):
        assert (out / f).exists(), f
    d = json.loads((out / "report.json").read_text())
    assert set(d["eps_g"]) >= {"ode", "sgd_generator_heldout", "sgd_gaussian_order_parameters"}
    assert "ode_vs_sgd_generator_order_parameters" in d["largest_gaps"]
    assert d["ode"]["step_error_eps"] < 1e-6
    md = (out / "report.md").read_text()
    assert "Largest gaps" in md and "steps/s" in md


def test_progress_line_names_which_seed_it_counts(monkeypatch):
    # each seed's SGD has its own progress line (and time estimate): it says which of the seeds it is
    import getheory._run as run_module

    labels = []

    class Recorder(run_module.Progress):
        def __init__(self, total, label, enabled, **kw):
            labels.append(label)
            super().__init__(total, label, False, **kw)

    monkeypatch.setattr(run_module, "Progress", Recorder)
    run_dynamics(activation="sign", N=40, D=20, t_max=0.5, points=3, n_test=100, sgd_seeds=2, progress=True)
    assert [lab for lab in labels if lab.startswith("SGD")] == ["SGD steps of seed 1 of 2", "SGD steps of seed 2 of 2"]


def test_cli_bad_input_is_an_error(capsys):
    from getheory.cli import main

    assert main(["dynamics", "--N", "20", "--D", "10", "--widths", "a,b", "--quiet", "--out", "/tmp/x"]) == 2
    assert "widths" in capsys.readouterr().err


def test_deep_generator_and_relu_network_run():
    r = run_dynamics(activation="sign", N=60, D=30, depth=3, t_max=1.0, points=5, n_test=300,
                     moment_samples=20_000, seed=1)
    assert r.settings["generator"]["depth"] == 3
    assert np.all(np.isfinite(r.eps_ode)) and np.all(np.isfinite(r.eps_gauss_order))
    r2 = run_dynamics(activation="relu", N=50, D=25, t_max=0.5, points=4, n_test=300, g="relu")
    assert r2.eps_ode is None and np.all(np.isfinite(r2.eps_gen_heldout))
    assert any("relu" in n for n in r2.notes)


def test_time_budget_stops_at_a_checkpoint():
    r = run_dynamics(activation="sign", N=50, D=25, t_max=50.0, points=30, n_test=100, time_budget=1e-9,
                     gaussian=False)
    assert r.settings["stopped_by_time_budget"] and r.settings["t_reached"] < 50
    assert len(r.t) == len(r.eps_ode) >= 1


@pytest.mark.slow
def test_finite_size_gap_shrinks_with_N():
    # the configuration of reports/dynamics-finite-size (seeded): fluctuations predict slope -1/2
    res = finite_size_check([100, 200, 400, 800], seeds=(0, 1, 2, 3), t_max=4.0, points=10)
    assert res.slope < -0.2 and res.slope_ci[0] < -0.5 < res.slope_ci[1], res.to_dict()


def test_finite_size_gap_shrinks_with_N_quick():
    res = finite_size_check([100, 800], seeds=(0, 1), t_max=2.0, points=6)
    assert res.gaps[1].mean() < res.gaps[0].mean()
    assert math.isfinite(res.slope) and res.slope_ci[0] < res.slope < res.slope_ci[1]


# ------------------------------------------------------------------------------------------
# verdicts over SGD seeds (docs/theory.md §7.7)
# ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ode_verdict_false_alarm_rate_is_at_most_nominal_where_the_ode_is_exact():
    # identity generator x = c: the ODE is exact up to finite-N effects; over 40 seeded problems
    # the "inconsistent" verdicts (nominal level 0.05 each) stay inside the binomial band
    from scipy import stats

    runs = 40
    bad = {"ode_vs_sgd_generator_order_parameters": 0, "ode_vs_sgd_generator_heldout": 0}
    for r in range(runs):
        res = run_dynamics(activation="identity", N=200, K=2, M=2, eta=0.2, t_max=3.0, points=8, gaussian=False,
                           sgd_seeds=5, n_test=2000, seed=r, step_check=False)
        for k in bad:
            assert res.gaps[k]["level"] == 0.05 and res.gaps[k]["dof"] == 4
            bad[k] += res.gaps[k]["verdict"] == "inconsistent"
    hi = int(stats.binom.isf(0.001, runs, 0.05))
    assert all(v <= hi for v in bad.values()), (bad, hi)


def test_ode_verdict_detects_a_wrong_ode():
    # the ODE of a different generator (sign, exact moments) against SGD on x = c: a real gap
    from getheory.dynamics import identity_generator
    from getheory.moments import exact_moments

    N = 200
    from getheory import random_single_layer

    wrong = exact_moments(random_single_layer(N, N, "sign", seed=0))
    res = run_dynamics(identity_generator(N), moments=wrong, K=2, M=2, eta=0.2, t_max=3.0, points=8,
                       gaussian=False, sgd_seeds=5, n_test=2000, seed=0, step_check=False)
    assert res.gaps["ode_vs_sgd_generator_order_parameters"]["verdict"] == "inconsistent"


def test_curves_are_means_over_sgd_seeds_with_standard_errors():
    res = run_dynamics(activation="sign", N=100, K=2, M=1, eta=0.2, t_max=1.0, points=4, gaussian=True,
                       sgd_seeds=3, n_test=500, seed=1, step_check=False)
    per = res.eps_per_seed["generator"]["order_parameters"]
    assert per.shape == (3, res.t.size)
    assert np.allclose(res.eps_gen_order, per.mean(0))
    assert np.allclose(res.eps_gen_order_se, per.std(0, ddof=1) / np.sqrt(3))
    assert res.settings["sgd_seeds"] == 3
    g = res.gaps["sgd_generator_vs_sgd_gaussian_order_parameters"]
    assert g["verdict"] in ("consistent", "inconsistent") and g["dof"] == 2
    with pytest.raises(ValueError, match="sgd_seeds"):
        run_dynamics(activation="identity", N=20, sgd_seeds=0)


def test_problem_file_reruns_a_report_exactly(tmp_path):
    from getheory.cli import main

    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--t-max", "0.5", "--points", "3", "--n-test", "200", "--sgd-seeds", "2", "--quiet"]
    assert main(["dynamics", "--N", "40", "--D", "20", "--seed", "3", "--out", str(a)] + common) == 0
    assert (a / "problem.npz").exists()
    assert main(["dynamics", "--problem", str(a / "problem.npz"), "--seed", "3", "--out", str(b)] + common) == 0
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (a, b))
    assert ra["eps_g"]["ode"] == rb["eps_g"]["ode"]
    assert ra["eps_g"]["sgd_generator_order_parameters"] == rb["eps_g"]["sgd_generator_order_parameters"]
    with np.load(a / "problem.npz") as pa, np.load(b / "problem.npz") as pb:
        for k in ("A", "W0", "v0", "W_teacher", "v_teacher"):
            assert np.array_equal(pa[k], pb[k])


def test_problem_file_of_a_trained_generator_reruns_with_its_weights_file(tmp_path):
    """A generator without a matrix A: problem.npz holds the weights, the generator comes from --weights."""
    from getheory.cli import main
    from getheory.dynamics import load_problem
    from getheory.trained import DenseGenerator, save_dense

    rng = np.random.default_rng(0)
    gen = DenseGenerator(weights=[rng.standard_normal((24, 6)) / 2, rng.standard_normal((30, 24)) / 5],
                         biases=[rng.standard_normal(24) / 4, np.zeros(30)], activations=["tanh", "identity"])
    wf = tmp_path / "g.npz"
    save_dense(wf, gen)
    a, b = tmp_path / "a", tmp_path / "b"
    common = ["--t-max", "0.5", "--points", "3", "--n-test", "200", "--sgd-seeds", "2", "--moment-samples",
              "20000", "--quiet"]
    assert main(["dynamics", "--weights", str(wf), "--seed", "5", "--out", str(a)] + common) == 0
    with np.load(a / "problem.npz") as pa:
        assert "A" not in pa.files and pa["W0"].shape == (2, 30)
    assert main(["dynamics", "--weights", str(wf), "--problem", str(a / "problem.npz"), "--seed", "5",
                 "--out", str(b)] + common) == 0
    ra, rb = (json.loads((d / "report.json").read_text()) for d in (a, b))
    assert ra["eps_g"]["sgd_generator_order_parameters"] == rb["eps_g"]["sgd_generator_order_parameters"]
    with pytest.raises(ValueError, match="has no generator matrix A"):
        load_problem(a / "problem.npz", "sign")


def test_problem_file_errors_name_the_fix(tmp_path):
    from getheory.dynamics import load_problem

    with pytest.raises(ValueError, match="does not exist"):
        load_problem(tmp_path / "nope.npz", "sign")
    p = tmp_path / "p.npz"
    np.savez(p, A=np.ones((4, 2)), W0=np.ones((2, 4)), v0=np.ones(2), W_teacher=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"lacks \['v_teacher'\]"):
        load_problem(p, "sign")
    np.savez(p, A=np.ones((4, 2)), W0=np.ones((2, 5)), v0=np.ones(2), W_teacher=np.ones((1, 2)), v_teacher=[1.0])
    with pytest.raises(ValueError, match="W0"):
        load_problem(p, "sign")


# ---------------------------------------------------------------------------
# Options, random streams and backends
# ---------------------------------------------------------------------------
def test_options_validate_each_field_and_keywords_override_them():
    from getheory.dynamics import DynamicsOptions

    opts = DynamicsOptions(t_max=3.0, points=4, sgd_seeds=2, n_test=50)
    assert opts.t_max == 3.0 and opts.K == 2
    for bad, match in (({"eta": -1}, "eta"), ({"points": 0}, "points"), ({"level": 1.5}, "level"),
                       ({"ode_method": "euler"}, "ode_method"), ({"backend": "jax"}, "backend"),
                       ({"time_budget": 0}, "time_budget"), ({"g": "tanh"}, "activation")):
        with pytest.raises(ValueError, match=match):
            DynamicsOptions(**bad)
    with pytest.raises(TypeError, match="unknown keyword"):
        run_dynamics(activation="identity", N=20, options=opts, tmax=3)
    r = run_dynamics(activation="identity", N=20, options=opts, gaussian=False, ode=False)
    assert r.settings["sgd_seeds"] == 2 and r.settings["t_max_requested"] == pytest.approx(3.0, rel=0.05)


def test_float32_inputs_follow_the_float64_run_on_generator_data():
    """Same latents, same start: SGD on the float32 inputs of a relu generator (relu(h) − E x rounded to
    float32) stays within float32 round-off growth of the float64 run; the weights and the update stay
    float64."""
    gen = SingleLayerGenerator(np.random.default_rng(0).standard_normal((300, 60)), "relu")
    mom = exact_moments(gen)
    rng = np.random.default_rng(1)
    W0, v0, Wt = rng.standard_normal((2, 300)), rng.standard_normal(2), rng.standard_normal((2, 60))
    runs = {dt: run_sgd([GeneratorData(gen, mom.mean), GaussianEquivalentData(mom.Omega, mom.Phi)], W0, v0, Wt,
                        np.ones(2), eta=0.2, t_points=[0.0, 1.0, 3.0], seed=2, dtype=dt)[0]
            for dt in ("float64", "float32")}
    g64, g32 = runs["float64"][0], runs["float32"][0]
    assert g32.W.dtype == np.float64
    scale = np.max(np.abs(g64.W[-1]))
    assert 0 < np.max(np.abs(g32.W[-1] - g64.W[-1])) < 1e-3 * scale
    # the Gaussian equivalent's float32 noise is its own draw: another run, as far apart as two seeds
    q64, q32 = runs["float64"][1], runs["float32"][1]
    assert np.max(np.abs(q32.W[-1] - q64.W[-1])) > 1e-3 * scale


def test_inputs_dtype_is_checked_and_refused_where_the_kernel_reads_float64_only():
    from getheory.dynamics import DynamicsOptions
    from getheory.dynamics._checks import check_inputs_dtype

    assert DynamicsOptions(dtype=np.float32).dtype == "float32"
    with pytest.raises(ValueError, match="dtype of the SGD inputs must be one of 'float32', 'float64'; got 'float16'"):
        DynamicsOptions(dtype="float16")

    class CudaLike:
        name, compiled_kernels = "cupy", "cuda"

    with pytest.raises(ValueError, match="CUDA kernel reads float64 inputs: use dtype='float64'"):
        check_inputs_dtype("float32", CudaLike())
    assert check_inputs_dtype("float64", CudaLike()) == "float64"


def test_normal_stream_depends_on_the_seed_only_not_on_threads(monkeypatch):
    from getheory.dynamics import NormalStream, _data

    a = NormalStream(7).standard_normal((1001, 13))
    monkeypatch.setattr(_data, "_normal_pool", lambda: None)  # one thread
    b = NormalStream(7).standard_normal((1001, 13))
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean()) < 4 / np.sqrt(a.size) and abs(a.std() - 1) < 0.03
    assert not np.array_equal(a, NormalStream(8).standard_normal((1001, 13)))


@pytest.mark.gpu
@pytest.mark.parametrize("g", ["erf2", "linear", "relu"])
def test_cuda_kernel_matches_cpu_kernel(g):
    from getheory.backend import available_backends

    if "cupy" not in available_backends():
        pytest.skip("the CUDA kernel needs CuPy and a CUDA GPU")
    import cupy

    from getheory.dynamics._kernel_cpu import G_CODES, sgd_segment
    from getheory.dynamics._kernel_cuda import sgd_segment_cuda

    rng = np.random.default_rng(5)
    K, N, n = 3, 1037, 300
    W, v = rng.standard_normal((K, N)), rng.standard_normal(K)
    X, y = rng.standard_normal((n, N)), rng.standard_normal(n)
    Wc, vc = W.copy(), v.copy()
    assert sgd_segment(Wc, vc, X, y, 0.3, G_CODES[g], True, 0, n) == n
    Wd, vd = cupy.asarray(W), cupy.asarray(v)
    Xd, yd = cupy.asarray(X), cupy.asarray(y)
    assert sgd_segment_cuda(Wd, vd, Xd, yd, 0.3, G_CODES[g], True, 0, 170) == 170
    assert sgd_segment_cuda(Wd, vd, Xd, yd, 0.3, G_CODES[g], True, 170, n) == n - 170
    np.testing.assert_allclose(Wd.get(), Wc, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(vd.get(), vc, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sgd_runs_on_every_backend_from_the_same_start(backend, dtype):
    """run_sgd on each backend and inputs dtype: same initial weights, finite trajectories, the data basis
    undone (float32 inputs are refused where the kernel reads float64 only, and said so)."""
    from getheory.backend import get_backend
    from getheory.generators import random_single_layer

    if dtype == "float32" and get_backend(backend).compiled_kernels == "cuda":
        with pytest.raises(ValueError, match="CUDA kernel reads float64 inputs"):
            run_sgd([], np.zeros((2, 4)), np.ones(2), np.ones((2, 2)), np.ones(2), eta=0.2, t_points=[1.0],
                    backend=backend, dtype=dtype)
        return

    gen = random_single_layer(40, 20, "sign", seed=3)
    mom = exact_moments(gen)
    sources = [GeneratorData(gen, mom.mean, backend=backend),
               GaussianEquivalentData(mom.Omega, mom.Phi, backend=backend)]
    rng = np.random.default_rng(2)
    W0, v0, Wt = rng.standard_normal((2, 40)), rng.standard_normal(2), rng.standard_normal((2, 20))
    trajs, info = run_sgd(sources, W0, v0, Wt, np.ones(2), eta=0.2, t_points=[0.0, 0.5, 2.0], seed=1,
                          backend=backend, dtype=dtype)
    assert info["backend"] == backend and info["steps"] == 80
    for tr in trajs:
        assert isinstance(tr.W, np.ndarray) and tr.W.shape == (3, 2, 40)
        np.testing.assert_allclose(tr.W[0], W0, atol=1e-12)
        assert np.all(np.isfinite(tr.W)) and not np.allclose(tr.W[-1], W0)


@pytest.mark.parametrize("keywords, message", [
    ({"N": 100}, r"N=100 shape\(s\) the random generator, but a generator \(N = 32, D = 16\) was given"),
    ({"depth": 3}, "depth=3 shape"),
    ({"activation": "erf", "widths": [16, 24, 32]}, "activation='erf', widths=.* leave them out"),
])
def test_random_generator_keywords_with_a_given_generator_are_refused_not_dropped(keywords, message):
    from getheory.generators import random_single_layer

    gen = random_single_layer(32, 16, "sign", seed=0)
    with pytest.raises(ValueError, match=message):
        run_dynamics(gen, **keywords, t_max=0.1, points=2, n_test=100, sgd_seeds=1)
