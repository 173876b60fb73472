"""Exact one-dimensional W_p between an empirical law and a normal law, or two empirical laws
(THEORY §4 step 1).
"""

from __future__ import annotations

import math


from ..backend import Backend, backend_of
from .._validation import check_p


_SQRT_2PI = math.sqrt(2.0 * math.pi)
#: Float64 elements in one (directions x samples) block of projections: cache-sized on the
#: CPU (the elementwise passes then run from cache), large on a GPU (fewer, bigger kernels).
#: (the backend's ``block_elems``).


def _block_rows(bk, n: int) -> int:
    return max(1, bk.block_elems // max(int(n), 1))


# ----------------------------------------------------------------------------------------
# small helpers

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
    key = (id(bk), int(n))
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
    if bk.sparse_gathers:
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
    p = check_p(p)
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
    p = check_p(p)
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


# ----------------------------------------------------------------------------------------
# 1-D two-sample W_p
# ----------------------------------------------------------------------------------------
def _wp_two_rows(bk, xs, ys, p):
    """W_p between row r of xs (m, n1) and row r of ys (m, n2), rows sorted ascending.

    The quantile integral is POT's ``ot.wasserstein_1d`` (which returns W_p^p, works along
    axis 0 and runs on NumPy and CuPy alike); we only take the p-th root.
    """
    from ot import wasserstein_1d  # POT loads every array library it finds (torch, jax, ...): only when used

    xp = bk.xp
    cost = wasserstein_1d(xp.moveaxis(xs, 1, 0), xp.moveaxis(ys, 1, 0), p=p, require_sort=False)
    cost = xp.clip(xp.asarray(cost), min=0.0)
    return cost if p == 1 else xp.sqrt(cost)


def wp_two_sample_sorted(xs, ys, *, p=1, axis=0):
    """Exact W_p between two empirical laws, column by column.

    .. math::

        W_p^p = \\int_0^1 |F^{-1}(q) - G^{-1}(q)|^p\\,dq ,

    with equal sizes reducing to mean(|x_(j) - y_(j)|^p); unequal sizes integrate over the
    merged grid of breakpoints {i/n1} ∪ {j/n2}.  Computed by POT's ``ot.wasserstein_1d``.
    ``xs`` (n1, m) and ``ys`` (n2, m) must be sorted ascending along ``axis``.
    """
    p = check_p(p)
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


