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
* **The reported d_MS.** Each task's record holds one value of d_MS with
  its standard error and the estimator that chose it (``d_MS.value``,
  ``d_MS.se``, ``d_MS.estimator`` = "plug-in" or "edgeworth", by the rule in
  ``d_MS.choice_rule``; :func:`reported_dms`).  Its fit (``fits["reported"]``)
  is the group's d_MS rate.  Records written before that choice existed
  ("legacy": plug-in and cumulants, no choice recorded) have no reported value;
  for them the previous logic applies unchanged: the rate is the fit of the
  estimator (Edgeworth, plug-in, excess) resting on the most N.
* **Resolved points only.** An estimator's fit uses the leading run of N
  (from the smallest) at which *every* seed resolves the signal (plug-in: the
  estimate exceeds its floor's rank-test threshold; cumulant: the held-out
  cumulant test; reported d_MS: the test of the estimator that was chosen).
  A resolved N beyond the first unresolved one is
  treated as chance (the floor quantile has a false-positive rate) and left
  out; every left-out N is listed in ``left_out`` with the reason.  The certified upper
  bound (present only where it was computed) and the bound terms are fitted on every N.
* **Reference slopes.** The bound's nominal rate N^{-1/2} (§5); for odd σ
  the law of (λ, ν) is symmetric and d_MS ∼ |κ4| ∼ 1/N (§4 "Why"); for
  non-odd σ with student weights of non-zero third moment (|Gaussian|)
  κ3 ∼ N^{-1/2} (§4 (c)).
* **Ratio d_MS / bound** per task, with d_MS the reported value (legacy
  records: the plug-in value where it is resolved and the certified upper
  bound elsewhere), and the bound the sum of the §5 terms (the theorem's
  constant is unknown, so only the trend of the ratio matters: it must stay
  bounded as N grows).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .sweep import BOUND_TERMS, ESTIMATORS, LEGACY, TaskRecord

__all__ = ["SlopeFit", "fit_loglog", "GroupRates", "fit_rates", "ESTIMATORS", "BOUND_TERMS", "expected_slope",
           "LEGACY", "is_legacy", "reported_dms", "estimator_value", "bound_value", "dms_for_ratio",
           "estimator_label", "group_records", "primary_estimator"]

# the d_MS series fitted per group, the legacy label and the bound terms are the task record's


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
    """Every fit of one (generator, weights, K, M, δ) group.

    ``estimators`` says which d_MS estimator the group's rows used: ``counts`` (rows per
    estimator label, :func:`estimator_label`), ``choice_rules`` (the distinct recorded
    rules) and ``legacy`` (rows without a recorded choice).
    """

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
    estimators: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "key": self.key, "odd_activation": self.odd, "table": self.table,
            "fits": {k: (v.to_dict() if v else None) for k, v in self.fits.items()},
            "bound_fits": {k: (v.to_dict() if v else None) for k, v in self.bound_fits.items()},
            "ratio_fit": self.ratio_fit.to_dict() if self.ratio_fit else None,
            "ratio_fit_resolved": self.ratio_fit_resolved.to_dict() if self.ratio_fit_resolved else None,
            "ratio_max": self.ratio_max, "expected": self.expected, "verdicts": self.verdicts,
            "estimators": self.estimators,
        }

    @property
    def label(self) -> str:
        k = self.key
        size = f"δ={k['delta']:g}" if k.get("delta") is not None else f"D={k['D']}"
        return f"{k['generator']}, {k['weights']} weights, {size}, K={k['K']}, M={k['M']}"


def is_legacy(rec) -> bool:
    """Whether a record predates the recorded d_MS choice (:attr:`TaskRecord.legacy`)."""
    return TaskRecord.from_dict(rec).legacy


def reported_dms(rec) -> dict:
    """The d_MS a task reported, with its evidence (:meth:`TaskRecord.reported_dms`)."""
    return TaskRecord.from_dict(rec).reported_dms()


def estimator_label(rec) -> str:
    """"plug-in", "edgeworth", "analytic", "none", or :data:`LEGACY`: the estimator a record's d_MS used."""
    return TaskRecord.from_dict(rec).reported_dms()["estimator"]


def estimator_value(rec, name):
    """(value, resolved) of one d_MS series of :data:`ESTIMATORS` (:meth:`TaskRecord.estimator_value`)."""
    return TaskRecord.from_dict(rec).estimator_value(name)


def bound_value(rec, name):
    """One bound term of a record (``"total"``: their sum), or None (:meth:`TaskRecord.bound`)."""
    return TaskRecord.from_dict(rec).bound(name)


def dms_for_ratio(rec):
    """(d_MS, kind, resolved) for the ratio to the bound (:meth:`TaskRecord.dms_for_ratio`)."""
    return TaskRecord.from_dict(rec).dms_for_ratio()


def group_records(records, group: GroupRates) -> list:
    """The :class:`TaskRecord` s of one fitted group, grouped exactly as :func:`fit_rates` groups them."""
    fixed_D = group.key.get("delta") is None
    want = (group.key["generator"], group.key["weights"], group.key["K"], group.key["M"],
            group.key["D"] if fixed_D else round(float(group.key["delta"]), 12))
    return [r for r in map(TaskRecord.from_dict, records) if r.group_key(fixed_D=fixed_D) == want]


def _count(labels) -> dict:
    out = {}
    for lab in labels:
        out[lab] = out.get(lab, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def fit_rates(records: list, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
              fixed_D: bool = False) -> list:
    """Fit every rate of every group of a sweep's task records (:func:`getheory.sweep.run_task` output).

    Groups are (generator, student weights, K, M, δ); with ``fixed_D`` (a
    product grid over N and D) the group holds D fixed instead of δ.  Records of
    every version are accepted: legacy records (no ``d_MS.estimator``) keep the
    previous logic, newer ones contribute their reported d_MS (see the module docstring).
    """
    groups = defaultdict(list)
    for rec in map(TaskRecord.from_dict, records):
        groups[rec.group_key(fixed_D=fixed_D)].append(rec)
    out = []
    for gi, (key, recs) in enumerate(sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))):
        gname, w, K, M, size = key
        keyd = {"generator": gname, "weights": w, "K": K, "M": M}
        keyd.update({"D": size, "delta": None} if fixed_D else {"delta": size})
        byN = defaultdict(list)
        for r in recs:
            byN[r.N].append(r)
        Ns = sorted(byN)
        odd = recs[0].odd_activation
        n_legacy = sum(r.legacy for r in recs)
        all_legacy = n_legacy == len(recs)
        # per-N table
        table = []
        for N in Ns:
            rs = byN[N]
            row = {"N": N, "D": rs[0].D, "seeds": len(rs), "samples": sorted({r.samples for r in rs})}
            for name in ESTIMATORS:
                vals = [r.estimator_value(name) for r in rs]
                xs = [v for v, _ in vals if v is not None]
                row[name] = float(np.mean(xs)) if xs else None
                row[name + "_resolved"] = sum(bool(res) for _, res in vals)
            rep = [r.reported_dms() for r in rs]
            ses = [x["se"] for x in rep if x["se"] is not None]
            # standard error of the seed mean of the reported values, from each row's own SE
            row["reported_se"] = float(math.sqrt(sum(e * e for e in ses)) / len(ses)) if ses else None
            row["estimators"] = _count(x["estimator"] for x in rep)
            row["choice_rules"] = sorted({x["choice_rule"] for x in rep if x["choice_rule"]})
            row["floor_mean"] = _mean([r.floor_mean() for r in rs])
            k3 = [abs(r.kappa(3)) for r in rs if r.kappa(3) is not None]
            k4 = [abs(r.kappa(4)) for r in rs if r.kappa(4) is not None]
            row["abs_kappa3"] = float(np.mean(k3)) if k3 else None
            row["abs_kappa4"] = float(np.mean(k4)) if k4 else None
            for b in BOUND_TERMS:
                vals = [r.bound(b) for r in rs]
                row[b] = float(np.mean(vals)) if all(v is not None for v in vals) else None
            ratios = []
            for r in rs:
                d, _, _ = r.dms_for_ratio()
                bt = r.bound("total")
                if d is not None and bt:
                    ratios.append(d / bt)
            row["ratio"] = float(np.mean(ratios)) if ratios else None
            row["ratio_max"] = float(np.max(ratios)) if ratios else None
            row["ratio_uses"] = sorted({r.dms_for_ratio()[1] for r in rs})
            errs = [r.moment_error("max_abs_err_Q") for r in rs if r.moment_error("max_abs_err_Q") is not None]
            errs_r = [r.moment_error("max_abs_err_R") for r in rs if r.moment_error("max_abs_err_R") is not None]
            row["moment_err_Q"] = float(np.max(errs)) if errs else None
            row["moment_err_R"] = float(np.max(errs_r)) if errs_r else None
            row["seconds"] = float(np.mean([r.seconds for r in rs]))
            table.append(row)
        fits = {}
        for ei, name in enumerate(ESTIMATORS):
            Nv, yv, left = [], [], []
            gap = None
            for N in Ns:
                if name == "reported" and any(r.legacy for r in byN[N]):
                    k = sum(r.legacy for r in byN[N])
                    left.append({"N": N, "reason": f"{k} of {len(byN[N])} seeds are legacy records "
                                                   "(no reported d_MS)"})
                    gap = N if gap is None else gap
                    continue
                vals = [r.estimator_value(name) for r in byN[N]]
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
            if name == "reported" and all_legacy:
                fits[name] = None  # legacy records carry no reported d_MS
                continue
            fits[name] = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + ei, left_out=left)
        bfits = {}
        for bi, b in enumerate(BOUND_TERMS):
            Nv = [r.N for r in recs]
            yv = [r.bound(b) for r in recs]
            yv = [np.nan if v is None else v for v in yv]
            if not any(np.isfinite(v) and v > 0 for v in yv):
                bfits[b] = None  # e.g. M1 ≡ 0 for odd σ, M2 ≡ 0 for relu
                continue
            bfits[b] = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 100 + bi)
        Nv, yv = [], []
        for r in recs:
            d, _, _ = r.dms_for_ratio()
            bt = r.bound("total")
            if d is not None and bt:
                Nv.append(r.N)
                yv.append(d / bt)
        rfit = fit_loglog(Nv, yv, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 200) if yv else None
        Nr, yr = [], []
        for N in Ns:  # the leading run of resolved N (legacy: plug-in resolved), as for the fits
            ds = [r.dms_for_ratio() for r in byN[N]]
            if not all(res for _, _, res in ds):
                break
            for r, (d, _, _) in zip(byN[N], ds):
                bt = r.bound("total")
                if bt and d is not None:
                    Nr.append(N)
                    yr.append(d / bt)
        rfit_res = fit_loglog(Nr, yr, level=level, n_boot=n_boot, seed=seed + 1000 * gi + 300) if yr else None
        if rfit_res is not None and len(rfit_res.N_used) < 3:
            rfit_res = None  # two N cannot show a trend worth a verdict
        rmax = float(max(yv)) if yv else None
        exp_slope, exp_reason = expected_slope(odd, w)
        expected = {"d_MS": exp_slope, "d_MS_reason": exp_reason, "bound": -0.5,
                    "bound_reason": "the bound decreases like N^{-1/2} (teacher term and the bare N^{-1/2}; docs/theory.md §5)"}
        rep_all = [r.reported_dms() for r in recs]
        estimators = {"counts": _count(x["estimator"] for x in rep_all),
                      "choice_rules": sorted({x["choice_rule"] for x in rep_all if x["choice_rule"]}),
                      "legacy": n_legacy}
        verdicts = _verdicts(fits, bfits, rfit, exp_slope, rfit_res, legacy=all_legacy)
        out.append(GroupRates(key=keyd, odd=odd, table=table, fits=fits, bound_fits=bfits, ratio_fit=rfit,
                              ratio_fit_resolved=rfit_res, ratio_max=rmax, expected=expected, verdicts=verdicts,
                              estimators=estimators))
    return out


def primary_estimator(fits: dict, *, legacy: bool | None = None):
    """The d_MS fit a group's rate rests on.

    With reported values (``legacy`` False): ``"reported"`` when its fit uses at least 3 N,
    else None.  For legacy groups, the previous rule: the estimator whose fit rests on the
    most N (at least 3), Edgeworth, then plug-in, then excess.  ``legacy=None`` takes a
    group without a ``"reported"`` fit as legacy (``GroupRates.verdicts["primary_estimator"]``
    holds the answer for a fitted group).
    """
    if legacy is None:
        legacy = fits.get("reported") is None
    if not legacy:
        f = fits.get("reported")
        return "reported" if f is not None and len(f.N_used) >= 3 else None
    best = None
    for name in ("edgeworth", "plug_in", "excess"):
        f = fits.get(name)
        if f is not None and len(f.N_used) >= 3 and (best is None or len(f.N_used) > len(fits[best].N_used)):
            best = name
    return best


def _verdicts(fits, bfits, rfit, exp_slope, rfit_res=None, *, legacy=True) -> dict:
    v = {}
    prim = primary_estimator(fits, legacy=legacy)
    v["primary_estimator"] = prim
    if prim is None:
        v["rate"] = ("not enough resolved points (fewer than 3 N resolved by any estimator)" if legacy else
                     "not enough resolved points (fewer than 3 N at which every seed's reported d_MS is resolved)")
    else:
        f = fits[prim]
        name = "reported d_MS" if prim == "reported" else prim
        txt = f"{name} slope {f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}] over N = {f.N_used[0]}..{f.N_used[-1]}"
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
            what = ("certified upper bounds, which sit at their sample-size floor" if legacy else
                    "unresolved estimates, which sit at their sample-size floor")
            txt += (f": rises only through {what} (limited by n, not by N): inconclusive there"
                    + ("" if rfit_res is None else
                       f"; over {'plug-in-' if legacy else ''}resolved points the slope is {rfit_res.slope:.3f} "
                       f"[{rfit_res.ci_low:.3f}, {rfit_res.ci_high:.3f}]"))
        else:
            txt += ": GROWS with N over resolved points: the bound is in doubt"
        v["ratio"] = txt
    return v
