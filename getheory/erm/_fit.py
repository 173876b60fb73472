"""Full-batch ERM fits with a certificate (docs/theory.md §10.5).

``fit_erm(X, y, loss, lam)`` minimises F(w) = Σ_μ ℓ(y_μ, w·x_μ/√N) + (λ/2)‖w‖² on the host and
returns the minimiser with a certificate that the fit is as good as stated:

* square: the normal equations (XᵀX/N + λI) w = Xᵀy/√N (one Cholesky solve, SciPy); certificate
  the relative gradient norm ‖∇F(ŵ)‖/‖∇F(0)‖;
* logistic: L-BFGS-B (``scipy.optimize.minimize``) on F, smooth and λ-strongly convex;
  certificate the relative gradient norm;
* hinge: scikit-learn's ``LinearSVC`` (liblinear's dual coordinate descent, in C) on x/√N with
  C = 1/λ, which is F/λ; certificate the relative duality gap (F(ŵ) − D(a))/F(ŵ) of the dual
  max_{0≤a≤1} D(a) = Σa − ‖Xᵀ(a∘y)‖²/(2λN), with a rebuilt from ŵ by the optimality conditions:
  a = 1 where the margin y ŵ·x/√N < 1, a = 0 where it is > 1, and on the margin (within 10⁻⁶) the
  bounded least-squares fit (``scipy.optimize.lsq_linear``, ``bvls``) of λŵ = Σ a_μ y_μ x_μ/√N.
  Any a in the box gives a lower bound D(a) <= min F, so the gap is a proof, whoever computed ŵ.

Strong convexity turns either certificate into a bound on the distance to the exact minimiser:
‖ŵ − w*‖ <= ‖∇F(ŵ)‖/λ, and ‖ŵ − w*‖² <= 2 gap/λ.  A fit whose certificate misses its tolerance
is returned with ``converged`` False (the caller flags the point), never silently.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import lsq_linear, minimize
from scipy.special import expit
from sklearn.svm import LinearSVC

from ._losses import get_loss

__all__ = ["FIT_TOL", "ErmFit", "fit_erm", "hinge_duality_gap"]

#: the certificate each fit must meet: relative gradient norm (square, logistic) or relative
#: duality gap (hinge)
FIT_TOL = {"square": 1e-10, "logistic": 1e-7, "hinge": 1e-8}


@dataclass(frozen=True)
class ErmFit:
    """A fit: the minimiser w (N,), its training loss (the mean of ℓ, no penalty), the certificate
    (``criterion``: "gradient" or "duality gap"; its relative ``value`` and ``tolerance``)."""

    w: np.ndarray
    train_loss: float
    criterion: str
    value: float
    tolerance: float

    @property
    def converged(self) -> bool:
        return bool(self.value <= self.tolerance)


def _objective(X, y, lam, loss, w):
    z = X @ w / math.sqrt(X.shape[1])
    return float(np.sum(loss.value(y, z))) + 0.5 * lam * float(w @ w)


def _grad(X, y, lam, name, w):
    """∇F(w) of the square or logistic loss."""
    N = X.shape[1]
    z = X @ w / math.sqrt(N)
    d = z - y if name == "square" else -y * expit(-y * z)  # ℓ'(y, z)
    return X.T @ d / math.sqrt(N) + lam * w


def _square(X, y, lam):
    N = X.shape[1]
    G = X.T @ X / N
    G[np.diag_indices_from(G)] += lam
    return cho_solve(cho_factor(G), X.T @ y / math.sqrt(N))


def _logistic(X, y, lam, w0):
    N = X.shape[1]

    def f(w):
        z = X @ w / math.sqrt(N)
        val = float(np.sum(np.logaddexp(0.0, -y * z))) + 0.5 * lam * float(w @ w)
        return val, X.T @ (-y * expit(-y * z)) / math.sqrt(N) + lam * w

    g0 = float(np.linalg.norm(_grad(X, y, lam, "logistic", np.zeros(N))))
    res = minimize(f, w0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 20_000, "gtol": 0.1 * FIT_TOL["logistic"] * g0 / math.sqrt(N),
                            "ftol": 0.0, "maxcor": 30})
    return res.x


def _hinge(X, y, lam):
    """ŵ by liblinear (module docstring); the iteration cap is high, and a fit that stops short is
    caught by its duality gap.  Its coordinate descent visits the rows in a random order: a fixed
    ``random_state`` makes the fit a function of its data alone (a rerun, or a resumed run, gives the
    same numbers; left to NumPy's global generator it would not)."""
    Xt = X / math.sqrt(X.shape[1])
    with warnings.catch_warnings():  # liblinear's "did not converge": the duality gap is the judge
        warnings.simplefilter("ignore")
        svc = LinearSVC(C=1.0 / lam, loss="hinge", dual=True, fit_intercept=False, tol=1e-10, max_iter=100_000,
                        random_state=0)
        svc.fit(Xt, y)
    return svc.coef_.ravel().copy()


def hinge_duality_gap(X, y, lam: float, w, margin_tol: float = 1e-6) -> float:
    """The relative duality gap (F(ŵ) − D(a))/F(ŵ) of a hinge fit ŵ, a rebuilt from ŵ (module docstring)."""
    Xt = X / math.sqrt(X.shape[1])
    m = y * (Xt @ w)
    inside, edge = m < 1 - margin_tol, np.abs(m - 1) <= margin_tol
    a = inside.astype(float)
    if edge.any():
        A = (Xt[edge] * y[edge, None]).T
        a[edge] = lsq_linear(A, lam * w - Xt[inside].T @ y[inside], bounds=(0.0, 1.0), method="bvls", tol=1e-14).x
    v = Xt.T @ (a * y)
    dual = float(np.sum(a)) - float(v @ v) / (2 * lam)
    primal = _objective(X, y, lam, get_loss("hinge"), w)
    return max(primal - dual, 0.0) / max(abs(primal), 1e-300)


def fit_erm(X, y, loss, lam: float, *, start=None) -> ErmFit:
    """Minimise Σ ℓ(y, Xw/√N) + (λ/2)‖w‖² (module docstring) and certify it.

    Parameters
    ----------
    X : ndarray (n, N)
    y : ndarray (n,)
        Labels (±1 for the logistic and hinge losses).
    loss : str or Loss
    lam : float
        λ > 0.
    start : ndarray, optional
        A warm start w (N,) for the logistic loss.

    Returns
    -------
    ErmFit
    """
    ell = get_loss(loss)
    X, y = np.asarray(X, float), np.asarray(y, float)
    N = X.shape[1]
    tol = FIT_TOL[ell.name]
    if ell.name == "square":
        w = _square(X, y, lam)
    elif ell.name == "logistic":
        w = _logistic(X, y, lam, np.zeros(N) if start is None else start)
    else:
        w = _hinge(X, y, lam)
        train = float(np.mean(ell.value(y, X @ w / math.sqrt(N))))
        return ErmFit(w, train, "duality gap", hinge_duality_gap(X, y, lam, w), tol)
    g0 = float(np.linalg.norm(_grad(X, y, lam, ell.name, np.zeros(N))))
    rel = float(np.linalg.norm(_grad(X, y, lam, ell.name, w))) / max(g0, 1e-300)
    train = float(np.mean(ell.value(y, X @ w / math.sqrt(N))))
    return ErmFit(w, train, "gradient", rel, tol)
