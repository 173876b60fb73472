"""Gaussian integrals I2, I3, I4 and the generalisation error (docs/theory.md §7.1, §7.4).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import _check_g


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
