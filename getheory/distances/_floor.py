"""The finite-sample floor: the plug-in estimator on exact Gaussian samples (THEORY §4 step 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._json import to_plain as _plain
from ..backend import get_backend
from .._validation import check_cov, check_int, check_level, check_p, seedseq
from ._inputs import _Prepared
from ._search import _check_search, _max_sliced_prepared



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
        level = check_level(level, "level")
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
    p = check_p(p)
    n = check_int(n, "n", 2)
    replicates = check_int(replicates, "replicates", 1)
    _check_search(search)
    C0 = np.asarray(cov, dtype=np.float64)
    d = 1 if C0.ndim == 0 else int(C0.shape[0])
    C, w, V, clipped = check_cov(C0, d)
    bk = get_backend(backend)
    xp = bk.xp
    A = bk.asarray(V * np.sqrt(w), dtype=xp.float64)  # Σ = A Aᵀ
    ss = seedseq(seed)
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

