"""Certified ERM fits (getheory.erm._fit; docs/theory.md §10.5) and the measured curves (erm_curves)."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

import getheory as gt
from getheory.erm import (FIT_TOL, ErmOptions, erm_curves, erm_finite_size, erm_theory, fit_erm, hinge_duality_gap,
                          paired_gap, validate_erm)
from getheory.ridge import ridge_predictors

N = 60


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, N))
    y = np.sign(X @ rng.standard_normal(N) / math.sqrt(N) + 0.7 * rng.standard_normal(150))
    return X, y


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
@pytest.mark.parametrize("lam", [0.01, 1.0])
def test_every_fit_meets_its_certificate(data, loss, lam):
    fit = fit_erm(*data, loss, lam)
    assert fit.converged and fit.value <= FIT_TOL[loss]
    assert fit.criterion == ("duality gap" if loss == "hinge" else "gradient")


def test_the_square_fit_is_ridge_at_the_same_penalty(data):
    X, y = data
    w = fit_erm(X, y, "square", 0.3).w
    v = ridge_predictors(X.T @ X, X.T @ y, [0.3], N)[0]  # ridge's v = w/√N (docs/theory.md §8.1)
    np.testing.assert_allclose(w / math.sqrt(N), v, rtol=1e-9, atol=1e-12)


def test_the_logistic_fit_is_the_minimiser(data):
    X, y = data
    lam = 0.05
    w = fit_erm(X, y, "logistic", lam).w

    def F(v):
        return float(np.sum(np.logaddexp(0, -y * (X @ v) / math.sqrt(N)))) + lam / 2 * float(v @ v)

    ref = minimize(F, np.zeros(N), method="BFGS", options={"gtol": 1e-10}).x
    assert F(w) <= F(ref) + 1e-9 and np.linalg.norm(w - ref) < 1e-4 * np.linalg.norm(ref)


def test_the_hinge_gap_is_a_proof_it_grows_for_a_worse_fit(data):
    X, y = data
    lam = 0.1
    w = fit_erm(X, y, "hinge", lam).w
    assert hinge_duality_gap(X, y, lam, w) < 1e-8
    worse = w + 0.05 * np.random.default_rng(0).standard_normal(N)
    assert hinge_duality_gap(X, y, lam, worse) > 1e-4


@pytest.mark.parametrize("n", [40, 300])  # n <= N: the n × n system; n > N: the Woodbury form
@pytest.mark.parametrize("lam", [0.01, 1.0])
def test_the_interior_point_hinge_fit_is_liblinears_minimiser(n, lam):
    """The IPM's ŵ (certified by its own dual point) is the minimiser liblinear finds, within the
    distance its gap allows: ‖ŵ − w*‖² <= 2 (F − D)/λ (docs/theory.md §10.5)."""
    pytest.importorskip("sklearn")
    from sklearn.svm import LinearSVC

    from getheory.erm._hinge import hinge_dual

    rng = np.random.default_rng(n)
    X = np.sign(rng.standard_normal((n, N)))  # sign features, nearly separable at small λ
    y = np.sign(X[:, :6].sum(axis=1) + 0.5 * rng.standard_normal(n))
    Xt = X / math.sqrt(N)
    sol = hinge_dual(Xt, y, lam)
    assert sol.gap <= 1e-10 and 0 < sol.iterations < 100
    assert sol.a.min() > 0 and sol.a.max() < 1  # strictly inside the box: D(a) is a lower bound
    with warnings.catch_warnings():  # liblinear's "failed to converge": its duality gap below is the judge
        warnings.simplefilter("ignore")
        svc = LinearSVC(C=1 / lam, loss="hinge", fit_intercept=False, tol=1e-9, max_iter=200_000)
        ref = svc.fit(Xt, y).coef_.ravel()
    assert hinge_duality_gap(X, y, lam, ref) < 1e-6  # liblinear converged (its gap from a rebuilt dual point)
    radius = math.sqrt(2 * (sol.primal - sol.dual) / lam) + math.sqrt(2 * 1e-6 * sol.primal / lam)
    assert np.linalg.norm(sol.w - ref) <= radius + 1e-9
    F = lambda w: float(np.sum(np.maximum(0, 1 - y * (Xt @ w)))) + lam / 2 * float(w @ w)  # noqa: E731
    assert F(sol.w) <= F(ref) + 1e-9 * F(ref)


def test_erm_curves_measure_both_sources_on_the_same_labels_and_flag_nothing():
    opts = ErmOptions(loss="hinge", alphas=(0.5, 2.0), lambdas=(0.1,), seeds=2, n_test=2000)
    r = erm_curves(options=opts, N=N, seed=1)
    for s in ("generator", "gaussian"):
        assert r.test_error[s].shape == (2, 2, 1) and r.converged[s].all()
        assert np.all((r.test_error[s] > 0) & (r.test_error[s] < 0.5))
    assert r.theory["converged"].all() and not r.notes
    assert set(r.comparisons()) == {"generator - gaussian", "generator - theory", "gaussian - theory"}
    assert "| 0.5 | 0.1 |" in r._repr_markdown_()
    d = r.to_dict()
    assert d["settings"]["options"]["loss"] == "hinge" and len(d["sources"]["gaussian"]["test_error"]) == 2


def test_erm_curves_are_exported_and_reproducible():
    opts = ErmOptions(loss="logistic", alphas=(1.0,), lambdas=(0.1,), seeds=1, n_test=500, theory=False)
    a, b = (gt.erm_curves(options=opts, N=40, seed=5) for _ in range(2))
    np.testing.assert_array_equal(a.test_error["generator"], b.test_error["generator"])


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "absolute"}, "unknown loss"),
    ({"loss": "hinge", "teacher": "erf2"}, "takes teacher='sign'"),
    ({"lambdas": (0.0,)}, "lambdas must be finite and > 0"),
    ({"sources": ("generator", "generator")}, "at most once"),
    ({"seeds": 0}, "seeds"),
])
def test_bad_options_are_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ErmOptions(**kwargs)


@pytest.fixture(scope="module")
def gaussian_run():
    opts = ErmOptions(loss="logistic", alphas=(0.5, 2.0), lambdas=(0.1, 1.0), seeds=4, n_test=3000,
                      sources=("gaussian",))
    return erm_curves(options=opts, N=100, seed=7)


def test_the_verdict_passes_exactly_gaussian_inputs_against_their_theory(gaussian_run):
    v = validate_erm(gaussian_run)
    assert v.passed, v.failures(gaussian_run.alphas, gaussian_run.lambdas)
    assert v.q > 3 and set(v.gap) == {"test_error", "train_loss"}


def test_the_verdict_rejects_the_theory_of_another_penalty(gaussian_run):
    # negative control: the same measurements against the theory of the same problem at 5x the penalty
    r = gaussian_run
    wrong = erm_theory(*r.problem, loss="logistic", alphas=r.alphas, lambdas=5 * r.lambdas)
    assert not validate_erm(dataclasses.replace(r, theory=wrong)).passed


def test_the_paired_gap_is_resolved_only_where_it_exceeds_its_bonferroni_quantile():
    opts = ErmOptions(loss="hinge", alphas=(0.5, 2.0), lambdas=(0.1,), seeds=3, n_test=2000, theory=False)
    r = erm_curves(options=opts, N=50, seed=2)
    g = paired_gap(r)
    d = r.test_error["generator"] - r.test_error["gaussian"]
    np.testing.assert_allclose(g.gap, d.mean(axis=0))
    assert np.array_equal(g.resolved, np.abs(g.gap) > g.q * g.se) and "points" in g.statement()
    with pytest.raises(ValueError, match="both sources"):
        paired_gap(dataclasses.replace(r, test_error={"gaussian": r.test_error["gaussian"]}))


def test_the_finite_size_gap_reads_a_closed_gap_as_its_noise_floor_and_fits_no_slope_from_it(monkeypatch):
    # the generator source replaced by the Gaussian one: the gap is exactly 0 and only noise is left
    import getheory.erm._finite_size as fs

    real = fs.erm_curves

    def no_gap(**kw):
        r = real(**kw)
        return dataclasses.replace(r, test_error={"generator": r.test_error["gaussian"] + 0.0,
                                                  "gaussian": r.test_error["gaussian"]})

    monkeypatch.setattr(fs, "erm_curves", no_gap)
    opts = ErmOptions(loss="hinge", alphas=(1.0,), lambdas=(0.1,), seeds=2, n_test=500)
    out = erm_finite_size([20, 40, 80], opts, seed=1)
    assert out.mean_abs_gap == [0.0, 0.0, 0.0] and out.used == [] and math.isnan(out.slope)
    assert "too few to fit a slope" in out.statement()
