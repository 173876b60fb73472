"""The ODEs of the order parameters over the spectrum of Ω (docs/theory.md §7.3-§7.5).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from .._validation import positive_int
from ..backend import Backend, host_backend
from ..equivalent import check_omega
from ._checks import _check_eta, _check_g, _vector, _weights
from ._integrals import generalisation_error, integral_tables, stein_terms


def _eigh_psd(S, name, bk: Backend, rtol=1e-8):
    """Eigen-decomposition of a symmetric matrix that must be PSD; clip round-off.

    The decomposition runs on the backend object ``bk`` (a GPU's: CuPy); (w, U) come back as host arrays.
    """
    w, U = bk.xp.linalg.eigh(bk.asarray(S))
    w, U = bk.to_numpy(w), bk.to_numpy(U)
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
    Omega = check_omega(Omega, N)
    Phi = np.asarray(Phi, dtype=np.float64)
    Wt = _weights(W_teacher, "W_teacher")
    if Phi.shape != (N, Wt.shape[1]):
        raise ValueError(f"Phi must have shape (N, D) = ({N}, {Wt.shape[1]}), got {Phi.shape}")
    if eig is None:
        rho, U, _ = _eigh_psd(Omega, "Omega", host_backend())
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


@dataclass(eq=False)
class _ODESystem:
    """Right-hand side of the ODEs on the state (q[k,l,τ], r[k,m,τ], v[k]) (docs/theory.md §7.5).

    The spectrum ``rho`` (P,) and t̃ (M, M, P), the teacher's T (M, M) and ṽ (M,), δ = D/N, the
    learning rule (η, g, whether v is trained), K, M, and the ``form`` of the first-order terms
    (``"stein"`` or ``"spec"``, see :func:`integrate_odes`); ``nfev`` counts the evaluations.
    """

    rho: np.ndarray
    t_tilde: np.ndarray
    T: np.ndarray
    v_teacher: np.ndarray
    delta: float
    eta: float
    g: str
    train_v: bool
    K: int
    M: int
    form: str = "stein"
    nfev: int = field(default=0, init=False)

    def __post_init__(self):
        self.P = self.rho.shape[0]
        self.sd = self.delta**-0.5
        self.nq, self.nr = self.K * self.K * self.P, self.K * self.M * self.P

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
        T, vt, eta = self.T, self.v_teacher, self.eta
        C = np.block([[Q, R], [R.T, T]])
        I2, I3, I4 = integral_tables(C, K, self.g)
        if self.form == "stein":
            Ab, bb = self._coefficients_stein(Q, R, v, C, I3)
            return self._evolve(q, r, v, (Ab, bb), (I2, I4))
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
        return self._evolve(q, r, v, (Ab, bb), (I2, I4))

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
        u = np.concatenate([v, -self.v_teacher])
        J, h = stein_terms(C, I3, u, K, self.g)
        Ab = -self.eta * v[:, None] * (np.diag(h) + J[:, :K] * v[None, :])
        bb = self.eta * self.sd * v[:, None] * J[:, K:] * self.v_teacher[None, :]
        return Ab, bb

    def _evolve(self, q, r, v, coefficients, integrals):
        """dq/dt, dr/dt, dv/dt (flat) from the state q, r, v, the coefficients (Ā, b̄) and the
        integrals (I2, I4) (§7.5, the compact form of :mod:`getheory.dynamics`)."""
        (Ab, bb), (I2, I4) = coefficients, integrals
        K, eta, vt = self.K, self.eta, self.v_teacher
        rho = self.rho
        dr = rho * np.tensordot(Ab, r, axes=(1, 0)) + np.tensordot(bb, self.t_tilde, axes=(1, 0))
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
    rho, Gamma, B = _check_spectrum(rho, Gamma, B)
    N = rho.shape[0]
    K, M = Gamma.shape[0], B.shape[0]
    v0 = _vector(v0, "v0", K)
    vt = _vector(v_teacher, "v_teacher", M)
    D = positive_int(D, "D")
    T = _teacher_covariance(T, W_teacher, D, M)
    t_eval = np.asarray(t_eval, dtype=np.float64).reshape(-1)
    if t_eval.size == 0 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0:
        raise ValueError("t_eval must be a non-empty increasing sequence of times >= 0")
    if form not in ("stein", "spec"):
        raise ValueError(f"form must be 'stein' or 'spec', got {form!r}")
    tt, y0 = _initial_state(Gamma, B, v0)
    sys_ = _ODESystem(rho, tt, T, vt, D / N, eta, g, bool(train_second_layer), K, M, form)
    return _solve_odes(sys_, y0, t_eval, _Integrator(method, rtol, atol, dt), step_check, t0)


def _solve_odes(sys_: "_ODESystem", y0, t_eval, integ: "_Integrator", step_check, t0) -> ODEResult:
    """:func:`integrate_odes` on its checked system: the states at ``t_eval`` from ``y0`` by ``integ``,
    observed (Q, R, v, ε_g), with the step error when ``step_check``; ``t0``: the
    :func:`time.perf_counter` reading at which the call started."""
    with np.errstate(invalid="raise", divide="raise"):
        try:
            Y = integ.solve(sys_, y0, t_eval, tight=False)
        except FloatingPointError as exc:
            raise RuntimeError(f"ODE integration broke down ({exc}): the order parameters became singular") from None
    Q, R, v, eps = _observe(sys_, Y)
    step_err = step_err_qr = None
    nfev = sys_.nfev
    if step_check:
        step_err, step_err_qr = _step_errors(integ, sys_, y0, t_eval, (Q, R, eps))
    return ODEResult(t=t_eval, Q=Q, R=R, v=v, eps=eps, T=sys_.T, method=integ.method, tolerance=integ.tolerance,
                     step_error=step_err, step_error_QR=step_err_qr, nfev=nfev,
                     seconds=time.perf_counter() - t0)


def _initial_state(Gamma, B, v0):
    """(t̃ (M, M, N), the state y at t = 0): the densities of §7.3 from the projections, and v0."""
    q0 = np.einsum("kp,lp->klp", Gamma, Gamma)
    r0 = np.einsum("kp,mp->kmp", Gamma, B)
    tt = np.einsum("np,mp->nmp", B, B)
    return tt, np.concatenate([q0.ravel(), r0.ravel(), v0])


def _step_errors(integ, sys_, y0, t_eval, solution):
    """The largest |Δε_g| and |ΔQ|, |ΔR| between ``solution`` (Q, R, ε_g) and one integrated tighter."""
    Q, R, eps = solution
    with np.errstate(invalid="raise", divide="raise"):
        Y2 = integ.solve(sys_, y0, t_eval, tight=True)
    Q2, R2, _, eps2 = _observe(sys_, Y2)
    return float(np.max(np.abs(eps2 - eps))), float(max(np.max(np.abs(Q2 - Q)), np.max(np.abs(R2 - R))))


def _check_spectrum(rho, Gamma, B):
    """ρ (the N eigenvalues of Ω, round-off below 0 clipped), Γ (K, N) and B (M, N), checked."""
    rho = np.asarray(rho, dtype=np.float64).reshape(-1)
    if rho.size == 0 or not np.all(np.isfinite(rho)):
        raise ValueError("rho (eigenvalues of Ω) must be a non-empty finite vector")
    if rho.min() < -1e-8 * max(rho.max(), 1e-300):
        raise ValueError(f"Ω is not positive semi-definite: eigenvalue {rho.min():.3g} < 0")
    rho = np.clip(rho, 0, None)
    N = rho.shape[0]
    Gamma = _weights(Gamma, "Gamma (student projections)", N)
    B = _weights(B, "B (teacher projections)", N)
    return rho, Gamma, B


def _teacher_covariance(T, W_teacher, D, M):
    """T = W̃W̃ᵀ/D (M, M): the given one checked, or computed from ``W_teacher``."""
    if T is None:
        if W_teacher is None:
            raise ValueError("give T = W̃W̃ᵀ/D or W_teacher")
        Wt = _weights(W_teacher, "W_teacher", D)
        T = Wt @ Wt.T / D
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (M, M):
        raise ValueError(f"T must be {M}×{M}, got {T.shape}")
    return T


@dataclass(frozen=True)
class _Integrator:
    """How :func:`integrate_odes` integrates: scipy's adaptive ``method`` at ``rtol``, ``atol``, or
    ``"rk4"`` with the fixed step ``dt``."""

    method: str
    rtol: float
    atol: float
    dt: float

    @property
    def tolerance(self) -> dict:
        return {"dt": self.dt} if self.method == "rk4" else {"rtol": self.rtol, "atol": self.atol}

    def solve(self, sys_, y0, t_eval, *, tight):
        """The states at ``t_eval`` (n_t, len(y0)); ``tight``: with a 100× tighter tolerance (rk4: half the step)."""
        if t_eval[-1] == 0.0:  # only the start (e.g. SGD diverged before its first record time)
            return y0[None, :].copy()
        if self.method == "rk4":
            return _rk4(sys_, y0, t_eval, self.dt / 2 if tight else self.dt)
        f = 0.01 if tight else 1.0
        sol = solve_ivp(sys_, (0.0, float(t_eval[-1])), y0, method=self.method, t_eval=t_eval,
                        rtol=self.rtol * f, atol=self.atol * f)
        if not sol.success:
            raise RuntimeError(f"ODE integration failed: {sol.message}")
        return sol.y.T


def _observe(sys_, Y):
    """Q, R, v and the closed-form ε_g (§7.1) at each state of ``Y``."""
    Qs, Rs, vs, eps = [], [], [], []
    for y in Y:
        q, r, v = sys_.unpack(y)
        Q, R = sys_.order_parameters(q, r)
        Qs.append(Q)
        Rs.append(R)
        vs.append(v.copy())
        eps.append(generalisation_error(Q, R, sys_.T, v, sys_.v_teacher, sys_.g))
    return np.array(Qs), np.array(Rs), np.array(vs), np.array(eps)


def _rk4(f, y0, t_eval, dt):
    """Classical RK4 with fixed step ≤ dt, hitting every output time exactly."""
    out = []
    y = y0.copy()
    t = 0.0
    for te in t_eval:
        span = te - t
        if span > 0:
            n = max(1, math.ceil(span / dt - 1e-9))
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
