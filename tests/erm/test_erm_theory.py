"""The ERM fixed point for convex losses (getheory.erm; docs/theory.md §10)."""

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

import getheory as gt
from getheory.erm import _theory, erm_theory, get_loss
from getheory.erm._channel import binary_channel
from getheory.ridge import ridge_spectrum, ridge_theory

N, D = 120, 60
ALPHAS = [0.25, 0.7, 1.0, 1.5, 4.0, 8.0]
LAMBDAS = [1e-3, 0.1, 2.0]


@pytest.fixture(scope="module")
def problem():
    """(Ω, Φ, θ) of a noisy linear feature map x = Φc + √0.3 ξ, ‖θ‖² = D."""
    rng = np.random.default_rng(0)
    Phi = rng.standard_normal((N, D)) / math.sqrt(D)
    Omega = Phi @ Phi.T + 0.3 * np.eye(N)
    theta = rng.standard_normal(D)
    return Omega, Phi, theta * math.sqrt(D) / np.linalg.norm(theta)


@pytest.mark.parametrize("teacher, noise", [("sign", 0.0), ("linear", 0.0), ("linear", 0.3), ("erf2", 0.1)])
def test_the_square_loss_is_the_ridge_theory(problem, teacher, noise):
    # sign: through the ±1 quadrature of §10.2; linear and erf2: through the closed forms
    e = erm_theory(*problem, loss="square", alphas=ALPHAS, lambdas=LAMBDAS, teacher=teacher, noise=noise)
    r = ridge_theory(ridge_spectrum(*problem), teacher, noise, ALPHAS, LAMBDAS)
    assert e["converged"].all()
    np.testing.assert_allclose(e["mse"], r["eps"], rtol=0, atol=1e-10)


def test_erm_theory_is_exported_at_the_package_root():
    assert gt.erm_theory is erm_theory and "erm_theory" in gt.__all__


def test_a_huge_penalty_gives_every_loss_the_same_hebbian_classifier(problem):
    # λ → ∞: ŵ ≈ −Σ ℓ'(y, 0) x/(λ√N) ∝ Σ y x (ℓ'(y, 0) = −y, −y, −y/2): the same direction for every
    # loss, so the same classification error (not 1/2: the direction still carries the teacher), and z → 0
    errs = [erm_theory(*problem, loss=loss, alphas=[2.0], lambdas=[1e7]) for loss in ("square", "logistic", "hinge")]
    assert max(e["test_error"][0, 0] for e in errs) - min(e["test_error"][0, 0] for e in errs) < 1e-6
    assert 0.2 < errs[0]["test_error"][0, 0] < 0.45 and abs(errs[0]["mse"][0, 0] - 1.0) < 1e-5


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_more_data_classifies_better_and_fits_worse_at_fixed_penalty(problem, loss):
    e = erm_theory(*problem, loss=loss, alphas=ALPHAS, lambdas=[0.1])
    assert e["converged"].all()
    assert np.all(np.diff(e["test_error"][:, 0]) < 0) and np.all(np.diff(e["train_loss"][:, 0]) > 0)
    assert np.all(e["q"] >= e["m"] ** 2) and np.all(e["V"] > 0)


def test_the_hinge_fits_separable_data_exactly_at_a_small_penalty(problem):
    e = erm_theory(*problem, loss="hinge", alphas=[0.25, 8.0], lambdas=[1e-3])
    assert e["train_loss"][0, 0] < 1e-3 < e["train_loss"][1, 0]


@pytest.mark.parametrize("loss", ["logistic", "hinge", "square"])
@pytest.mark.parametrize("y", [1.0, -1.0])
def test_the_prox_minimises_its_objective_and_its_derivative_is_right(loss, y):
    ell, V = get_loss(loss), 2.5
    omega = np.linspace(-6, 6, 61)
    z, dz = ell.prox(y, omega, V)
    for w, zi in zip(omega, z):
        best = minimize_scalar(lambda t, w=w: (t - w) ** 2 / (2 * V) + float(ell.value(y, t)),
                               bounds=(w - 2 * V, w + 2 * V), method="bounded", options={"xatol": 1e-12})
        assert abs(zi - best.x) < 1e-6
    h = 1e-6
    smooth = np.all(np.abs(np.subtract.outer(omega, [y, y * (1 - V)])) > 1e-3, axis=1)
    fd = (ell.prox(y, omega + h, V)[0] - ell.prox(y, omega - h, V)[0]) / (2 * h)
    np.testing.assert_allclose(dz[smooth], fd[smooth], atol=1e-6)


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_the_channel_quadrature_matches_adaptive_integration(loss):
    ell, m, q, V, noise = get_loss(loss), 0.45, 0.8, 1.7, 0.1
    ch = binary_channel(ell, m, q, V, noise)
    s = math.sqrt(1 - m * m / q + noise)

    def integrand(t, part):
        w = math.sqrt(q) * t
        a = m / q * w / s
        tot = 0.0
        f = {}
        for y in (1.0, -1.0):
            z, dz = (float(v[()]) for v in ell.prox(y, np.array(w), V))
            f[y] = (z - w) / V
            p = ndtr(y * a)
            tot += p * {"V": (1 - dz) / V, "q": f[y] ** 2, "t": float(ell.value(y, z))}.get(part, 0.0)
        if part == "m":
            tot = math.exp(-a * a / 2) / (math.sqrt(2 * math.pi) * s) * (f[1.0] - f[-1.0])
        return tot * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)

    pts = sorted({0.0, 1 / math.sqrt(q), -1 / math.sqrt(q), (1 - V) / math.sqrt(q), -(1 - V) / math.sqrt(q)})
    for part, got in [("V", ch.Vhat), ("q", ch.qhat), ("m", ch.mhat), ("t", ch.train_loss)]:
        want = quad(integrand, -12, 12, args=(part,), points=pts, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
        assert abs(got - want) < 1e-10, (part, got, want)


def test_a_point_that_does_not_converge_is_nan_and_named(problem, monkeypatch):
    monkeypatch.setattr(_theory, "TOL", 0.0)  # no residual can reach it
    with pytest.warns(RuntimeWarning, match=r"did not converge at \(α, λ\) = \[\(2.0, 0.1\)\]"):
        e = erm_theory(*problem, loss="logistic", alphas=[2.0], lambdas=[0.1])
    assert not e["converged"][0, 0] and np.isnan(e["test_error"][0, 0]) and np.isnan(e["m"][0, 0])


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "absolute"}, "unknown loss 'absolute': choose one of square, logistic, hinge"),
    ({"loss": "hinge", "teacher": "linear"}, "takes teacher='sign'"),
    ({"loss": "square", "teacher": "relu"}, "unknown teacher 'relu'"),
    ({"loss": "logistic", "lambdas": [0.0]}, "lambdas must be finite and > 0"),
    ({"loss": "logistic", "alphas": [-1.0]}, "alphas must be finite and > 0"),
    ({"loss": "logistic", "noise": -0.1}, "noise must be finite and >= 0"),
])
def test_bad_input_is_refused_naming_what_was_wrong(problem, kwargs, match):
    args = {"alphas": [1.0], "lambdas": [0.1]} | kwargs
    with pytest.raises(ValueError, match=match):
        erm_theory(*problem, **args)


def test_a_theta_of_the_wrong_norm_is_refused(problem):
    Omega, Phi, theta = problem
    with pytest.raises(ValueError, match="‖θ‖² = D"):
        erm_theory(Omega, Phi, 2 * theta, loss="hinge", alphas=[1.0], lambdas=[0.1])


def test_no_warning_on_a_grid_that_converges(problem):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        erm_theory(*problem, loss="hinge", alphas=[0.5, 2.0], lambdas=[0.01, 1.0])
