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
* **The estimators** are those of the registry in :mod:`getheory.distances`
  (:func:`~getheory.distances.estimator_series`, fitted in its order): every
  registered series gets its per-N columns and its fit, read from each record
  through :meth:`TaskRecord.reading`.
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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._rate_tables import rates_markdown
from ._repr import ShortRepr
from .distances import REPORTED, estimator_series
from .sweep import BOUND_TERMS, LEGACY, TaskRecord

__all__ = ["SlopeFit", "fit_loglog", "FitOptions", "GroupRates", "RateFits", "fit_rates", "BOUND_TERMS",
           "expected_slope", "LEGACY", "NO_INTERVAL", "reported_dms", "dms_for_ratio", "group_records",
           "primary_estimator"]

# the d_MS series fitted per group are the estimator registry's (getheory.distances); the legacy label and
# the bound terms are the task record's


@dataclass
class SlopeFit:
    """Least-squares slope of log y against log N with a bootstrap interval.

    Attributes
    ----------
    slope, intercept : float
        log y ≈ intercept + slope · log N (natural logs).
    ci_low, ci_high : float
        Percentile bootstrap interval of the slope at ``level``; NaN when no N has two seeds
        (the bootstrap resamples seeds within each N, so one seed per N gives no interval:
        :attr:`has_interval` is then False, and no verdict rests on the fit).
    se : float
        Standard deviation of the bootstrap slopes (NaN without an interval).
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

    @property
    def has_interval(self) -> bool:
        """Whether the fit has a bootstrap interval (some N has at least two seeds)."""
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (False without one)."""
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

    Returns None when fewer than two distinct N remain.  With one seed at every N the
    interval (and ``se``) is NaN: resampling a single seed would give a zero-width interval
    that looks exact.
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
    se = float(slopes.std(ddof=1))
    if all(idx.size < 2 for idx in strata):
        lo = hi = se = math.nan  # nothing to resample: no interval
    return SlopeFit(slope=float(b), intercept=float(a), ci_low=float(lo), ci_high=float(hi), se=se, level=level,
                    n_boot=n_boot,
                    N_used=sorted(int(round(math.exp(u))) for u in uniq), n_points=int(sel.sum()),
                    left_out=sorted(left, key=lambda d: d["N"]))


@dataclass(frozen=True, repr=False)
class FitOptions(ShortRepr):
    """Interval level, bootstrap replicates and bootstrap seed of every fit of :func:`fit_rates`.

    Each fit draws its bootstrap from ``seed`` plus its own offset (1000 per group, then the
    series' index, 100 + the bound term's index, 200 and 300 for the two ratio fits).
    """

    level: float = 0.95
    n_boot: int = 2000
    seed: int = 0

    def fit(self, N, y, offset: int, left_out=None) -> SlopeFit | None:
        """:func:`fit_loglog` with these settings and the bootstrap seed ``seed + offset``."""
        return fit_loglog(N, y, level=self.level, n_boot=self.n_boot, seed=self.seed + offset, left_out=left_out)


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
    ``d_MS.estimator`` label, :data:`LEGACY` for rows without one), ``choice_rules`` (the
    distinct recorded rules) and ``legacy`` (rows without a recorded choice).
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

    def _repr_markdown_(self) -> str:
        return RateFits((self,))._repr_markdown_()


@dataclass(frozen=True)
class RateFits(Sequence):
    """What :func:`fit_rates` returns: the fitted groups, in order, and the fit options.

    A sequence of :class:`GroupRates` (``for g in fits``, ``(g,) = fits``); in a notebook it
    shows as the rate report's tables (:meth:`_repr_markdown_`).
    """

    groups: tuple
    options: FitOptions = FitOptions()

    def __getitem__(self, i):
        return self.groups[i]

    def __len__(self) -> int:
        return len(self.groups)

    def _repr_markdown_(self) -> str:
        """The fitted slopes, verdicts and per-group fit tables of the rate report, as Markdown."""
        return rates_markdown(self)


def reported_dms(rec) -> dict:
    """The d_MS a task reported, with its evidence (:meth:`TaskRecord.reported_dms`)."""
    return TaskRecord.from_dict(rec).reported_dms()


def dms_for_ratio(rec):
    """(d_MS, kind, resolved) for the ratio to the bound (:meth:`TaskRecord.dms_for_ratio`)."""
    return TaskRecord.from_dict(rec).dms_for_ratio()


def group_records(records, group: GroupRates) -> list:
    """The :class:`TaskRecord` s of one fitted group, grouped exactly as :func:`fit_rates` groups them."""
    fixed_D = group.key.get("delta") is None
    want = (group.key["generator"], group.key["weights"], group.key["K"], group.key["M"],
            group.key["D"] if fixed_D else round(float(group.key["delta"]), 12))
    return [r for r in map(TaskRecord.from_dict, records) if r.group_key(fixed_D=fixed_D) == want]


def fit_rates(records: list, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
              fixed_D: bool = False) -> RateFits:
    """Fit every rate of every group of a sweep's task records (:func:`getheory.sweep.run_task` output).

    Groups are (generator, student weights, K, M, δ); with ``fixed_D`` (a
    product grid over N and D) the group holds D fixed instead of δ.  Records of
    every version are accepted: legacy records (no ``d_MS.estimator``) keep the
    previous logic, newer ones contribute their reported d_MS (see the module docstring).
    Per group: the per-N table (:func:`_table`), a fit per registered d_MS series
    (:func:`_series_fit`), per bound term (:func:`_bound_fit`), of the ratio d_MS / bound
    (:func:`_ratio_fits`), and the verdicts.
    """
    options = FitOptions(level=level, n_boot=n_boot, seed=seed)
    return RateFits(tuple(_fit_group(g, options) for g in _groups(records, fixed_D)), options)


@dataclass(frozen=True)
class _Group:
    """The records of one group, by N (ascending); ``index`` is its place in the fit order."""

    index: int
    key: dict
    records: list
    by_N: dict

    @property
    def all_legacy(self) -> bool:
        return all(r.legacy for r in self.records)

    def offset(self, k: int) -> int:
        """The bootstrap seed offset of this group's fit number ``k``."""
        return 1000 * self.index + k


def _groups(records, fixed_D: bool) -> list:
    """The records grouped by (generator, weights, K, M, δ or D), in a fixed order."""
    groups = defaultdict(list)
    for rec in map(TaskRecord.from_dict, records):
        groups[rec.group_key(fixed_D=fixed_D)].append(rec)
    out = []
    for gi, (key, recs) in enumerate(sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))):
        gname, w, K, M, size = key
        keyd = {"generator": gname, "weights": w, "K": K, "M": M}
        keyd.update({"D": size, "delta": None} if fixed_D else {"delta": size})
        by_N = defaultdict(list)
        for r in recs:
            by_N[r.N].append(r)
        out.append(_Group(gi, keyd, recs, dict(sorted(by_N.items()))))
    return out


def _fit_group(group: _Group, options: FitOptions) -> GroupRates:
    legacy = group.all_legacy
    fits = {e.name: _series_fit(group, e.name, ei, options) for ei, e in enumerate(estimator_series())}
    bound_fits = {b: _bound_fit(group, b, bi, options) for bi, b in enumerate(BOUND_TERMS)}
    ratio = _ratio_fits(group, options)
    odd = group.records[0].odd_activation
    expected = _expected(odd, group.key["weights"])
    verdicts = _verdicts(fits, bound_fits, ratio.fit, expected["d_MS"], ratio.resolved, legacy=legacy)
    limit = _sample_limit(group)
    if verdicts["primary_estimator"] is None and limit:
        verdicts["rate"] += "; " + limit
        verdicts["limited_by_samples"] = True
    return GroupRates(key=group.key, odd=odd, table=_table(group), fits=fits, bound_fits=bound_fits,
                      ratio_fit=ratio.fit, ratio_fit_resolved=ratio.resolved, ratio_max=ratio.max,
                      expected=expected, verdicts=verdicts, estimators=_estimator_summary(group.records))


def _expected(odd, weights) -> dict:
    slope, reason = expected_slope(odd, weights)
    return {"d_MS": slope, "d_MS_reason": reason, "bound": -0.5,
            "bound_reason": "the bound decreases like N^{-1/2} (teacher term and the bare N^{-1/2}; "
                            "docs/theory.md §5)"}


def _count(labels) -> dict:
    out = {}
    for lab in labels:
        out[lab] = out.get(lab, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def _estimator_summary(recs) -> dict:
    """Which d_MS estimator rows used: counts per label, the recorded rules, legacy rows."""
    rep = [r.reported_dms() for r in recs]
    return {"counts": _count(x["estimator"] for x in rep),
            "choice_rules": sorted({x["choice_rule"] for x in rep if x["choice_rule"]}),
            "legacy": sum(r.legacy for r in recs)}


def _ratio(rec) -> float | None:
    """A record's d_MS (:meth:`TaskRecord.dms_for_ratio`) over the sum of its bound terms, or None."""
    d, _, _ = rec.dms_for_ratio()
    bt = rec.bound("total")
    return d / bt if d is not None and bt else None


# -- the per-N table ----------------------------------------------------------------------------


def _table(group: _Group) -> list:
    """One row per N: means over seeds of every series, its evidence, the bound terms, the ratio."""
    return [_row(N, rs) for N, rs in group.by_N.items()]


def _row(N: int, rs: list) -> dict:
    row = {"N": N, "D": rs[0].D, "seeds": len(rs), "samples": sorted({r.samples for r in rs})}
    row.update(_series_cells(rs))
    row.update(_reported_cells(rs))
    row.update(_evidence_cells(rs))
    row.update(_kappa_cells(rs))
    row.update(_bound_cells(rs))
    row.update(_ratio_cells(rs))
    row.update(_moment_cells(rs))
    row["seconds"] = float(np.mean([r.seconds for r in rs]))
    return row


def _series_cells(rs) -> dict:
    """Per registered series: the mean value over seeds and how many seeds resolve it."""
    row = {}
    for e in estimator_series():
        vals = [r.estimator_value(e.name) for r in rs]
        row[e.name] = _mean([v for v, _ in vals])
        row[e.name + "_resolved"] = sum(bool(res) for _, res in vals)
    return row


def _reported_cells(rs) -> dict:
    """The reported d_MS's standard error, and the estimators and rules that chose it."""
    rep = [r.reported_dms() for r in rs]
    ses = [x["se"] for x in rep if x["se"] is not None]
    # standard error of the seed mean of the reported values, from each row's own SE
    return {"reported_se": float(math.sqrt(sum(e * e for e in ses)) / len(ses)) if ses else None,
            "estimators": _count(x["estimator"] for x in rep),
            "choice_rules": sorted({x["choice_rule"] for x in rep if x["choice_rule"]})}


def _evidence_cells(rs) -> dict:
    """The series' further per-N columns (the plug-in's floor mean)."""
    return {ev.key: _mean([ev.read(r.d_MS or {}) for r in rs]) for e in estimator_series() for ev in e.evidence}


def _kappa_cells(rs) -> dict:
    k3 = [abs(r.kappa(3)) for r in rs if r.kappa(3) is not None]
    k4 = [abs(r.kappa(4)) for r in rs if r.kappa(4) is not None]
    return {"abs_kappa3": float(np.mean(k3)) if k3 else None, "abs_kappa4": float(np.mean(k4)) if k4 else None}


def _bound_cells(rs) -> dict:
    """Each bound term's mean over seeds (None unless every seed has it)."""
    row = {}
    for b in BOUND_TERMS:
        vals = [r.bound(b) for r in rs]
        row[b] = float(np.mean(vals)) if all(v is not None for v in vals) else None
    return row


def _ratio_cells(rs) -> dict:
    ratios = [x for x in map(_ratio, rs) if x is not None]
    return {"ratio": float(np.mean(ratios)) if ratios else None,
            "ratio_max": float(np.max(ratios)) if ratios else None,
            "ratio_uses": sorted({r.dms_for_ratio()[1] for r in rs})}


def _moment_cells(rs) -> dict:
    row = {}
    for key, name in (("moment_err_Q", "max_abs_err_Q"), ("moment_err_R", "max_abs_err_R")):
        errs = [e for e in (r.moment_error(name) for r in rs) if e is not None]
        row[key] = float(np.max(errs)) if errs else None
    return row


# -- the fits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Points:
    """The (N, value) points a fit uses, and the N it leaves out with the reason."""

    N: list
    y: list
    left_out: list


def _series_fit(group: _Group, name: str, index: int, options: FitOptions) -> SlopeFit | None:
    """The fit of one d_MS series over its leading run of resolved N (None for all-legacy groups'
    reported series: legacy records carry no reported d_MS)."""
    if name == REPORTED and group.all_legacy:
        return None
    pts = _resolved_points(group, name)
    return options.fit(pts.N, pts.y, group.offset(index), left_out=pts.left_out)


def _resolved_points(group: _Group, name: str) -> _Points:
    """Every seed's value at each N of the leading run of N at which every seed resolves ``name``."""
    pts = _Points([], [], [])
    gap = None  # the first N left out
    for N, rs in group.by_N.items():
        reason = _unresolved(rs, name)
        if reason is not None:
            gap = N if gap is None else gap
        elif gap is not None:
            reason = (f"resolved, but beyond the first unresolved N = {gap} "
                      "(an isolated resolved point is treated as chance)")
        if reason is not None:
            pts.left_out.append({"N": N, "reason": reason})
            continue
        for r in rs:
            v = r.estimator_value(name)[0]
            pts.N.append(N)
            pts.y.append(np.nan if v is None else v)
    return pts


def _unresolved(rs, name: str) -> str | None:
    """Why the seeds ``rs`` of one N cannot enter the fit of ``name``, or None if they can."""
    if name == REPORTED and any(r.legacy for r in rs):
        k = sum(r.legacy for r in rs)
        return f"{k} of {len(rs)} seeds are legacy records (no reported d_MS)"
    vals = [r.estimator_value(name) for r in rs]
    if not all(res for _, res in vals):
        k = sum(bool(res) for _, res in vals)
        return f"unresolved ({k} of {len(vals)} seeds resolved)"
    return None


def _bound_fit(group: _Group, term: str, index: int, options: FitOptions) -> SlopeFit | None:
    """The fit of one bound term over every N; None where it is identically zero."""
    yv = [np.nan if v is None else v for v in (r.bound(term) for r in group.records)]
    if not any(np.isfinite(v) and v > 0 for v in yv):
        return None  # e.g. M1 ≡ 0 for odd σ, M2 ≡ 0 for relu
    return options.fit([r.N for r in group.records], yv, group.offset(100 + index))


@dataclass(frozen=True)
class _RatioFits:
    """The fits of d_MS / bound over every N and over the leading run of resolved N, and its largest value."""

    fit: SlopeFit | None
    resolved: SlopeFit | None
    max: float | None


def _ratio_fits(group: _Group, options: FitOptions) -> _RatioFits:
    pts = [(r.N, x) for r in group.records if (x := _ratio(r)) is not None]
    fit = options.fit(*zip(*pts), group.offset(200)) if pts else None
    res = _resolved_ratio_points(group)
    fit_res = options.fit(*zip(*res), group.offset(300)) if res else None
    if fit_res is not None and (len(fit_res.N_used) < 3 or not fit_res.has_interval):
        fit_res = None  # two N, or one seed per N, cannot show a trend worth a verdict
    return _RatioFits(fit, fit_res, float(max(x for _, x in pts)) if pts else None)


def _at_limit(rec) -> str | None:
    """"cap" when a task ran at its plan's sample cap (max_samples, lowered to max_work/(N·D)), "budget"
    when its time budget set n, else None."""
    plan = rec.plan or {}
    cap = (plan.get("options") or {}).get("max_samples")
    if cap is not None and rec.samples >= cap:
        return "cap"
    return "budget" if plan.get("limited_by") == "budget" else None


def _sample_limit(group: _Group) -> str | None:
    """Why a group's unresolved points are unresolved, when every one of them ran at the spec's sample
    cap or time budget: n, not N, limits them (None when some did not, or none is unresolved)."""
    rs = [r for r in group.records if not r.dms_for_ratio()[2]]
    limits = {_at_limit(r) for r in rs}
    if not rs or None in limits:
        return None
    Ns, ns = sorted({r.N for r in rs}), sorted({r.samples for r in rs})
    n_text = f"n = {ns[0]:,}" if len(ns) == 1 else f"n = {ns[0]:,} to {ns[-1]:,}"
    what = {frozenset({"cap"}): "the spec's sample cap ([samples] max_samples, or max_work/(N·D) where lower)",
            frozenset({"budget"}): "the spec's time budget per point ([samples] time_budget)"}.get(
        frozenset(limits), "the spec's sample cap or time budget ([samples] max_samples, max_work, time_budget)")
    needed = [x for r in rs if isinstance(x := (r.plan or {}).get("n_needed"), (int, float)) and x > r.samples]
    return (f"every unresolved point (N = {Ns[0]}..{Ns[-1]}) ran at {what}, {n_text}: n, not N, limits them, and "
            "resolving them needs a larger cap or budget"
            + (f" (where the pilot saw a signal, the planner asked for n up to {max(needed):,.0f})" if needed else ""))


def _resolved_ratio_points(group: _Group) -> list:
    """(N, d_MS / bound) over the leading run of N at which every seed's d_MS is resolved (legacy:
    the plug-in resolved), as for the series' fits."""
    out = []
    for N, rs in group.by_N.items():
        if not all(r.dms_for_ratio()[2] for r in rs):
            break
        out += [(N, x) for r in rs if (x := _ratio(r)) is not None]
    return out


# -- verdicts ------------------------------------------------------------------------------------

#: what a verdict says in place of one when its fit has one seed per N (:attr:`SlopeFit.has_interval`)
NO_INTERVAL = ("no interval and no verdict: one seed per N, and the interval is a bootstrap over seeds "
               "(run at least 2 seeds)")


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
    v = {"primary_estimator": primary_estimator(fits, legacy=legacy)}
    v.update(_rate_verdict(fits, bfits, v["primary_estimator"], exp_slope, legacy))
    if rfit is not None:
        v.update(_ratio_verdict(rfit, rfit_res, legacy))
    return v


def _rate_verdict(fits, bfits, prim, exp_slope, legacy) -> dict:
    """The d_MS rate the group rests on, against THEORY's slope and the bound's."""
    if prim is None:
        return {"rate": "not enough resolved points (fewer than 3 N resolved by any estimator)" if legacy else
                "not enough resolved points (fewer than 3 N at which every seed's reported d_MS is resolved)"}
    f = fits[prim]
    name = "reported d_MS" if prim == REPORTED else prim
    if not f.has_interval:
        return {"rate": f"{name} slope {f.slope:.3f} over N = {f.N_used[0]}..{f.N_used[-1]}; {NO_INTERVAL}"}
    txt = f"{name} slope {f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}] over N = {f.N_used[0]}..{f.N_used[-1]}"
    if exp_slope is not None:
        txt += ("; consistent with " if f.contains(exp_slope) else "; differs from ") + f"the expected {exp_slope:g}"
    v = {"rate": txt}
    tb = bfits.get("total")
    if tb is not None:
        v["faster_than_bound"] = bool(f.ci_high < tb.slope)
    return v


def _ratio_verdict(rfit, rfit_res, legacy) -> dict:
    """Whether d_MS / bound stays bounded: the upper end of its slope interval is at most 0.05."""
    if not rfit.has_interval:
        return {"ratio_bounded": None, "ratio": f"d_MS/bound slope {rfit.slope:.3f}; {NO_INTERVAL}"}
    grows = rfit.ci_high > 0.05
    v = {"ratio_bounded": not grows}
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
