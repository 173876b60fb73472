"""The two-point kernel Ω_ij = Cov(σ(h_i), σ(h_j)) of a bivariate normal pair (THEORY §2).

Closed forms come from the activation object (:meth:`~getheory.activations.Activation.omega_closed`);
every other σ takes the Mehler series over its normalised Hermite coefficients, truncated by a
tail bound, with the perfectly correlated entries (|ρ| = 1) by 1-D quadrature.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..backend import backend_of
from ._base import get_activation
from ._checks import _check_order, _check_scales, _check_tol
from ._quadrature import _chunks, _eval, _hermite_table, _quad_normalized, _quad_second

# |ρ| at or above this is treated as exactly ±1 by omega_kernel: ρ_ii = C_ii/s_i² computed
# in float64 is 1 only up to rounding (≈ √D·eps), and the sign kernel (2/π) arcsin ρ turns a
# rounding error δ into an error (2/π)√(2δ) ≈ 1e-8.  Snapping a genuine |ρ| = 1 − 1e-13
# costs at most (2/π)√(2e-13) ≈ 3e-7 (kinked σ), far less for smooth σ.
_RHO_ONE = 1.0 - 1e-13


class MehlerTruncationWarning(RuntimeWarning):
    """The Mehler series of :func:`omega_kernel` hit ``max_order`` before its tail bound met ``tol``."""


@dataclass(frozen=True)
class _SeriesLimits:
    """Where :func:`omega_kernel`'s Mehler series stops: the relative tail tolerance ``tol`` and the
    largest order ``max_order``."""

    tol: float
    max_order: int


def omega_kernel(activation, C, s_row, s_col, *, tol: float = 1e-12, max_order: int = 200):
    r"""Ω_ij = Cov(σ(h_i), σ(h_j)) for (h_i, h_j) bivariate normal (THEORY §2).

    Var h_i = s_i², Var h_j = s_j², Cov(h_i, h_j) = C_ij, ρ_ij = C_ij/(s_i s_j)
    (clipped to [-1, 1]; ρ := 0 where a scale is 0; |ρ| ≥ 1 − 1e-13 is set to
    ±1 exactly, since C_ii/s_i² is 1 only up to rounding).  Closed forms:

    .. math::
        \text{sign: } \tfrac{2}{π}\arcsin ρ_{ij};\qquad
        \text{erf2: } \tfrac{2}{π}\arcsin\frac{C_{ij}}{\sqrt{(1+s_i^2)(1+s_j^2)}};\qquad
        \text{erf: } \tfrac{2}{π}\arcsin\frac{2C_{ij}}{\sqrt{(1+2s_i^2)(1+2s_j^2)}};

    relu (arc-cosine kernel minus the product of means),
    :math:`\frac{s_i s_j}{2π}(\sin θ + (π-θ)\cos θ) - \frac{s_i s_j}{2π}`,
    θ = arccos ρ_ij; linear: C_ij.

    (the closed forms are the built-ins' :meth:`~getheory.activations.Activation.omega_closed`).
    Activations without one (tanh, user callables) use the Mehler series with
    normalised coefficients ĉ_k = μ_k/√k! (THEORY §2):

    .. math::
        Ω_{ij} = \sum_{k=1}^{K} ĉ_k(s_i)\, ĉ_k(s_j)\, ρ_{ij}^k ,

    truncated at the smallest K whose tail bound (Cauchy–Schwarz plus Parseval)

    .. math::
        |ρ|_{\max}^{K+1}\ \max_i \sqrt{T_i(K)/V_i}\ \max_j \sqrt{T_j(K)/V_j} \le \mathrm{tol},
        \quad T_i(K) = V_i - \sum_{k=1}^{K} ĉ_k(s_i)^2,\ V_i = \mathrm{Var}\, σ(s_i ζ)

    holds, i.e. each entry is within tol·√(V_i V_j) of the full series.  This
    is stricter than stopping when a term falls below tol.  |ρ|_max is taken
    over the entries with |ρ| < 1 − 1e-13; entries with |ρ| ≥ 1 − 1e-13 (the
    diagonal C_ii = s_i², duplicate rows) are treated as ρ = ±1 exactly and
    computed by 1-D quadrature, E[σ(s_i ζ) σ(±s_j ζ)] − E σ(s_i ζ) E σ(s_j ζ).
    If K would exceed ``max_order`` (|ρ| close to 1, slowly decaying ĉ_k as for
    a kinked σ) the series is cut at ``max_order`` and a
    :class:`MehlerTruncationWarning` gives the bound reached.

    Parameters
    ----------
    activation : str, Activation or callable
    C : array, shape (n_row, n_col)
        Covariances a_i·a_j/D (NumPy or CuPy; the result lives on its backend).
    s_row, s_col : array, shapes (n_row,), (n_col,)
        Standard deviations s_i >= 0 and s_j >= 0.
    tol : float
        Relative truncation tolerance of the Mehler series.
    max_order : int
        Largest order K of the Mehler series.

    Returns
    -------
    array, shape (n_row, n_col), on the backend of ``C``

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> s = np.ones(2)
    >>> np.round(omega_kernel("sign", C, s, s), 6)  # (2/π) arcsin(1/2) = 1/3
    array([[1.      , 0.333333],
           [0.333333, 1.      ]])
    >>> bool(np.allclose(omega_kernel(lambda x: np.sign(x), C[:1, 1:], s[:1], s[1:], max_order=400), 1 / 3))
    True
    """
    act = get_activation(activation)
    tol = _check_tol(tol)
    max_order = _check_order(max_order, "max_order")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1 for the Mehler series, got {max_order}")
    bk = backend_of(C, s_row, s_col)
    C, sr_h, sc_h = _kernel_block(bk, C, s_row, s_col)
    si, sj, rho = _correlations(bk, C, sr_h, sc_h)
    forms = act.closed()
    if forms is not None:
        return forms.omega_closed(C, rho, si, sj, bk.xp)
    return _omega_mehler(act, rho, sr_h, sc_h, _SeriesLimits(tol, max_order), bk)


def _kernel_block(bk, C, s_row, s_col):
    """C on backend ``bk`` (real floating, 2-D, finite) and the scales on the host, checked against it."""
    xp = bk.xp
    C = bk.asarray(C)
    if C.ndim != 2:
        raise ValueError(f"C must be a 2-D (n_row, n_col) array, got shape {tuple(C.shape)}")
    if not xp.isdtype(C.dtype, "real floating"):
        C = xp.astype(C, xp.float64)
    sr_h = _check_scales(s_row, "s_row").ravel()
    sc_h = _check_scales(s_col, "s_col").ravel()
    if sr_h.shape[0] != C.shape[0] or sc_h.shape[0] != C.shape[1]:
        raise ValueError(
            f"C has shape {tuple(C.shape)} but s_row has {sr_h.shape[0]} and s_col {sc_h.shape[0]} entries"
        )
    if not bool(xp.all(xp.isfinite(C))):
        raise ValueError("C contains NaN or infinite values")
    return C, sr_h, sc_h


def _correlations(bk, C, sr_h, sc_h):
    """(s_i as a column, s_j as a row, ρ_ij = C_ij/(s_i s_j)) on the backend of C.

    ρ := 0 where a scale is 0; clipped to [-1, 1] and snapped to ±1 at |ρ| ≥ 1 − 1e-13.
    """
    xp = bk.xp
    dt = C.dtype
    si = bk.asarray(sr_h, dtype=dt)[:, None]
    sj = bk.asarray(sc_h, dtype=dt)[None, :]
    den = si * sj
    pos = den > 0
    rho = xp.where(pos, C / xp.where(pos, den, xp.ones_like(den)), xp.zeros_like(C))
    if C.size and float(xp.max(xp.abs(rho))) > 1.0 + 1e-6:
        raise ValueError(
            f"|C_ij| exceeds s_i s_j (max |ρ| = {float(xp.max(xp.abs(rho))):.6g}): "
            "C is not a covariance block consistent with the scales"
        )
    rho = xp.clip(rho, -1.0, 1.0)
    rho = xp.where(xp.abs(rho) >= _RHO_ONE, xp.sign(rho), rho)
    return si, sj, rho


def _omega_mehler(act, rho, sr_h, sc_h, limits: _SeriesLimits, bk):
    """Mehler series for ``omega_kernel`` (see its docstring), truncated within ``limits``."""
    tol, max_order = limits.tol, limits.max_order
    xp = bk.xp
    dt = rho.dtype
    absr = xp.abs(rho)
    one = absr >= _RHO_ONE
    rest = xp.where(one, xp.zeros_like(rho), absr)
    rmax = float(xp.max(rest)) if rho.size else 0.0

    # ρ_max^K ≤ tol already meets the bound (T/V ≤ 1): no need to go beyond that K
    if rmax == 0.0:
        K0 = 1
    else:
        K0 = max(1, min(max_order, math.ceil(math.log(tol) / math.log(rmax))))

    s_all, inv = np.unique(np.concatenate([sr_h, sc_h]), return_inverse=True)
    coef = _quad_normalized(act, s_all, K0)
    var = np.maximum(_quad_second(act, s_all, max(K0, 2)) - coef[:, 0] ** 2, 0.0)
    # tail ratios T(K)/V for K = 0..K0
    cum = np.cumsum(coef[:, 1:] ** 2, axis=1)
    T = np.maximum(var[:, None] - np.concatenate([np.zeros((s_all.size, 1)), cum], axis=1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(var[:, None] > 0, T / np.where(var > 0, var, 1.0)[:, None], 0.0)
    nr = sr_h.size
    idx_r, idx_c = inv[:nr], inv[nr:]
    rr = np.sqrt(ratio[idx_r].max(axis=0)) if nr else np.zeros(K0 + 1)
    rc = np.sqrt(ratio[idx_c].max(axis=0)) if idx_c.size else np.zeros(K0 + 1)
    Ks = np.arange(K0 + 1)
    with np.errstate(under="ignore"):
        bound = rmax ** (Ks + 1.0) * rr * rc
    ok = np.nonzero(bound <= tol)[0]
    if ok.size:
        K = int(ok[0])
    else:
        K = K0
        warnings.warn(
            f"Mehler series for {act.name!r} cut at max_order={max_order} with relative tail bound "
            f"{bound[-1]:.2g} > tol={tol:g} (max |ρ| = {rmax:.6g} off the ρ = ±1 entries); "
            "raise max_order or accept this error",
            MehlerTruncationWarning,
            stacklevel=3,
        )

    a = bk.asarray(coef[idx_r, : K + 1], dtype=dt)
    b = bk.asarray(coef[idx_c, : K + 1], dtype=dt)
    S = xp.zeros(rho.shape, dtype=dt)
    # Horner: Σ_{k=1}^K a_k b_k ρ^k = ρ(a_1 b_1 + ρ(a_2 b_2 + … ))
    for k in range(K, 0, -1):
        S = a[:, k : k + 1] * b[:, k][None, :] + rho * S
    S = rho * S

    # entries with |ρ| = 1 (up to rounding): 1-D quadrature of the perfectly correlated pair
    ii_d, jj_d = xp.nonzero(one)
    if ii_d.shape[0]:
        ii, jj = bk.to_numpy(ii_d), bk.to_numpy(jj_d)
        sgn = np.sign(bk.to_numpy(rho[ii_d, jj_d]))
        si, sj = sr_h[ii], sc_h[jj] * sgn
        x, U = _hermite_table(2)
        w = U[0]
        vals = np.empty(ii.size)
        for sl in _chunks(ii.size, x.size):
            Fi = _eval(act, si[sl, None] * x[None, :])
            Fj = _eval(act, sj[sl, None] * x[None, :])
            vals[sl] = (Fi * Fj) @ w - (Fi @ w) * (Fj @ w)
        S[ii_d, jj_d] = bk.asarray(vals, dtype=dt)
    return S
