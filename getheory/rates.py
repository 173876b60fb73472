"""Convergence-rate fits: log-log least squares with bootstrap intervals over seeds.

For each group of a sweep — (generator, student weights, K, M, δ) — the rate
of every d_MS estimator (docs/theory.md §4) and of every bound term (§5) is
fitted as a slope of log y against log N.

* **Least squares.** Every seed at every N is one point (log N, log y); the
  slope is the ordinary least-squares slope over all of them.
* **Bootstrap over seeds** [getheory]. The seeds are independent draws of
  (A, W, W̃, samples) at each N, so the resampling unit is the seed *within*
  each N (a stratified bootstrap): each replicate draws, for every N, r
  values with replacement from that N's r seeds and refits.  A plain
  bootstrap of r values has variance (r−1)/r times the unbiased one, which
  makes the intervals too short for the handful of seeds a sweep has; we
  resample the centred log-values inflated by √(r/(r−1)) around their N-mean
  (the "scaled residual" bootstrap), which removes that bias.  The interval
  is the percentile interval of the bootstrap slopes.  Its coverage is
  checked on synthetic data in tests/test_rates.py.
* **Resolved points only.** An estimator's fit uses the leading run of N
  (from the smallest) at which *every* seed resolves the signal (plug-in: the
  estimate exceeds the floor's 95 % quantile; cumulant: the held-out |κ3| or
  |κ4| z-score exceeds 3).  A resolved N beyond the first unresolved one is
  treated as chance (the floor quantile has a false-positive rate) and left
  out; every left-out N is listed in ``left_out`` with the reason.  The certified upper
  bound and the bound terms are fitted on every N.
* **Reference slopes.** The bound's nominal rate N^{-1/2} (§5); for odd σ
  the law of (λ, ν) is symmetric and d_MS ∼ |κ4| ∼ 1/N (§4 "Why"); for
  non-odd σ with student weights of non-zero third moment (|Gaussian|)
  κ3 ∼ N^{-1/2} (§4 (c)).
* **Ratio d_MS / bound** per task, with d_MS the plug-in value where it is
  resolved and the certified upper bound elsewhere, and the bound the sum of
  the §5 terms (the theorem's constant is unknown, so only the trend of the
  ratio matters: it must stay bounded as N grows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SlopeFit", "fit_loglog", "GroupRates", "fit_rates", "ESTIMATORS", "BOUND_TERMS", "expected_slope"]

#: d_MS estimators fitted per group: name -> (value getter, resolved getter, description)
ESTIMATORS = {
    "plug_in": "plug-in max-sliced W1 (resolved points: plug-in above the floor's 95 % quantile)",
    "excess": "plug-in minus floor mean (resolved plug-in points)",
    "edgeworth": "cumulant/Edgeworth W1 (resolved points: held-out κ3 or κ4 z-score > 3)",
    "certified": "certified upper bound (every point; an upper bound, not an estimate)",
}
#: bound terms of docs/theory.md §5
BOUND_TERMS = ("M1_term", "M2_term", "teacher_term", "n_term", "total")


@dataclass
class SlopeFit:
    """Least-squares slope of log y against log N with a bootstrap interval.

    Attributes
    ----------
    slope, intercept : float
        log y ≈ intercept + slope · log N (natural logs).
    ci_low, ci_high : float
        Percentile bootstrap interval of the slope at ``level``.
    se : float
        Standard deviation of the bootstrap slopes.
    N_used : list of int
        The N values that entered the fit; ``n_points`` counts (N, seed) points.
    left_out : list of dict
        ``{"N": ..., "reason": ...}`` for every N that did not.
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    se: float
    level: float
    n_boot: int
    N_used: list
    n_points: int
    left_out: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("slope", "intercept", "ci_low", "ci_high", "se", "level", "n_boot",
                                              "N_used", "n_points", "left_out")}

    def predict(self, N):
        return np.exp(self.intercept + self.slope * np.log(np.asarray(N, dtype=float)))

    def contains(self, value: float) -> bool:
        tol = 1e-9 * max(1.0, abs(value))
        return self.ci_low - tol <= value <= self.ci_high + tol


def _ols(x, y):
    xm = x.mean()
    sxx = np.sum((x - xm) ** 2)
    b = np.sum((x - xm) * (y - y.mean())) / sxx
    return b, y.mean() - b * xm


def fit_loglog(N, y, *, level: float = 0.95, n_boot: int = 2000, seed=0, left_out=None) -> SlopeFit | None:
    """Fit log y = a + b log N by least squares; bootstrap the seeds within each N.

    Parameters
    ----------
    N : array of int
        Input dimension of each point (repeated once per seed).
    y : array of float
        Positive values (one per seed and N).
    level : float
        Coverage of the interval.
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed of the bootstrap.
    left_out : list, optional
        Carried into the result (N values already excluded upstream).

    Returns None when fewer than two distinct N remain.
    """
    N = np.asarray(N, dtype=float)
    y = np.asarray(y, dtype=float)
    if N.shape != y.shape:
        raise ValueError(f"N and y must have the same shape, got {N.shape} and {y.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    left = list(left_out or [])
    ok = np.isfinite(y) & (y > 0) & np.isfinite(N) & (N > 0)
    for n_bad in sorted(set(N[~ok].tolist())):
        left.append({"N": int(n_bad), "reason": "non-positive or missing value"})
    keep_N = set(N[ok].tolist()) - {d["N"] for d in left}
    sel = ok & np.isin(N, list(keep_N))
    x, ly = np.log(N[sel]), np.log(y[sel])
    uniq = np.unique(x)
    if uniq.size < 2:
        return None
    b, a = _ols(x, ly)
    # stratified, scaled-residual bootstrap over seeds within each N
    strata = [np.flatnonzero(x == u) for u in uniq]
    rng = np.random.default_rng(seed)
    infl = np.empty_like(ly)
    for idx in strata:
        r = idx.size
        m = ly[idx].mean()
        infl[idx] = m + (ly[idx] - m) * (math.sqrt(r / (r - 1)) if r > 1 else 0.0)
    yb = np.empty((n_boot, ly.size))
    for idx in strata:
        pick = rng.integers(0, idx.size, size=(n_boot, idx.size))
        yb[:, idx] = infl[idx][pick]
    xc = x - x.mean()
    slopes = (yb - yb.mean(axis=1, keepdims=True)) @ xc / np.sum(xc**2)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(slopes, [alpha, 1 - alpha])
    return SlopeFit(slope=float(b), intercept=float(a), ci_low=float(lo), ci_high=float(hi),
                    se=float(slopes.std(ddof=1)), level=level, n_boot=n_boot,
                    N_used=sorted(int(round(math.exp(u))) for u in uniq), n_points=int(sel.sum()),
                    left_out=sorted(left, key=lambda d: d["N"]))


def expected_slope(odd: bool | None, weights: str) -> tuple:
    """(slope, reason) THEORY expects for d_MS, or (None, reason) where it states none."""
    if odd:
        return -1.0, "odd σ: (λ, ν) symmetric, odd cumulants vanish, d_MS ∼ |κ4| ∼ 1/N (docs/theory.md §4)"
    if odd is False and weights == "abs_gaussian":
        return -0.5, "non-odd σ, student weights with E w³ ≠ 0: κ3 ∼ N^{-1/2} (docs/theory.md §4 (c))"
    return None, "no rate stated in docs/theory.md for this case"


@dataclass
class GroupRates:
    """Every fit of one (generator, weights, K, M, δ) group."""

    key: dict
    odd: bool | None
    table: list
    fits: dict
    bound_fits: dict
    ratio_fit: SlopeFit | None
    ratio_fit_resolved: SlopeFit | None
    ratio_max: float | None
    expected: dict
    verdicts: dict

    def to_dict(self) -> dict:
        return {
            "key": self.key, "odd_activation": self.odd, "table": self.table,
            "fits": {k: (v.to_dict() if v else None) for k, v in self.fits.items()},
            "bound_fits": {k: (v.to_dict() if v else None) for k, v in self.bound_fits.items()},
            "ratio_fit": self.ratio_fit.to_dict() if self.ratio_fit else None,
            "ratio_fit_resolved": self.ratio_fit_resolved.to_dict() if self.ratio_fit_resolved else None,
            "ratio_max": self.ratio_max, "expected": self.expected, "verdicts": self.verdicts,
        }

    @property
    def label(self) -> str:
        k = self.key
        size = f"δ={k['delta']:g}" if k.get("delta") is not None else f"D={k['D']}"
        return f"{k['generator']}, {k['weights']} weights, {size}, K={k['K']}, M={k['M']}"


def _value(rec, name):
    d = rec["d_MS"]
    if name == "plug_in":
        return d["plug_in"]["value"], bool(d.get("resolved"))
    if name == "excess":
        return d.get("excess"), bool(d.get("resolved"))
    if name == "edgeworth":
        cu = d.get("cumulant") or {}
        return cu.get("edgeworth_w1"), bool(cu.get("resolved"))
    if name == "certified":
        return (d.get("certified") or {}).get("value"), True
    raise KeyError(name)


def _bound(rec, name):
    b = rec.get("bound_terms")
    if not b:
        return None
    return b.get("total") if name == "total" else b.get(name)


def _dms_for_ratio(rec):
    """The plug-in d_MS where resolved, else the certified upper bound (and which)."""
    v, res = _value(rec, "plug_in")
    if res:
        return v, "plug_in"
    return _value(rec, "certified")[0], "certified"


def _group_key(rec):
    t = rec["task"]
    return (t["generator"]["name"], t["weights"], t["K"], t["M"], round(float(t["delta"]), 12))


def fit_rates(records: list, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
              fixed_D: bool = False) -> list:
    """Fit every rate of every group of a sweep's task records (:func:`getheory.sweep.run_task` output).

    Groups are (generator, student weights, K, M, δ); with ``fixed_D`` (a
    product grid over N and D) the group holds D fixed instead of δ.
    """
    groups = defaultdict(list)
    for rec in records:
        t = rec["task"]
        key = (t["generator"]["name"], t["weights"], t["K"], t["M"], t["D"] if fixed_D else round(float(t["delta"]), 12))
        groups[key].append(rec)
    out = []
    for gi, (key, recs) in enumerate(sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))):
        gname, w, K, M, size = key
        keyd = {"generator": gname, "weights": w, "K": K, "M": M}
        keyd.update({"D": size, "delta": None} if fixed_D else {"delta": size})
        byN = defaultdict(list)
        for r in recs:
            byN[r["task"]["N"]].append(r)
        Ns = sorted(byN)
        odd = recs[0].get("odd_activation")
        # per-N table
        table = []
        for N in Ns:
            rs = byN[N]
            row = {"N": N, "D": rs[0]["task"]["D"], "seeds": len(rs), "samples": sorted({r["samples"] for r in rs})}
            for name in ESTIMATORS:
                vals = [_value(r, name) for r in rs]
                xs = [v for v, _ in vals if v is not None]
                row[name] = float(np.mean(xs)) if xs else None
                row[name + "_resolved"] = sum(bool(res) for _, res in vals)
            row["floor_mean"] = float(np.mean([r["d_MS"]["floor"]["mean"] for r in rs]))
            k3 = [abs(r["d_MS"]["cumulant"]["kappa3"]) for r in rs if r["d_MS"].get("cumulant")]
            k4 = [abs(r["d_MS"]["cumulant"]["kappa4"]) for r in rs if r["d_MS"].get("cumulant")]
            row["abs_kappa3"] = float(np.mean(k3)) if k3 else None
            row["abs_kappa4"] = float(np.mean(k4)) if k4 else None
            for b in BOUND_TERMS:
                vals = [_bound(r, b) for r in rs]
                row[b] = float(np.mean(vals)) if all(v is not None for v in vals) else None
            ratios = []
            for r in rs:
                d, _ = _dms_for_ratio(r)
                bt = _bound(r, "total")
                if d is not None and bt:
                    ratios.append(d / bt)
            row["ratio"] = float(np.mean(ratios)) if ratios else None
            row["ratio_max"] = float(np.max(ratios)) if ratios else None
            row["ratio_uses"] = sorted({_dms_for_ratio(r)[1] for r in rs})
            mom = [r.get("moment_errors") or {} for r in rs]
            errs = [m.get("max_abs_err_Q") for m in mom if m.get("max_abs_err_Q") is not None]
            errs_r = [m.get("max_abs_err_R") for m in mom if m.get("max_abs_err_R") is not None]
            row["moment_err_Q"] = float(np.max(errs)) if errs else None
            row["moment_err_R"] = float(np.max(errs_r)) if errs_r else None
            row["seconds"] = float(np.mean([r["timings_s"]["total"] for r in rs]))
            table.append(row)
        fits = {}
        for ei, name in enumerate(ESTIMATORS):
            Nv, yv, left = [], [], []
            gap = None
            for N in Ns:
                vals = [_value(r, name) for r in byN[N]]
                if not all(res for _, res in vals):
                    k = sum(bool(res) for _, res in vals)
                    left.append({"N": N, "reason": f"unresolved ({k} of {len(vals)} seeds resolved)"})
                    gap = N if gap is None else gap
                    continue
                if gap is not None:
                    left.append({"N": N, "reason": f"resolved, but beyond the first unresolved N = {gap} "
                                                   "(an isolated resolved point is treated as chance)"})
                    continue
                for v, _ in vals:
                    Nv.append(N)
                    yv.append(np.nan if v is None else v)
            fits[name] = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + ei, left_out=left)
        bfits = {}
        for bi, b in enumerate(BOUND_TERMS):
            Nv = [r["task"]["N"] for r in recs]
            yv = [_bound(r, b) for r in recs]
            yv = [np.nan if v is None else v for v in yv]
            if not any(np.isfinite(v) and v > 0 for v in yv):
                bfits[b] = None  # e.g. M1 ≡ 0 for odd σ, M2 ≡ 0 for relu
                continue
            bfits[b] = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 100 + bi)
        Nv, yv = [], []
        for r in recs:
            d, _ = _dms_for_ratio(r)
            bt = _bound(r, "total")
            if d is not None and bt:
                Nv.append(r["task"]["N"])
                yv.append(d / bt)
        rfit = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 200) if yv else None
        Nr, yr = [], []
        for N in Ns:  # the leading run of plug-in-resolved N, as for the fits
            if not all(_value(r, "plug_in")[1] for r in byN[N]):
                break
            if True:
                for r in byN[N]:
                    bt = _bound(r, "total")
                    if bt:
                        Nr.append(N)
                        yr.append(_value(r, "plug_in")[0] / bt)
        rfit_res = fit_loglog(Nr, yr, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 300) if yr else None
        if rfit_res is not None and len(rfit_res.N_used) < 3:
            rfit_res = None  # two N cannot show a trend worth a verdict
        rmax = float(max(yv)) if yv else None
        exp_slope, exp_reason = expected_slope(odd, w)
        expected = {"d_MS": exp_slope, "d_MS_reason": exp_reason, "bound": -0.5,
                    "bound_reason": "the bound decreases like N^{-1/2} (teacher term and the bare N^{-1/2}; docs/theory.md §5)"}
        verdicts = _verdicts(fits, bfits, rfit, exp_slope, rfit_res)
        out.append(GroupRates(key=keyd, odd=odd, table=table, fits=fits, bound_fits=bfits, ratio_fit=rfit, ratio_fit_resolved=rfit_res,
                              ratio_max=rmax, expected=expected, verdicts=verdicts))
    return out


def primary_estimator(fits: dict):
    """The d_MS estimator whose fit rests on the most N: Edgeworth, then plug-in, then excess."""
    best = None
    for name in ("edgeworth", "plug_in", "excess"):
        f = fits.get(name)
        if f is not None and len(f.N_used) >= 3 and (best is None or len(f.N_used) > len(fits[best].N_used)):
            best = name
    return best


def _verdicts(fits, bfits, rfit, exp_slope, rfit_res=None) -> dict:
    v = {}
    prim = primary_estimator(fits)
    v["primary_estimator"] = prim
    if prim is None:
        v["rate"] = "not enough resolved points (fewer than 3 N resolved by any estimator)"
    else:
        f = fits[prim]
        txt = f"{prim} slope {f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}] over N = {f.N_used[0]}..{f.N_used[-1]}"
        if exp_slope is not None:
            txt += ("; consistent with " if f.contains(exp_slope) else "; differs from ") + f"the expected {exp_slope:g}"
        v["rate"] = txt
        tb = bfits.get("total")
        if tb is not None:
            v["faster_than_bound"] = bool(f.ci_high < tb.slope)
    if rfit is not None:
        # bounded: the ratio does not grow with N (upper end of the slope interval <= 0.05)
        grows = rfit.ci_high > 0.05
        v["ratio_bounded"] = not grows
        txt = f"d_MS/bound slope {rfit.slope:.3f} [{rfit.ci_low:.3f}, {rfit.ci_high:.3f}]"
        if not grows:
            txt += ": stays bounded (does not grow with N)"
        elif rfit_res is None or rfit_res.ci_high <= 0.05:
            v["ratio_bounded"] = None
            txt += (": rises only through certified upper bounds, which sit at their sample-size floor "
                    "(limited by n, not by N): inconclusive there"
                    + ("" if rfit_res is None else
                       f"; over plug-in-resolved points the slope is {rfit_res.slope:.3f} "
                       f"[{rfit_res.ci_low:.3f}, {rfit_res.ci_high:.3f}]"))
        else:
            txt += ": GROWS with N over resolved points: the bound is in doubt"
        v["ratio"] = txt
    return v
