"""Deterministic equivalent of ridge regression on Gaussian(-equivalent) inputs
(docs/theory.md §8).

Scaling (ours): inputs x ∈ R^N centred with covariance Ω (entries O(1)), labels
y = f(ν) + √Δ ε with ν = θ·c/√D and ‖θ‖² = D, estimator

    ŵ = argmin_w Σ_{μ≤n} (y_μ − w·x_μ/√N)² + λ‖w‖²,   α = n/N.

Decomposition of y (§8.2).  For x̂ = Φc + (Ω − ΦΦᵀ)^{1/2}ξ, (x̂, ν) is jointly
Gaussian with Cov(x̂, ν) = Φθ/√D.  The best linear predictor of y from x̂ is
b·x̂ with b = μ₁ Ω⁻¹ Φθ/√D, μ₁ = E[f(ν)ν]/T (T = ‖θ‖²/D = 1), and

    σ² = E(y − b·x̂)² = μ₁²(T − q) + (Var f(ν) − μ₁² T) + Δ,   q = (Φθ)ᵀΩ⁻¹(Φθ)/D,

the three parts being the part of ν not linear in x̂, the non-linear part of f and
the label noise.

Deterministic equivalent (§8.3).  With ρ_τ, u_τ the eigenpairs of Ω and
g_τ = u_τ·Φθ/√D, κ > 0 is the unique root of

    1 = λ/(α κ) + df₁(κ)/n,     df₁(κ) = Σ_τ ρ_τ/(ρ_τ + κ),

and, with df₂(κ) = Σ_τ ρ_τ²/(ρ_τ + κ)²,

    ε_g = [κ² μ₁² Σ_τ g_τ²/(ρ_τ (ρ_τ + κ)²) + σ² df₂/n] / (1 − df₂/n) + σ².

Cost: one eigendecomposition of Ω, then O(N) per root evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.optimize import brentq

from ..backend import backend_of

__all__ = ["TEACHERS", "Teacher", "get_teacher", "LabelDecomposition", "label_decomposition",
           "RidgeSpectrum", "ridge_spectrum", "solve_kappa", "ridge_theory"]

#: teacher functions f of y = f(ν) + √Δ ε
TEACHERS = ("linear", "erf2", "sign")


@dataclass(frozen=True)
class Teacher:
    """An odd teacher f with its linear coefficient and variance at ν ~ N(0, 1).

    ``mu1`` = E[f(ν)ν], ``variance`` = E f(ν)² (E f = 0 for these odd f).
    """

    name: str
    mu1: float
    variance: float

    def __call__(self, nu):
        """f(ν), elementwise, on the backend holding ``nu`` (docs/theory.md §8).

        Parameters
        ----------
        nu : array or float
            Pre-labels ν = θ·c/√D: a host NumPy array (or float) or an array on a
            device backend (:func:`getheory.backend.backend_of` finds which).

        Returns
        -------
        array
            f(ν) on the same device as ``nu``; nothing comes to the host.
        """
        if self.name == "linear":
            return nu
        bk = backend_of(nu)
        if self.name == "sign":
            return bk.xp.sign(bk.xp.asarray(nu))
        return bk.erf(bk.xp.asarray(nu) / math.sqrt(2.0))


def get_teacher(name) -> Teacher:
    """The teacher called ``name`` (one of :data:`TEACHERS`); clear error otherwise."""
    if isinstance(name, Teacher):
        return name
    if name == "linear":
        return Teacher("linear", 1.0, 1.0)
    if name == "erf2":  # f = erf(ν/√2): E f' = √(2/π)/√2 = 1/√π; E f² = (2/π) arcsin(1/2) = 1/3
        return Teacher("erf2", 1.0 / math.sqrt(math.pi), 1.0 / 3.0)
    if name == "sign":  # E|ν| = √(2/π)
        return Teacher("sign", math.sqrt(2.0 / math.pi), 1.0)
    raise ValueError(f"unknown teacher {name!r}: choose one of {', '.join(TEACHERS)}")


@dataclass(frozen=True)
class RidgeSpectrum:
    """What the deterministic equivalent needs of (Ω, Φ, θ): the spectrum ρ of Ω and
    the squared projections g² of Φθ/√D on its eigenvectors (zero-ρ directions dropped)."""

    rho: np.ndarray
    g2: np.ndarray
    N: int
    dropped: int  # eigenvalues of Ω treated as 0 (their g² must vanish)

    @property
    def q(self) -> float:
        """q = (Φθ)ᵀΩ⁻¹(Φθ)/D: the variance of ν explained linearly by x̂."""
        return float(np.sum(self.g2 / self.rho))


#: relative tolerance of ‖θ‖² = D (docs/theory.md §8.1)
THETA_RTOL = 1e-6


def ridge_spectrum(Omega=None, Phi=None, theta=None, *, eig=None, rtol=1e-10) -> RidgeSpectrum:
    """Eigen-decompose Ω (or take ``eig=(rho, U)``) and project Φθ/√D on it.

    θ must have ‖θ‖² = D (docs/theory.md §8.1: T = Var ν = 1, which the label
    decomposition and the deterministic equivalent assume); any other norm is
    refused rather than giving a wrong curve.  :func:`getheory.ridge.ridge_curves`
    rescales its θ to that norm itself.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    N, D = Phi.shape
    if theta.shape[0] != D:
        raise ValueError(f"theta has {theta.shape[0]} entries but Φ has D = {D} columns")
    norm2 = float(theta @ theta)
    if not (math.isfinite(norm2) and abs(norm2 / D - 1.0) <= THETA_RTOL):
        raise ValueError(f"theta has ‖θ‖² = {norm2:.6g}, but the deterministic equivalent takes ‖θ‖² = D = {D} "
                         "(docs/theory.md §8.1: Var ν = 1); rescale it, theta * sqrt(D) / norm(theta) "
                         "(ridge_curves does this for you)")
    if eig is None:
        Omega = np.asarray(Omega, dtype=np.float64)
        if Omega.shape != (N, N):
            raise ValueError(f"Omega has shape {Omega.shape}, expected ({N}, {N})")
        rho, U = eigh((Omega + Omega.T) / 2, driver="evd")
    else:
        rho, U = eig
    g = U.T @ (Phi @ theta) / math.sqrt(D)
    top = max(float(np.max(np.abs(rho))), 1e-300)
    keep = rho > rtol * top
    if np.any(rho < -1e-8 * top):
        raise ValueError(f"Ω is not positive semi-definite: smallest eigenvalue {rho.min():.3g}")
    lost = float(np.sum(g[~keep] ** 2))
    if lost > 1e-8 * max(float(np.sum(g**2)), 1e-300):
        raise ValueError("Φθ has a component in the null space of Ω: (Ω, Φ) are inconsistent")
    return RidgeSpectrum(rho=rho[keep].copy(), g2=g[keep] ** 2, N=N, dropped=int(np.sum(~keep)))


@dataclass(frozen=True)
class LabelDecomposition:
    """y = b·x̂ + noise (docs/theory.md §8.2): the variances of its parts."""

    mu1: float
    q: float
    linear: float  # μ₁² q: variance of b·x̂
    nu_orthogonal: float  # μ₁² (T − q)
    nonlinear: float  # Var f − μ₁² T
    label_noise: float  # Δ

    @property
    def sigma2(self) -> float:
        """The effective noise σ² = E(y − b·x̂)²."""
        return self.nu_orthogonal + self.nonlinear + self.label_noise

    def to_dict(self):
        return {"mu1": self.mu1, "q": self.q, "linear": self.linear, "nu_orthogonal": self.nu_orthogonal,
                "nonlinear": self.nonlinear, "label_noise": self.label_noise, "sigma2": self.sigma2}


def label_decomposition(spectrum: RidgeSpectrum, teacher, noise: float) -> LabelDecomposition:
    """Split y into its linear part in x̂ and the effective noise (§8.2), T = 1."""
    t = get_teacher(teacher)
    q = spectrum.q
    return LabelDecomposition(mu1=t.mu1, q=q, linear=t.mu1**2 * q, nu_orthogonal=t.mu1**2 * max(1.0 - q, 0.0),
                              nonlinear=t.variance - t.mu1**2, label_noise=float(noise))


def solve_kappa(rho, n: float, N: int, lam: float) -> float:
    """The root κ > 0 of 1 = λN/(nκ) + Σ ρ/(ρ + κ)/n (§8.3); the right side decreases in κ."""
    rho = np.asarray(rho, dtype=np.float64)
    a = lam * N / n

    def G(k):
        return a / k + np.sum(rho / (rho + k)) / n - 1.0

    lo, hi = a, a + float(np.sum(rho)) / n  # G(lo) > 0 >= G(hi)
    if G(hi) >= 0:
        return hi
    return float(brentq(G, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=500))


def ridge_theory(spectrum: RidgeSpectrum, teacher, noise: float, alphas, lambdas) -> dict:
    """ε_g(α, λ) of the deterministic equivalent (§8.3), arrays of shape (len(α), len(λ)).

    Returns ``eps`` (test error), ``bias``, ``variance`` (excess-risk parts, each already
    divided by 1 − df₂/n), ``kappa``, ``df2_over_n`` and the :class:`LabelDecomposition`.
    """
    dec = label_decomposition(spectrum, teacher, noise)
    rho, g2, N = spectrum.rho, spectrum.g2, spectrum.N
    alphas = np.asarray(alphas, float)
    lambdas = np.asarray(lambdas, float)
    shape = (alphas.size, lambdas.size)
    out = {k: np.zeros(shape) for k in ("eps", "bias", "variance", "kappa", "df2_over_n")}
    for i, a in enumerate(alphas):
        n = a * N
        for j, lam in enumerate(lambdas):
            k = solve_kappa(rho, n, N, lam)
            df2 = float(np.sum((rho / (rho + k)) ** 2)) / n
            den = 1.0 - df2
            bias = k * k * dec.mu1**2 * float(np.sum(g2 / (rho * (rho + k) ** 2))) / den
            var = dec.sigma2 * df2 / den
            out["eps"][i, j] = bias + var + dec.sigma2
            out["bias"][i, j], out["variance"][i, j] = bias, var
            out["kappa"][i, j], out["df2_over_n"][i, j] = k, df2
    out["decomposition"] = dec
    return out
