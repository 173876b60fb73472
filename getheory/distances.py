"""Distances between the law of the local fields and its Gaussian match (THEORY §4).

This module owns everything getheory measures about

.. math::

    d_{\\mathrm{MS}}(P, \\hat P) = \\sup_{u \\in S^{d-1}} W_p(u_\\# P, u_\\# \\hat P),
    \\qquad \\hat P = N(m, \\Sigma),\\ p \\in \\{1, 2\\}\\ (p = 1 \\text{ by default}),

from an ``(n, d)`` sample ``z`` of ``P`` (``d = K + M`` local fields):

* the exact one-dimensional distances between an empirical law and a normal law
  (:func:`w1_to_normal`, :func:`w2_to_normal`, the batched core
  :func:`wp_to_normal_sorted`) and between two empirical laws
  (:func:`wp_two_sample_sorted`) — THEORY §4 step 1;
* the plug-in max-sliced estimate with its direction search (:func:`max_sliced_w1`,
  two-sample variant :func:`max_sliced_two_sample`) — THEORY §4 step 2;
* the finite-sample floor, the same estimator on exact Gaussian samples
  (:func:`sampling_floor`) — THEORY §4 step 3;
* the certified upper bound (:func:`certified_upper_bound`) — THEORY §4 Resolution (a);
* the held-out cumulant / Edgeworth estimator (:func:`cumulant_estimate`,
  :func:`edgeworth_w1`, :func:`k_statistics`) — THEORY §4 Resolution (b);
* the one-call summary :func:`estimate_dms` with JSON-ready ``to_dict()`` results.

All array work goes through :mod:`getheory.backend` (``bk.xp`` plus the ``ndtr`` /
``ndtri`` / ``rng`` shims), so NumPy and CuPy inputs run the same code; results
leave as host floats and NumPy arrays.  Small ``d x d`` linear algebra (eigenvalues of
the covariance) and the bookkeeping of the branch-and-bound certificate run on the host.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._json import to_plain as _plain
from .backend import Backend, backend_of, get_backend

__all__ = [
    "w1_to_normal",
    "w2_to_normal",
    "wp_to_normal",
    "wp_to_normal_sorted",
    "wp_two_sample_sorted",
    "quasi_uniform_directions",
    "MaxSlicedResult",
    "max_sliced_w1",
    "max_sliced_two_sample",
    "FloorResult",
    "sampling_floor",
    "CertifiedBound",
    "certified_upper_bound",
    "k_statistics",
    "edgeworth_w1",
    "CumulantResult",
    "cumulant_estimate",
    "DmsEstimate",
    "estimate_dms",
]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: Float64 elements in one (directions x samples) block of projections: cache-sized on the
#: CPU (the elementwise passes then run from cache), large on a GPU (fewer, bigger kernels).
_BLOCK_ELEMS = {"numpy": 1 << 17, "cupy": 1 << 24}


def _block_rows(bk, n: int) -> int:
    return max(1, _BLOCK_ELEMS.get(bk.name, 1 << 20) // max(int(n), 1))


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def _seedseq(seed) -> np.random.SeedSequence:
    """Normalise an int / None / SeedSequence / Generator seed to a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"seed must be an int, None or numpy.random.SeedSequence; got {seed!r}")
    return np.random.SeedSequence(seed)


def _check_p(p) -> int:
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(
            f"p must be 1 (max-sliced W1, the default of THEORY §4) or 2 (max-sliced W2); got {p!r}"
        )
    return int(p)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def _check_level(level, name="confidence"):
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1); got {level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1 (e.g. 0.95); got {level}")
    return level


def _canonical_sign(u: np.ndarray) -> np.ndarray:
    """Flip ``u`` so that its largest-magnitude component is positive (u and -u are the
    same slice: W_p is invariant under y -> -y on both sides)."""
    u = np.asarray(u, dtype=np.float64)
    u = u / np.linalg.norm(u)
    k = int(np.argmax(np.abs(u)))
    return u if u[k] >= 0 else -u


@dataclass
class _Prepared:
    """Validated inputs: device samples and host mean / covariance (PSD-clipped)."""

    bk: Backend
    z: object  # (n, d) float64 on the backend
    n: int
    d: int
    mean: np.ndarray
    cov: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray
    clipped: int


def _as_samples(samples, name="samples", min_n=2):
    bk = backend_of(samples)
    xp = bk.xp
    try:
        z = bk.asarray(samples)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape (n, d): {exc}") from None
    if z.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, d) (one row per sample, one column per local "
            f"field); got shape {tuple(z.shape)}. For one-dimensional data use {name}[:, None] or "
            "w1_to_normal."
        )
    if not (xp.isdtype(z.dtype, "real floating") or xp.isdtype(z.dtype, "integral")):
        raise ValueError(f"{name} must hold real numbers; got dtype {z.dtype}")
    z = xp.astype(z, xp.float64)
    n, d = int(z.shape[0]), int(z.shape[1])
    if d < 1:
        raise ValueError(f"{name} has no columns (shape {tuple(z.shape)}); pass an (n, d) array with d >= 1")
    if n < min_n:
        raise ValueError(f"{name} has n = {n} rows; at least {min_n} samples are needed here")
    if not bool(xp.all(xp.isfinite(z))):
        raise ValueError(f"{name} contains NaN or infinite values; remove or fix those rows first")
    return bk, z, n, d


def _check_cov(cov, d, name="cov"):
    """Validate a covariance: (d, d), finite, symmetric, PSD up to 1e-10 relative.

    Returns the (symmetrised, clipped) matrix, its eigenvalues/vectors and the number of
    clipped eigenvalues.  THEORY §2: tiny negative eigenvalues are clipped and said so.
    """
    try:
        C = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric (d, d) matrix: {exc}") from None
    if C.ndim == 0 and d == 1:
        C = C.reshape(1, 1)
    if C.shape != (d, d):
        raise ValueError(
            f"{name} has shape {C.shape} but the samples have d = {d} columns; pass the ({d}, {d}) "
            "covariance of the Gaussian match (same column order as the samples)"
        )
    if not np.all(np.isfinite(C)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    asym = float(np.max(np.abs(C - C.T))) if C.size else 0.0
    if asym > 1e-8 * max(scale, 1e-300):
        raise ValueError(
            f"{name} is not symmetric (max |C - C^T| = {asym:.3g} vs max |C| = {scale:.3g}); "
            "pass a symmetric covariance, e.g. (C + C.T) / 2 if the asymmetry is rounding"
        )
    C = 0.5 * (C + C.T)
    w, V = np.linalg.eigh(C)
    tol = 1e-10 * max(float(np.max(np.abs(w))), 1e-300)
    if w[0] < -tol:
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {w[0]:.6g} (largest "
            f"{w[-1]:.6g}); negative eigenvalues beyond 1e-10 relative are not rounding. Check how "
            "the covariance was computed"
        )
    clipped = int(np.sum(w < 0))
    if clipped:
        w = np.clip(w, 0.0, None)
        C = (V * w) @ V.T
        C = 0.5 * (C + C.T)
    return C, w, V, clipped


def _prepare(samples, mean, cov, *, min_n=2) -> _Prepared:
    bk, z, n, d = _as_samples(samples, min_n=min_n)
    try:
        m = np.asarray(bk.to_numpy(mean) if mean is not None else 0.0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"mean must be a numeric vector of length d: {exc}") from None
    if m.ndim == 0:
        m = np.full(d, float(m))
    if m.shape != (d,):
        raise ValueError(
            f"mean has shape {m.shape} but the samples have d = {d} columns; pass a length-{d} vector "
            "(the mean of the Gaussian match)"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("mean contains NaN or infinite values")
    C, w, V, clipped = _check_cov(bk.to_numpy(cov) if cov is not None else cov, d)
    return _Prepared(bk, z, n, d, m, C, w, V, clipped)


# ----------------------------------------------------------------------------------------
# 1-D exact W_p between an empirical law and a normal law (THEORY §4 step 1)
# ----------------------------------------------------------------------------------------
class _NormalCells:
    """Quantile cells of N(0, 1) for n atoms of mass 1/n (THEORY §4 step 1).

    Cell j (1-based) is [a_j, b_j] = [Φ^{-1}((j-1)/n), Φ^{-1}(j/n)].  Stored on the
    backend: ``a``, ``b`` (with ±inf at the ends), ``s = φ(a_j) + φ(b_j)``, the cell means
    ``e_j = n (φ(a_j) - φ(b_j))`` and, for p = 2, the within-cell variance
    ``v = Σ_j ∫_cell (t - e_j)² φ(t) dt = 1 - mean(e²)``.
    """

    def __init__(self, bk: Backend, n: int):
        xp = bk.xp
        self.n = n
        if n > 1:
            j = xp.arange(1, n, dtype=xp.float64)
            q = bk.ndtri(j / n)
            phq = xp.exp(-0.5 * q * q) / _SQRT_2PI
        else:
            q = xp.zeros((0,), dtype=xp.float64)
            phq = xp.zeros((0,), dtype=xp.float64)
        ninf = xp.asarray([-math.inf], dtype=xp.float64)
        pinf = xp.asarray([math.inf], dtype=xp.float64)
        zero = xp.zeros((1,), dtype=xp.float64)
        self.a = xp.concat([ninf, q])
        self.b = xp.concat([q, pinf])
        phia = xp.concat([zero, phq])
        phib = xp.concat([phq, zero])
        self.s = phia + phib
        self.e = n * (phia - phib)
        self.v = max(0.0, 1.0 - float(xp.sum(self.e * self.e)) / n)
        self.jm = (2.0 * xp.arange(n, dtype=xp.float64) + 1.0)  # 2j - 1, j = 1..n
        self.w = self.b - self.a  # cell widths (inf at the two ends)


_CELLS: dict = {}


def _normal_cells(bk: Backend, n: int) -> _NormalCells:
    key = (bk.name, int(n))
    c = _CELLS.get(key)
    if c is None:
        if len(_CELLS) >= 8:
            _CELLS.pop(next(iter(_CELLS)))
        c = _CELLS[key] = _NormalCells(bk, int(n))
    return c


def _wp_rows(bk: Backend, ys, sigma, p: int, cells: _NormalCells | None = None, mu=None):
    """W_p of each row of ``ys`` (shape (m, n), rows sorted ascending) to N(mu_r, sigma_r²).

    Uses the quantile form of the 1-D distance (THEORY §4 step 1),

    .. math::

        W_p^p = \\sum_{j=1}^n \\int_{a_j}^{b_j} |x_{(j)} - t|^p\\,\\varphi(t)\\,dt,
        \\quad x = (y - \\mu)/\\sigma,\\ [a_j, b_j] = [\\Phi^{-1}(\\tfrac{j-1}{n}), \\Phi^{-1}(\\tfrac{j}{n})],

    which equals :math:`\\int |F_n - \\Phi|\\,dt` for p = 1.  For x outside its cell the
    p = 1 term is |x - e_j| / n (e_j the cell mean); inside it is the closed form
    x(2Φ(x) - (2j-1)/n) + 2φ(x) - φ(a_j) - φ(b_j).  For p = 2 the sum is
    mean((x - e)²) + Σ_j Var(cell j).  Rows with sigma = 0 compare with a point mass.
    """
    xp = bk.xp
    m, n = int(ys.shape[0]), int(ys.shape[1])
    if cells is None:
        cells = _normal_cells(bk, n)
    pos = sigma > 0
    inv = 1.0 / xp.where(pos, sigma, 1.0)
    yc = ys if mu is None else ys - mu[:, None]
    dev = yc * inv[:, None]
    dev -= cells.e  # x - e_j, x = (y - mu) / sigma
    if p == 2:
        wstd = xp.sqrt(xp.sum(dev * dev, axis=1) / n + cells.v)
        val0 = xp.sqrt(xp.sum(yc * yc, axis=1) / n)
        return xp.where(pos, sigma * wstd, val0)
    adev = xp.abs(dev)
    base = xp.sum(adev, axis=1)
    if bk.name == "numpy":
        # sparse: x can only lie inside its cell when |x - e_j| < b_j - a_j, which holds for
        # ~ n^{1/2} entries per row; gather those and apply the exact in-cell formula.
        (idx,) = xp.nonzero(xp.reshape(adev < cells.w, (-1,)))
        jj = idx % n
        row = idx // n
        ej = xp.take(cells.e, jj)
        xi = xp.take(xp.reshape(dev, (-1,)), idx) + ej
        inside = (xi > xp.take(cells.a, jj)) & (xi < xp.take(cells.b, jj))
        xi = xp.where(inside, xi, 0.0)
        corr = (
            xi * (2.0 * n * bk.ndtr(xi) - xp.take(cells.jm, jj))
            + n * (2.0 * xp.exp(-0.5 * xi * xi) / _SQRT_2PI - xp.take(cells.s, jj))
            - xp.take(xp.reshape(adev, (-1,)), idx)
        )
        corr = xp.where(inside, corr, 0.0)
        cs = xp.cumulative_sum(corr, include_initial=True)
        rows = xp.arange(m, dtype=row.dtype)
        lo = xp.searchsorted(row, rows, side="left")
        hi = xp.searchsorted(row, rows, side="right")
        extra = xp.take(cs, hi) - xp.take(cs, lo)
    else:
        # dense: no data-dependent shapes (no device synchronisation) on accelerators.
        x = dev + cells.e
        inside = (x > cells.a) & (x < cells.b)
        xin = xp.where(inside, x, 0.0)
        corr = (
            xin * (2.0 * n * bk.ndtr(xin) - cells.jm)
            + n * (2.0 * xp.exp(-0.5 * xin * xin) / _SQRT_2PI - cells.s)
            - adev
        )
        extra = xp.sum(xp.where(inside, corr, 0.0), axis=1)
    wstd = (base + extra) / n
    val0 = xp.sum(xp.abs(yc), axis=1) / n
    return xp.where(pos, sigma * wstd, val0)


def wp_to_normal_sorted(ys, mu=0.0, sigma=1.0, *, p=1, axis=0):
    """Exact W_p between the empirical law of each column of ``ys`` and N(mu, sigma²).

    The batched core of THEORY §4 step 1 used by the direction search.

    .. math::

        W_1 = \\int |F_n(t) - \\Phi((t-\\mu)/\\sigma)|\\,dt
            = \\int_0^1 |F_n^{-1}(q) - \\mu - \\sigma\\Phi^{-1}(q)|\\,dq ,
        \\qquad W_2^2 = \\int_0^1 (F_n^{-1}(q) - \\mu - \\sigma\\Phi^{-1}(q))^2\\,dq .

    Parameters
    ----------
    ys : array, shape (n, m)
        Projections, **already sorted ascending along** ``axis`` (NumPy or CuPy).
    mu, sigma : float or array of shape (m,)
        Mean and standard deviation of the normal law per column (sigma >= 0;
        sigma = 0 is a point mass).
    p : {1, 2}
    axis : int
        The sample axis (0 for an (n, m) matrix, as in the search; -1 for (m, n)).

    Returns
    -------
    array, shape (m,)
        On the backend of ``ys``.  Cost O(n m) plus the (cached) normal quantiles.
    """
    p = _check_p(p)
    bk = backend_of(ys)
    xp = bk.xp
    ys = xp.astype(bk.asarray(ys), xp.float64)
    if ys.ndim == 1:
        ys = ys[:, None] if axis in (0, -1) else ys
        axis = 0
    if ys.ndim != 2:
        raise ValueError(f"ys must be a 1-D or 2-D array; got shape {tuple(ys.shape)}")
    rows = xp.moveaxis(ys, axis, 1)
    m, n = int(rows.shape[0]), int(rows.shape[1])
    if n < 1:
        raise ValueError("ys has no samples along the sample axis")
    mu = xp.broadcast_to(xp.asarray(bk.asarray(mu), dtype=xp.float64), (m,))
    sigma = xp.broadcast_to(xp.asarray(bk.asarray(sigma), dtype=xp.float64), (m,))
    if not bool(xp.all(sigma >= 0)):
        raise ValueError("sigma must be >= 0 (a standard deviation)")
    return _wp_rows(bk, rows, sigma, p, mu=mu)


def _wp_scalar(y, mu, sigma, p):
    p = _check_p(p)
    bk = backend_of(y)
    xp = bk.xp
    y = xp.astype(bk.asarray(y), xp.float64)
    if y.ndim != 1:
        if sum(int(k) > 1 for k in y.shape) > 1:
            raise ValueError(
                f"y must be one-dimensional (a sample of scalars); got shape {tuple(y.shape)}. "
                "For several columns use wp_to_normal_sorted(np.sort(Y, axis=0), mu, sigma)")
        y = xp.reshape(y, (-1,))
    if y.shape[0] < 1:
        raise ValueError("y is empty; pass at least one sample")
    if not bool(xp.all(xp.isfinite(y))):
        raise ValueError("y contains NaN or infinite values")
    mu, sigma = float(mu), float(sigma)
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma < 0:
        raise ValueError(f"mu must be finite and sigma finite and >= 0; got mu={mu}, sigma={sigma}")
    ys = xp.sort(y, stable=False)[None, :]
    out = _wp_rows(bk, ys, xp.asarray([sigma], dtype=xp.float64), p, mu=xp.asarray([mu], dtype=xp.float64))
    return float(bk.to_numpy(out)[0])


def w1_to_normal(y, mu=0.0, sigma=1.0) -> float:
    """Exact W1 between the empirical law of the 1-D sample ``y`` and N(mu, sigma²).

    THEORY §4 step 1, in O(n log n):

    .. math::

        W_1 = \\int_{-\\infty}^{\\infty} |F_n(t) - \\Phi((t-\\mu)/\\sigma)|\\,dt
            = \\sigma \\sum_{j=1}^{n} \\int_{a_j}^{b_j} |x_{(j)} - s|\\,\\varphi(s)\\,ds ,

    with x = (y - μ)/σ and the breakpoints a_j = Φ^{-1}((j-1)/n), b_j = Φ^{-1}(j/n), the
    normal quantiles where Φ crosses the levels j/n of F_n.  Each cell integral is closed
    form (∫Φ = zΦ(z) + φ(z), ∫tφ = -φ), so the result is exact up to rounding.
    Check value: W1(Rademacher ±1, N(0,1)) = 0.535377321547880.

    Parameters
    ----------
    y : array_like, shape (n,)
    mu : float
    sigma : float, >= 0 (0 compares with the point mass at mu)

    Returns
    -------
    float
    """
    return _wp_scalar(y, mu, sigma, 1)


def w2_to_normal(y, mu=0.0, sigma=1.0) -> float:
    """Exact W2 between the empirical law of ``y`` and N(mu, sigma²) (THEORY §4 step 1, p = 2).

    .. math::

        W_2^2 = \\sigma^2 \\sum_j \\int_{a_j}^{b_j} (x_{(j)} - s)^2 \\varphi(s)\\,ds
              = \\sigma^2\\Big[\\tfrac1n\\sum_j (x_{(j)} - e_j)^2 + 1 - \\tfrac1n \\sum_j e_j^2\\Big],

    with e_j = n(φ(a_j) - φ(b_j)) the mean of N(0,1) on its j-th quantile cell (partial
    moments of the normal between consecutive quantiles).
    """
    return _wp_scalar(y, mu, sigma, 2)


def wp_to_normal(y, mu=0.0, sigma=1.0, p=1) -> float:
    """:func:`w1_to_normal` (p = 1) or :func:`w2_to_normal` (p = 2)."""
    return _wp_scalar(y, mu, sigma, p)


# ----------------------------------------------------------------------------------------
# 1-D two-sample W_p
# ----------------------------------------------------------------------------------------
_TWO_GRIDS: dict = {}


def _two_sample_grid(bk, n1, n2):
    key = (bk.name, n1, n2)
    g = _TWO_GRIDS.get(key)
    if g is None:
        edges = np.union1d(np.arange(n1 + 1) / n1, np.arange(n2 + 1) / n2)
        w = np.diff(edges)
        keep = w > 0
        mid = 0.5 * (edges[1:] + edges[:-1])[keep]
        ix = np.minimum((mid * n1).astype(np.int64), n1 - 1)
        iy = np.minimum((mid * n2).astype(np.int64), n2 - 1)
        if len(_TWO_GRIDS) >= 4:
            _TWO_GRIDS.pop(next(iter(_TWO_GRIDS)))
        g = _TWO_GRIDS[key] = (bk.asarray(ix), bk.asarray(iy), bk.asarray(w[keep]))
    return g


def _wp_two_rows(bk, xs, ys, p):
    """W_p between row r of xs (m, n1) and row r of ys (m, n2), rows sorted ascending."""
    xp = bk.xp
    n1, n2 = int(xs.shape[1]), int(ys.shape[1])
    if n1 == n2:
        dlt = xp.abs(xs - ys)
        if p == 1:
            return xp.sum(dlt, axis=1) / n1
        return xp.sqrt(xp.sum(dlt * dlt, axis=1) / n1)
    ix, iy, w = _two_sample_grid(bk, n1, n2)
    dlt = xp.abs(xp.take(xs, ix, axis=1) - xp.take(ys, iy, axis=1))
    if p == 1:
        return xp.sum(dlt * w, axis=1)
    return xp.sqrt(xp.sum(dlt * dlt * w, axis=1))


def wp_two_sample_sorted(xs, ys, *, p=1, axis=0):
    """Exact W_p between two empirical laws, column by column.

    .. math::

        W_p^p = \\int_0^1 |F^{-1}(q) - G^{-1}(q)|^p\\,dq ,

    with equal sizes reducing to mean(|x_(j) - y_(j)|^p); unequal sizes integrate over the
    merged grid of breakpoints {i/n1} ∪ {j/n2}.  ``xs`` (n1, m) and ``ys`` (n2, m) must be
    sorted ascending along ``axis``.
    """
    p = _check_p(p)
    bk = backend_of(xs, ys)
    xp = bk.xp
    xs = xp.astype(bk.asarray(xs), xp.float64)
    ys = xp.astype(bk.asarray(ys), xp.float64)
    if xs.ndim == 1:
        xs, ys, axis = xs[:, None], ys[:, None], 0
    xr = xp.moveaxis(xs, axis, 1)
    yr = xp.moveaxis(ys, axis, 1)
    if xr.shape[0] != yr.shape[0]:
        raise ValueError(f"xs and ys must have the same number of columns; got {xs.shape} and {ys.shape}")
    return _wp_two_rows(bk, xr, yr, p)


# ----------------------------------------------------------------------------------------
# directions and the search on the sphere (THEORY §4 step 2)
# ----------------------------------------------------------------------------------------
def _default_n_directions(d: int) -> int:
    return {1: 1, 2: 128, 3: 512, 4: 1024}.get(d, 2048)


def _half_sphere_spacing(d: int, k: int) -> float:
    """Typical angular spacing of k quasi-uniform points on a half of S^{d-1}."""
    if d <= 1:
        return 0.0
    if d == 2:
        return math.pi / max(k, 1)
    area = math.pi ** (d / 2) / math.gamma(d / 2)  # half of |S^{d-1}| = 2 π^{d/2} / Γ(d/2)
    return float((area / max(k, 1)) ** (1.0 / (d - 1)))


def quasi_uniform_directions(d: int, k: int, seed=None) -> np.ndarray:
    """Quasi-uniform unit directions on the half-sphere, coordinate axes included.

    d = 2: the equispaced angles πi/k (k rounded up to even, so both axes are in);
    d >= 3: a scrambled Sobol' sequence mapped through Φ^{-1} and normalised (an
    equal-area quasi-random design), plus the d coordinate axes.  u and -u are the same
    slice, so every direction is returned with its largest component positive.

    Returns
    -------
    ndarray, shape (k', d) with k' >= k (host array).
    """
    d = _check_int(d, "d", 1)
    k = _check_int(k, "n_directions", 1)
    if d == 1:
        return np.ones((1, 1))
    if d == 2:
        k = k + (k % 2)
        th = np.pi * np.arange(k) / k
        U = np.stack([np.cos(th), np.sin(th)], axis=1)
    else:
        from scipy.stats import qmc

        ss = _seedseq(seed)
        mbits = max(1, int(math.ceil(math.log2(max(k - d, 2)))))
        pts = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(ss)).random_base2(mbits)[: max(k - d, 1)]
        from scipy.special import ndtri

        G = ndtri(np.clip(pts, 1e-12, 1 - 1e-12))
        G /= np.linalg.norm(G, axis=1, keepdims=True)
        U = np.concatenate([np.eye(d), G], axis=0)
    idx = np.argmax(np.abs(U), axis=1)
    sgn = np.sign(U[np.arange(U.shape[0]), idx])
    sgn[sgn == 0] = 1.0
    return U * sgn[:, None]


def _es_refine(bk, rng, obj, U, f, step, iters, max_step, min_step):
    """Derivative-free local ascent on the sphere, vectorised over B starting points.

    Each iteration draws a random orthonormal frame of the tangent space at every current
    point, evaluates the 2(d-1) geodesic moves ±step along it (one batched call of ``obj``),
    moves to the best candidate if it improves, and adapts the step (x1.6 on success,
    x0.5 on failure).  No host synchronisation: all state stays on the device.
    Returns the final (U, f, step) and the number of evaluations.
    """
    xp = bk.xp
    B, d = int(U.shape[0]), int(U.shape[1])
    if d < 2 or iters <= 0:
        return U, f, step, 0
    nev = 0
    for _ in range(iters):
        G = rng.standard_normal((B, d - 1, d))
        G = xp.asarray(G, dtype=xp.float64)
        basis = [U]
        vecs = []
        for k in range(d - 1):
            g = G[:, k, :]
            for q in basis:
                g = g - xp.sum(g * q, axis=1, keepdims=True) * q
            g = g / xp.sqrt(xp.sum(g * g, axis=1, keepdims=True))
            basis.append(g)
            vecs.append(g)
        T = xp.stack(vecs + [-v for v in vecs], axis=1)  # (B, 2(d-1), d)
        c = xp.cos(step)[:, None, None]
        s = xp.sin(step)[:, None, None]
        C = c * U[:, None, :] + s * T
        C = C / xp.sqrt(xp.sum(C * C, axis=2, keepdims=True))
        lam = int(C.shape[1])
        Cf = xp.reshape(C, (B * lam, d))
        fc = xp.reshape(obj(Cf), (B, lam))
        nev += B * lam
        kbest = xp.argmax(fc, axis=1)
        fb = xp.max(fc, axis=1)
        Cb = xp.take(Cf, xp.arange(B, dtype=kbest.dtype) * lam + kbest, axis=0)
        imp = fb > f
        U = xp.where(imp[:, None], Cb, U)
        f = xp.where(imp, fb, f)
        step = xp.where(imp, xp.minimum(step * 1.6, max_step), xp.maximum(step * 0.5, min_step))
    return U, f, step, nev


class _NormalObjective:
    """u -> W_p(u#P_n, N(u·m, uᵀΣu)) for a batch of directions (rows of U)."""

    def __init__(self, bk, zc, Sigma, p):
        self.bk, self.zc, self.Sigma, self.p = bk, zc, Sigma, p
        self.n = int(zc.shape[0])
        self.cells = _normal_cells(bk, self.n)
        self.count = 0

    def __call__(self, U):
        xp = self.bk.xp
        k = int(U.shape[0])
        sig = xp.sqrt(xp.clip(xp.sum(xp.matmul(U, self.Sigma) * U, axis=1), min=0.0))
        chunk = _block_rows(self.bk, self.n)
        out = []
        for s in range(0, k, chunk):
            P = xp.sort(xp.matmul(U[s : s + chunk], self.zc.T), axis=1, stable=False)
            out.append(_wp_rows(self.bk, P, sig[s : s + chunk], self.p, self.cells))
        self.count += k
        return out[0] if len(out) == 1 else xp.concat(out)


class _TwoSampleObjective:
    """u -> W_p(u#X_n, u#Y_m) for a batch of directions."""

    def __init__(self, bk, X, Y, p):
        self.bk, self.X, self.Y, self.p = bk, X, Y, p
        self.n = int(X.shape[0]) + int(Y.shape[0])
        self.count = 0

    def __call__(self, U):
        xp = self.bk.xp
        k = int(U.shape[0])
        chunk = _block_rows(self.bk, 2 * max(int(self.X.shape[0]), int(self.Y.shape[0])))
        out = []
        for s in range(0, k, chunk):
            Uc = U[s : s + chunk]
            PX = xp.sort(xp.matmul(Uc, self.X.T), axis=1, stable=False)
            PY = xp.sort(xp.matmul(Uc, self.Y.T), axis=1, stable=False)
            out.append(_wp_two_rows(self.bk, PX, PY, self.p))
        self.count += k
        return out[0] if len(out) == 1 else xp.concat(out)


def _levels(n, subsample, two_stage, ss):
    """Random row subsets for the search: (rows of the refinement subsample or None for all
    rows, rows of the coarse design or None for the same rows as the refinement)."""
    rng = np.random.default_rng(ss)
    k_c = max(2, subsample // 4)
    if two_stage:
        idx = rng.choice(n, size=subsample, replace=False)
        return np.sort(idx), np.sort(idx[:k_c])
    if k_c < n:
        return None, np.sort(rng.choice(n, size=k_c, replace=False))
    return None, None


def _guided_directions(bk, zc, Sigma_h, ss):
    """Moment-guided starting directions for the W_p search (THEORY §4 (b) used as a guide).

    Signals below the coarse subsample's floor are invisible to the quasi-uniform design,
    but the low-order moments locate them far more efficiently (their noise is ~n^{-1/2}
    without the floor).  Returns, on the device, up to 5 unit directions: the mean
    mismatch x̄ - m, the eigenvectors of S - Σ with the largest and smallest eigenvalue
    (variance mismatch), and the two best maximisers of the Edgeworth W1 built from the
    k-statistic tensors of ``zc`` (:class:`_EdgeworthObjective`).
    """
    xp = bk.xp
    n, d = int(zc.shape[0]), int(zc.shape[1])
    if d < 2:
        return None
    mbar = xp.mean(zc, axis=0)
    S = bk.to_numpy(xp.matmul(zc.T, zc)) / n
    mh = bk.to_numpy(mbar)
    dirs = []
    if np.linalg.norm(mh) > 0:
        dirs.append(mh / np.linalg.norm(mh))
    Dm = S - np.outer(mh, mh) - Sigma_h
    w, V = np.linalg.eigh(0.5 * (Dm + Dm.T))
    dirs += [V[:, -1], V[:, 0]]
    out = [bk.asarray(np.asarray(dirs), dtype=xp.float64)]
    if n >= 16:
        eobj = _EdgeworthObjective(bk, zc, bk.asarray(Sigma_h, dtype=xp.float64), np.max(np.linalg.eigvalsh(Sigma_h)))
        U, _f, _ = eobj.maximise(ss, 512, 2, 15)
        out.append(U)
    return xp.concat(out, axis=0)


def _search(bk, make_obj, full_data, sub_data, coarse_data, d, ss, *, n_directions, refine, n_starts,
            sub_iterations, full_iterations, full_starts=1, guided=None):
    """Direction search of THEORY §4 step 2, in three resolutions.

    1. the quasi-uniform design (:func:`quasi_uniform_directions`) on ``coarse_data``
       (a quarter of the subsample: only the ranking of the design matters here);
    2. the ``n_starts`` best are re-evaluated on ``sub_data`` (the subsample, or the full
       sample when it is small) and refined there by :func:`_es_refine`;
    3. when subsampled, the refined directions are evaluated on ``full_data`` and the best
       ``full_starts`` are refined for ``full_iterations`` more steps on the full sample.

    ``make_obj(data)`` builds an objective on a data set; None means "same as the next
    finer level".  Returns (u, value on the full sample, info).
    """
    xp = bk.xp
    s_dir, s_rng = ss.spawn(2)
    rng = bk.rng(s_rng)
    U0h = quasi_uniform_directions(d, n_directions, s_dir)
    U0 = bk.asarray(U0h, dtype=xp.float64)
    theta0 = _half_sphere_spacing(d, U0h.shape[0])
    full = make_obj(full_data)
    two_stage = sub_data is not None
    mid = make_obj(sub_data) if two_stage else full
    coarse = make_obj(coarse_data) if coarse_data is not None else mid
    f0 = coarse(U0)
    B = min(n_starts, int(U0.shape[0]))
    top = xp.argsort(-f0, stable=False)[:B]
    U = xp.take(U0, top, axis=0)
    if guided is not None:
        U = xp.concat([U, guided], axis=0)
        f = mid(U)
    else:
        f = mid(U) if coarse is not mid else xp.take(f0, top)
    B = int(U.shape[0])
    min_step = 1e-6
    step = xp.full((B,), 0.5 * theta0, dtype=xp.float64)
    n_sub_iter = n_full_iter = 0
    if refine and d >= 2:
        U, f, step, _ = _es_refine(bk, rng, mid, U, f, step, sub_iterations, 2.0 * theta0, min_step)
        n_sub_iter = sub_iterations
    info = {}
    if two_stage:
        info["best_value_subsample"] = xp.max(f)
        if guided is not None:  # the unrefined guides too: the subsample ascent may drift into its noise
            U = xp.concat([U, guided], axis=0)
            step = xp.concat([step, xp.full((int(guided.shape[0]),), 0.5 * theta0, dtype=xp.float64)])
        fF = full(U)
        B = int(U.shape[0])
        B2 = min(full_starts, B)
        ordF = xp.argsort(-fF, stable=False)[:B2]
        U = xp.take(U, ordF, axis=0)
        f = xp.take(fF, ordF)
        if refine and d >= 2:
            stepF = xp.maximum(xp.take(step, ordF), xp.full((B2,), 0.25 * theta0, dtype=xp.float64))
            U, f, stepF, _ = _es_refine(bk, rng, full, U, f, stepF, full_iterations, 2.0 * theta0, min_step)
            n_full_iter = full_iterations
            step = stepF
    kb = xp.argmax(f)
    u_best = bk.to_numpy(xp.take(U, xp.reshape(kb, (1,)), axis=0))[0]
    val = float(bk.to_numpy(xp.max(f)))
    info = {k: float(bk.to_numpy(v)) for k, v in info.items()}
    info.update(
        n_coarse=int(U0h.shape[0]),
        coarse_spacing_rad=theta0,
        n_starts=min(n_starts, int(U0h.shape[0])),
        n_guided=0 if guided is None else int(guided.shape[0]),
        subsample_iterations=n_sub_iter,
        full_iterations=n_full_iter,
        evaluations_full=full.count,
        evaluations_subsample=(mid.count if two_stage else 0) + (coarse.count if coarse is not mid else 0),
        final_step_rad=float(bk.to_numpy(xp.min(step))) if d >= 2 else 0.0,
    )
    return _canonical_sign(u_best), val, info


# ----------------------------------------------------------------------------------------
# result classes
# ----------------------------------------------------------------------------------------
@dataclass
class MaxSlicedResult:
    """A plug-in max-sliced W_p value and the direction achieving it (THEORY §4 step 2).

    ``value`` is W_p evaluated exactly on the full sample along ``direction``: a valid
    lower bound of the empirical sup over the sphere.

    Attributes
    ----------
    value : float
    direction : ndarray, shape (d,), unit norm (largest component positive)
    p : int
    n : int
        Sample size (for two-sample results: n1 + n2).
    n_directions : int
        Directions evaluated in total (subsample and full sample).
    n_refine_steps : int
        Local-refinement iterations (subsample + full sample).
    search : dict
        Details: subsample size, coarse design size and spacing, evaluations per stage,
        best subsample value, final step.
    """

    value: float
    direction: np.ndarray
    p: int
    n: int
    n_directions: int
    n_refine_steps: int
    search: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return _plain(
            {"value": self.value, "direction": self.direction, "p": self.p, "n": self.n,
             "n_directions": self.n_directions, "n_refine_steps": self.n_refine_steps, "search": self.search}
        )


def _search_settings(n, d, n_directions, refine, subsample, n_starts, sub_iterations, full_iterations):
    n_directions = _default_n_directions(d) if n_directions is None else _check_int(n_directions, "n_directions", 1)
    if subsample is None:
        subsample = 100_000
    subsample = _check_int(subsample, "subsample", 2)
    two_stage = n > 1.5 * subsample
    n_starts = _check_int(n_starts, "n_starts", 1)
    sub_iterations = 12 if sub_iterations is None else _check_int(sub_iterations, "sub_iterations", 0)
    full_iterations = 6 if full_iterations is None else _check_int(full_iterations, "full_iterations", 0)
    return n_directions, bool(refine), subsample, two_stage, n_starts, sub_iterations, full_iterations


def max_sliced_w1(samples, mean, cov, *, p=1, seed=None, n_directions=None, refine=True, subsample=None,
                  n_starts=4, sub_iterations=None, full_iterations=None, guide=True) -> MaxSlicedResult:
    """Plug-in max-sliced W_p between the sample and its Gaussian match (THEORY §4 step 2).

    .. math::

        \\hat d = \\sup_{u \\in S^{d-1}} W_p\\big(u_\\# P_n,\\ N(u\\cdot m,\\ u^T\\Sigma u)\\big),

    each W_p exact (THEORY §4 step 1).  Search, in three resolutions:

    1. ``n_directions`` quasi-uniform directions (:func:`quasi_uniform_directions`, axes
       included) on a random quarter of the subsample (at most ``subsample // 4`` rows);
    2. the ``n_starts`` best, plus (``guide=True``) up to five moment-guided directions —
       mean mismatch, extreme eigenvectors of S - Σ, the two maximisers of the Edgeworth W1
       from the k-statistic tensors (signals below the coarse level's floor are found through
       their moments) — are refined by a derivative-free ascent on the sphere (random
       tangent frames, ±step geodesic moves, adaptive step) for ``sub_iterations`` steps on
       the subsample of ``subsample`` rows (all rows when n <= 1.5 * subsample);
    3. when subsampled, the refined directions and the raw guides are evaluated on the full
       sample and the best is refined for ``full_iterations`` more steps there.

    The reported value is an exact full-sample evaluation, hence a valid lower bound of the
    empirical sup; compare it with :func:`sampling_floor` (same search) and see
    :func:`certified_upper_bound` for the upper side.

    Parameters
    ----------
    samples : array, shape (n, d)
        NumPy or CuPy; the computation runs on its backend.
    mean : array, shape (d,)
    cov : array, shape (d, d)
        Symmetric PSD (eigenvalues down to -1e-10 relative are clipped to 0).
    p : {1, 2}
    seed : int, SeedSequence or None
    n_directions : int, optional
        Size of the coarse design (default 128, 512, 1024, 2048 for d = 2, 3, 4, >= 5).
    refine : bool
    subsample : int, optional
        Rows used by the coarse stage (default 10^5).
    n_starts, sub_iterations, full_iterations : int
        Local-search starts (4), iterations on the subsample (12) and on the full sample (6);
        without subsampling the ascent runs sub_iterations + full_iterations steps.
    guide : bool
        Add the moment-guided starting directions (default True).

    Returns
    -------
    MaxSlicedResult
    """
    p = _check_p(p)
    prep = _prepare(samples, mean, cov)
    search = dict(n_directions=n_directions, refine=refine, subsample=subsample, n_starts=n_starts,
                  sub_iterations=sub_iterations, full_iterations=full_iterations, guide=guide)
    return _max_sliced_prepared(prep, p, _seedseq(seed), search)


_SEARCH_KEYS = frozenset(
    {"n_directions", "refine", "subsample", "n_starts", "sub_iterations", "full_iterations", "guide"})


def _check_search(search: dict) -> dict:
    bad = set(search) - _SEARCH_KEYS
    if bad:
        raise ValueError(
            f"unknown search option(s) {sorted(bad)}; accepted: {sorted(_SEARCH_KEYS)} (see max_sliced_w1)")
    return search


def _max_sliced_prepared(prep, p, ss, search, zc=None):
    bk, n, d = prep.bk, prep.n, prep.d
    xp = bk.xp
    search = _check_search(dict(search))
    guide = bool(search.get("guide", True))
    (n_directions, refine, subsample, two_stage, n_starts, sub_iterations,
     full_iterations) = _search_settings(n, d, search.get("n_directions"), search.get("refine", True),
                                         search.get("subsample"), search.get("n_starts", 4),
                                         search.get("sub_iterations"), search.get("full_iterations"))
    if zc is None:
        zc = prep.z - bk.asarray(prep.mean, dtype=xp.float64)
    Sigma = bk.asarray(prep.cov, dtype=xp.float64)
    s_sub, s_search = ss.spawn(2)
    i_sub, i_coarse = _levels(n, subsample, two_stage, s_sub)
    sub = None if i_sub is None else xp.take(zc, bk.asarray(i_sub), axis=0)
    crs = None if i_coarse is None else xp.take(zc, bk.asarray(i_coarse), axis=0)
    s_search, s_guide = s_search.spawn(2)
    guided = _guided_directions(bk, zc if sub is None else sub, prep.cov, s_guide) if guide else None
    u, val, info = _search(
        bk, lambda data: _NormalObjective(bk, data, Sigma, p), zc, sub, crs, d, s_search,
        n_directions=n_directions, refine=refine, n_starts=n_starts,
        sub_iterations=sub_iterations if two_stage else sub_iterations + full_iterations,
        full_iterations=full_iterations, guided=guided,
    )
    info["subsample"] = subsample if two_stage else n
    info["clipped_eigenvalues"] = prep.clipped
    return MaxSlicedResult(
        value=val, direction=u, p=p, n=n,
        n_directions=info["evaluations_full"] + info["evaluations_subsample"],
        n_refine_steps=info["subsample_iterations"] + info["full_iterations"],
        search=info,
    )


def max_sliced_two_sample(X, Y, *, p=1, seed=None, n_directions=None, refine=True, subsample=None,
                          n_starts=4, sub_iterations=None, full_iterations=None) -> MaxSlicedResult:
    """Two-sample plug-in max-sliced W_p between the empirical laws of X and Y.

    .. math::

        \\sup_{u\\in S^{d-1}} W_p(u_\\# X_n, u_\\# Y_m),\\qquad
        W_p^p = \\int_0^1 |F^{-1}(q) - G^{-1}(q)|^p dq \\ \\text{(exact, :func:`wp_two_sample_sorted`)}.

    Same search as :func:`max_sliced_w1` (THEORY §4 step 2).  For comparison with
    ``ot.max_sliced_wasserstein_distance`` (random directions only, default p = 2),
    which therefore returns a lower bound of the same sup; estimating against the exact
    Gaussian (:func:`max_sliced_w1`) instead of a second sample halves the noise (THEORY §4).
    """
    p = _check_p(p)
    bkx, Xd, n1, d1 = _as_samples(X, "X")
    bky, Yd, n2, d2 = _as_samples(Y, "Y")
    if d1 != d2:
        raise ValueError(f"X and Y must have the same number of columns; got d = {d1} and {d2}")
    bk = backend_of(Xd, Yd)
    xp = bk.xp
    Xd, Yd = bk.asarray(Xd), bk.asarray(Yd)
    d = d1
    nmax = max(n1, n2)
    (n_directions, refine, subsample, two_stage, n_starts, sub_iterations,
     full_iterations) = _search_settings(nmax, d, n_directions, refine, subsample, n_starts, sub_iterations,
                                         full_iterations)
    shift = (xp.sum(Xd, axis=0) + xp.sum(Yd, axis=0)) / (n1 + n2)
    Xc, Yc = Xd - shift, Yd - shift
    ss = _seedseq(seed)
    s_sub, s_search = ss.spawn(2)
    sx, sy = s_sub.spawn(2)

    def take_rows(A, idx):
        return A if idx is None else xp.take(A, bk.asarray(idx), axis=0)

    ks = {}
    for name, nn, sq in (("x", n1, sx), ("y", n2, sy)):
        sub_k = max(2, int(round(subsample * nn / nmax)))
        ks[name] = _levels(nn, sub_k, two_stage, sq)
    sub = None if not two_stage else (take_rows(Xc, ks["x"][0]), take_rows(Yc, ks["y"][0]))
    crs = None
    if ks["x"][1] is not None or ks["y"][1] is not None:
        crs = (take_rows(Xc, ks["x"][1]) if ks["x"][1] is not None else (sub[0] if sub else Xc),
               take_rows(Yc, ks["y"][1]) if ks["y"][1] is not None else (sub[1] if sub else Yc))
    u, val, info = _search(
        bk, lambda data: _TwoSampleObjective(bk, data[0], data[1], p), (Xc, Yc), sub, crs, d, s_search,
        n_directions=n_directions, refine=refine, n_starts=n_starts,
        sub_iterations=sub_iterations if two_stage else sub_iterations + full_iterations,
        full_iterations=full_iterations,
    )
    info["subsample"] = subsample if two_stage else nmax
    info["n_x"], info["n_y"] = n1, n2
    return MaxSlicedResult(
        value=val, direction=u, p=p, n=n1 + n2,
        n_directions=info["evaluations_full"] + info["evaluations_subsample"],
        n_refine_steps=info["subsample_iterations"] + info["full_iterations"],
        search=info,
    )


# ----------------------------------------------------------------------------------------
# finite-sample floor (THEORY §4 step 3)
# ----------------------------------------------------------------------------------------
@dataclass
class FloorResult:
    """Distribution of the plug-in estimator on exact Gaussian samples (THEORY §4 step 3).

    Attributes
    ----------
    mean : float
        Mean of the replicate values (the floor).
    q95 : float
        Their empirical 95 % quantile.
    values : ndarray, shape (replicates,)
    replicates : int
    n : int
    p : int
    """

    mean: float
    q95: float
    values: np.ndarray
    replicates: int
    n: int = 0
    p: int = 1

    def quantile(self, level: float) -> float:
        """Empirical quantile of the replicate values (linear interpolation)."""
        level = _check_level(level, "level")
        return float(np.quantile(self.values, level))

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.replicates > 1 else 0.0

    def to_dict(self) -> dict:
        return _plain({"mean": self.mean, "q95": self.q95, "sd": self.sd, "replicates": self.replicates,
                       "n": self.n, "p": self.p, "values": self.values})


def sampling_floor(n, cov, *, p=1, replicates=20, seed=None, backend=None, mean=None, **search) -> FloorResult:
    """The plug-in estimator applied to exact Gaussian samples of the same n and Σ.

    THEORY §4 step 3: even for P = P̂ the plug-in max-sliced W_p is positive, about
    (√d + log² n)/√n.  Each replicate draws n samples of N(0, Σ) (the estimator is
    translation invariant, so the mean is irrelevant), one replicate at a time so the
    memory stays O(n d), and runs :func:`max_sliced_w1` with the same ``search`` keywords.

    Parameters
    ----------
    n : int
        Sample size (>= 2).
    cov : array, shape (d, d)
    p : {1, 2}
    replicates : int
        Number of Gaussian samples (default 20; the 95 % quantile of 20 values is rough).
    seed : int, SeedSequence or None
    backend : str or Backend, optional
        Where the replicates are drawn and processed (default NumPy).
    mean : ignored
        Accepted for symmetry with the other functions.
    **search
        ``n_directions``, ``refine``, ``subsample``, ``n_starts``, ``sub_iterations``,
        ``full_iterations`` of :func:`max_sliced_w1`.

    Returns
    -------
    FloorResult
    """
    p = _check_p(p)
    n = _check_int(n, "n", 2)
    replicates = _check_int(replicates, "replicates", 1)
    _check_search(search)
    C0 = np.asarray(cov, dtype=np.float64)
    d = 1 if C0.ndim == 0 else int(C0.shape[0])
    C, w, V, clipped = _check_cov(C0, d)
    bk = get_backend(backend)
    xp = bk.xp
    A = bk.asarray(V * np.sqrt(w), dtype=xp.float64)  # Σ = A Aᵀ
    ss = _seedseq(seed)
    vals = np.empty(replicates)
    for r, child in enumerate(ss.spawn(replicates)):
        s_draw, s_est = child.spawn(2)
        g = xp.asarray(bk.rng(s_draw).standard_normal((n, d)), dtype=xp.float64)
        z = xp.matmul(g, A.T)
        prep = _Prepared(bk, z, n, d, np.zeros(d), C, w, V, clipped)
        res = _max_sliced_prepared(prep, p, s_est, search, zc=z)
        vals[r] = res.value
        del g, z
    return FloorResult(mean=float(np.mean(vals)), q95=float(np.quantile(vals, 0.95)), values=vals,
                       replicates=replicates, n=n, p=p)


# ----------------------------------------------------------------------------------------
# certified upper bound (THEORY §4 Resolution (a))
# ----------------------------------------------------------------------------------------
@dataclass
class CertifiedBound:
    """An upper bound on d_MS(P, P̂) (THEORY §4 Resolution (a)).

    ``value = plug_in + search_gap + epsilon_n``: ``plug_in`` is the best exact value found
    (the search's direction, or a better branch-and-bound centre), ``plug_in + search_gap``
    is a rigorous (deterministic) upper bound of the empirical sup over u; ``epsilon_n``
    bounds sup_u W_p(u#P_n, u#P) with probability about ``confidence`` (Gaussian
    calibration, see ``method``).  ``lipschitz`` is L, ``covering_radius`` the largest
    chordal radius of the cells left open, ``n_evaluations`` the branch-and-bound budget used.
    """

    value: float
    plug_in: float
    epsilon_n: float
    search_gap: float
    confidence: float
    method: str
    lipschitz: float = float("nan")
    covering_radius: float = float("nan")
    n_evaluations: int = 0
    n: int = 0
    p: int = 1

    def to_dict(self) -> dict:
        return _plain({k: getattr(self, k) for k in (
            "value", "plug_in", "epsilon_n", "search_gap", "confidence", "method", "lipschitz",
            "covering_radius", "n_evaluations", "n", "p")})


def _branch_and_bound(bk, obj, d, L, lb0, max_evaluations, tol):
    """Upper bound of sup over the projective sphere of a function with Lipschitz constant L.

    Covering: every u (up to sign) equals x/|x| for some x on a face {x_k = 1, |x_j| <= 1}
    of the cube.  A face cell with centre c and half-width h (sup-norm) maps into the
    chordal ball of radius h·√(d-1) around c/|c| (radial projection onto the unit ball is
    1-Lipschitz outside it), so sup_cell g <= g(c/|c|) + L h √(d-1).  Cells are split
    best-first (2^{d-1} children) while the budget lasts; cells whose bound is below the
    best value found are discarded.  Returns (upper, lower, direction, n_eval, radius).
    """
    xp = bk.xp
    if d == 1:
        v = float(bk.to_numpy(obj(bk.asarray(np.ones((1, 1)), dtype=xp.float64)))[0])
        return max(v, lb0), max(v, lb0), np.ones(1), 1, 0.0
    m = d - 1
    rad_factor = math.sqrt(m)
    per_face = max(1.0, min(max_evaluations / 4.0, 512.0) / d)
    s0 = max(1, int(math.floor(per_face ** (1.0 / m))))
    grid1 = -1.0 + (2.0 * np.arange(s0) + 1.0) / s0
    mesh = np.stack(np.meshgrid(*([grid1] * m), indexing="ij"), axis=-1).reshape(-1, m)
    faces = np.repeat(np.arange(d), mesh.shape[0])
    centers = np.tile(mesh, (d, 1))
    halfw = np.full(centers.shape[0], 1.0 / s0)

    def dirs(fc, cc):
        X = np.empty((cc.shape[0], d))
        for k in range(d):
            sel = fc == k
            X[sel, :k] = cc[sel, :k]
            X[sel, k] = 1.0
            X[sel, k + 1:] = cc[sel, k:]
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    def evaluate(fc, cc):
        U = dirs(fc, cc)
        return bk.to_numpy(obj(bk.asarray(U, dtype=xp.float64))).astype(np.float64), U

    g, U = evaluate(faces, centers)
    nev = g.size
    best = int(np.argmax(g))
    lb, u_lb = float(g[best]), U[best]
    if lb0 > lb:
        lb, u_lb = lb0, None
    children_offsets = np.stack(np.meshgrid(*([np.array([-0.5, 0.5])] * m), indexing="ij"), axis=-1).reshape(-1, m)
    nchild = children_offsets.shape[0]
    while True:
        ub_cells = g + L * rad_factor * halfw
        keep = ub_cells > lb
        faces, centers, halfw, g, ub_cells = faces[keep], centers[keep], halfw[keep], g[keep], ub_cells[keep]
        if g.size == 0 or float(np.max(ub_cells)) - lb <= tol:
            break
        n_split = min(g.size, (max_evaluations - nev) // nchild)
        if n_split <= 0:
            break
        order = np.argsort(-ub_cells)
        sp, rest = order[:n_split], order[n_split:]
        h2 = halfw[sp] / 2.0
        new_c = (centers[sp][:, None, :] + children_offsets[None, :, :] * halfw[sp][:, None, None]).reshape(-1, m)
        new_f = np.repeat(faces[sp], nchild)
        new_h = np.repeat(h2, nchild)
        gn, Un = evaluate(new_f, new_c)
        nev += gn.size
        j = int(np.argmax(gn))
        if gn[j] > lb:
            lb, u_lb = float(gn[j]), Un[j]
        faces = np.concatenate([faces[rest], new_f])
        centers = np.concatenate([centers[rest], new_c])
        halfw = np.concatenate([halfw[rest], new_h])
        g = np.concatenate([g[rest], gn])
    if g.size:
        ub = max(lb, float(np.max(g + L * rad_factor * halfw)))
        radius = float(np.max(halfw)) * rad_factor
    else:
        ub, radius = lb, 0.0
    return ub, lb, u_lb, nev, radius


def certified_upper_bound(samples, mean, cov, *, p=1, confidence=0.95, seed=None, floor=None, plug_in=None,
                          floor_replicates=20, max_evaluations=None, tol=0.0, **search) -> CertifiedBound:
    """Certified upper bound of d_MS(P, P̂) from a sample of P (THEORY §4 Resolution (a)).

    Triangle inequality, for every direction u:

    .. math::

        W_p(u_\\#P, u_\\#\\hat P) \\le W_p(u_\\#P_n, u_\\#\\hat P) + W_p(u_\\#P_n, u_\\#P)
        \\ \\Rightarrow\\
        d_{MS}(P,\\hat P) \\le \\sup_u g(u) + \\sup_u W_p(u_\\#P_n, u_\\#P) .

    **First term (rigorous).**  g(u) = W_p(u#P_n, N(u·m, uᵀΣu)) is Lipschitz on R^d:
    coupling the two projections of the same sample point, and the two normals through
    the same Gaussian variable,

    .. math::

        |g(u) - g(v)| \\le \\sqrt{(u-v)^T S_n (u-v)} + c_p\\,|\\sigma_u - \\sigma_v|
        \\le \\big(\\sqrt{\\lambda_{\\max}(S_n)} + c_p\\sqrt{\\lambda_{\\max}(\\Sigma)}\\big)|u-v| = L|u-v| ,

    with S_n = (1/n)Σ(z_i - m)(z_i - m)ᵀ, c_1 = E|ζ| = √(2/π), c_2 = 1, and
    |σ_u - σ_v| = |‖Σ^{1/2}u‖ - ‖Σ^{1/2}v‖| <= ‖Σ^{1/2}(u - v)‖.  A branch-and-bound over a
    cube-face covering of the projective sphere (known covering radius per cell) then
    gives sup_u g <= max over evaluated centres + L·radius, exactly; ``search_gap`` is this
    bound minus the best value found.  The gap is small for d = 2 and for peaked signals;
    for d >= 4 and signals near the floor it is dominated by L·radius (covering in d - 1
    dimensions is expensive) and says so.

    **Second term (Gaussian calibration).**  ``epsilon_n`` is the ``confidence`` quantile of
    the floor distribution (:func:`sampling_floor`: the same estimator on exact Gaussian
    samples of the same n and Σ).  It is the distribution of sup_u W_p(u#P_n, u#P) when P
    is Gaussian, estimated by Monte Carlo with the search's lower bound; for non-Gaussian P
    it is an approximation (exact to leading order when P is close to P̂, the regime
    where the bound matters).  ``method`` states this.

    Parameters
    ----------
    samples, mean, cov, p
        As in :func:`max_sliced_w1`.
    confidence : float
        Level of the ε_n quantile (default 0.95).
    seed : int, SeedSequence or None
    floor : FloorResult, optional
        Reused when given with the same n and p (e.g. from :func:`estimate_dms`).
    plug_in : MaxSlicedResult, optional
        Its direction is re-evaluated on ``samples`` and seeds the branch-and-bound.
    floor_replicates : int
        Replicates when the floor must be computed.
    max_evaluations : int, optional
        Branch-and-bound budget in directions on the full sample (default
        clip(2.5·10^8 / n, 256, 8192)).
    tol : float
        Stop refining once the gap is below ``tol``.
    **search
        Search keywords of :func:`max_sliced_w1` (for the plug-in and the floor).
    """
    p = _check_p(p)
    confidence = _check_level(confidence)
    _check_search(search)
    prep = _prepare(samples, mean, cov)
    bk, n, d = prep.bk, prep.n, prep.d
    xp = bk.xp
    ss = _seedseq(seed)
    s_plug, s_floor = ss.spawn(2)
    if max_evaluations is None:
        max_evaluations = int(min(8192, max(256, 2.5e8 / n)))
    max_evaluations = _check_int(max_evaluations, "max_evaluations", 1)
    zc = prep.z - bk.asarray(prep.mean, dtype=xp.float64)
    Sigma = bk.asarray(prep.cov, dtype=xp.float64)
    obj = _NormalObjective(bk, zc, Sigma, p)
    if plug_in is None:
        plug_in = _max_sliced_prepared(prep, p, s_plug, search, zc=zc)
    u0 = np.asarray(plug_in.direction, dtype=np.float64).reshape(1, -1)
    if u0.shape[1] != d:
        raise ValueError(f"plug_in.direction has length {u0.shape[1]}, expected d = {d}")
    lb0 = float(bk.to_numpy(obj(bk.asarray(u0 / np.linalg.norm(u0), dtype=xp.float64)))[0])
    S = bk.to_numpy(xp.matmul(zc.T, zc)) / n
    lam_s = float(np.max(np.linalg.eigvalsh(0.5 * (S + S.T))))
    lam_c = float(np.max(prep.eigvals))
    cp = math.sqrt(2.0 / math.pi) if p == 1 else 1.0
    L = math.sqrt(max(lam_s, 0.0)) + cp * math.sqrt(max(lam_c, 0.0))
    ub, lb, _u, nev, radius = _branch_and_bound(bk, obj, d, L, lb0, max_evaluations, float(tol))
    if floor is None or floor.n != n or floor.p != p:
        floor = sampling_floor(n, prep.cov, p=p, replicates=floor_replicates, seed=s_floor, backend=bk, **search)
    eps = floor.quantile(confidence)
    gap = ub - lb
    method = (
        f"triangle inequality d_MS(P,P^) <= sup_u W{p}(u#P_n,u#P^) + sup_u W{p}(u#P_n,u#P). "
        f"First term: rigorous branch-and-bound over a cube-face covering of the projective sphere with "
        f"Lipschitz constant L = sqrt(lambda_max(S_n)) + {'sqrt(2/pi)' if p == 1 else '1'}*sqrt(lambda_max(Sigma))"
        f" = {L:.4g} ({nev} full-sample directions, final covering radius {radius:.3g}, gap {gap:.3g}). "
        f"Second term: epsilon_n = {confidence:g} quantile of the floor distribution (the same max-sliced "
        f"estimator on {floor.replicates} exact Gaussian samples of size n = {n}), a Gaussian calibration of "
        f"sup_u W{p}(u#P_n,u#P): exact in law only when P is Gaussian, and a Monte Carlo quantile of a search "
        f"lower bound; the bound holds with probability about {confidence:g} under that calibration."
    )
    return CertifiedBound(value=ub + eps, plug_in=lb, epsilon_n=eps, search_gap=gap, confidence=confidence,
                          method=method, lipschitz=L, covering_radius=radius, n_evaluations=nev, n=n, p=p)


# ----------------------------------------------------------------------------------------
# cumulants and the Edgeworth W1 (THEORY §4 Resolution (b))
# ----------------------------------------------------------------------------------------
def k_statistics(y):
    """Unbiased k-statistics (k2, k3, k4) of a 1-D sample and their influence-function SEs.

    .. math::

        k_3 = \\frac{n^2}{(n-1)(n-2)} m_3,\\quad
        k_4 = \\frac{n^2[(n+1)m_4 - 3(n-1)m_2^2]}{(n-1)(n-2)(n-3)},

    m_r the sample central moments; E k_r = κ_r exactly (Fisher).  Standard errors from the
    influence functions IF_3 = d³ - m_3 - 3 m_2 d, IF_4 = d⁴ - m_4 - 4 m_3 d - 6 m_2 (d² - m_2)
    (d = y - ȳ): se = sd(IF)/√n; for a Gaussian they are √(6 σ⁶/n) and √(24 σ⁸/n).

    Returns
    -------
    dict with k2, k3, k4, se_k3, se_k4, n (host floats).
    """
    bk = backend_of(y)
    xp = bk.xp
    y = xp.reshape(xp.astype(bk.asarray(y), xp.float64), (-1,))
    n = int(y.shape[0])
    if n < 4:
        raise ValueError(f"k-statistics up to order 4 need n >= 4 samples; got n = {n}")
    if not bool(xp.all(xp.isfinite(y))):
        raise ValueError("y contains NaN or infinite values")
    return _kstats_device(bk, y)


def _kstats_device(bk, y):
    xp = bk.xp
    n = int(y.shape[0])
    dv = y - xp.mean(y)
    d2 = dv * dv
    m2 = xp.mean(d2)
    m3 = xp.mean(d2 * dv)
    m4 = xp.mean(d2 * d2)
    if3 = d2 * dv - m3 - 3.0 * m2 * dv
    if4 = d2 * d2 - m4 - 4.0 * m3 * dv - 6.0 * m2 * (d2 - m2)
    vals = bk.to_numpy(xp.stack([m2, m3, m4, xp.mean(if3 * if3), xp.mean(if4 * if4)]))
    m2, m3, m4, v3, v4 = (float(v) for v in vals)
    k2 = n / (n - 1) * m2
    k3 = n * n / ((n - 1) * (n - 2)) * m3
    k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
    return {"k2": k2, "k3": k3, "k4": k4, "se_k3": math.sqrt(v3 / (n - 1)), "se_k4": math.sqrt(v4 / (n - 1)),
            "n": n, "_dv": dv, "_m2": m2, "_m3": m3}


def _edgeworth_exact(k3, k4):
    """Exact ∫φ|Q|, Q = κ3/6 He2 + κ4/24 He3 + κ3²/72 He5, and its gradient in (κ3, κ4).

    Uses ∫φ He_k = -φ He_{k-1}: on each interval between consecutive real roots of Q the
    integral is a difference of A(t) = -φ(t)(a2 He1 + a3 He2 + a5 He4).  All roots' real
    parts are used as breakpoints (extra breakpoints are harmless, so near-real complex
    roots cannot be missed).
    """
    from numpy.polynomial import hermite_e as H

    a2, a3, a5 = k3 / 6.0, k4 / 24.0, k3 * k3 / 72.0
    coef = H.hermetrim(np.array([0.0, 0.0, a2, a3, 0.0, a5]))
    if coef.size <= 1:
        return 0.0, 0.0, 0.0
    r = np.sort(np.real(H.hermeroots(coef)))
    bp = np.concatenate([[-np.inf], r, [np.inf]])

    def Bk(t, k):  # -φ(t) He_{k-1}(t), zero at ±inf
        out = np.zeros_like(t)
        f = np.isfinite(t)
        c = np.zeros(k)
        c[k - 1] = 1.0
        out[f] = -np.exp(-0.5 * t[f] ** 2) / _SQRT_2PI * H.hermeval(t[f], c)
        return out

    B2, B3, B5 = Bk(bp, 2), Bk(bp, 3), Bk(bp, 5)
    A = a2 * B2 + a3 * B3 + a5 * B5
    seg = np.diff(A)
    W = float(np.sum(np.abs(seg)))
    sg = np.sign(seg)
    dW2, dW3, dW5 = (float(np.sum(sg * np.diff(Bx))) for Bx in (B2, B3, B5))
    g3 = dW2 / 6.0 + dW5 * k3 / 36.0
    g4 = dW3 / 24.0
    return W, g3, g4


def edgeworth_w1(kappa3, kappa4) -> float:
    """Edgeworth approximation of W1(law, N(0,1)) for a standardised law (THEORY §4 (b)).

    .. math::

        W_1 \\approx \\int \\varphi(t)\\,\\Big|\\frac{\\kappa_3}{6}He_2(t) + \\frac{\\kappa_4}{24}He_3(t)
        + \\frac{\\kappa_3^2}{72}He_5(t)\\Big|\\,dt ,

    computed exactly (closed-form antiderivatives between the real roots).  For κ3 = 0 it
    is |κ4|/24 · E|He3(Z)| = |κ4| · 1.5100/24.
    """
    return _edgeworth_exact(float(kappa3), float(kappa4))[0]


class _EdgeworthGrid:
    """Trapezoid rule for ∫φ|Q| on a fixed grid (vectorised search objective)."""

    def __init__(self, bk, G=2001, T=10.0):
        xp = bk.xp
        t = xp.linspace(-T, T, G, dtype=xp.float64)
        ph = xp.exp(-0.5 * t * t) / _SQRT_2PI
        t2 = t * t
        He2, He3, He5 = t2 - 1.0, t * (t2 - 3.0), t * (t2 * t2 - 10.0 * t2 + 15.0)
        h = 2.0 * T / (G - 1)
        self.H = xp.stack([ph * He2, ph * He3, ph * He5], axis=0)  # (3, G)
        self.h = h
        self.bk = bk

    def __call__(self, k3, k4):
        xp = self.bk.xp
        a = xp.stack([k3 / 6.0, k4 / 24.0, k3 * k3 / 72.0], axis=1)
        v = xp.abs(xp.matmul(a, self.H))
        return self.h * (xp.sum(v, axis=1) - 0.5 * (v[:, 0] + v[:, -1]))


def _moment_tensors(bk, X, chunk_rows=1 << 15):
    """Central moment tensors (M2, M3 as (d², d), M4 as (d², d²)) by BLAS over row chunks."""
    xp = bk.xp
    n, d = int(X.shape[0]), int(X.shape[1])
    M2 = xp.zeros((d, d), dtype=xp.float64)
    M3 = xp.zeros((d * d, d), dtype=xp.float64)
    M4 = xp.zeros((d * d, d * d), dtype=xp.float64)
    for s in range(0, n, chunk_rows):
        Xc = X[s : s + chunk_rows]
        Y = xp.reshape(Xc[:, :, None] * Xc[:, None, :], (-1, d * d))
        M2 = M2 + xp.matmul(Xc.T, Xc)
        M3 = M3 + xp.matmul(Y.T, Xc)
        M4 = M4 + xp.matmul(Y.T, Y)
    return M2 / n, M3 / n, M4 / n


class _EdgeworthObjective:
    """u -> σ_u W_E(κ3(u), κ4(u)) from the moment tensors of a sample (THEORY §4 (b)).

    κ3(u), κ4(u) are the unbiased k-statistics of the projection u·z, obtained by
    contracting the central moment tensors (computed once, BLAS) instead of re-projecting,
    and standardised by the exact σ_u = √(uᵀΣu); W_E is the Edgeworth W1 on a fixed grid.
    """

    def __init__(self, bk, X, Sigma, lam_max):
        xp = bk.xp
        self.bk, self.Sigma = bk, Sigma
        # directions with (numerically) zero variance under Σ carry no standardised cumulant
        self.s2_min = 1e-12 * max(float(lam_max), 1e-300)
        self.n = ns = int(X.shape[0])
        self.d = int(X.shape[1])
        self.M2, self.M3, self.M4 = _moment_tensors(bk, X - xp.mean(X, axis=0))
        self.grid = _EdgeworthGrid(bk)
        self.c3 = ns * ns / ((ns - 1) * (ns - 2))
        self.c4 = ns * ns / ((ns - 1) * (ns - 2) * (ns - 3))
        self.count = 0

    def kappas(self, U):
        xp, d, ns = self.bk.xp, self.d, self.n
        k = int(U.shape[0])
        UU = xp.reshape(U[:, :, None] * U[:, None, :], (k, d * d))
        m2 = xp.sum(xp.matmul(U, self.M2) * U, axis=1)
        m3 = xp.sum(xp.matmul(UU, self.M3) * U, axis=1)
        m4 = xp.sum(xp.matmul(UU, self.M4) * UU, axis=1)
        s2 = xp.sum(xp.matmul(U, self.Sigma) * U, axis=1)
        ok = s2 > self.s2_min
        s2 = xp.where(ok, s2, 1.0)
        s = xp.sqrt(s2)
        k3 = xp.where(ok, self.c3 * m3 / (s2 * s), 0.0)
        k4 = xp.where(ok, self.c4 * ((ns + 1) * m4 - 3 * (ns - 1) * m2 * m2) / (s2 * s2), 0.0)
        return k3, k4, xp.where(ok, s, 0.0)

    def __call__(self, U):
        k3, k4, s = self.kappas(U)
        self.count += int(U.shape[0])
        return s * self.grid(k3, k4)

    def maximise(self, ss, n_directions, n_starts, iterations, refine=True):
        """Quasi-uniform design + local ascent; returns the n_starts final (U, f) on device."""
        xp, bk, d = self.bk.xp, self.bk, self.d
        s_dir, s_rng = ss.spawn(2)
        U0h = quasi_uniform_directions(d, n_directions, s_dir)
        U0 = bk.asarray(U0h, dtype=xp.float64)
        f0 = self(U0)
        B = min(n_starts, int(U0.shape[0]))
        top = xp.argsort(-f0, stable=False)[:B]
        U, f = xp.take(U0, top, axis=0), xp.take(f0, top)
        theta0 = _half_sphere_spacing(d, U0h.shape[0])
        if refine and d >= 2:
            step = xp.full((B,), 0.5 * theta0, dtype=xp.float64)
            U, f, step, _ = _es_refine(bk, bk.rng(s_rng), self, U, f, step, iterations, 2.0 * theta0, 1e-7)
        return U, f, int(U0h.shape[0])


@dataclass
class CumulantResult:
    """Held-out cumulants of the worst projection and their Edgeworth W1 (THEORY §4 (b)).

    ``kappa3``, ``kappa4`` are the standardised cumulants of u·z along ``direction``,
    estimated by unbiased k-statistics on the evaluation half (independent of the half
    that chose u), divided by the exact scale σ_u = √(uᵀΣu).  ``edgeworth_w1`` is in the
    units of d_MS (σ_u times the standardised Edgeworth W1); ``edgeworth_se`` is its
    delta-method standard error.  ``resolved`` follows ``rule``.
    """

    kappa3: float
    kappa4: float
    se_kappa3: float
    se_kappa4: float
    edgeworth_w1: float
    edgeworth_se: float
    direction: np.ndarray
    resolved: bool
    n_eval: int
    sigma: float = 1.0
    edgeworth_w1_standardised: float = 0.0
    z_kappa3: float = 0.0
    z_kappa4: float = 0.0
    split: bool = True
    rule: str = ""
    selection: dict = field(default_factory=dict)
    z_threshold: float = 3.0

    def to_dict(self) -> dict:
        return _plain({k: getattr(self, k) for k in (
            "kappa3", "kappa4", "se_kappa3", "se_kappa4", "edgeworth_w1", "edgeworth_se", "direction",
            "resolved", "n_eval", "sigma", "edgeworth_w1_standardised", "z_kappa3", "z_kappa4", "split", "rule",
            "z_threshold", "selection")})


def cumulant_estimate(samples, mean, cov, *, seed=None, split=True, n_directions=None, refine=True,
                      z_threshold=3.0, n_starts=8, iterations=40) -> CumulantResult:
    """Held-out third and fourth cumulants of the most non-Gaussian projection (THEORY §4 (b)).

    The plug-in W1 is blind below its floor; the cumulants are not: their unbiased
    estimators have error bars shrinking like n^{-1/2} around the true value.

    1. *Selection half* (a random half of the rows when ``split``): central moment
       tensors M2, M3, M4 by BLAS (d <= 8: at most 4096 entries), so every direction's
       k-statistics cost O(d⁴) without re-projecting; maximise the Edgeworth W1
       σ_u·W_E(κ3(u), κ4(u)) over u (quasi-uniform design + local ascent).
    2. *Evaluation half*: for the chosen u, unbiased k-statistics k3, k4 of y = u·z,
       standardised by the **exact** σ_u = √(uᵀΣu) (a constant, so unbiasedness is kept;
       dividing by the sample variance would make a ratio estimator, biased at O(1/n), with
       the same leading-order SE; k-statistics are translation invariant so the mean is
       not needed).  SEs from influence functions (√(6/n), √(24/n) for Gaussian data).
    3. Edgeworth W1 (exact, :func:`edgeworth_w1`) times σ_u, SE by the delta method
       (gradient of the exact integral).  It is a plug-in of unbiased κ's, so it is biased
       upwards near 0 (|·|); test significance with the κ's.

    Rule: ``resolved = max(|κ3|/se3, |κ4|/se4) > z_threshold`` (default 3; for Gaussian data
    the two held-out z-scores are N(0,1), false-positive rate ≈ 0.5 %).

    .. math::

        W_1(u_\\#P, u_\\#\\hat P) \\approx \\sigma_u\\int\\varphi(t)\\Big|\\tfrac{\\kappa_3}{6}He_2
        + \\tfrac{\\kappa_4}{24}He_3 + \\tfrac{\\kappa_3^2}{72}He_5\\Big|dt.

    Parameters
    ----------
    samples, mean, cov
        As in :func:`max_sliced_w1` (n >= 8).  ``mean`` is validated but only the scale
        (Σ) enters: cumulants of order >= 2 do not depend on location.
    seed : int, SeedSequence or None
    split : bool
        Sample splitting (default).  With ``split=False`` both steps use all rows and the
        reported values are biased upwards by the maximisation (flagged in ``split``).
    n_directions : int, optional
        Coarse design size (default max(4096, search default)).
    z_threshold : float
    n_starts, iterations : int
        Local ascent on the selection half.
    """
    prep = _prepare(samples, mean, cov, min_n=8)
    bk, n, d = prep.bk, prep.n, prep.d
    xp = bk.xp
    ss = _seedseq(seed)
    s_split, s_dir = ss.spawn(2)
    if split:
        perm = np.random.default_rng(s_split).permutation(n)
        h = n // 2
        sel = xp.take(prep.z, bk.asarray(np.sort(perm[:h])), axis=0)
        ev = xp.take(prep.z, bk.asarray(np.sort(perm[h:])), axis=0)
    else:
        sel = ev = prep.z
    ns = int(sel.shape[0])
    Sigma = bk.asarray(prep.cov, dtype=xp.float64)
    eobj = _EdgeworthObjective(bk, sel, Sigma, np.max(prep.eigvals))
    nd = max(4096, _default_n_directions(d)) if n_directions is None else _check_int(n_directions, "n_directions", 1)
    U, f, n_coarse = eobj.maximise(s_dir, nd, _check_int(n_starts, "n_starts", 1),
                                   _check_int(iterations, "iterations", 0), refine)
    kb = xp.reshape(xp.argmax(f), (1,))
    u = _canonical_sign(bk.to_numpy(xp.take(U, kb, axis=0))[0])
    ud = bk.asarray(u[None, :], dtype=xp.float64)
    k3s, k4s, _ = eobj.kappas(ud)
    sel_info = {"n_select": ns, "kappa3_select": float(bk.to_numpy(k3s)[0]),
                "kappa4_select": float(bk.to_numpy(k4s)[0]),
                "edgeworth_w1_select": float(bk.to_numpy(eobj(ud))[0]), "n_coarse": n_coarse}
    # evaluation half
    y = xp.matmul(ev, ud.T)[:, 0]
    ks = _kstats_device(bk, y)
    sigma = math.sqrt(max(float(u @ prep.cov @ u), 0.0))
    if sigma <= 0:
        raise ValueError("the selected direction has zero variance under cov; cumulants are undefined there")
    k3 = ks["k3"] / sigma**3
    k4 = ks["k4"] / sigma**4
    se3 = ks["se_k3"] / sigma**3
    se4 = ks["se_k4"] / sigma**4
    W, g3, g4 = _edgeworth_exact(k3, k4)
    dv, m2, m3 = ks["_dv"], ks["_m2"], ks["_m3"]
    d2 = dv * dv
    if3 = d2 * dv - m3 - 3.0 * m2 * dv
    m4e = float(bk.to_numpy(xp.mean(d2 * d2)))
    if4 = d2 * d2 - m4e - 4.0 * m3 * dv - 6.0 * m2 * (d2 - m2)
    ifw = sigma * (g3 * if3 / sigma**3 + g4 * if4 / sigma**4)
    ne = int(y.shape[0])
    se_w = math.sqrt(float(bk.to_numpy(xp.mean(ifw * ifw))) / (ne - 1))
    z3 = abs(k3) / se3 if se3 > 0 else (math.inf if k3 != 0 else 0.0)
    z4 = abs(k4) / se4 if se4 > 0 else (math.inf if k4 != 0 else 0.0)
    zt = float(z_threshold)
    rule = (f"resolved iff max(|kappa3|/se3, |kappa4|/se4) > {zt:g} on the held-out half "
            f"(the direction was chosen on the other half, so the z-scores are N(0,1) for Gaussian data)")
    if not split:
        rule += "; split=False: direction chosen on the same rows, values biased upwards by the maximisation"
    return CumulantResult(
        kappa3=k3, kappa4=k4, se_kappa3=se3, se_kappa4=se4, edgeworth_w1=sigma * W, edgeworth_se=se_w,
        direction=u, resolved=bool(max(z3, z4) > zt), n_eval=ne, sigma=sigma, edgeworth_w1_standardised=W,
        z_kappa3=float(np.sign(k3) * z3) if np.isfinite(z3) else float(z3),
        z_kappa4=float(np.sign(k4) * z4) if np.isfinite(z4) else float(z4),
        split=bool(split), rule=rule, selection=sel_info, z_threshold=zt,
    )


# ----------------------------------------------------------------------------------------
# everything of THEORY §4 for one sample
# ----------------------------------------------------------------------------------------
@dataclass
class DmsEstimate:
    """Everything THEORY §4 measures for one sample; ``to_dict()`` is JSON-ready.

    Attributes
    ----------
    plug_in : MaxSlicedResult
    floor : FloorResult
    excess : float
        plug_in.value - floor.mean.
    resolved : bool
        plug_in.value > floor.quantile(confidence).
    certified : CertifiedBound or None
    cumulant : CumulantResult or None
    confidence : float
    """

    plug_in: MaxSlicedResult
    floor: FloorResult
    excess: float
    resolved: bool
    certified: CertifiedBound | None
    cumulant: CumulantResult | None
    confidence: float = 0.95
    n: int = 0
    d: int = 0
    p: int = 1

    @property
    def calibrated_upper_bound(self) -> float:
        """plug-in + ε_n, ε_n the ``confidence`` quantile of the floor (THEORY §4 (a)).

        Unlike :attr:`certified`, the sup over directions is taken to be the
        one the search finds; the floor that calibrates ε_n uses the same
        search, so both sides share its (small) gap.  Use it where the
        rigorous covering gap is too loose (d ≥ 4); ``certified`` otherwise.
        """
        return float(self.plug_in.value + self.floor.quantile(self.confidence))

    def statement(self) -> str:
        """A sentence saying what this estimate shows (and certifies when not resolved)."""
        c = self.confidence
        q = self.floor.quantile(c)
        w = f"W{self.p}"
        parts = []
        if self.resolved:
            parts.append(
                f"Resolved: the plug-in max-sliced {w} {self.plug_in.value:.4g} exceeds the {100 * c:.0f}% "
                f"quantile {q:.4g} of its Gaussian sampling floor (n = {self.n}); excess over the floor mean "
                f"{self.excess:.4g}."
            )
        else:
            parts.append(
                f"Not resolved: the plug-in max-sliced {w} {self.plug_in.value:.4g} does not exceed the "
                f"{100 * c:.0f}% quantile {q:.4g} of its Gaussian sampling floor (n = {self.n}), so this sample "
                f"cannot tell P from its Gaussian match by the plug-in."
            )
        if self.certified is not None:
            parts.append(
                f"It certifies d_MS(P, P^) <= {self.certified.value:.4g} (probability about {100 * c:.0f}% under "
                f"the Gaussian calibration of epsilon_n; rigorous search gap {self.certified.search_gap:.3g} included)"
                f" and, taking the searched sup as the sup, d_MS(P, P^) <= {self.calibrated_upper_bound:.4g} "
                f"(plug-in + epsilon_n)."
            )
        if self.cumulant is not None:
            cu = self.cumulant
            if cu.resolved:
                parts.append(
                    f"The held-out cumulants resolve non-Gaussianity: kappa3 = {cu.kappa3:.3g} +/- {cu.se_kappa3:.2g}, "
                    f"kappa4 = {cu.kappa4:.3g} +/- {cu.se_kappa4:.2g}, Edgeworth W1 {cu.edgeworth_w1:.3g} "
                    f"+/- {cu.edgeworth_se:.2g}."
                )
            else:
                zt = cu.z_threshold
                parts.append(
                    f"The held-out cumulants are consistent with zero (kappa3 = {cu.kappa3:.2g} +/- "
                    f"{cu.se_kappa3:.2g}, kappa4 = {cu.kappa4:.2g} +/- {cu.se_kappa4:.2g}; |kappa| <= {zt:g} SE): "
                    f"no non-Gaussianity is resolved in the chosen direction at this n."
                )
        return " ".join(parts)

    def to_dict(self) -> dict:
        return _plain({
            "plug_in": self.plug_in.to_dict(),
            "floor": self.floor.to_dict(),
            "excess": self.excess,
            "resolved": self.resolved,
            "confidence": self.confidence,
            "floor_quantile": self.floor.quantile(self.confidence),
            "certified": self.certified.to_dict() if self.certified is not None else None,
            "calibrated_upper_bound": self.calibrated_upper_bound,
            "cumulant": self.cumulant.to_dict() if self.cumulant is not None else None,
            "n": self.n, "d": self.d, "p": self.p,
            "statement": self.statement(),
        })


def estimate_dms(samples, mean, cov, *, p=1, seed=None, floor_replicates=20, confidence=0.95, certify=True,
                 cumulants=True, max_evaluations=None, **search) -> DmsEstimate:
    """Everything of THEORY §4 for one sample of the local fields.

    plug-in max-sliced W_p (:func:`max_sliced_w1`), its Gaussian floor
    (:func:`sampling_floor`, same search), ``excess = plug_in.value - floor.mean``,
    ``resolved = plug_in.value > floor.quantile(confidence)``, the certified upper bound
    (:func:`certified_upper_bound`, reusing the plug-in and the floor) and the held-out
    cumulant estimate (:func:`cumulant_estimate`, when n >= 8).

    Parameters
    ----------
    samples, mean, cov, p
        As in :func:`max_sliced_w1`.
    seed : int, SeedSequence or None
    floor_replicates : int
    confidence : float
    certify, cumulants : bool
        Skip the certified bound / the cumulant estimate when False.
    max_evaluations : int, optional
        Branch-and-bound budget of the certified bound.
    **search
        Search keywords of :func:`max_sliced_w1`.
    """
    p = _check_p(p)
    confidence = _check_level(confidence)
    floor_replicates = _check_int(floor_replicates, "floor_replicates", 1)
    prep = _prepare(samples, mean, cov)
    ss = _seedseq(seed)
    s_plug, s_floor, s_cert, s_cum = ss.spawn(4)
    plug = _max_sliced_prepared(prep, p, s_plug, _check_search(search))
    floor = sampling_floor(prep.n, prep.cov, p=p, replicates=floor_replicates, seed=s_floor, backend=prep.bk, **search)
    q = floor.quantile(confidence)
    cert = None
    if certify:
        cert = certified_upper_bound(prep.z, prep.mean, prep.cov, p=p, confidence=confidence, seed=s_cert,
                                     floor=floor, plug_in=plug, max_evaluations=max_evaluations, **search)
    cum = None
    if cumulants and prep.n >= 8:
        cum = cumulant_estimate(prep.z, prep.mean, prep.cov, seed=s_cum)
    return DmsEstimate(plug_in=plug, floor=floor, excess=plug.value - floor.mean, resolved=bool(plug.value > q),
                       certified=cert, cumulant=cum, confidence=confidence, n=prep.n, d=prep.d, p=p)
