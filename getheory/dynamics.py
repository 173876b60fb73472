"""Learning dynamics: one-pass SGD on generator data, on its Gaussian
equivalent, and the ODEs of the order parameters (docs/theory.md §7).

Three computations, from the same initial weights and the same latents:

1. **SGD on generator data** (§7.1): a two-layer student
   φ(x) = Σ_k v_k g(λ_k), λ = W x/√N, trained with one fresh sample per step
   on the labels of a teacher y = Σ_m ṽ_m g(ν_m), ν = W̃ c/√D, that sees the
   latent c; inputs centred, x − E x.
2. **SGD on Gaussian-equivalent data** (§7.2):
   x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ, ξ ~ N(0, I_N), with the *same* c.
3. **The ODEs** (§7.3–§7.5) for the densities q(ρ), r(ρ) over the spectrum
   of Ω, in which the generator enters only through the eigenvalues ρ_τ of
   Ω and the projections Γ = W U, B = (Φ W̃ᵀ)ᵀ U of the initial weights on
   its eigenvectors U.  ε_g from the closed form of §7.1.

Re-derivation of §7.4–§7.5 (the equations come from the authors' C++ code,
``[authors' code]`` in docs/theory.md §7).  With u_τ = ψ_τ/√N the
orthonormal eigenvectors, Γ_kτ = w_k·u_τ and x_τ = x·u_τ, one SGD step
changes Γ_kτ by −(η/√N) v_k g'(λ_k) Δ x_τ.  Under the Gaussian equivalence
x_τ is jointly Gaussian with the fields, Cov(x_τ, λ_k) = ρ_τ Γ_kτ/√N and
Cov(x_τ, ν_n) = B_nτ/√D.  Each term of E[g'(λ_k) Δ x_τ] depends on two
fields only (λ_k with λ_j, or λ_k with ν_n); regressing x_τ on those two
fields (exact for Gaussians) gives the 2×2 inverse covariances whose
determinants are det_kj and det_kn of §7.5, and the resulting drift of
r_km = Γ_kτ B_mτ (times N steps per unit t) is *exactly* the §7.5 equation
for dr/dt; with B_m → Γ_l it gives the first-order part of dq/dt, and the
second-order part η² ρ v_k v_l E[g'(λ_k) g'(λ_l) Δ²] comes from
E[dΓ_k dΓ_l] with E[x_τ² | fields] = ρ_τ + O(1/N).  dv/dt follows from
E[g(λ_k) Δ].  We found no error in DYNAMICS §5 / docs/theory.md §7.5: the
equations as written there are the ones implemented; every Gaussian
integral is checked against Monte Carlo in tests/test_dynamics.py and the
ODEs against SGD at several N (finite-size check).

Compact form used by the integrator (same equations, regrouped): for
each k define the K×K matrix A and the K×M matrix b

    A_kk = Σ_{j≠k} v_j (Q_kj I3(k,j,j) − Q_jj I3(k,k,j))/det_kj − v_k I3(k,k,k)/Q_kk
           + Σ_n ṽ_n (T_nn I3(k,k,n) − R_kn I3(k,n,n))/det_kn
    A_kj = v_j (Q_kj I3(k,k,j) − Q_kk I3(k,j,j))/det_kj                    (j ≠ k)
    b_kn = δ^{-1/2} ṽ_n (Q_kk I3(k,n,n) − R_kn I3(k,k,n))/det_kn

and Ā = η diag(v) A, b̄ = η diag(v) b.  Then, per eigenvalue ρ,

    dr/dt = ρ Ā r + b̄ t̃,
    dq/dt = ρ (Ā q + (Ā q)ᵀ) + b̄ rᵀ + r b̄ᵀ + η² ρ (v vᵀ) ∘ E,
    E_kl  = uᵀ I4(k,l,·,·) u,   u = (v, −ṽ),
    dv/dt = η (I2(students, teachers) ṽ − I2(students, students) v).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as _t_dist

from ._progress import Progress, status
from ._validation import check_level as _check_level
from ._validation import positive_int

__all__ = [
    "gauss_I2",
    "gauss_I3",
    "gauss_I4",
    "integral_tables",
    "generalisation_error",
    "spectral_projections",
    "integrate_odes",
    "ODEResult",
    "GaussianEquivalentData",
    "GeneratorData",
    "run_sgd",
    "SGDTrajectory",
    "identity_moments",
    "run_dynamics",
    "DynamicsResult",
    "finite_size_check",
    "FiniteSizeResult",
]

_G_NAMES = ("erf2", "linear", "relu")
_ODE_G = ("erf2", "linear")


def _check_g(g, *, ode=False):
    if not isinstance(g, str) or g.lower() not in _G_NAMES:
        raise ValueError(f"unknown network activation g={g!r}: choose one of {', '.join(_G_NAMES)}")
    g = g.lower()
    if ode and g not in _ODE_G:
        raise ValueError(
            f"the ODEs need closed-form Gaussian integrals (docs/theory.md §7.4), available for "
            f"{' and '.join(_ODE_G)} only, not g={g!r}; SGD runs with relu, the ODEs do not"
        )
    return g


def _check_eta(eta):
    try:
        eta = float(eta)
    except (TypeError, ValueError):
        raise TypeError(f"learning rate eta must be a number, got {eta!r}") from None
    if not math.isfinite(eta) or eta <= 0:
        raise ValueError(f"learning rate eta must be a finite number > 0, got {eta}")
    return eta


def _weights(W, name, cols=None):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (units, inputs), got shape {W.shape}")
    if W.shape[0] == 0:
        raise ValueError(f"{name} has no units (shape {W.shape}): K and M must be >= 1")
    if cols is not None and W.shape[1] != cols:
        raise ValueError(f"{name} has {W.shape[1]} columns, expected {cols} (shape {W.shape})")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return W


def _vector(v, name, n):
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries (one per unit), got {v.shape[0]}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return v


# ---------------------------------------------------------------------------
# Gaussian integrals (docs/theory.md §7.4)
# ---------------------------------------------------------------------------
def _small_cov(C, n, name):
    C = np.asarray(C, dtype=np.float64)
    if C.shape != (n, n):
        raise ValueError(f"{name} needs the {n}×{n} covariance of its {n} fields, got shape {C.shape}")
    return C


def gauss_I2(C, g="erf2"):
    """I2 = E g(u1) g(u2) for u ~ N(0, C), C 2×2 (docs/theory.md §7.4)."""
    C = _small_cov(C, 2, "I2")
    g = _check_g(g, ode=True)
    if g == "linear":
        return float(C[0, 1])
    return float(2 / math.pi * math.asin(_clip1(C[0, 1] / math.sqrt((1 + C[0, 0]) * (1 + C[1, 1])))))


def gauss_I3(C, g="erf2"):
    """I3 = E g'(u1) u2 g(u3) for u ~ N(0, C), C 3×3 (docs/theory.md §7.4)."""
    C = _small_cov(C, 3, "I3")
    g = _check_g(g, ode=True)
    if g == "linear":
        return float(C[1, 2])
    d1 = 1 + C[0, 0]
    lam3 = d1 * (1 + C[2, 2]) - C[0, 2] ** 2
    return float(2 / math.pi * (C[1, 2] * d1 - C[0, 1] * C[0, 2]) / (d1 * math.sqrt(lam3)))


def gauss_I4(C, g="erf2"):
    """I4 = E g'(u1) g'(u2) g(u3) g(u4) for u ~ N(0, C), C 4×4 (docs/theory.md §7.4)."""
    C = _small_cov(C, 4, "I4")
    g = _check_g(g, ode=True)
    if g == "linear":
        return float(C[2, 3])
    d1, d2 = 1 + C[0, 0], 1 + C[1, 1]
    lam4 = d1 * d2 - C[0, 1] ** 2
    lam0 = (lam4 * C[2, 3] - C[1, 2] * C[1, 3] * d1 - C[0, 2] * C[0, 3] * d2
            + C[0, 1] * C[0, 2] * C[1, 3] + C[0, 1] * C[0, 3] * C[1, 2])
    lam1 = lam4 * (1 + C[2, 2]) - C[1, 2] ** 2 * d1 - C[0, 2] ** 2 * d2 + 2 * C[0, 1] * C[0, 2] * C[1, 2]
    lam2 = lam4 * (1 + C[3, 3]) - C[1, 3] ** 2 * d1 - C[0, 3] ** 2 * d2 + 2 * C[0, 1] * C[0, 3] * C[1, 3]
    return float(4 / math.pi**2 / math.sqrt(lam4) * math.asin(_clip1(lam0 / math.sqrt(lam1 * lam2))))


def _clip1(x):
    return np.clip(x, -1.0, 1.0)


def integral_tables(C, K, g="erf2"):
    """All integrals the ODEs need, for the full field covariance C (F×F, F = K+M).

    Returns (I2, I3, I4) with I2[a, b] over all fields, I3[a, b, c] over all
    fields and I4[k, l, c, d] with k, l students (docs/theory.md §7.4),
    vectorised; each entry equals gauss_I2/I3/I4 on the sub-covariance of the
    listed fields.
    """
    C = np.asarray(C, dtype=np.float64)
    if g == "linear":
        F = C.shape[0]
        I2 = C.copy()
        I3 = np.broadcast_to(C[None, :, :], (F, F, F)).copy()
        I4 = np.broadcast_to(C[None, None, :, :], (K, K, F, F)).copy()
        return I2, I3, I4
    d = 1.0 + np.diag(C)
    I2 = 2 / np.pi * np.arcsin(_clip1(C / np.sqrt(np.outer(d, d))))
    # I3[a,b,c] = (2/π)(C_bc(1+C_aa) − C_ab C_ac) / ((1+C_aa) √((1+C_aa)(1+C_cc) − C_ac²))
    lam3 = np.outer(d, d) - C**2
    num = C[None, :, :] * d[:, None, None] - C[:, :, None] * C[:, None, :]
    I3 = 2 / np.pi * num / (d[:, None, None] * np.sqrt(lam3)[:, None, :])
    # I4[a,b,c,d], a, b students (fields 1, 2 of the formula), c, d any (fields 3, 4)
    Cs = C[:K]
    Cab = C[:K, :K][:, :, None, None]
    Cac = Cs[:, None, :, None]
    Cad = Cs[:, None, None, :]
    Cbc = Cs[None, :, :, None]
    Cbd = Cs[None, :, None, :]
    Ccd = C[None, None, :, :]
    da = d[:K][:, None, None, None]
    db = d[:K][None, :, None, None]
    dc = d[None, None, :, None]
    dd = d[None, None, None, :]
    lam4 = da * db - Cab**2
    lam0 = lam4 * Ccd - Cbc * Cbd * da - Cac * Cad * db + Cab * Cac * Cbd + Cab * Cad * Cbc
    lam1 = lam4 * dc - Cbc**2 * da - Cac**2 * db + 2 * Cab * Cac * Cbc
    lam2 = lam4 * dd - Cbd**2 * da - Cad**2 * db + 2 * Cab * Cad * Cbd
    I4 = 4 / np.pi**2 / np.sqrt(lam4) * np.arcsin(_clip1(lam0 / np.sqrt(lam1 * lam2)))
    return I2, I3, I4


def generalisation_error(Q, R, T, v, v_teacher, g="erf2", *, mc_samples=200_000, seed=0):
    """ε_g = ½ E(φ − y)² from the order parameters (docs/theory.md §7.1).

    Closed form for erf2 (the arcsine formula of §7.1) and linear g; for relu
    a fixed-seed Monte Carlo over (λ, ν) ~ N(0, [[Q, R], [Rᵀ, T]]).
    """
    g = _check_g(g)
    Q, R, T = (np.asarray(a, dtype=np.float64) for a in (Q, R, T))
    v = np.asarray(v, dtype=np.float64)
    vt = np.asarray(v_teacher, dtype=np.float64)
    if g == "linear":
        return float(0.5 * (v @ Q @ v + vt @ T @ vt - 2 * v @ R @ vt))
    if g == "erf2":
        dq = np.sqrt(1 + np.diag(Q))
        dt = np.sqrt(1 + np.diag(T))
        sq = np.arcsin(_clip1(Q / np.outer(dq, dq)))
        st = np.arcsin(_clip1(T / np.outer(dt, dt)))
        sr = np.arcsin(_clip1(R / np.outer(dq, dt)))
        return float((v @ sq @ v + vt @ st @ vt - 2 * v @ sr @ vt) / np.pi)
    K = Q.shape[0]
    C = np.block([[Q, R], [R.T, T]])
    w, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.clip(w, 0, None))
    z = np.random.default_rng(seed).standard_normal((mc_samples, C.shape[0])) @ L.T
    z = np.maximum(z, 0)
    return float(0.5 * np.mean((z[:, :K] @ v - z[:, K:] @ vt) ** 2))


# ---------------------------------------------------------------------------
# Spectral decomposition and the ODEs (docs/theory.md §7.3, §7.5)
# ---------------------------------------------------------------------------
def _check_omega(Omega, N=None, *, name="Omega", rtol=1e-8):
    Omega = np.asarray(Omega, dtype=np.float64)
    if Omega.ndim != 2 or Omega.shape[0] != Omega.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {Omega.shape}")
    if N is not None and Omega.shape[0] != N:
        raise ValueError(
            f"{name} has size {Omega.shape[0]}×{Omega.shape[1]} but the student weights have N={N} "
            f"columns: Ω must be N×N with N the input dimension"
        )
    if not np.all(np.isfinite(Omega)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = max(float(np.max(np.abs(Omega))), 1e-300)
    if not np.allclose(Omega, Omega.T, rtol=0, atol=1e-10 * scale):
        raise ValueError(f"{name} is not symmetric (max |Ω − Ωᵀ| = {np.max(np.abs(Omega - Omega.T)):.3g})")
    return (Omega + Omega.T) / 2


def _eigh_psd(S, name, rtol=1e-8):
    """Eigen-decomposition of a symmetric matrix that must be PSD; clip round-off."""
    w, U = np.linalg.eigh(S)
    top = max(float(w[-1]), 0.0)
    if w[0] < -rtol * max(top, 1e-300) - 1e-300:
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {w[0]:.3g} (largest {top:.3g}); "
            "a covariance must be PSD"
        )
    clipped = int(np.sum(w < 0))
    return np.clip(w, 0, None), U, clipped


def spectral_projections(Omega, Phi, W_student, W_teacher, *, eig=None):
    """Eigenvalues ρ of Ω and the projections Γ, B of docs/theory.md §7.3.

    Ω = Σ_τ ρ_τ u_τ u_τᵀ with u_τ = ψ_τ/√N orthonormal;
    Γ_kτ = w_k·ψ_τ/√N = w_k·u_τ, B_mτ = (Φ w̃_m)·ψ_τ/√N = (Φ w̃_m)·u_τ.
    Returns (rho (N,), Gamma (K, N), B (M, N)).  ``eig=(rho, U)`` reuses a
    decomposition.  Raises ValueError for a non-PSD Ω or mismatched sizes.
    """
    W = _weights(W_student, "W_student")
    N = W.shape[1]
    Omega = _check_omega(Omega, N)
    Phi = np.asarray(Phi, dtype=np.float64)
    Wt = _weights(W_teacher, "W_teacher")
    if Phi.shape != (N, Wt.shape[1]):
        raise ValueError(f"Phi must have shape (N, D) = ({N}, {Wt.shape[1]}), got {Phi.shape}")
    if eig is None:
        rho, U, _ = _eigh_psd(Omega, "Omega")
    else:
        rho, U = eig
    Gamma = W @ U
    B = (Phi @ Wt.T).T @ U
    return rho, Gamma, B


@dataclass
class ODEResult:
    """Solution of the ODEs at the requested times (docs/theory.md §7.5).

    ``Q`` (n_t, K, K), ``R`` (n_t, K, M), ``v`` (n_t, K), ``eps`` (n_t,) the
    closed-form ε_g; ``step_error`` the largest |Δε_g| between this solution
    and one with a 100× tighter tolerance (or half the step for RK4), and
    ``step_error_QR`` the same for Q and R; ``nfev`` right-hand side calls.
    """

    t: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    eps: np.ndarray
    T: np.ndarray
    method: str
    tolerance: dict
    step_error: float | None = None
    step_error_QR: float | None = None
    nfev: int = 0
    seconds: float = 0.0


class _ODESystem:
    """Right-hand side of the ODEs on the state (q[k,l,τ], r[k,m,τ], v[k])."""

    def __init__(self, rho, t_tilde, T, v_teacher, delta, eta, g, train_v, K, M, form="stein"):
        self.form = form
        self.rho = rho
        self.P = rho.shape[0]
        self.tt = t_tilde  # (M, M, P)
        self.T = T
        self.vt = v_teacher
        self.sd = delta**-0.5
        self.eta = eta
        self.g = g
        self.train_v = train_v
        self.K, self.M = K, M
        self.nq, self.nr = K * K * self.P, K * M * self.P
        self.nfev = 0

    def unpack(self, y):
        K, M, P = self.K, self.M, self.P
        q = y[: self.nq].reshape(K, K, P)
        r = y[self.nq: self.nq + self.nr].reshape(K, M, P)
        v = y[self.nq + self.nr:]
        return q, r, v

    def order_parameters(self, q, r):
        # docs/theory.md §7.3: Q = (1/N) Σ_τ ρ_τ q(ρ_τ), R = δ^{-1/2} (1/N) Σ_τ r(ρ_τ)
        Q = q @ self.rho / self.P
        R = self.sd * r.sum(axis=-1) / self.P
        return (Q + Q.T) / 2, R

    def __call__(self, t, y):
        self.nfev += 1
        K, M = self.K, self.M
        q, r, v = self.unpack(y)
        Q, R = self.order_parameters(q, r)
        T, vt, eta = self.T, self.vt, self.eta
        C = np.block([[Q, R], [R.T, T]])
        I2, I3, I4 = integral_tables(C, K, self.g)
        if self.form == "stein":
            Ab, bb = self._coefficients_stein(Q, R, v, C, I3)
            return self._evolve(q, r, v, Ab, bb, I2, I4)
        # docs/theory.md §7.5 as written (1/det form), regrouped as in the module docstring
        A = np.zeros((K, K))
        b = np.zeros((K, M))
        Qd = np.diag(Q)
        Td = np.diag(T)
        for k in range(K):
            A[k, k] -= v[k] * I3[k, k, k] / Qd[k]
            for j in range(K):
                if j == k:
                    continue
                det = Qd[k] * Qd[j] - Q[k, j] ** 2
                A[k, k] += v[j] * (Q[k, j] * I3[k, j, j] - Qd[j] * I3[k, k, j]) / det
                A[k, j] = v[j] * (Q[k, j] * I3[k, k, j] - Qd[k] * I3[k, j, j]) / det
            for n in range(M):
                a = K + n
                det = Qd[k] * Td[n] - R[k, n] ** 2
                A[k, k] += vt[n] * (Td[n] * I3[k, k, a] - R[k, n] * I3[k, a, a]) / det
                b[k, n] = self.sd * vt[n] * (Qd[k] * I3[k, a, a] - R[k, n] * I3[k, k, a]) / det
        Ab = eta * v[:, None] * A
        bb = eta * v[:, None] * b
        return self._evolve(q, r, v, Ab, bb, I2, I4)

    def _coefficients_stein(self, Q, R, v, C, I3):
        """Ā, b̄ without 1/det: Stein's lemma E[x f(u)] = Σ_a Cov(x, u_a) E[∂_a f(u)].

        Same equations as §7.5 (the regression on two fields equals Stein's
        lemma: E[∇f] = C⁻¹ E[u f]), but finite when two fields become
        collinear (det_kj or det_kn → 0, e.g. a student aligning with a
        teacher in a realisable setting), where the 1/det form loses all
        digits.  With u = (v, −ṽ):
        Ā_kj = −η v_k (h_k δ_kj + v_j J_kj), b̄_kn = η v_k δ^{-1/2} ṽ_n J_kn,
        h_k = Σ_a u_a E[g''(λ_k) g(u_a)], J_ka = E[g'(λ_k) g'(u_a)].
        """
        K = self.K
        u = np.concatenate([v, -self.vt])
        d = 1.0 + np.diag(C)
        if self.g == "linear":
            J = np.ones((K, C.shape[0]))
            h = np.zeros(K)
        else:  # erf2: g'' = −z g'(z), so E[g''(u_k) g(u_a)] = −I3(k,k,a)
            J = 2 / np.pi / np.sqrt(np.outer(d[:K], d) - C[:K] ** 2)
            H = -I3[np.arange(K), np.arange(K), :]
            h = H @ u
        Ab = -self.eta * v[:, None] * (np.diag(h) + J[:, :K] * v[None, :])
        bb = self.eta * self.sd * v[:, None] * J[:, K:] * self.vt[None, :]
        return Ab, bb

    def _evolve(self, q, r, v, Ab, bb, I2, I4):
        K, eta, vt = self.K, self.eta, self.vt
        rho = self.rho
        dr = rho * np.tensordot(Ab, r, axes=(1, 0)) + np.tensordot(bb, self.tt, axes=(1, 0))
        Aq = np.tensordot(Ab, q, axes=(1, 0))
        br = np.tensordot(bb, r, axes=(1, 1))  # (b̄ rᵀ)_kl = Σ_n b̄_kn r_ln
        u = np.concatenate([v, -vt])
        E = np.einsum("klcd,c,d->kl", I4, u, u)
        dq = rho * (Aq + Aq.transpose(1, 0, 2)) + br + br.transpose(1, 0, 2)
        dq += (eta**2 * np.outer(v, v) * E)[:, :, None] * rho
        if self.train_v:
            dv = eta * (I2[:K, K:] @ vt - I2[:K, :K] @ v)
        else:
            dv = np.zeros(K)
        return np.concatenate([dq.ravel(), dr.ravel(), dv])


def integrate_odes(
    rho,
    Gamma,
    B,
    v0,
    v_teacher,
    *,
    D,
    eta,
    t_eval,
    T=None,
    W_teacher=None,
    g="erf2",
    train_second_layer=True,
    method="DOP853",
    rtol=1e-8,
    atol=1e-11,
    dt=0.01,
    step_check=True,
    form="stein",
) -> ODEResult:
    """Integrate the ODEs of docs/theory.md §7.5 for any K, M.

    The generator enters only through ``rho`` (the N eigenvalues of Ω) and
    the projections ``Gamma`` (K, N) and ``B`` (M, N) of the initial
    weights on its eigenvectors (§7.3, :func:`spectral_projections`).

    Parameters
    ----------
    v0, v_teacher : second-layer weights of student (K,) and teacher (M,).
    D : latent dimension (δ = D/N with N = len(rho)).
    T : teacher covariance W̃W̃ᵀ/D (M, M), or give ``W_teacher``.
    t_eval : increasing times t = steps/N at which to report.
    method : ``"DOP853"``/``"RK45"``/``"LSODA"`` (scipy's adaptive
        ``solve_ivp`` with ``rtol``, ``atol``) or ``"rk4"`` (classical
        Runge–Kutta with fixed step ``dt``, landing on every ``t_eval``).
    step_check : also integrate with a 100× tighter tolerance (``rk4``:
        half the step) and record the largest difference of ε_g, Q and R
        (:attr:`ODEResult.step_error`) -- the error due to the step size.
    form : ``"stein"`` (default) evaluates the first-order terms of §7.5 via
        Stein's lemma, without the 1/det_kj, 1/det_kn factors; ``"spec"``
        uses the §7.5 formulas literally.  The two are algebraically equal
        (tested to 1e-10 on random states); ``"spec"`` loses precision when
        fields become collinear (realisable teacher, perfect recovery).
    """
    t0 = time.perf_counter()
    eta = _check_eta(eta)
    g = _check_g(g, ode=True)
    rho = np.asarray(rho, dtype=np.float64).reshape(-1)
    if rho.size == 0 or not np.all(np.isfinite(rho)):
        raise ValueError("rho (eigenvalues of Ω) must be a non-empty finite vector")
    if rho.min() < -1e-8 * max(rho.max(), 1e-300):
        raise ValueError(f"Ω is not positive semi-definite: eigenvalue {rho.min():.3g} < 0")
    rho = np.clip(rho, 0, None)
    N = rho.shape[0]
    Gamma = _weights(Gamma, "Gamma (student projections)", N)
    B = _weights(B, "B (teacher projections)", N)
    K, M = Gamma.shape[0], B.shape[0]
    v0 = _vector(v0, "v0", K)
    vt = _vector(v_teacher, "v_teacher", M)
    D = positive_int(D, "D")
    if T is None:
        if W_teacher is None:
            raise ValueError("give T = W̃W̃ᵀ/D or W_teacher")
        Wt = _weights(W_teacher, "W_teacher", D)
        T = Wt @ Wt.T / D
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (M, M):
        raise ValueError(f"T must be {M}×{M}, got {T.shape}")
    t_eval = np.asarray(t_eval, dtype=np.float64).reshape(-1)
    if t_eval.size == 0 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0:
        raise ValueError("t_eval must be a non-empty increasing sequence of times >= 0")
    delta = D / N
    # §7.3 densities at t = 0
    q0 = np.einsum("kp,lp->klp", Gamma, Gamma)
    r0 = np.einsum("kp,mp->kmp", Gamma, B)
    tt = np.einsum("np,mp->nmp", B, B)
    if form not in ("stein", "spec"):
        raise ValueError(f"form must be 'stein' or 'spec', got {form!r}")
    sys_ = _ODESystem(rho, tt, T, vt, delta, eta, g, bool(train_second_layer), K, M, form)
    y0 = np.concatenate([q0.ravel(), r0.ravel(), v0])

    def solve(tight):
        if method == "rk4":
            return _rk4(sys_, y0, t_eval, dt / 2 if tight else dt)
        from scipy.integrate import solve_ivp

        f = 0.01 if tight else 1.0
        sol = solve_ivp(sys_, (0.0, float(t_eval[-1])), y0, method=method, t_eval=t_eval,
                        rtol=rtol * f, atol=atol * f)
        if not sol.success:
            raise RuntimeError(f"ODE integration failed: {sol.message}")
        return sol.y.T

    def observe(Y):
        Qs, Rs, vs, eps = [], [], [], []
        for y in Y:
            q, r, v = sys_.unpack(y)
            Q, R = sys_.order_parameters(q, r)
            Qs.append(Q)
            Rs.append(R)
            vs.append(v.copy())
            eps.append(generalisation_error(Q, R, T, v, vt, g))
        return np.array(Qs), np.array(Rs), np.array(vs), np.array(eps)

    with np.errstate(invalid="raise", divide="raise"):
        try:
            Y = solve(False)
        except FloatingPointError as exc:
            raise RuntimeError(f"ODE integration broke down ({exc}): the order parameters became singular") from None
    Q, R, v, eps = observe(Y)
    step_err = step_err_qr = None
    nfev = sys_.nfev
    if step_check:
        with np.errstate(invalid="raise", divide="raise"):
            Y2 = solve(True)
        Q2, R2, _, eps2 = observe(Y2)
        step_err = float(np.max(np.abs(eps2 - eps)))
        step_err_qr = float(max(np.max(np.abs(Q2 - Q)), np.max(np.abs(R2 - R))))
    tol = {"dt": dt} if method == "rk4" else {"rtol": rtol, "atol": atol}
    return ODEResult(t=t_eval, Q=Q, R=R, v=v, eps=eps, T=T, method=method, tolerance=tol,
                     step_error=step_err, step_error_QR=step_err_qr, nfev=nfev,
                     seconds=time.perf_counter() - t0)


def _rk4(f, y0, t_eval, dt):
    """Classical RK4 with fixed step ≤ dt, hitting every output time exactly."""
    out = []
    y = y0.copy()
    t = 0.0
    for te in t_eval:
        span = te - t
        if span > 0:
            n = max(1, int(math.ceil(span / dt - 1e-9)))
            h = span / n
            for _ in range(n):
                k1 = f(t, y)
                k2 = f(t + h / 2, y + h / 2 * k1)
                k3 = f(t + h / 2, y + h / 2 * k2)
                k4 = f(t + h, y + h * k3)
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                t += h
            t = te
        out.append(y.copy())
    return np.array(out)


# ---------------------------------------------------------------------------
# Data sources (docs/theory.md §7.1, §7.2)
# ---------------------------------------------------------------------------
class GeneratorData:
    """Centred generator inputs x − E x for SGD (docs/theory.md §7.1)."""

    name = "generator"

    def __init__(self, generator, mean):
        self.generator = generator
        self.N = generator.N
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        if self.mean.shape[0] != self.N:
            raise ValueError(f"mean has {self.mean.shape[0]} entries, the generator has N={self.N}")

    def inputs(self, c, rng):
        x = np.asarray(self.generator.sample(c), dtype=np.float64)
        x -= self.mean
        return x

    def to_data_basis(self, W):
        return W

    def from_data_basis(self, W):
        return W


class GaussianEquivalentData:
    """Gaussian-equivalent inputs x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ (docs/theory.md §7.2).

    ``basis="eigen"`` (default) generates the inputs in the orthonormal
    eigenbasis U of S² = Ω − ΦΦᵀ: x' = Uᵀx̂ = (UᵀΦ) c + diag(s) ξ', which costs
    one N×D product per sample instead of an N×N one.  SGD is equivariant
    under the rotation (λ = W x/√N = (W U)(Uᵀ x)/√N and the update is along
    x), so a run from W U on x' is the same run as from W on x̂ (tested);
    weights are rotated in and out with :meth:`to_data_basis` and
    :meth:`from_data_basis`.  ``basis="direct"`` forms x̂ itself.  Negative
    eigenvalues of Ω − ΦΦᵀ that are round-off or Monte Carlo noise are
    clipped to zero (``clipped`` counts them, ``clipped_mass`` their sum).
    """

    name = "gaussian"

    def __init__(self, Omega, Phi, *, basis="eigen", rtol=1e-6):
        Omega = _check_omega(Omega)
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[0] != Omega.shape[0]:
            raise ValueError(f"Phi must have shape (N, D) with N={Omega.shape[0]}, got {Phi.shape}")
        if basis not in ("eigen", "direct"):
            raise ValueError(f"basis must be 'eigen' or 'direct', got {basis!r}")
        self.N = Omega.shape[0]
        self.basis = basis
        S2 = Omega - Phi @ Phi.T
        w, U = np.linalg.eigh((S2 + S2.T) / 2)
        top = max(float(np.max(np.diag(Omega))), 1e-300)  # scale for the round-off tolerance
        neg = w < 0
        self.clipped = int(np.sum(neg))
        self.clipped_mass = float(-np.sum(w[neg]))
        if w[0] < -rtol * top:
            warnings.warn(
                f"Ω − ΦΦᵀ has {self.clipped} negative eigenvalue(s) down to {w[0]:.3g} (relative "
                f"{w[0] / top:.2g}); expected only from Monte Carlo error in (Ω, Φ); clipped to 0",
                RuntimeWarning,
                stacklevel=2,
            )
        self.s = np.sqrt(np.clip(w, 0, None))
        self.U = U
        if basis == "eigen":
            self.PhiT = np.ascontiguousarray((U.T @ Phi).T)  # (D, N): rows of c @ PhiT
        else:
            self.PhiT = np.ascontiguousarray(Phi.T)
            self.S = (U * self.s) @ U.T

    def inputs(self, c, rng, xi=None):
        if xi is None:
            xi = rng.standard_normal((c.shape[0], self.N))
        x = c @ self.PhiT
        if self.basis == "eigen":
            x += xi * self.s
        else:
            x += xi @ self.S
        return x

    def to_data_basis(self, W):
        return W @ self.U if self.basis == "eigen" else W

    def from_data_basis(self, W):
        return W @ self.U.T if self.basis == "eigen" else W


# ---------------------------------------------------------------------------
# One-pass SGD (docs/theory.md §7.1)
# ---------------------------------------------------------------------------
@dataclass
class SGDTrajectory:
    """Checkpoints of one SGD run: weights in the original input basis."""

    source: str
    steps: np.ndarray
    t: np.ndarray
    W: np.ndarray  # (n_checkpoints, K, N)
    v: np.ndarray  # (n_checkpoints, K)
    diverged: bool = False


def _teacher_labels(c, W_teacher, v_teacher, g):
    nu = c @ W_teacher.T / math.sqrt(W_teacher.shape[1])
    return _g_np(nu, g) @ v_teacher


def _g_np(z, g):
    if g == "erf2":
        from scipy.special import erf

        return erf(z / math.sqrt(2))
    if g == "linear":
        return z
    return np.maximum(z, 0)


def run_sgd(
    sources,
    W0,
    v0,
    W_teacher,
    v_teacher,
    *,
    eta,
    t_points,
    g="erf2",
    train_second_layer=True,
    seed=0,
    batch_size=None,
    time_budget=None,
    progress=False,
):
    """One-pass SGD of the student on each data source, side by side (§7.1).

    All sources see the *same* latents c (hence the same teacher labels) at
    every step and start from the same weights; sources that need extra
    noise (the Gaussian equivalent's ξ) draw it from a separate stream.
    Samples are made a batch at a time with BLAS-3 products, and the
    sequential updates run in the compiled kernel
    :func:`getheory._sgd_kernels.sgd_segment`.

    ``t_points``: increasing times t = steps/N at which W and v are recorded.
    ``time_budget``: seconds; when exceeded the run stops at the end of the
    current batch and records one last checkpoint there (the trajectories
    then end early: see ``SGDTrajectory.t``).
    Returns (list of SGDTrajectory, info dict with timings and steps/s).
    """
    from ._sgd_kernels import G_CODES, sgd_segment

    eta = _check_eta(eta)
    g = _check_g(g)
    if not sources:
        raise ValueError("give at least one data source")
    N = sources[0].N
    for s in sources:
        if s.N != N:
            raise ValueError("all data sources must have the same N")
    W0 = _weights(W0, "W0 (student first layer)", N)
    K = W0.shape[0]
    v0 = _vector(v0, "v0", K)
    Wt = _weights(W_teacher, "W_teacher")
    M, D = Wt.shape
    vt = _vector(v_teacher, "v_teacher", M)
    t_points = np.asarray(t_points, dtype=np.float64).reshape(-1)
    if t_points.size == 0 or np.any(np.diff(t_points) <= 0) or t_points[0] < 0:
        raise ValueError("t_points must be a non-empty increasing sequence of times >= 0")
    steps_at = np.unique(np.round(t_points * N).astype(np.int64))
    if batch_size is None:
        batch_size = int(min(4096, max(256, 2**25 // (8 * N))))  # ~32 MB per batch and source
    ss = np.random.SeedSequence(seed)
    c_rng, xi_seed = [np.random.default_rng(s) for s in ss.spawn(2)]
    xi_rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(xi_seed.integers(2**63)).spawn(len(sources))]
    Ws = [np.ascontiguousarray(src.to_data_basis(W0.copy())) for src in sources]
    vs = [v0.copy() for _ in sources]
    recW = [[] for _ in sources]
    recv = [[] for _ in sources]
    code = G_CODES[g]
    done = 0
    ci = 0
    diverged = False
    t_start = time.perf_counter()
    gen_time = kern_time = 0.0
    prog = Progress(int(steps_at[-1]), "SGD steps", progress, delay=5.0)
    stopped_early = False
    rec_steps = []

    def record():
        rec_steps.append(done)
        for i, src in enumerate(sources):
            recW[i].append(src.from_data_basis(Ws[i]).copy())
            recv[i].append(vs[i].copy())

    while ci < len(steps_at):
        while ci < len(steps_at) and steps_at[ci] == done:
            record()
            ci += 1
            if time_budget is not None and time.perf_counter() - t_start > time_budget and ci < len(steps_at):
                stopped_early = True
                break
        if ci >= len(steps_at) or stopped_early:
            break
        b = int(min(batch_size, steps_at[-1] - done))
        tg = time.perf_counter()
        c = c_rng.standard_normal((b, D))
        y = _teacher_labels(c, Wt, vt, g)
        Xs = [np.ascontiguousarray(src.inputs(c, xi_rngs[i])) for i, src in enumerate(sources)]
        tk = time.perf_counter()
        gen_time += tk - tg
        pos = 0
        while pos < b:
            nxt = int(min(b, pos + steps_at[ci] - done)) if ci < len(steps_at) else b
            for i in range(len(sources)):
                got = sgd_segment(Ws[i], vs[i], Xs[i], y, eta, code, bool(train_second_layer), pos, nxt)
                if got < nxt - pos or not np.all(np.isfinite(Ws[i])):
                    diverged = True
            done += nxt - pos
            pos = nxt
            if diverged:
                break
            while ci < len(steps_at) and steps_at[ci] == done:
                record()
                ci += 1
                if time_budget is not None and time.perf_counter() - t_start > time_budget and ci < len(steps_at):
                    stopped_early = True
                    break
            if stopped_early:
                break
        kern_time += time.perf_counter() - tk
        if diverged or stopped_early:
            break
        if time_budget is not None and time.perf_counter() - t_start > time_budget and ci < len(steps_at):
            # out of time between checkpoints: record where we are and stop
            if not rec_steps or rec_steps[-1] != done:
                record()
            stopped_early = True
            break
        prog.update(done)
    if diverged:
        warnings.warn(f"SGD diverged at t ≈ {done / N:.3g} (η = {eta} too large?); trajectories end there",
                      RuntimeWarning, stacklevel=2)
    elapsed = time.perf_counter() - t_start
    nrec = min(len(r) for r in recW)
    steps_rec = np.array(rec_steps[:nrec], dtype=np.int64)
    trajs = [SGDTrajectory(src.name, steps_rec, steps_rec / N, np.array(recW[i][:nrec]), np.array(recv[i][:nrec]),
                           diverged) for i, src in enumerate(sources)]
    info = {
        "steps": int(done),
        "t_reached": float(steps_rec[-1] / N) if nrec else 0.0,
        "t_requested": float(steps_at[-1] / N),
        "stopped_by_time_budget": bool(stopped_early),
        "seconds": elapsed,
        "seconds_sampling": gen_time,
        "seconds_kernel": kern_time,
        "steps_per_second_per_source": done / elapsed if elapsed > 0 else float("nan"),
        "kernel_steps_per_second": done * len(sources) / kern_time if kern_time > 0 else float("nan"),
        "batch_size": batch_size,
        "diverged": diverged,
    }
    return trajs, info


# ---------------------------------------------------------------------------
# Side by side: ODE, SGD on generator data, SGD on Gaussian data
# ---------------------------------------------------------------------------
def identity_moments(N):
    """(E x, Ω, Φ) = (0, I, I) of the identity generator x = c (D = N)."""
    from .moments import Moments

    N = positive_int(N, "N")
    return Moments(mean=np.zeros(N), Omega=np.eye(N), Phi=np.eye(N), exact=True,
                   source="exact (identity generator x = c)")


def identity_generator(N):
    """The identity generator x = c with D = N (the classic teacher–student setting)."""
    from .generators import CallableGenerator

    def identity(c):
        return np.array(c, dtype=np.float64, copy=True)

    return CallableGenerator(identity, D=N, N=N, name="identity")


def _order_params(W, Omega, Phi, Wt):
    N, D = Phi.shape
    Q = W @ Omega @ W.T / N  # docs/theory.md §7.3
    R = W @ Phi @ Wt.T / math.sqrt(N * D)
    return (Q + Q.T) / 2, R


@dataclass
class DynamicsResult:
    """The three learning curves side by side (docs/theory.md §7)."""

    settings: dict
    t: np.ndarray
    eps_ode: np.ndarray | None
    eps_gen_order: np.ndarray
    eps_gen_heldout: np.ndarray
    eps_gen_heldout_se: np.ndarray
    eps_gauss_order: np.ndarray | None
    eps_gauss_heldout: np.ndarray | None
    eps_gauss_heldout_se: np.ndarray | None
    Q: dict
    R: dict
    v: dict
    ode: dict
    sgd: dict
    gaps: dict
    timings: dict
    notes: list = field(default_factory=list)
    eps_gen_order_se: np.ndarray | None = None
    eps_gauss_order_se: np.ndarray | None = None
    eps_per_seed: dict = field(default_factory=dict)
    problem: dict = field(default_factory=dict)

    def to_dict(self):
        def arr(a):
            return None if a is None else np.asarray(a).tolist()

        return {
            "settings": self.settings,
            "t": arr(self.t),
            "eps_g": {
                "ode": arr(self.eps_ode),
                "sgd_generator_order_parameters": arr(self.eps_gen_order),
                "sgd_generator_heldout": arr(self.eps_gen_heldout),
                "sgd_generator_heldout_stderr": arr(self.eps_gen_heldout_se),
                "sgd_gaussian_order_parameters": arr(self.eps_gauss_order),
                "sgd_gaussian_heldout": arr(self.eps_gauss_heldout),
                "sgd_gaussian_heldout_stderr": arr(self.eps_gauss_heldout_se),
                "sgd_generator_order_parameters_stderr": arr(self.eps_gen_order_se),
                "sgd_gaussian_order_parameters_stderr": arr(self.eps_gauss_order_se),
                "per_seed": {k: {kk: arr(vv) for kk, vv in v.items()} for k, v in self.eps_per_seed.items()},
            },
            "Q": {k: arr(v) for k, v in self.Q.items()},
            "R": {k: arr(v) for k, v in self.R.items()},
            "v": {k: arr(v) for k, v in self.v.items()},
            "ode": self.ode,
            "sgd": self.sgd,
            "largest_gaps": self.gaps,
            "timings_seconds": self.timings,
            "notes": self.notes,
        }

    def write_report(self, out, command=None):
        """Write report.md, report.json and learning-curve PNGs into ``out``."""
        return _write_report(self, out, command)


def _log_times(t_max, n_points, t_min=None):
    t_min = t_min if t_min is not None else min(0.01, t_max / 10)
    t = np.unique(np.concatenate([[0.0], np.geomspace(t_min, t_max, n_points)]))
    return t


def _heldout_eps(W, v, X, y, g):
    lam = X @ W.T / math.sqrt(W.shape[1])
    err = 0.5 * (_g_np(lam, g) @ v - y) ** 2
    return float(err.mean()), float(err.std(ddof=1) / math.sqrt(err.size))


def run_dynamics(
    generator=None,
    *,
    activation="sign",
    N=1000,
    D=None,
    depth=1,
    widths=None,
    K=2,
    M=2,
    eta=0.2,
    t_max=10.0,
    points=40,
    g="erf2",
    train_second_layer=True,
    seed=0,
    moments=None,
    moment_samples=None,
    W0=None,
    v0=None,
    W_teacher=None,
    v_teacher=None,
    n_test=10_000,
    gaussian=True,
    ode=True,
    ode_method="DOP853",
    ode_rtol=1e-8,
    step_check=True,
    time_budget=None,
    batch_size=None,
    progress=False,
    sgd_seeds=5,
    level=0.05,
):
    """Run ODE, SGD on generator data and SGD on Gaussian-equivalent data (§7).

    Parameters
    ----------
    generator : a getheory generator, or None to build one: a random
        single-layer generator σ(A c/√D) with σ = ``activation`` (``depth`` 1),
        a random deep one (``depth`` L > 1, widths ``widths`` or
        [D, N, ..., N]), or the identity x = c (``activation="identity"``,
        D = N).
    moments : (E x, Ω, Φ) as :class:`getheory.moments.Moments`; by default
        exact for single-layer generators and Monte Carlo with
        ``moment_samples`` samples otherwise.
    W0, v0, W_teacher, v_teacher : initial weights; default i.i.d. N(0, 1)
        (docs/theory.md §7.1 [paper]) for W0, v0, W̃ and ṽ = 1.
    t_max, points : log-spaced checkpoint times in (0, t_max], plus t = 0.
    time_budget : seconds for the SGD part (shared by the seeds); it stops at a
        checkpoint when exceeded, and the report says where (``settings['t_reached']``).
    sgd_seeds : independent SGD runs per data source (default 5), from the same
        initial weights with independent sample streams. The curves are their means,
        with standard errors over the seeds (held-out errors also add the test set's
        own standard error in quadrature); every gap and verdict uses these.
    level : nominal false-positive rate of each "consistent" verdict: the largest
        |gap|/SE over the checkpoints against Student's t with sgd_seeds − 1 degrees of
        freedom, Bonferroni over the checkpoints (docs/theory.md §7.7).
    """
    from .generators import SingleLayerGenerator, random_deep, random_single_layer
    from .moments import exact_moments, monte_carlo_moments

    timings = {}
    notes = []
    eta = _check_eta(eta)
    g = _check_g(g)
    K = positive_int(K, "K")
    M = positive_int(M, "M")
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0].generate_state(2))
    if generator is None:
        N = positive_int(N, "N")
        if activation == "identity":
            if D is not None and D != N:
                raise ValueError("the identity generator has D = N")
            D = N
            generator = identity_generator(N)
            if moments is None:
                moments = identity_moments(N)
        else:
            D = positive_int(D if D is not None else max(1, N // 2), "D")
            if depth == 1:
                generator = random_single_layer(N, D, activation, seed=rng.integers(2**63))
            else:
                depth = positive_int(depth, "depth")
                w = list(widths) if widths is not None else [D] + [N] * depth
                if len(w) != depth + 1 or w[0] != D or w[-1] != N:
                    raise ValueError(f"widths must be [D, ..., N] with {depth + 1} entries, got {w}")
                generator = random_deep(w, activation, seed=rng.integers(2**63))
    N, D = generator.N, generator.D
    if moments is None:
        if isinstance(generator, SingleLayerGenerator):
            moments = exact_moments(generator)
        else:
            ns = moment_samples or max(100_000, 50 * N)
            if progress:
                status(f"getheory dynamics: Monte Carlo moments with {ns} samples ...", True)
            moments = monte_carlo_moments(generator, ns, seed=rng.integers(2**63))
            notes.append(
                f"(E x, Ω, Φ) are Monte Carlo estimates from {ns} samples (N/n = {N / ns:.3g}); the sampling "
                "error of Ω biases tr(Ω²)/N, which enters the η² term, by about that fraction"
            )
    timings["moments"] = time.perf_counter() - t0
    Omega, Phi, mean = moments.Omega, moments.Phi, moments.mean
    if Omega.shape != (N, N) or Phi.shape != (N, D):
        raise ValueError(f"moments have Ω {Omega.shape}, Φ {Phi.shape}; the generator has N={N}, D={D}")
    wr = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[1])
    W0 = _weights(W0, "W0", N) if W0 is not None else wr.standard_normal((K, N))
    K = W0.shape[0]
    v0 = _vector(v0, "v0", K) if v0 is not None else wr.standard_normal(K)
    Wt = _weights(W_teacher, "W_teacher", D) if W_teacher is not None else wr.standard_normal((M, D))
    M = Wt.shape[0]
    vt = _vector(v_teacher, "v_teacher", M) if v_teacher is not None else np.ones(M)
    T = Wt @ Wt.T / D
    # checkpoints on whole SGD steps, so that the ODE is read at exactly the same times
    t_eval = np.unique(np.round(_log_times(float(t_max), int(points)) * N)) / N

    # --- ODE (§7.3-§7.5) ---
    t1 = time.perf_counter()
    if progress:
        status(f"getheory dynamics: eigen-decomposition of Ω ({N}×{N}) ...", True)
    rho, U, clipped = _eigh_psd(_check_omega(Omega, N), "Omega")
    timings["eigh_Omega"] = time.perf_counter() - t1
    # --- SGD (§7.1, §7.2) ---
    sources = [GeneratorData(generator, mean)]
    t1 = time.perf_counter()
    if gaussian:
        if progress:
            status("getheory dynamics: Gaussian-equivalent sampler (eigh of Ω − ΦΦᵀ) ...", True)
        with warnings.catch_warnings(record=True) as wlist:
            warnings.simplefilter("always")
            gsrc = GaussianEquivalentData(Omega, Phi)
        for w_ in wlist:
            notes.append(str(w_.message))
        sources.append(gsrc)
    timings["gaussian_setup"] = time.perf_counter() - t1
    test_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    c_test = test_rng.standard_normal((n_test, D))
    y_test = _teacher_labels(c_test, Wt, vt, g)
    X_test = [src.inputs(c_test, test_rng) for src in sources]
    if progress:
        status(f"getheory dynamics: SGD to t = {t_eval[-1]:g} (N = {N}) ...", True)
    S = positive_int(sgd_seeds, "sgd_seeds")
    level = _check_level(level)
    seed_states = np.random.SeedSequence(seed).spawn(4)[3].generate_state(S, dtype=np.uint64)
    runs = []
    for k in range(S):
        runs.append(run_sgd(sources, W0, v0, Wt, vt, eta=eta, t_points=t_eval, g=g,
                            train_second_layer=train_second_layer, seed=int(seed_states[k]), batch_size=batch_size,
                            time_budget=None if time_budget is None else time_budget / S, progress=progress))
    nrec = min(len(r[0][0].t) for r in runs)
    trajs, sgd_info = runs[0]
    sgd_info = dict(sgd_info)
    for key in ("steps", "seconds", "seconds_sampling", "seconds_kernel"):
        sgd_info[key] = sum(r[1][key] for r in runs)
    sgd_info["steps_per_second_per_source"] = sgd_info["steps"] / max(sgd_info["seconds"], 1e-300)
    sgd_info["stopped_by_time_budget"] = any(r[1]["stopped_by_time_budget"] for r in runs)
    sgd_info["seeds"] = S
    timings["sgd"] = sgd_info["seconds"]
    t_rec = trajs[0].t[:nrec]
    # ODE after SGD: read at the checkpoint times SGD reached, and on the whole requested grid
    t_ode = np.union1d(t_eval, t_rec)
    ode_res = None
    ode_info = {"run": False}
    if ode and g in _ODE_G:
        rho_, Gamma, B = spectral_projections(Omega, Phi, W0, Wt, eig=(rho, U))
        t1 = time.perf_counter()
        if progress:
            status("getheory dynamics: integrating the ODEs ...", True)
        ode_res = integrate_odes(rho_, Gamma, B, v0, vt, D=D, eta=eta, t_eval=t_ode, T=T, g=g,
                                 train_second_layer=train_second_layer, method=ode_method, rtol=ode_rtol,
                                 step_check=step_check)
        timings["ode"] = time.perf_counter() - t1
        ode_info = {"run": True, "method": ode_res.method, "tolerance": ode_res.tolerance,
                    "step_error_eps": ode_res.step_error, "step_error_QR": ode_res.step_error_QR,
                    "rhs_evaluations": ode_res.nfev, "seconds": ode_res.seconds,
                    "clipped_negative_eigenvalues": clipped, "rho_min": float(rho.min()),
                    "rho_max": float(rho.max())}
    elif ode:
        notes.append(f"no ODE for g={g}: closed-form integrals exist for erf2 and linear only")

    # evaluate every seed, then mean and standard error over the seeds
    t1 = time.perf_counter()
    Qd, Rd, vd = {}, {}, {}
    per_seed = {}
    for i, (src, Xt) in enumerate(zip(sources, X_test)):
        eo_s, eh_s, es_s = [], [], []
        for k, (trs, _info) in enumerate(runs):
            tr = trs[i]
            Qs, Rs, eo, eh, es = [], [], [], [], []
            for W, v in zip(tr.W[:nrec], tr.v[:nrec]):
                Q, R = _order_params(W, Omega, Phi, Wt)
                Qs.append(Q)
                Rs.append(R)
                eo.append(generalisation_error(Q, R, T, v, vt, g))
                m_, s_ = _heldout_eps(src.to_data_basis(W), v, Xt, y_test, g)
                eh.append(m_)
                es.append(s_)
            if k == 0:
                Qd[src.name], Rd[src.name], vd[src.name] = np.array(Qs), np.array(Rs), tr.v[:nrec]
            eo_s.append(eo)
            eh_s.append(eh)
            es_s.append(es)
        per_seed[src.name] = (np.array(eo_s), np.array(eh_s), np.array(es_s))  # (S, n_t) each
    timings["evaluation"] = time.perf_counter() - t1
    if ode_res is not None:
        at = np.searchsorted(ode_res.t, t_rec)
        Qd["ode"], Rd["ode"], vd["ode"] = ode_res.Q[at], ode_res.R[at], ode_res.v[at]
    eps_ode = ode_res.eps[at] if ode_res is not None else None

    def summary(name):
        if name not in per_seed:
            return None, None, None, None
        eo, eh, es = per_seed[name]
        se_o = eo.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eo.shape[1])
        se_h = eh.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eh.shape[1])
        # the test set is shared by the seeds: its own error adds in quadrature
        return eo.mean(0), se_o, eh.mean(0), np.sqrt(se_h**2 + es.mean(0) ** 2)

    go, go_se, gh, gs = summary("generator")
    ga = summary("gaussian")

    def gap(a, b, se, paired=None):
        """Largest gap between two curves, in SEs; verdict at ``level`` (Bonferroni over checkpoints).

        ``paired`` (S, n_t): per-seed differences, whose spread gives the SE of the mean difference.
        """
        if a is None or b is None:
            return None
        d = np.abs(a - b)
        i = int(np.argmax(d))
        out = {"max_abs": float(d[i]), "at_t": float(t_rec[i]), "relative_at_max": float(d[i] / max(abs(b[i]), 1e-300)),
               "max_relative": float(np.max(d / np.maximum(np.abs(b), 1e-300)))}
        if paired is not None:
            se = paired.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else None
        if se is None or S < 2:
            out["verdict"] = "needs >= 2 SGD seeds"
            return out
        ok = se > 0
        zero_se_gap = bool(np.any((~ok) & (d > 1e-12 * np.maximum(np.abs(b), 1e-300))))
        if not np.any(ok):  # no spread at all: the curves are identical or differ deterministically
            out["verdict"] = "inconsistent" if zero_se_gap else "consistent"
            return out
        z = np.where(ok, d / np.where(ok, se, 1.0), 0.0)
        n_t = int(ok.sum())
        thr = float(_t_dist.isf(level / (2 * n_t), S - 1))
        zi = int(np.argmax(z))
        out.update({"max_abs_in_stderr": float(z[zi]), "at_t_in_stderr": float(t_rec[zi]),
                    "threshold_in_stderr": thr, "checkpoints": n_t, "level": level, "dof": S - 1,
                    "verdict": "inconsistent" if (z[zi] > thr or zero_se_gap) else "consistent"})
        return out

    pg = per_seed.get("generator")
    pa = per_seed.get("gaussian")
    gaps = {
        "ode_vs_sgd_generator_order_parameters": gap(go, eps_ode, go_se),
        "ode_vs_sgd_generator_heldout": gap(gh, eps_ode, gs),
        "ode_vs_sgd_gaussian_order_parameters": gap(ga[0], eps_ode, ga[1]),
        "ode_vs_sgd_gaussian_heldout": gap(ga[2], eps_ode, ga[3]),
        "sgd_generator_vs_sgd_gaussian_order_parameters": gap(go, ga[0], None, None if pa is None else pg[0] - pa[0]),
        "sgd_generator_vs_sgd_gaussian_heldout": gap(gh, ga[2], None, None if pa is None else pg[1] - pa[1]),
    }
    gaps = {k: v for k, v in gaps.items() if v is not None}
    desc = generator.describe() if hasattr(generator, "describe") else {"kind": type(generator).__name__}
    settings = {
        "generator": desc,
        "N": N,
        "D": D,
        "delta": D / N,
        "K": K,
        "M": M,
        "eta": eta,
        "g": g,
        "train_second_layer": bool(train_second_layer),
        "seed": seed,
        "t_max_requested": float(t_eval[-1]),
        "t_reached": float(t_rec[-1]),
        "stopped_by_time_budget": sgd_info["stopped_by_time_budget"],
        "time_budget_s": time_budget,
        "n_test": n_test,
        "sgd_seeds": S,
        "level": level,
        "moments": moments.source,
        "T": T.tolist(),
        "v_teacher": vt.tolist(),
    }
    if sgd_info["stopped_by_time_budget"]:
        notes.append(f"SGD stopped by the time budget of {time_budget} s at t = {t_rec[-1]:.4g} "
                     f"(requested {t_eval[-1]:g}); the ODE ran to the end and is compared up to there")
    if gaussian:
        ode_info["gaussian_sampler_clipped_eigenvalues"] = sources[1].clipped
        ode_info["gaussian_sampler_clipped_mass"] = sources[1].clipped_mass
    timings["total"] = time.perf_counter() - t0
    res = DynamicsResult(
        settings=settings,
        t=t_rec,
        eps_ode=eps_ode,
        eps_gen_order=go,
        eps_gen_heldout=gh,
        eps_gen_heldout_se=gs,
        eps_gauss_order=ga[0],
        eps_gauss_heldout=ga[2],
        eps_gauss_heldout_se=ga[3],
        eps_gen_order_se=go_se,
        eps_gauss_order_se=ga[1],
        eps_per_seed={k: {"order_parameters": v[0], "heldout": v[1]} for k, v in per_seed.items()},
        Q=Qd,
        R=Rd,
        v=vd,
        ode={**ode_info, "t": ode_res.t.tolist() if ode_res is not None else None,
             "eps_full": ode_res.eps.tolist() if ode_res is not None else None},
        sgd=sgd_info,
        gaps=gaps,
        timings=timings,
        notes=notes,
        problem={"A": generator.A if isinstance(generator, SingleLayerGenerator) else None,
                 "activation": generator.activation.name if isinstance(generator, SingleLayerGenerator) else None,
                 "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt},
    )
    return res


#: arrays of a problem file (``getheory dynamics --problem FILE.npz``)
PROBLEM_KEYS = ("A", "W0", "v0", "W_teacher", "v_teacher")


def load_problem(path, activation):
    """Read a problem file: a single-layer generator σ(A c/√D) and the initial and teacher weights.

    The ``.npz`` holds ``A`` (N, D), ``W0`` (K, N), ``v0`` (K,), ``W_teacher`` (M, D) and
    ``v_teacher`` (M,) (docs/theory.md §7.1); σ is ``activation``.  Returns a dict with
    ``generator``, ``W0``, ``v0``, ``W_teacher``, ``v_teacher`` for :func:`run_dynamics`.
    """
    from .generators import SingleLayerGenerator

    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"problem file {path!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"problem file {path!r} is not a readable .npz archive: {exc}") from None
    with data:
        missing = [k for k in PROBLEM_KEYS if k not in data.files]
        if missing:
            raise ValueError(f"problem file {path!r} lacks {missing}; it needs the arrays {list(PROBLEM_KEYS)} "
                             f"(A: (N, D), W0: (K, N), v0: (K,), W_teacher: (M, D), v_teacher: (M,)); "
                             f"it has {list(data.files)}")
        arr = {k: np.asarray(data[k], dtype=np.float64) for k in PROBLEM_KEYS}
    A = arr["A"]
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"problem file: A must be a finite (N, D) matrix, got shape {A.shape}")
    N, D = A.shape
    W0 = _weights(arr["W0"], "W0 (problem file)", N)
    v0 = _vector(arr["v0"], "v0 (problem file)", W0.shape[0])
    Wt = _weights(arr["W_teacher"], "W_teacher (problem file)", D)
    vt = _vector(arr["v_teacher"], "v_teacher (problem file)", Wt.shape[0])
    return {"generator": SingleLayerGenerator(A, activation), "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt}


def save_problem(path, problem: dict):
    """Write ``problem`` (the arrays of :data:`PROBLEM_KEYS`) as an ``.npz`` for ``--problem``."""
    np.savez(path, **{k: np.asarray(problem[k]) for k in PROBLEM_KEYS})


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def _write_report(res: DynamicsResult, out, command=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    t = res.t
    pos = t > 0
    files = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if res.ode.get("t") is not None:
        to = np.asarray(res.ode["t"])
        eo = np.asarray(res.ode["eps_full"])
        ax.plot(to[to > 0], eo[to > 0], "k-", lw=2, label="ODE (§7.5)")
    ax.plot(t[pos], res.eps_gen_order[pos], "o", ms=4, color="C0", mfc="none",
            label="SGD, generator data (order parameters)")
    ax.errorbar(t[pos], res.eps_gen_heldout[pos], yerr=res.eps_gen_heldout_se[pos], fmt=".", color="C0",
                alpha=0.6, label=f"SGD, generator data (held-out, n={res.settings['n_test']})")
    if res.eps_gauss_order is not None:
        ax.plot(t[pos], res.eps_gauss_order[pos], "s", ms=4, color="C1", mfc="none",
                label="SGD, Gaussian-equivalent data (order parameters)")
        ax.errorbar(t[pos], res.eps_gauss_heldout[pos], yerr=res.eps_gauss_heldout_se[pos], fmt="x",
                    color="C1", alpha=0.6, ms=3, label="SGD, Gaussian-equivalent data (held-out)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("test error ε_g")
    s = res.settings
    gk = s["generator"].get("kind", "")
    ax.set_title(f"{gk} {s['generator'].get('activation', '')}, N={s['N']}, D={s['D']}, K={s['K']}, "
                 f"M={s['M']}, η={s['eta']}", fontsize=9)
    if s["stopped_by_time_budget"]:
        ax.axvline(s["t_reached"], color="grey", ls=":", lw=1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = os.path.join(out, "learning_curves.png")
    fig.savefig(p, dpi=120)
    plt.close(fig)
    files.append(p)
    if res.eps_ode is not None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(t[pos], (res.eps_gen_order - res.eps_ode)[pos], "o-", ms=3, label="SGD generator − ODE")
        if res.eps_gauss_order is not None:
            ax.plot(t[pos], (res.eps_gauss_order - res.eps_ode)[pos], "s-", ms=3, label="SGD Gaussian − ODE")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("t = steps / N")
        ax.set_ylabel("Δε_g (order parameters)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(out, "gaps.png")
        fig.savefig(p, dpi=120)
        plt.close(fig)
        files.append(p)
    if res.problem.get("A") is not None:  # the exact problem, for `getheory dynamics --problem`
        p = os.path.join(out, "problem.npz")
        save_problem(p, res.problem)
        files.append(p)
    d = res.to_dict()
    if command:
        d["command"] = command
    with open(os.path.join(out, "report.json"), "w") as fh:
        json.dump(d, fh, indent=1)
    files.append(os.path.join(out, "report.json"))
    p = os.path.join(out, "report.md")
    with open(p, "w") as fh:
        fh.write(_markdown(res, command))
    files.append(p)
    return files


def _fmt(x, nd=4):
    if x is None:
        return "—"
    return f"{x:.{nd}g}"


def _markdown(res: DynamicsResult, command=None):
    s = res.settings
    L = ["# Learning dynamics: ODE vs SGD on generator data vs SGD on Gaussian-equivalent data", ""]
    L.append("Computed by `getheory dynamics` (docs/theory.md §7): one-pass SGD of a two-layer student "
             "(§7.1) on generator data and on Gaussian-equivalent data (§7.2) from the same initial weights "
             "and latents, and the ODEs over the spectrum of Ω (§7.3–§7.5).")
    L.append("")
    if command:
        L += ["Regenerate with:", "", "```", command, "```", ""]
    L += ["## Settings", "", "| quantity | value |", "|---|---|"]
    for k in ("generator", "N", "D", "delta", "K", "M", "eta", "g", "train_second_layer", "seed", "sgd_seeds",
              "t_max_requested", "t_reached", "stopped_by_time_budget", "n_test", "moments"):
        L.append(f"| {k} | {s.get(k, '—')} |")
    L.append("")
    sgd = res.sgd
    L += ["## Where the run stopped", ""]
    if s["stopped_by_time_budget"]:
        L.append(f"SGD was stopped by the time budget ({s['time_budget_s']} s) at **t = {s['t_reached']:.4g}** "
                 f"(requested t = {s['t_max_requested']:g}); all comparisons are up to that time.")
    else:
        L.append(f"SGD ran to the requested t = {s['t_reached']:.4g}.")
    L.append("")
    L += ["## Largest gaps over time", "",
          f"Curves are means over {s.get('sgd_seeds', 1)} SGD seeds; standard errors are over the seeds "
          "(held-out ones add the test set's error in quadrature; generator vs Gaussian uses the per-seed "
          f"paired differences). Verdict: the largest |gap|/SE over the checkpoints against Student's t "
          f"with {s.get('sgd_seeds', 1) - 1} dof, Bonferroni over the checkpoints, nominal level "
          f"{s.get('level', 0.05)} (docs/theory.md §7.7).", "",
          "| comparison | max abs gap | at t | relative at max | largest gap in SEs | threshold | verdict |",
          "|---|---|---|---|---|---|---|"]
    for k, gp in res.gaps.items():
        L.append(f"| {k} | {_fmt(gp['max_abs'])} | {_fmt(gp['at_t'])} | {_fmt(gp['relative_at_max'], 3)} | "
                 f"{_fmt(gp.get('max_abs_in_stderr'), 3)} | {_fmt(gp.get('threshold_in_stderr'), 3)} | "
                 f"{gp.get('verdict', '—')} |")
    L.append("")
    if res.ode.get("run"):
        L += ["## ODE integration", "",
              f"Method {res.ode['method']} with {res.ode['tolerance']}; step-size check (a second integration "
              f"with a 100× tighter tolerance, or half the RK4 step): max |Δε_g| = {_fmt(res.ode['step_error_eps'], 3)}, "
              f"max |ΔQ|, |ΔR| = {_fmt(res.ode['step_error_QR'], 3)}; {res.ode['rhs_evaluations']} right-hand-side "
              f"evaluations in {res.ode['seconds']:.1f} s. Spectrum of Ω: ρ ∈ [{res.ode['rho_min']:.4g}, "
              f"{res.ode['rho_max']:.4g}].", ""]
    L += ["## Throughput", "",
          f"{sgd['steps']:,} SGD steps per data source in {sgd['seconds']:.1f} s: "
          f"{sgd['steps_per_second_per_source']:,.0f} steps/s per source end to end (sampling both sources + "
          f"kernel), sampling {sgd['seconds_sampling']:.1f} s, kernel {sgd['seconds_kernel']:.1f} s "
          f"({sgd['kernel_steps_per_second']:,.0f} kernel steps/s); batch size {sgd['batch_size']}.", ""]
    L += ["Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items()), ""]
    L += ["## Learning curves", "", "![learning curves](learning_curves.png)", ""]
    if res.eps_ode is not None:
        L += ["![gaps](gaps.png)", ""]
    L += ["## ε_g at selected times", "",
          "| t | ODE | SGD gen (order) | SGD gen (held-out ± se) | SGD Gauss (order) | SGD Gauss (held-out ± se) |",
          "|---|---|---|---|---|---|"]
    idx = np.unique(np.linspace(0, len(res.t) - 1, min(len(res.t), 14)).round().astype(int))
    for i in idx:
        eo = res.eps_ode[i] if res.eps_ode is not None else None
        go = res.eps_gauss_order[i] if res.eps_gauss_order is not None else None
        gh = (f"{res.eps_gauss_heldout[i]:.4g} ± {res.eps_gauss_heldout_se[i]:.2g}"
              if res.eps_gauss_heldout is not None else "—")
        L.append(f"| {res.t[i]:.4g} | {_fmt(eo)} | {_fmt(res.eps_gen_order[i])} | "
                 f"{res.eps_gen_heldout[i]:.4g} ± {res.eps_gen_heldout_se[i]:.2g} | {_fmt(go)} | {gh} |")
    L.append("")
    if res.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in res.notes] + [""]
    return "\n".join(L)


# ---------------------------------------------------------------------------
# Finite-size check
# ---------------------------------------------------------------------------
@dataclass
class FiniteSizeResult:
    """Gap between ODE and SGD on generator data as N grows at fixed δ."""

    Ns: list
    seeds: list
    gaps: np.ndarray  # (len(Ns), len(seeds))
    slope: float
    slope_ci: tuple
    intercept: float
    settings: dict

    def to_dict(self):
        return {"N": self.Ns, "seeds": self.seeds, "gaps": self.gaps.tolist(), "slope": self.slope,
                "slope_ci95": list(self.slope_ci), "intercept": self.intercept, "settings": self.settings}


def finite_size_check(Ns, seeds=(0, 1, 2), *, activation="sign", delta=0.5, K=2, M=2, eta=0.2, t_max=5.0,
                      points=12, g="erf2", train_second_layer=True, metric="mean", progress=False):
    """Gap between the ODE and SGD on generator data versus N at fixed δ (§7).

    For each N and seed: a random single-layer generator, exact moments,
    fresh weights; the gap is the mean (``metric="mean"``) or largest
    (``"max"``) |ε_g^SGD − ε_g^ODE| over the checkpoints in (0, t_max], with
    ε_g^SGD from the order parameters.  Fits log gap = a + b log N by least
    squares over all (N, seed) pairs; ``slope_ci`` is the 95 % t-interval of
    b.  Finite-N fluctuations predict b ≈ −1/2.
    """
    from scipy import stats

    Ns = [positive_int(n, "N") for n in Ns]
    if len(Ns) < 2:
        raise ValueError("need at least two values of N to fit an exponent")
    seeds = list(seeds)
    gaps = np.zeros((len(Ns), len(seeds)))
    for i, N in enumerate(Ns):
        D = max(1, int(round(delta * N)))
        for j, sd in enumerate(seeds):
            r = run_dynamics(activation=activation, N=N, D=D, K=K, M=M, eta=eta, t_max=t_max, points=points, g=g,
                             train_second_layer=train_second_layer, seed=sd, gaussian=False, n_test=2,
                             step_check=False, sgd_seeds=1)  # one run's fluctuation is what scales as N^-1/2
            d = np.abs(r.eps_gen_order - r.eps_ode)[r.t > 0]
            gaps[i, j] = d.mean() if metric == "mean" else d.max()
            if progress:
                status(f"  N={N} seed={sd}: gap {gaps[i, j]:.3g}", True)
    x = np.repeat(np.log(Ns), len(seeds))
    y = np.log(gaps).ravel()
    fit = stats.linregress(x, y)
    tq = stats.t.ppf(0.975, len(x) - 2)
    ci = (float(fit.slope - tq * fit.stderr), float(fit.slope + tq * fit.stderr))
    settings = {"activation": activation, "delta": delta, "K": K, "M": M, "eta": eta, "t_max": t_max,
                "g": g, "metric": metric}
    return FiniteSizeResult(Ns, seeds, gaps, float(fit.slope), ci, float(fit.intercept), settings)
