"""Ridge learning curves (docs/theory.md §8): solver identities, streaming, the label
decomposition, bad input, and the validation of the deterministic equivalent on exactly
Gaussian inputs with a tolerance derived from the seed-to-seed spread and the finite-N rate.
"""

import math

import numpy as np
import pytest
from scipy import stats

import getheory.ridge as R
from getheory import exact_moments, random_single_layer


# ---------------------------------------------------------------------------
# Solver, streaming, theory pieces
# ---------------------------------------------------------------------------
def test_eigh_and_cholesky_agree_with_direct_solve():
    rng = np.random.default_rng(0)
    N, n = 40, 30  # n < N: XᵀX singular, only λ makes it invertible
    X = rng.standard_normal((n, N))
    y = rng.standard_normal(n)
    lams = [1e-4, 1e-2, 1.0]
    a = R.ridge_predictors(X.T @ X, X.T @ y, lams, N, solver="eigh")
    b = R.ridge_predictors(X.T @ X, X.T @ y, lams, N, solver="cholesky", threads=1)
    for j, lam in enumerate(lams):
        # ŵ = argmin Σ(y − w·x/√N)² + λ‖w‖², v = ŵ/√N
        w = np.linalg.solve(X.T @ X / N + lam * np.eye(N), X.T @ y / math.sqrt(N))
        np.testing.assert_allclose(a[j], w / math.sqrt(N), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(b[j], w / math.sqrt(N), rtol=1e-8, atol=1e-10)


def test_streamed_statistics_do_not_depend_on_batch_size():
    gen = random_single_layer(30, 15, "sign", seed=1)
    mom = exact_moments(gen)
    theta = np.random.default_rng(2).standard_normal(15)
    theta *= math.sqrt(15) / np.linalg.norm(theta)
    srcs = [R.GeneratorSource(gen, mom.mean), R.GaussianEquivalentSource(mom.Omega, mom.Phi)]
    t = R.get_teacher("sign")
    outs = [R.stream_ridge(srcs, theta, t, 0.1, [20, 50, 90], [1e-2, 1.0], seed=np.random.SeedSequence(3),
                           batch_size=bs) for bs in (7, 1000)]
    # generator and labels depend only on the latent stream (independent of batch size)
    np.testing.assert_allclose(outs[0]["generator"], outs[1]["generator"], rtol=1e-10, atol=1e-12)
    assert outs[0]["gaussian"].shape == (3, 2, 30)


def test_streamed_predictor_matches_in_memory_ridge():
    gen = random_single_layer(25, 12, "erf2", seed=4)
    mom = exact_moments(gen)
    theta = np.ones(12)
    t = R.get_teacher("erf2")
    ss = np.random.SeedSequence(5)
    out = R.stream_ridge([R.GeneratorSource(gen, mom.mean)], theta, t, 0.0, [60], [0.5], seed=ss, batch_size=16)
    # rebuild the same data in memory from the same streams
    from getheory.fields import LatentStream

    ss_c, _e, _x = np.random.SeedSequence(5).spawn(3)  # the children stream_ridge used
    c = LatentStream(12, seed=ss_c).fill(np.empty((60, 12)))
    X = gen.sample(c) - mom.mean
    y = t(c @ theta / math.sqrt(12))
    v = np.linalg.solve(X.T @ X + 0.5 * 25 * np.eye(25), X.T @ y)
    np.testing.assert_allclose(out["generator"][0, 0], v, rtol=1e-9)


def test_teachers_match_hermite_coefficients():
    from getheory import hermite_coefficients

    for name in R.TEACHERS:
        t = R.get_teacher(name)
        _m0, m1, ms = hermite_coefficients(name)
        assert t.mu1 == pytest.approx(m1, rel=1e-10)
        assert t.variance == pytest.approx(m1**2 + ms**2, rel=1e-10)


def test_kappa_root_and_limits():
    rho = np.geomspace(0.1, 5, 200)
    N = 200
    for n, lam in ((50, 1e-3), (200, 1e-4), (800, 1.0)):
        k = R.solve_kappa(rho, n, N, lam)
        assert lam * N / (n * k) + np.sum(rho / (rho + k)) / n == pytest.approx(1.0, rel=1e-10)
    spec = R.RidgeSpectrum(rho=np.ones(N), g2=np.full(N, 0.5 / N), N=N, dropped=0)
    th = R.ridge_theory(spec, "linear", 0.2, [4.0, 0.5], [1e-9, 1e9])
    sigma2 = 0.5 + 0.2
    # OLS, isotropic: ε = σ²(1 + 1/(α − 1)); λ → ∞: ε = Var y = 1 + Δ
    assert th["eps"][0, 0] == pytest.approx(sigma2 * (1 + 1 / 3), rel=1e-6)
    assert th["eps"][1, 1] == pytest.approx(1.2, rel=1e-6)


def test_label_decomposition_parts():
    gen = random_single_layer(60, 30, "sign", seed=6)
    mom = exact_moments(gen)
    theta = np.random.default_rng(7).standard_normal(30)
    theta *= math.sqrt(30) / np.linalg.norm(theta)
    spec = R.ridge_spectrum(mom.Omega, mom.Phi, theta)
    d = R.label_decomposition(spec, "sign", 0.25)
    assert 0 < d.q < 1
    assert d.linear + d.sigma2 == pytest.approx(1.0 + 0.25, rel=1e-12)  # Var y = E sign² + Δ
    assert d.nonlinear == pytest.approx(1 - 2 / math.pi, rel=1e-12)


# ---------------------------------------------------------------------------
# Bad input: clear errors before any work
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw, msg", [
    ({"alphas": (0.5, 0.0)}, "alphas"),
    ({"alphas": (-1.0,)}, "alphas"),
    ({"lambdas": (1e-2, 0.0)}, "lambdas"),
    ({"lambdas": (float("nan"),)}, "lambdas"),
    ({"teacher": "relu"}, "unknown teacher"),
    ({"noise": -0.1}, "noise"),
    ({"sources": ("gen",)}, "unknown source"),
    ({"sources": ()}, "at least one of generator, gaussian"),
    ({"sources": ("gaussian", "gaussian")}, "at most once"),
    ({"solver": "qr"}, "solver"),
    ({"backend": "torch"}, "backend"),
])
def test_bad_options(kw, msg):
    with pytest.raises(ValueError, match=msg):
        R.RidgeOptions(**kw)


def test_empty_sources_refused_at_construction_and_a_single_name_is_one_source():
    with pytest.raises(ValueError, match=r"sources must name .* at least one of generator, gaussian; got \(\)"):
        R.RidgeOptions(sources=())
    assert R.RidgeOptions(sources="gaussian").sources == ("gaussian",)


@pytest.mark.parametrize("scale", [0.1, 10.0])
def test_teacher_with_norm_other_than_sqrt_D_is_refused(scale):
    gen = random_single_layer(30, 15, "sign", seed=1)
    mom = exact_moments(gen)
    theta = np.random.default_rng(2).standard_normal(15)
    theta *= math.sqrt(15) / np.linalg.norm(theta)
    spec = R.ridge_spectrum(mom.Omega, mom.Phi, theta)  # ‖θ‖² = D: accepted
    assert 0 < spec.q < 1
    with pytest.raises(ValueError, match=r"theta has ‖θ‖² = .* but the deterministic equivalent takes ‖θ‖² = D = 15 "
                                         r".*rescale it, theta \* sqrt\(D\) / norm\(theta\)"):
        R.ridge_spectrum(mom.Omega, mom.Phi, scale * theta)
    with pytest.raises(ValueError, match="‖θ‖²"):
        R.ridge_spectrum(mom.Omega, mom.Phi, np.full(15, np.nan))


def test_too_large_n_refused_before_work(monkeypatch):
    from getheory import backend

    monkeypatch.setattr(backend.Backend, "free_memory_bytes", lambda self: 10**8, raising=False)
    with pytest.raises(MemoryError, match="N×N"):
        R.ridge_curves(activation="sign", N=5000, D=2500, options=R.RidgeOptions(alphas=(1,), seeds=1))


def test_duplicate_sample_sizes_refused():
    with pytest.raises(ValueError, match="same n"):
        R.ridge_curves(activation="sign", N=10, D=5, options=R.RidgeOptions(alphas=(1.0, 1.01), seeds=1))


# ---------------------------------------------------------------------------
# Validation on exactly Gaussian inputs (docs/theory.md §8.5)
# ---------------------------------------------------------------------------
VAL_ALPHAS = (0.1, 0.3, 0.7, 1.0, 1.5, 3.0, 10.0)
VAL_LAMBDAS = (1e-4, 1e-2, 1.0)
FAMILY_LEVEL = 0.01


def _validation_tolerance(result, family_level=FAMILY_LEVEL):
    """Per-point tolerance: Bonferroni t-quantile × seed-to-seed standard error + finite-N rate.

    The mean over S seeds has standard error se = sd/√S; with S − 1 degrees of freedom and a
    Bonferroni split of the family level over the G grid points, q = t_{S−1}(1 − level/(2G)).
    The deterministic equivalent is exact as N → ∞; its bias at finite N is O(1/N) relative
    (docs/theory.md §8.5), counted as ε_th/N with unit constant, fixed before looking at data.
    """
    m, _sd, se = result.summary("gaussian")
    th = result.theory["eps"]
    S, G = result.eps["gaussian"].shape[0], th.size
    q = stats.t.ppf(1 - family_level / (2 * G), S - 1)
    return np.abs(m - th), q * se + th / result.settings["N"], q


def _check_validation(result):
    gap, tol, q = _validation_tolerance(result)
    bad = np.argwhere(gap > tol)
    lines = [f"α={result.alphas[i]}, λ={result.lambdas[j]}: sim {result.summary('gaussian')[0][i, j]:.4g}, theory "
             f"{result.theory['eps'][i, j]:.4g}, gap {gap[i, j]:.3g} > tol {tol[i, j]:.3g}" for i, j in bad]
    assert not lines, "deterministic equivalent vs simulation:\n" + "\n".join(lines)
    return gap, tol


@pytest.fixture(scope="module")
def gaussian_linear_N1000():
    opts = R.RidgeOptions(alphas=VAL_ALPHAS, lambdas=VAL_LAMBDAS, seeds=8, teacher="linear", noise=0.1,
                          n_test=4000, sources=("gaussian",), solve_threads=1)
    return R.ridge_curves(activation="sign", N=1000, D=500, options=opts, seed=11)


@pytest.mark.slow
def test_deterministic_equivalent_on_gaussian_inputs(gaussian_linear_N1000):
    r = gaussian_linear_N1000
    gap, tol = _check_validation(r)
    # the peak at α = 1, λ = 1e-4 is in the grid and is a peak
    i1 = list(r.alphas).index(1.0)
    assert r.theory["eps"][i1, 0] > 3 * r.theory["eps"][i1, 2]


@pytest.mark.slow
def test_validation_can_fail(gaussian_linear_N1000):
    """Negative control: the same simulations against a wrong theory (Ω replaced by the
    isotropic matrix of the same trace, same q) are rejected by the same tolerance."""
    r = gaussian_linear_N1000
    spec = r.spectrum
    iso = R.RidgeSpectrum(rho=np.full(spec.rho.size, spec.rho.mean()), g2=np.full(spec.rho.size,
                          spec.q * spec.rho.mean() / spec.rho.size), N=spec.N, dropped=0)
    assert iso.q == pytest.approx(spec.q)
    wrong = R.ridge_theory(iso, "linear", 0.1, r.alphas, r.lambdas)
    r_wrong = R.RidgeResult(settings=r.settings, alphas=r.alphas, lambdas=r.lambdas, eps=r.eps, test_se=r.test_se,
                            theory=wrong, decomposition=None, timings={})
    gap, tol, _q = _validation_tolerance(r_wrong)
    assert np.sum(gap > tol) >= 3


@pytest.mark.slow
def test_deterministic_equivalent_sign_teacher_gaussian_inputs():
    """Same validation with a sign teacher: the non-linear part of f acts as noise (§8.2)."""
    opts = R.RidgeOptions(alphas=VAL_ALPHAS, lambdas=VAL_LAMBDAS, seeds=8, teacher="sign", noise=0.0,
                          n_test=4000, sources=("gaussian",), solve_threads=1)
    _check_validation(R.ridge_curves(activation="sign", N=1000, D=500, options=opts, seed=12))


# ---------------------------------------------------------------------------
# Backends: the simulated device (array-api-strict on a non-host device)
# ---------------------------------------------------------------------------
def test_ridge_curves_on_the_strict_device_equal_numpy():
    """The whole workflow on the simulated device: generator and Gaussian-equivalent curves
    equal NumPy's (same seeds, same random numbers), and only XᵀX, Xᵀy (once per sample size
    and source) and the test-error sums cross to the host, whatever the number of samples."""
    from getheory.backend import get_backend

    N, D, seeds = 30, 15, 2
    alphas, lambdas = (0.5, 1.0, 2.0), (1e-3, 0.1)
    res = {}
    strict = get_backend("strict")
    for name in ("numpy", "strict"):
        # small batches: several per size, the last one cut by the sample size
        opts = R.RidgeOptions(alphas=alphas, lambdas=lambdas, seeds=seeds, n_test=300, teacher="erf2", noise=0.2,
                              batch_size=13, backend=name)
        strict.reset_transfers()
        res[name] = R.ridge_curves(activation="sign", N=N, D=D, options=opts, seed=3)
    moved = strict.reset_transfers()
    assert res["strict"].settings["options"]["backend"] == "strict"
    for src in ("generator", "gaussian"):
        np.testing.assert_allclose(res["strict"].eps[src], res["numpy"].eps[src], rtol=1e-12)
        np.testing.assert_allclose(res["strict"].test_se[src], res["numpy"].test_se[src], rtol=1e-12)
    per_solve = (N * N + N) * 8
    sums = 2 * len(alphas) * len(lambdas) * 8
    assert moved == seeds * 2 * (len(alphas) * per_solve + sums)


def test_ridge_sources_on_different_backends_refused():
    gen = random_single_layer(12, 6, "sign", seed=1)
    mom = exact_moments(gen)
    srcs = [R.GeneratorSource(gen, mom.mean), R.GaussianEquivalentSource(mom.Omega, mom.Phi, backend="strict")]
    with pytest.raises(ValueError, match="different backends"):
        R.stream_ridge(srcs, np.ones(6), R.get_teacher("linear"), 0.0, [10], [1.0], seed=np.random.SeedSequence(0))


def test_result_to_dict_is_json():
    import json

    opts = R.RidgeOptions(alphas=(0.5, 2.0), lambdas=(0.1,), seeds=2, n_test=200, teacher="erf2")
    r = R.ridge_curves(activation="sign", N=40, D=20, options=opts, seed=1)
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d["sources"]) == {"generator", "gaussian"}
    assert "generator - gaussian" in d["comparisons"]
    assert len(d["theory"]["eps"]) == 2


# ---------------------------------------------------------------------------
# Command line and report
# ---------------------------------------------------------------------------
def test_cli_ridge_writes_report(tmp_path, capsys):
    import json

    from getheory.cli import main

    out = tmp_path / "r"
    rc = main(["ridge", "--N", "40", "--D", "20", "--alphas", "0.5,1,2", "--lambdas", "1e-3,1", "--seeds", "3",
               "--n-test", "300", "--teacher", "erf2", "--noise", "0.1", "--finite-size", "20,40",
               "--finite-size-seeds", "2", "--quiet", "--out", str(out)])
    assert rc == 0
    for f in ("report.md", "report.json", "learning_curves.png", "gaps.png", "finite_size.png"):
        assert (out / f).exists(), f
    d = json.loads((out / "report.json").read_text())
    assert d["settings"]["options"]["teacher"] == "erf2"
    assert len(d["finite_size"]["N"]) == 2
    assert "generator - theory" in d["agreement"]
    assert "resolved" in capsys.readouterr().out


@pytest.mark.parametrize("argv, msg", [
    (["--alphas", "0.5,0"], "must be > 0"),
    (["--lambdas", "-1"], "must be > 0"),
    (["--teacher", "cubic"], "invalid choice"),
])
def test_cli_bad_arguments(argv, msg, capsys):
    from getheory.cli import main

    with pytest.raises(SystemExit):
        main(["ridge", "--N", "20", "--quiet"] + argv)
    assert msg in capsys.readouterr().err


def test_cli_too_large_refused(monkeypatch, tmp_path, capsys):
    from getheory import backend
    from getheory.cli import main

    monkeypatch.setattr(backend.Backend, "free_memory_bytes", lambda self: 10**8, raising=False)
    rc = main(["ridge", "--N", "8000", "--quiet", "--out", str(tmp_path / "x")])
    assert rc == 2
    assert "N×N" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("keywords, message", [
    ({"N": 100}, "N = 100 was given, but the generator given has N = 32: leave out N"),
    ({"D": 8}, "D = 8 was given, but the generator given has D = 16"),
    ({"moment_samples": 100}, "a single-layer generator's moments are exact: leave it out"),
])
def test_sizes_or_moment_samples_a_given_generator_would_override_are_refused(keywords, message):
    gen = random_single_layer(32, 16, "sign", seed=0)
    with pytest.raises(ValueError, match=message):
        R.ridge_curves(gen, **keywords, options=R.RidgeOptions(alphas=[0.5, 1.0], lambdas=[1.0], seeds=1, n_test=100))
