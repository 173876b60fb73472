"""The proportional-limit prediction of full-batch ERM on Gaussian(-equivalent) inputs
(docs/theory.md §10).

Objective (ours): ŵ = argmin_w Σ_{μ≤n} ℓ(y_μ, w·x_μ/√N) + (λ/2)‖w‖², x centred with
covariance Ω, n = αN, ν = θ·c/√D with ‖θ‖² = D and Cov(x̂, ν) = Φθ/√D.  The overlaps of the
student field z = ŵ·x/√N on a fresh sample, m = E[zν] and q = E z², and the susceptibility
V solve a fixed point with their conjugates (m̂, q̂, V̂):

* prior side (§10.3), with ρ_τ, g_τ the spectrum of Ω and the projections of Φθ/√D on it,

      V = (1/N) Σ_τ ρ_τ/(λ + V̂ρ_τ),   m = m̂ Σ_τ g_τ²/(λ + V̂ρ_τ),
      q = m̂² Σ_τ g_τ²ρ_τ/(λ + V̂ρ_τ)² + (q̂/N) Σ_τ ρ_τ²/(λ + V̂ρ_τ)²;

* channel side (§10.2, :mod:`._channel`): (V̂, q̂, m̂) = α × Gaussian integrals of the loss's
  proximal map at (m, q, V).

The fixed point is reached by damped iteration and polished by a quasi-Newton root
(``scipy.optimize.root``, ``hybr``); a point whose residual stays above the tolerance is
returned as NaN with ``converged`` False, never as a number.  For the square loss the
fixed point reduces to §8.3's deterministic equivalent of ridge at the same λ.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import root

from ..ridge import RidgeSpectrum, get_teacher, ridge_spectrum
from ._channel import ChannelMoments, binary_channel, square_channel
from ._losses import get_loss

__all__ = ["ERM_TEACHERS", "erm_fixed_point", "erm_theory"]

#: the teachers of erm_theory: "sign" (labels ±1, every loss); "linear", "erf2" (square loss only)
ERM_TEACHERS = ("sign", "linear", "erf2")
#: relative residual |F(x) − x|/|x| below which the fixed point counts as converged
TOL = 1e-11
_DAMPED_STEPS = 2000


def _prior(spec: RidgeSpectrum, lam: float, hats) -> np.ndarray:
    """(m, q, V) from (V̂, q̂, m̂) (§10.3)."""
    Vh, qh, mh = hats
    rho, g2, N = spec.rho, spec.g2, spec.N
    den = lam + Vh * rho
    V = float(np.sum(rho / den)) / N
    m = mh * float(np.sum(g2 / den))
    q = mh * mh * float(np.sum(g2 * rho / den**2)) + qh * float(np.sum((rho / den) ** 2)) / N
    return np.array([m, q, V])


class _Problem:
    """One (α, λ) point: the map x = (m, q, V) -> F(x) and its channel."""

    def __init__(self, spec, loss, teacher, noise, alpha, lam):
        self.spec, self.loss, self.teacher, self.noise = spec, loss, teacher, noise
        self.alpha, self.lam = alpha, lam

    def channel(self, x) -> ChannelMoments:
        m, q, V = x
        if self.teacher.name == "sign":  # labels ±1: the quadrature of §10.2, for every loss
            return binary_channel(self.loss, m, q, V, self.noise)
        return square_channel(self.teacher.mu1, self.teacher.variance + self.noise, m, q, V)

    def F(self, x) -> np.ndarray:
        m, q, V = x
        if not (q > 0 and V > 0 and m * m < q * (1.0 + self.noise)):
            return np.full(3, np.nan)
        ch = self.channel(x)
        return _prior(self.spec, self.lam, (self.alpha * ch.Vhat, self.alpha * ch.qhat, self.alpha * ch.mhat))

    def residual(self, x) -> float:
        fx = self.F(x)
        return float(np.max(np.abs(fx - x)) / max(float(np.max(np.abs(x))), 1e-300))


def erm_fixed_point(spec: RidgeSpectrum, loss, teacher, noise: float, alpha: float, lam: float, x0=None):
    """The fixed point x = (m, q, V) at one (α, λ): (x, converged, residual, channel moments)."""
    p = _Problem(spec, get_loss(loss), get_teacher(teacher), float(noise), float(alpha), float(lam))
    x = np.asarray(x0, float) if x0 is not None else _prior(spec, lam, (alpha / 2, alpha / 2, alpha / 2))
    for _ in range(_DAMPED_STEPS):  # damped iteration into the basin
        fx = p.F(x)
        if not np.all(np.isfinite(fx)):
            break
        x_new = 0.5 * x + 0.5 * fx
        step = float(np.max(np.abs(x_new - x)) / max(float(np.max(np.abs(x_new))), 1e-300))
        x = x_new
        if step < 1e-7:
            break
    sol = root(lambda v: p.F(v) - v, x, method="hybr", options={"xtol": 1e-14})
    if np.all(np.isfinite(sol.x)) and p.residual(sol.x) <= p.residual(x):
        x = sol.x
    res = p.residual(x)
    ok = bool(np.isfinite(res) and res <= TOL)
    return x, ok, res, (p.channel(x) if ok else None)


def _check_grid(alphas, lambdas, noise):
    alphas = np.atleast_1d(np.asarray(alphas, float))
    lambdas = np.atleast_1d(np.asarray(lambdas, float))
    if alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"alphas must be finite and > 0 (α = n/N); got {alphas.tolist()}")
    if lambdas.size == 0 or not np.all(np.isfinite(lambdas) & (lambdas > 0)):
        raise ValueError(f"lambdas must be finite and > 0; got {lambdas.tolist()}: at λ = 0 the minimiser is not "
                         "unique where the data can be fitted exactly (below the separability or interpolation "
                         "threshold; the hinge's λ → 0+ limit there is the max-margin classifier, not handled "
                         "here: docs/theory.md §10.4); use a small λ > 0")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be finite and >= 0 (the label noise Δ); got {noise}")
    return alphas, lambdas


def _check_pair(loss, teacher):
    if teacher not in ERM_TEACHERS:
        raise ValueError(f"unknown teacher {teacher!r}: choose one of {', '.join(ERM_TEACHERS)}")
    if loss.binary and teacher != "sign":
        raise ValueError(f"the {loss.name} loss classifies labels ±1: it takes teacher='sign', not {teacher!r} "
                         "(real-valued teachers go with loss='square')")


def erm_theory(Omega, Phi, theta, *, loss, alphas, lambdas, teacher: str = "sign", noise: float = 0.0) -> dict:
    """The proportional-limit learning curves of full-batch ERM on Gaussian(-equivalent) inputs
    (docs/theory.md §10).

    Parameters
    ----------
    Omega : array, shape (N, N)
        Covariance of the centred inputs x.
    Phi : array, shape (N, D)
        Cov(x, c).
    theta : array, shape (D,)
        The teacher, ‖θ‖² = D (rescale it: ``theta * sqrt(D) / norm(theta)``).
    loss : {"square", "logistic", "hinge"}
        ℓ(y, z) = ½(y − z)², log(1 + e^{−yz}) or max(0, 1 − yz); the objective is
        Σ_μ ℓ(y_μ, w·x_μ/√N) + (λ/2)‖w‖².
    alphas, lambdas : array_like
        α = n/N > 0 and λ > 0.
    teacher : {"sign", "linear", "erf2"}
        y = sign(ν + √Δ ε) (every loss), or y = f(ν) + √Δ ε with f linear or erf(·/√2)
        (square loss only).
    noise : float
        Δ >= 0.

    Returns
    -------
    dict
        Arrays of shape (len(alphas), len(lambdas)): ``test_error`` (sign teacher: the classification
        error P(y ≠ sign z) = arccos(m/√(q(1 + Δ)))/π; real teachers: E(y − z)²), ``mse`` (square loss:
        E(y − z)²), ``train_loss`` (the average loss at the minimiser, without the penalty), the overlaps
        ``m``, ``q``, ``V``, their conjugates ``mhat``, ``qhat``, ``Vhat``, ``converged`` and ``residual``.
        A point that did not converge is NaN (and named in a warning), never a number.

    Examples
    --------
    Isotropic Gaussian features (Ω = Φ = I) with a sign teacher and the square loss:

    >>> import numpy as np
    >>> from getheory import erm_theory
    >>> theory = erm_theory(np.eye(50), np.eye(50), np.ones(50), loss="square", alphas=[1.0, 2.0],
    ...                     lambdas=[0.1])
    >>> theory["test_error"].round(3).ravel(), bool(theory["converged"].all())
    (array([0.275, 0.196]), True)
    """
    ell = get_loss(loss)
    _check_pair(ell, teacher)
    alphas, lambdas = _check_grid(alphas, lambdas, float(noise))
    spec = ridge_spectrum(Omega, Phi, theta)
    shape = (alphas.size, lambdas.size)
    keys = ("test_error", "mse", "train_loss", "m", "q", "V", "mhat", "qhat", "Vhat", "residual")
    out = {k: np.full(shape, np.nan) for k in keys}
    out["converged"] = np.zeros(shape, bool)
    t = get_teacher(teacher)
    for j, lam in enumerate(lambdas):
        x0 = None
        for i, a in enumerate(alphas):
            x, ok, res, ch = erm_fixed_point(spec, ell, t, noise, a, lam, x0)
            out["residual"][i, j], out["converged"][i, j] = res, ok
            if not ok:
                continue
            x0 = x  # the next α starts from here
            _fill(out, (i, j), x, ch, a, (t, float(noise)))
    if not out["converged"].all():
        bad = [(float(alphas[i]), float(lambdas[j])) for i, j in zip(*np.nonzero(~out["converged"]))]
        warnings.warn(f"erm_theory: the fixed point did not converge at (α, λ) = {bad} (residual above {TOL:g}); "
                      "those points are NaN", RuntimeWarning, stacklevel=2)
    return out


def _fill(out, ij, x, ch: ChannelMoments, alpha, label):
    """The point's readings from its fixed point x = (m, q, V) and channel moments."""
    t, noise = label
    m, q, V = x
    out["m"][ij], out["q"][ij], out["V"][ij] = m, q, V
    out["mhat"][ij], out["qhat"][ij], out["Vhat"][ij] = alpha * ch.mhat, alpha * ch.qhat, alpha * ch.Vhat
    out["train_loss"][ij] = ch.train_loss
    if t.name == "sign":  # y = sign(ν + √Δ ε): E y z = √(2/π) m/√(1 + Δ)
        out["test_error"][ij] = math.acos(max(-1.0, min(1.0, m / math.sqrt(q * (1.0 + noise))))) / math.pi
        out["mse"][ij] = 1.0 - 2.0 * math.sqrt(2.0 / math.pi) * m / math.sqrt(1.0 + noise) + q
    else:
        out["mse"][ij] = out["test_error"][ij] = t.variance + noise - 2.0 * t.mu1 * m + q
