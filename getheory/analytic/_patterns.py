"""Index-pattern sums of the leading-order cumulants (docs/theory.md §4.2).

A single-layer generator, a student and a teacher make every projection of the fields a
function of the latent c:

.. math::

    y(u) - E y = L(u) + \\sum_i w_i(u)\\, φ_i(g_i),\\qquad
    L(u) = ℓ(u)\\cdot c,\\quad g_i = \\hat a_i\\cdot c,\\quad \\hat a_i = a_i/(\\sqrt D s_i),

with w_i(u) = (Wᵀ u_λ)_i/√N, φ_i(g) = σ(s_i g) − μ0(s_i) − μ1(s_i) g (Hermite rank ≥ 2),
ℓ(u) = Σ_i w_i μ1(s_i) â_i + W̃ᵀu_ν/√D (every first-chaos part, resummed), and
γ_i(u) = â_i·ℓ(u).  Everything here is linear in u, so it is held as (N, d) matrices whose
column a is the value at u = e_a (d = K + M).

This module computes, by streaming blocks of rows of A (Ω and ρ = ÂÂᵀ are never formed
whole):

* the one-site constants of φ_i (1-D quadrature split at 0);
* the matrices P = (w_i(e_a)), G = (γ_i(e_a));
* the exact covariance Σ of (λ, ν) (the match of §2, Ω in blocks);
* the two-site form H = Fᵀ (ρ∘ρ − I) F for per-site feature columns F;
* the star arms Y_i = Σ_{j≠i} ρ_ij² v_j, v_j = μ2(s_j) w_j;
* for activations with a second Hermite coefficient, the three-site ring traces
  Σ_{ijk distinct} v_i ρ_ij v_j ρ_jk v_k ρ_ki via D×D matrices Âᵀ diag(v) Â.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..activations import get_activation, omega_kernel
from ..backend import get_backend

__all__ = []

#: Gauss-Legendre nodes per half-line and the cut-off |g| <= _G_MAX (φ(12) ~ 1e-32)
_N_NODES = 240
_G_MAX = 12.0


@functools.cache
def _half_line_rule():
    """The nodes and weights of the rule, computed at their first use (an eigenproblem of order 240:
    not at import)."""
    x, w = np.polynomial.legendre.leggauss(_N_NODES)
    g = 0.5 * _G_MAX * (x + 1.0)
    wt = 0.5 * _G_MAX * w * np.exp(-0.5 * g * g) / math.sqrt(2.0 * math.pi)
    # both half-lines: the integrand may jump or kink at 0 (sign, relu), never elsewhere
    return np.concatenate([-g[::-1], g]), np.concatenate([wt[::-1], wt])


def site_constants(activation, scales, chunk: int = 4096) -> dict:
    """One-site constants of φ(g) = σ(s g) − μ0 − μ1 g, g ~ N(0, 1), at each scale s_i.

    Returns a dict of (N,) arrays: ``mu0, mu1, mu2, mu3, mu4`` (μ_k = E σ(s g) He_k(g)),
    ``var`` (E φ²), ``k3`` (E φ³), ``k4`` (E φ⁴ − 3 (E φ²)²), ``t21`` (E g φ²),
    ``t31`` (E g φ³), ``t22`` (E (g² − 1) φ²).  Gauss-Legendre on each half-line
    (2 × 240 nodes on [0, 12]), exact to rounding for σ smooth on each half-line.
    """
    act = get_activation(activation)
    s = np.asarray(scales, dtype=np.float64).ravel()
    keys = ("mu0", "mu1", "mu2", "mu3", "mu4", "var", "k3", "k4", "t21", "t31", "t22")
    out = {k: np.empty_like(s) for k in keys}
    g, wt = _half_line_rule()
    he2, he3 = g * g - 1.0, g * (g * g - 3.0)
    he4 = g * he3 - 3.0 * he2
    for a in range(0, s.size, chunk):
        sv = s[a : a + chunk, None]
        x = np.asarray(act(sv * g[None, :]), dtype=np.float64)
        mu0 = x @ wt
        mu1 = (x * g) @ wt
        mu2 = (x * he2) @ wt
        mu3 = (x * he3) @ wt
        phi = x - mu0[:, None] - mu1[:, None] * g[None, :]
        p2 = phi * phi
        var = p2 @ wt
        out["mu0"][a : a + chunk] = mu0
        out["mu1"][a : a + chunk] = mu1
        out["mu2"][a : a + chunk] = mu2
        out["mu3"][a : a + chunk] = mu3
        out["mu4"][a : a + chunk] = (x * he4) @ wt
        out["var"][a : a + chunk] = var
        out["k3"][a : a + chunk] = (p2 * phi) @ wt
        out["k4"][a : a + chunk] = (p2 * p2) @ wt - 3.0 * var * var
        out["t21"][a : a + chunk] = (p2 * g) @ wt
        out["t31"][a : a + chunk] = (p2 * phi * g) @ wt
        out["t22"][a : a + chunk] = (p2 * he2) @ wt
    return out


def _row_blocks(N: int, block: int):
    for a in range(0, N, block):
        yield a, min(N, a + block)


def default_block(N: int, D: int, budget_bytes: int = 256 * 2**20) -> int:
    """Rows per block so that a (b, N) float64 block and its temporaries fit the budget."""
    return int(max(16, min(N, budget_bytes // (8 * 4 * max(N, D)))))


def _weights(W_student, W_teacher, N, D):
    """(W (K, N), W̃ (M, D)) as float64 matrices; refuses other widths."""
    W = np.atleast_2d(np.asarray(W_student, dtype=np.float64))
    Wt = np.atleast_2d(np.asarray(W_teacher, dtype=np.float64))
    if W.shape[1] != N or Wt.shape[1] != D:
        raise ValueError(f"W_student must be (K, N={N}) and W_teacher (M, D={D}); got {W.shape}, {Wt.shape}")
    return W, Wt


class PatternSums:
    """The streamed pattern sums of one (generator, W, W̃) triple (docs/theory.md §4.2).

    Attributes (NumPy, host)
    ------------------------
    P, G : (N, d)
        w_i(e_a) and γ_i(e_a).
    consts : dict
        :func:`site_constants` at the row scales.
    Sigma : (d, d)
        exact covariance of (λ, ν) (§2).
    H : (f, f)
        Fᵀ(ρ∘ρ − I)F for the features of :meth:`features`.
    ring : (K, K, K) or None
        ring traces (only when some μ2 ≠ 0).
    rho2_offdiag_max, rho2_row_mean : float
        max_{i≠j} ρ_ij² and mean_i Σ_{j≠i} ρ_ij² (for the truncation estimate).
    rho4_form : (f, f)
        Fᵀ(ρ∘ρ∘ρ∘ρ − I)F, the same form at the next even order (truncation estimate).
    """

    def __init__(self, generator, W_student, W_teacher, *, backend="numpy", block=None, ring=None):
        bk = get_backend(backend)
        A = np.asarray(generator.A, dtype=np.float64)
        N, D = A.shape
        W, Wt = _weights(W_student, W_teacher, N, D)
        K, M = W.shape[0], Wt.shape[0]
        d = K + M
        self.N, self.D, self.K, self.M, self.d = N, D, K, M, d
        self.activation = get_activation(generator.activation)
        b = int(block or default_block(N, D))
        self.block = b
        s = np.linalg.norm(A, axis=1) / math.sqrt(D)
        if np.any(s == 0):
            raise ValueError("A has an all-zero row: its unit's input is constant; remove it")
        self.scales = s
        c = site_constants(self.activation, s)
        self.consts = c
        # P: w_i(e_a) = W_ai/√N for the student columns, 0 for the teacher ones
        P = np.zeros((N, d))
        P[:, :K] = W.T / math.sqrt(N)
        self.P = P
        Ad = bk.asarray(A)
        inv = 1.0 / (math.sqrt(D) * s)
        self.G = self._gammas(bk, Ad, Wt, inv)
        Q = self._two_site_forms(bk, Ad, W, inv)
        # R = W Φ W̃ᵀ/√(ND), Φ = diag(μ1_i/s_i) A/√D  (Stein, §2)
        R = W @ ((c["mu1"] / s)[:, None] * A) @ Wt.T / (math.sqrt(N * D) * math.sqrt(D))
        T = Wt @ Wt.T / D
        self.Sigma = np.block([[Q, R], [R.T, T]])
        # ring traces for even chaos (κ3 of non-odd σ)
        has_even = bool(np.max(np.abs(c["mu2"])) > 1e-10)
        self.has_even = has_even
        self.ring = None
        if ring is None:
            ring = has_even
        if ring:
            self.ring = self._ring(bk, A, inv, b)

    def _gammas(self, bk, Ad, Wt, inv):
        """γ_i(e_a) = â_i·ℓ(e_a) (N, d), with ℓ(e_a) = Σ_i P_ia μ1_i â_i + β(e_a), β = W̃ᵀ e/√D; sets ``ell_norm2``."""
        xp = bk.xp
        N, D, K, d, b = self.N, self.D, self.K, self.d, self.block
        # ℓ(e_a) = Σ_i P_ia μ1_i â_i + β(e_a), β = W̃ᵀ e/√D   (D, d)
        ell = xp.zeros((D, d), dtype=xp.float64)
        Pm = bk.asarray(self.P * (self.consts["mu1"] * inv)[:, None])
        for a0, a1 in _row_blocks(N, b):
            ell = ell + Ad[a0:a1, ...].T @ Pm[a0:a1, ...]
        ell_h = bk.to_numpy(ell).copy()
        ell_h[:, K:] += Wt.T / math.sqrt(D)
        ell = bk.asarray(ell_h)
        self.ell_norm2 = ell_h.T @ ell_h
        # γ_i(e_a) = â_i·ℓ(e_a)
        G = np.empty((N, d))
        for a0, a1 in _row_blocks(N, b):
            G[a0:a1] = bk.to_numpy(Ad[a0:a1, ...] @ ell) * inv[a0:a1, None]
        return G

    def _two_site_forms(self, bk, Ad, W, inv):
        """The two-site forms H, Y, rho4_form and the ρ² summaries, with Ω in blocks; returns Q = W Ω Wᵀ/N (K, K)."""
        xp = bk.xp
        N, D, K, d, b = self.N, self.D, self.K, self.d, self.block
        F = self.features()
        Fd = bk.asarray(F)
        s_d = bk.asarray(self.scales)
        inv_d = bk.asarray(inv)
        Wd = bk.asarray(W)
        Z2 = np.zeros_like(F)
        Z4 = np.zeros_like(F)
        Q = np.zeros((K, K))
        r2max = 0.0
        r2sum = 0.0
        for a0, a1 in _row_blocks(N, b):
            C = Ad[a0:a1, ...] @ Ad.T / D
            Om = omega_kernel(self.activation, C, s_d[a0:a1], s_d)
            Q += bk.to_numpy(Wd[:, a0:a1] @ (Om @ Wd.T)) / N
            rho = C * (inv_d[a0:a1, None] * math.sqrt(D)) * (inv_d[None, :] * math.sqrt(D))
            r2 = rho * rho
            Z2[a0:a1] = bk.to_numpy(r2 @ Fd)
            Z4[a0:a1] = bk.to_numpy((r2 * r2) @ Fd)
            idx = xp.arange(a1 - a0)
            r2 = xp.where(idx[:, None] + a0 == xp.arange(N)[None, :], 0.0, r2)
            r2max = max(r2max, float(xp.max(r2)))
            r2sum += float(xp.sum(r2))
        self.H = F.T @ Z2 - F.T @ F  # remove i = j (ρ_ii = 1)
        self.Y = Z2[:, d * d :] - F[:, d * d :]  # Σ_{j≠i} ρ_ij² v_j  (N, d): the arms of the star
        self.rho4_form = F.T @ Z4 - F.T @ F
        self.rho2_offdiag_max = r2max
        self.rho2_row_mean = r2sum / N
        return Q

    def features(self) -> np.ndarray:
        """Per-site feature columns F (N, f): the d² entries of R_i and the d of v_i.

        R_i = t22_i P_i P_iᵀ + 2 μ3_i P_i G_iᵀ (so r_i(u) = uᵀ R_i u), v_i = μ2_i P_i.
        """
        c, P, G = self.consts, self.P, self.G
        N, d = P.shape
        Rf = (c["t22"][:, None, None] * P[:, :, None] * P[:, None, :]
              + 2.0 * c["mu3"][:, None, None] * P[:, :, None] * G[:, None, :])
        return np.concatenate([Rf.reshape(N, d * d), c["mu2"][:, None] * P], axis=1)

    def _ring(self, bk, A, inv, b):
        """T_abc = Σ_{ijk} v_ai R_ij v_bj R_jk v_ck R_ki, R = ρ − I, v_a = μ2 ∘ P[:, a], a < K."""
        xp = bk.xp
        K, N, D = self.K, self.N, self.D
        V = self.consts["mu2"][:, None] * self.P[:, :K]  # (N, K)
        pairs = [(a, c) for a in range(K) for c in range(a, K)]
        M1 = [xp.zeros((D, D), dtype=xp.float64) for _ in range(K)]
        M2 = {p: xp.zeros((D, D), dtype=xp.float64) for p in pairs}
        Ad = bk.asarray(A)
        Vd = bk.asarray(V)
        invd = bk.asarray(inv)
        for a0, a1 in _row_blocks(N, b):
            Ah = Ad[a0:a1, ...] * invd[a0:a1, None]
            for a in range(K):
                M1[a] = M1[a] + Ah.T @ (Vd[a0:a1, a : a + 1] * Ah)
            for (a, c) in pairs:
                M2[(a, c)] = M2[(a, c)] + Ah.T @ ((Vd[a0:a1, a] * Vd[a0:a1, c])[:, None] * Ah)
        m2 = lambda a, c: M2[(min(a, c), max(a, c))]
        T = np.zeros((K, K, K))
        for a in range(K):
            for bb in range(K):
                for c in range(K):
                    t = (xp.sum((M1[a] @ M1[bb]) * M1[c].T) - xp.sum(m2(a, bb) * M1[c].T)
                         - xp.sum(M1[a] * m2(bb, c).T) - xp.sum(m2(c, a) * M1[bb].T))
                    T[a, bb, c] = float(t) + 2.0 * float(np.sum(V[:, a] * V[:, bb] * V[:, c]))
        return T
