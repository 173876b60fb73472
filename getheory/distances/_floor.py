"""The finite-sample floor: the plug-in estimator on exact Gaussian samples (docs/theory.md §4 step 3, §4.1).

Even when P = P̂ the plug-in max-sliced W_p is positive, about (√d + log² n)/√n.  The floor
is the law of the *same* estimator (same n, Σ and search) on exact Gaussian samples, and it
calibrates the plug-in as a Monte Carlo rank test: with R replicates, the plug-in is
"resolved" at level α when it exceeds the k-th largest replicate, k = ⌊α (R + 1)⌋.  Under
the null the plug-in and the replicates are exchangeable, so the level is exactly k/(R+1)
(α = 0.05 with the default R = 19 and k = 1) whatever search is used; a cheaper search only
costs power.

When the match P̂ is itself a Monte Carlo estimate (deep and user generators), a replicate
also re-estimates its match from an independent Gaussian moment sample of the same size and
grouping (:class:`MomentNoise`), so the floor includes the error of the estimated covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._cluster import thread_pool
from .._json import to_plain as _plain
from .._seeds import seedseq
from .._validation import check_cov, check_int, check_level, check_p
from ..backend import get_backend
from ._inputs import _Prepared
from ._search import SearchOptions, _as_search, _max_sliced_prepared

__all__ = ["SMALL_RESERVOIR", "FloorResult", "MomentNoise", "floor_scale", "plugin_reservoir", "sampling_floor"]

#: rows of the small reservoir kept when the plug-in cannot be chosen within the cap: its rank test
#: stays as evidence at a twentieth of the cost of 10^6 rows (docs/theory.md §4.1, The reservoir)
SMALL_RESERVOIR = 1 << 16


@dataclass(frozen=True)
class MomentNoise:
    """How a Monte Carlo Gaussian match was estimated (getheory.moments.monte_carlo_moments).

    ``n_samples`` rows in ``n_groups`` equal groups; the first ``K`` fields are the student
    fields λ, whose mean m_λ, covariance Q and cross-covariance R (averages of within-group
    covariances, divisor n_g − 1) were estimated; the teacher block T and the teacher
    mean 0 are exact.
    """

    n_samples: int
    n_groups: int
    K: int

    def __post_init__(self):
        check_int(self.n_groups, "n_groups", 1)
        check_int(self.n_samples, "n_samples", 2 * self.n_groups)
        check_int(self.K, "K", 1)


def _wishart_identity(rng, df, d):
    """W(df, I_d) by Bartlett's decomposition (O(d²) numbers whatever df)."""
    B = np.tril(rng.standard_normal((d, d)), -1)
    B[np.diag_indices(d)] = np.sqrt(rng.chisquare(df - np.arange(d)))
    return B @ B.T


def _mc_match(rng, mean, L, C, noise: MomentNoise):
    """One draw of the Monte Carlo match (m̃, Σ̃) from a Gaussian moment sample, exact in law.

    Group g of n_g rows of N(μ, Σ): its mean z̄_g ~ N(μ, Σ/n_g) and its scatter
    A_g ~ W(n_g − 1, Σ) are independent; the estimator uses m_λ = avg z̄_g[λ],
    Q = avg A_g[λλ]/(n_g − 1), R = avg A_g[λν]/(n_g − 1) (docs/theory.md §2).
    """
    d, K, G = mean.shape[0], noise.K, noise.n_groups
    if K > d:
        raise ValueError(f"MomentNoise.K = {K} exceeds the number of fields d = {d}")
    if noise.n_samples // G - 1 < d:
        raise ValueError(
            f"Monte Carlo groups of {noise.n_samples // G} rows are too small to re-estimate a {d} x {d} covariance; "
            f"use at least {(d + 1) * G} moment samples for {G} groups")
    sizes = [noise.n_samples // G + (1 if g < noise.n_samples % G else 0) for g in range(G)]  # as monte_carlo_moments
    mbar, Q, R = np.zeros(K), np.zeros((K, K)), np.zeros((K, d - K))
    for ng in sizes:
        zb = mean + L @ rng.standard_normal(d) / math.sqrt(ng)
        A = L @ _wishart_identity(rng, ng - 1, d) @ L.T
        mbar += zb[:K] / G
        Q += A[:K, :K] / (ng - 1) / G
        R += A[:K, K:] / (ng - 1) / G
    Ct = C.copy()
    Ct[:K, :K], Ct[:K, K:], Ct[K:, :K] = Q, R, R.T
    mt = mean.copy()
    mt[:K] = mbar
    return mt, 0.5 * (Ct + Ct.T)


def _gaussian_rows(bk, ss, n, d):
    """n × d standard normals on the backend; with ``host_normals`` filled by independently
    seeded SFC64 streams in the sampler's thread pool (NumPy releases the GIL while filling)."""
    if not bk.host_normals:
        return bk.xp.astype(bk.rng(ss).standard_normal((n, d)), bk.xp.float64)
    dev = bk.empty((n, d), "float64")
    out = bk.host_view(dev)
    k = 8 if n >= 8 * 4096 else 1
    edges = np.cumsum([0] + [n // k + (1 if i < n % k else 0) for i in range(k)])  # np.array_split's blocks
    seeds = ss.spawn(k)

    def fill(i):
        np.random.Generator(np.random.SFC64(seeds[i])).standard_normal(out=out[edges[i]:edges[i + 1]])

    list(thread_pool().map(fill, range(k)))
    return dev


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
    level : float
        Nominal level of the rank test (:meth:`threshold`).
    moment_noise : bool
        Whether the replicates re-estimated a Monte Carlo match.
    search : dict
        The search every replicate (and the plug-in it calibrates) ran.
    """

    mean: float
    q95: float
    values: np.ndarray
    replicates: int
    n: int = 0
    p: int = 1
    level: float = 0.05
    moment_noise: bool = False
    search: dict | None = None

    def quantile(self, level: float) -> float:
        """Empirical quantile of the replicate values (linear interpolation)."""
        level = check_level(level, "level")
        return float(np.quantile(self.values, level))

    @property
    def rank(self) -> int:
        """k of the rank test: the plug-in must exceed the k-th largest replicate."""
        return max(1, int(math.floor(self.level * (self.replicates + 1) + 1e-9)))

    @property
    def threshold(self) -> float:
        """The k-th largest replicate value: "resolved" iff the plug-in exceeds it."""
        return float(np.sort(self.values)[-self.rank])

    @property
    def exact_level(self) -> float:
        """k/(R + 1): the rank test's false-positive rate under the null, exactly."""
        return self.rank / (self.replicates + 1)

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.replicates > 1 else 0.0

    def to_dict(self) -> dict:
        return _plain({"mean": self.mean, "q95": self.q95, "sd": self.sd, "replicates": self.replicates,
                       "n": self.n, "p": self.p, "level": self.level, "rank": self.rank,
                       "threshold": self.threshold, "exact_level": self.exact_level,
                       "moment_noise": self.moment_noise, "search": self.search, "values": self.values})


def sampling_floor(n, cov, *, p=1, replicates=19, level=0.05, seed=None, backend=None, mean=None,
                   search: SearchOptions | None = None, moment_noise: MomentNoise | None = None) -> FloorResult:
    """The plug-in estimator applied to exact Gaussian samples of the same n and Σ.

    THEORY §4 step 3.  Each replicate draws n samples of N(m, Σ) (one at a time: memory
    O(n d)) and runs :func:`max_sliced_w1` with ``search``; with ``moment_noise`` it first
    re-estimates its match (m̃, Σ̃) from an independent Gaussian moment sample of the same
    size and grouping, and compares its sample with N(m̃, Σ̃).

    Parameters
    ----------
    n : int
        Sample size (>= 2).
    cov : array, shape (d, d)
    p : {1, 2}
    replicates : int
        R (default 19: with ``level`` 0.05 the rank test rejects above the largest).
    level : float
        Nominal level of the rank test; needs R >= 1/level − 1.
    seed : int, SeedSequence or None
    backend : str or Backend, optional
        Where the replicates are drawn and processed (default NumPy).
    mean : array, shape (d,), optional
        Needed only with ``moment_noise`` (the plug-in is translation invariant otherwise).
    search : SearchOptions
        The plug-in's search (must be the one the calibrated plug-in used).
    moment_noise : MomentNoise, optional

    Returns
    -------
    FloorResult
    """
    p = check_p(p)
    n = check_int(n, "n", 2)
    replicates = check_int(replicates, "replicates", 1)
    level = check_level(level, "level")
    if level * (replicates + 1) < 1 - 1e-9:
        raise ValueError(
            f"a rank test at level {level:g} needs at least {math.ceil(1 / level - 1)} floor replicates; got "
            f"{replicates}. Raise replicates or the level")
    search = _as_search(search)
    C0 = np.asarray(cov, dtype=np.float64)
    d = 1 if C0.ndim == 0 else int(C0.shape[0])
    C, w, V, clipped = check_cov(C0, d)
    m = np.zeros(d) if mean is None else np.asarray(mean, dtype=np.float64).reshape(d)
    L = V * np.sqrt(w)  # Σ = L Lᵀ
    bk = get_backend(backend)
    xp = bk.xp
    A = bk.asarray(L, dtype=xp.float64)
    ss = seedseq(seed)
    vals = np.empty(replicates)
    for r, child in enumerate(ss.spawn(replicates)):
        s_draw, s_est, s_mom = child.spawn(3)
        z = xp.matmul(_gaussian_rows(bk, s_draw, n, d), A.T)  # centred at the true mean m
        if moment_noise is None:
            prep = _Prepared(bk, z, n, d, np.zeros(d), C, w, V, clipped)
            zc = z
        else:
            mt, Ct = _mc_match(np.random.default_rng(s_mom), m, L, C, moment_noise)
            Ct, wt, Vt, ct = check_cov(Ct, d, "replicate covariance")
            prep = _Prepared(bk, z, n, d, mt - m, Ct, wt, Vt, ct)
            zc = z - bk.asarray(mt - m, dtype=xp.float64)
        vals[r] = _max_sliced_prepared(prep, p, s_est, search, zc=zc).value
        del z, zc
    return FloorResult(mean=float(np.mean(vals)), q95=float(np.quantile(vals, 0.95)), values=vals,
                       replicates=replicates, n=n, p=p, level=level, moment_noise=moment_noise is not None,
                       search=search.to_dict())


def floor_scale(cov, *, p=1, search: SearchOptions | None = None, n: int = 1 << 14, replicates: int = 4, seed=None,
                backend=None) -> float:
    """c = (floor mean)·√n, measured on a few replicates of n rows (docs/theory.md §4.1, The reservoir).

    The plug-in on n exact Gaussian rows is about the W_p of one empirical projection, whose
    mean falls like c/√n (the guided search picks its direction on a subsample and evaluates
    it on all rows), so c measured at a small n predicts the floor at any reservoir size,
    floor(n_res) ≈ c/√n_res.  At n <= the search's subsample the direction is chosen on the
    same rows, which makes c slightly larger than at large n: the prediction errs on the
    side of a larger reservoir.  Costs ``replicates`` searches on n rows (a few hundredths
    of a second on a CPU at the defaults).
    """
    fl = sampling_floor(n, cov, p=p, replicates=replicates, level=1.0 / (replicates + 1), seed=seed,
                        backend=backend, search=search)
    return fl.mean * math.sqrt(n)


def plugin_reservoir(edgeworth: float, edgeworth_se: float, scale: float, *, cap: int, ratio: float = 3.0,
                     small: int = SMALL_RESERVOIR) -> int:
    """Rows of the plug-in's reservoir: enough for the plug-in to be chosen when it can be, few otherwise.

    docs/theory.md §4.1, The reservoir.  The plug-in is reported when it is resolved and at
    least ``ratio`` times its floor mean, about c/√n_res (``scale`` = c, :func:`floor_scale`).
    With E_lo = ``edgeworth`` − 2·``edgeworth_se`` (a lower bound of d_MS from an independent
    pilot), the plug-in can be chosen once c/√n_res <= E_lo/ratio, i.e. from
    n_edge = (ratio·c/E_lo)² rows.  When n_edge <= ``cap`` the reservoir is
    n_safe = 4·n_edge (the floor at half that limit), at least ``small`` and at most ``cap``;
    otherwise (or when E_lo <= 0) the plug-in cannot be chosen and the reservoir is
    min(``small``, ``cap``) rows, which keep its rank test as evidence.
    """
    cap = check_int(cap, "cap", 0)
    e_lo = float(edgeworth) - 2.0 * float(edgeworth_se)
    if not (e_lo > 0 and math.isfinite(e_lo) and scale > 0 and math.isfinite(scale)):
        return min(small, cap)
    n_edge = (ratio * scale / e_lo) ** 2
    if n_edge > cap:
        return min(small, cap)
    return int(min(cap, max(small, math.ceil(4.0 * n_edge))))
