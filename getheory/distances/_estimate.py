"""d_MS as one estimate with its evidence (docs/theory.md §4, §4.1): plug-in, floor, cumulants, choice.

:func:`estimate_dms` takes a finished stream (:class:`FieldStats`) or an in-memory sample
and returns a :class:`DmsEstimate` holding

* the plug-in max-sliced W_p on the reservoir, its floor and the rank test (§4 steps 2-3);
* the held-out cumulant / Edgeworth estimate on the streamed power sums (§4 (b));
* optionally the certified upper bound (§4 (a));
* **one value of d_MS** and the rule that chose it: the plug-in when its excess over the
  floor is large (the regime of small N, where a truncated Edgeworth series may not hold),
  the Edgeworth value otherwise (where the plug-in is blind below its floor);
* the parts of every estimator of the registry (:mod:`._registry`) that computes something
  of its own (its ``compute``), each on a seed of its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._json import to_plain as _plain
from .._repr import ShortRepr
from .._seeds import seedseq
from .._validation import check_cov, check_level, check_p
from ._certify import CertifiedBound, certified_upper_bound
from ._cumulants import CumulantOptions, CumulantResult, cumulants_from_stats
from ._floor import FloorResult, MomentNoise, sampling_floor
from ._inputs import _prepare
from ._registry import EstimatorInput, computing_estimators, estimator_settings
from ._search import MaxSlicedResult, SearchOptions, _max_sliced_prepared
from ._stream import FieldStats, StreamOptions, stream_array

__all__ = ["DmsOptions", "DmsEstimate", "estimate_dms"]


@dataclass(frozen=True, repr=False)
class DmsOptions(ShortRepr):
    """Settings of :func:`estimate_dms`.

    Attributes
    ----------
    p : {1, 2}
        Order of the max-sliced distance (1, THEORY §4).
    level : float
        Nominal false-positive rate of the plug-in's "resolved" (rank test against the floor).
    floor_replicates : int
        R Gaussian replicates of the plug-in (default 19: exact level 1/20 = 0.05).
    search : SearchOptions
        The plug-in's search, shared by the replicates (default guided mode, its directions
        found and ranked on a subsample of 2^15 rows: the 10^5 used before cost 1.7x the time
        a search on 2^18 rows, for a plug-in 0.2 % larger at N = 32).
    cumulant : CumulantOptions
        The held-out cumulant estimator (level 0.01 by default).
    plugin_ratio : float
        The plug-in is the reported d_MS when it is resolved and at least ``plugin_ratio``
        times the floor mean (default 3); otherwise the Edgeworth value is.
    certify : bool
        Also compute the rigorous certified upper bound (branch-and-bound over the sphere:
        hundreds of full-sample evaluations, off by default).
    confidence : float
        Level of ε_n in the certified bound.
    max_evaluations : int, optional
        Branch-and-bound budget of the certified bound.
    settings : mapping
        Values of the settings of registered estimators that are not fields of their own
        (:class:`getheory.distances.Setting`), by name; :meth:`setting` reads them, with the
        registered default for a name not given.  Left out of ``to_dict()`` when empty.
    """

    p: int = 1
    level: float = 0.05
    floor_replicates: int = 19
    search: SearchOptions = field(default_factory=lambda: SearchOptions(mode="guided", subsample=1 << 15))
    cumulant: CumulantOptions = field(default_factory=CumulantOptions)
    plugin_ratio: float = 3.0
    certify: bool = False
    confidence: float = 0.95
    max_evaluations: int | None = None
    settings: Mapping = field(default_factory=dict, hash=False)

    def __post_init__(self):
        check_p(self.p)
        check_level(self.level, "level")
        check_level(self.confidence, "confidence")
        if not isinstance(self.search, SearchOptions) or not isinstance(self.cumulant, CumulantOptions):
            raise TypeError("search must be a SearchOptions and cumulant a CumulantOptions")
        if not self.plugin_ratio >= 1:
            raise ValueError(f"plugin_ratio must be >= 1; got {self.plugin_ratio}")
        known = {s.name: s for s in estimator_settings()}
        unknown = [k for k in self.settings if k not in known or k in _FIELDS]
        if unknown:
            raise ValueError(f"unknown d_MS estimator setting {unknown[0]!r}; the registered ones are "
                             f"{', '.join(k for k in known if k not in _FIELDS) or 'none'}")

    def setting(self, name: str):
        """The value of the registered setting ``name``: a field of these options, the value given
        in ``settings``, or the setting's registered default."""
        if name in _FIELDS:
            return getattr(self, name)
        if name in self.settings:
            return self.settings[name]
        return next(s.default for s in estimator_settings() if s.name == name)

    def to_dict(self) -> dict:
        """The options field by field, without ``settings`` when none is given."""
        d = dataclasses.asdict(self)
        if not self.settings:
            del d["settings"]
        return _plain(d)

    @classmethod
    def from_settings(cls, values: Mapping, **fields_) -> DmsOptions:
        """Options from the values of registered settings by name (``getheory check``'s estimator
        flags): a field of its own takes its value, any other goes to ``settings``."""
        own = {k: v for k, v in values.items() if k in _FIELDS}
        return cls(**fields_, **own, settings={k: v for k, v in values.items() if k not in _FIELDS})


#: the fields of DmsOptions (a registered setting of one of these names sets the field)
_FIELDS = frozenset(f.name for f in dataclasses.fields(DmsOptions)) - {"settings"}


@dataclass
class DmsEstimate:
    """Everything THEORY §4 measures for one stream; ``to_dict()`` is JSON-ready.

    Attributes
    ----------
    value : float
        The reported d_MS (``estimator``'s value); NaN when neither estimator ran.
    se : float
        Its standard error: the jackknife SE of the Edgeworth value, or for the plug-in the
        floor's standard deviation (the plug-in's own sampling spread under the null).
    estimator : {"plug-in", "edgeworth", "none"}
    choice_rule : str
    plug_in : MaxSlicedResult or None
        On the reservoir of ``n_plugin`` rows.
    floor : FloorResult or None
    excess : float
        plug_in.value − floor.mean.
    resolved : bool
        The plug-in's rank test: plug_in.value > floor.threshold (level floor.exact_level).
    certified : CertifiedBound or None
    cumulant : CumulantResult or None
    parts : dict
        The JSON-ready parts of the registered estimators that compute something of their own,
        by record key (empty without such estimators).
    """

    value: float
    se: float
    estimator: str
    choice_rule: str
    plug_in: MaxSlicedResult | None
    floor: FloorResult | None
    excess: float
    resolved: bool
    certified: CertifiedBound | None
    cumulant: CumulantResult | None
    level: float = 0.05
    n: int = 0
    n_plugin: int = 0
    d: int = 0
    p: int = 1
    groups: int = 0
    parts: dict = field(default_factory=dict)

    @property
    def calibrated_upper_bound(self) -> float:
        """plug-in + ε_n, ε_n the floor's rank-test threshold (its (1 − level) quantile).

        The sup over directions is taken to be the one the search finds; the floor that
        calibrates ε_n uses the same search (THEORY §4 (a)).
        """
        if self.plug_in is None or self.floor is None:
            return math.nan
        return float(self.plug_in.value + self.floor.threshold)

    @property
    def resolved_any(self) -> bool:
        """The reported estimator's own test says the signal is resolved."""
        if self.estimator == "plug-in":
            return self.resolved
        return bool(self.cumulant is not None and self.cumulant.resolved)

    def statement(self) -> str:
        """Sentences saying what this estimate shows, and by which rule."""
        parts = []
        w = f"W{self.p}"
        if self.estimator == "none":
            parts.append("No estimate of d_MS: too few samples for either estimator.")
        else:
            parts.append(f"d_MS = {self.value:.4g} ± {self.se:.2g} ({self.estimator}; {self.choice_rule}).")
        if self.plug_in is not None:
            fl = self.floor
            verdict = "exceeds" if self.resolved else "does not exceed"
            parts.append(
                f"The plug-in max-sliced {w} {self.plug_in.value:.4g} (n = {self.n_plugin}) {verdict} the "
                f"largest-{fl.rank} of {fl.replicates} Gaussian replicates ({fl.threshold:.4g}; floor mean "
                f"{fl.mean:.4g}): {'resolved' if self.resolved else 'not resolved'} at level "
                f"{fl.exact_level:.3g}. Upper bound, plug-in + ε_n: {self.calibrated_upper_bound:.4g}.")
        if self.certified is not None:
            parts.append(f"Certified (rigorous search gap {self.certified.search_gap:.3g}): d_MS <= "
                         f"{self.certified.value:.4g}.")
        cu = self.cumulant
        if cu is not None:
            zs = f"z(κ3) = {cu.z_kappa3:.2f}, z(κ4) = {cu.z_kappa4:.2f}"
            parts.append(
                f"Held-out cumulants (n = {cu.n_eval} in {cu.groups_eval} groups): κ3 = {cu.kappa3:.3g} ± "
                f"{cu.se_kappa3:.2g}, κ4 = {cu.kappa4:.3g} ± {cu.se_kappa4:.2g} ({zs}), Edgeworth W1 "
                f"{cu.edgeworth_w1:.3g} ± {cu.edgeworth_se:.2g}: "
                + ("non-Gaussianity resolved" if cu.resolved else "consistent with a Gaussian")
                + f" at level {cu.level:g} (p = {cu.p_value:.2g}).")
        return " ".join(parts)

    def to_dict(self) -> dict:
        fl = self.floor
        return _plain({
            "value": self.value,
            "se": self.se,
            "estimator": self.estimator,
            "choice_rule": self.choice_rule,
            "plug_in": self.plug_in.to_dict() if self.plug_in is not None else None,
            "floor": fl.to_dict() if fl is not None else None,
            "excess": self.excess,
            "resolved": self.resolved,
            "level": self.level,
            "floor_quantile": fl.threshold if fl is not None else None,
            "certified": self.certified.to_dict() if self.certified is not None else None,
            "calibrated_upper_bound": self.calibrated_upper_bound,
            "cumulant": self.cumulant.to_dict() if self.cumulant is not None else None,
            "n": self.n, "n_plugin": self.n_plugin, "d": self.d, "p": self.p, "groups": self.groups,
            **self.parts,
            "statement": self.statement(),
        })


def _choose(plug, floor, resolved, cum, ratio):
    """The reported d_MS and the rule that chose it (THEORY §4, Resolution)."""
    rule = (f"the plug-in is reported when it is resolved and >= {ratio:g} x its floor mean (its upward bias "
            f"from the floor is then small), the Edgeworth value otherwise")
    if plug is not None and resolved and plug.value >= ratio * floor.mean:
        return plug.value, floor.sd, "plug-in", rule
    if cum is not None:
        return cum.edgeworth_w1, cum.edgeworth_se, "edgeworth", rule
    if plug is not None:
        return plug.value, floor.sd, "plug-in", rule + " (no cumulant estimate: too few samples)"
    return math.nan, math.nan, "none", rule


def estimate_dms(source, mean, cov, *, options: DmsOptions | None = None, seed=None,
                 moment_noise: MomentNoise | None = None) -> DmsEstimate:
    """d_MS between the law of the fields and its Gaussian match, with its evidence (THEORY §4).

    Parameters
    ----------
    source : FieldStats or array, shape (n, d)
        A finished stream (:class:`FieldStream`: power sums in groups plus a reservoir) or
        an in-memory sample (streamed here into 64 groups, all rows kept for the plug-in).
    mean : array, shape (d,)
    cov : array, shape (d, d)
        The Gaussian match P̂ = N(mean, cov).
    options : DmsOptions
    seed : int, SeedSequence or None
    moment_noise : MomentNoise, optional
        The match is a Monte Carlo estimate made this way: the floor replicates re-estimate
        theirs (THEORY §4 step 3).

    Returns
    -------
    DmsEstimate
    """
    opt = options or DmsOptions()
    if not isinstance(opt, DmsOptions):
        raise TypeError(f"options must be a DmsOptions; got {type(opt).__name__}")
    if isinstance(source, FieldStats):
        stats = source
    else:
        prep0 = _prepare(source, mean, cov, min_n=2)
        groups = 64 if prep0.n >= 16 * 64 else max(8, prep0.n // 16)
        stats = stream_array(prep0.z, prep0.mean, prep0.cov,
                             options=StreamOptions(groups=groups, n_plugin=prep0.n))
    C, _w, _V, _c = check_cov(cov, stats.d)
    ss = seedseq(seed)
    s_plug, s_floor, s_cert, s_cum = ss.spawn(4)
    plug = floor = cert = None
    resolved, excess, n_res = False, math.nan, 0
    if stats.reservoir is not None and int(stats.reservoir.shape[0]) >= 2:
        prep = _prepare(stats.reservoir, mean, C)
        n_res = prep.n
        plug = _max_sliced_prepared(prep, opt.p, s_plug, opt.search)
        floor = sampling_floor(n_res, prep.cov, p=opt.p, replicates=opt.floor_replicates, level=opt.level,
                               seed=s_floor, backend=prep.bk, mean=prep.mean, search=opt.search,
                               moment_noise=moment_noise)
        resolved = bool(plug.value > floor.threshold)
        excess = plug.value - floor.mean
        if opt.certify:
            cert = certified_upper_bound(prep.z, prep.mean, prep.cov, p=opt.p, confidence=opt.confidence,
                                         seed=s_cert, floor=floor, plug_in=plug,
                                         max_evaluations=opt.max_evaluations, search=opt.search)
    cum = None
    if stats.n >= 16 * stats.groups:
        cum = cumulants_from_stats(stats, C, options=opt.cumulant, seed=s_cum)
    value, se, est, rule = _choose(plug, floor, resolved, cum, opt.plugin_ratio)
    parts = _registered_parts(EstimatorInput(stats, mean, C, opt, ss, moment_noise))
    return DmsEstimate(value=float(value), se=float(se), estimator=est, choice_rule=rule, plug_in=plug, floor=floor,
                       excess=float(excess), resolved=resolved, certified=cert, cumulant=cum, level=opt.level,
                       n=stats.n, n_plugin=n_res, d=stats.d, p=opt.p, groups=stats.groups, parts=parts)


def _registered_parts(inp: EstimatorInput) -> dict:
    """The record parts of the registered estimators that compute something of their own, each run
    on its own child of ``inp.seed`` (spawned after the built-in estimators' four, in registration
    order); a part an estimator does not return is None."""
    entries = computing_estimators()
    if not entries:
        return {}
    parts = {}
    for entry, seed in zip(entries, inp.seed.spawn(len(entries))):
        out = entry.compute(dataclasses.replace(inp, seed=seed)) or {}
        stray = sorted(set(out) - set(entry.record_keys))
        if stray:
            raise ValueError(f"d_MS estimator {entry.name!r} returned the part {stray[0]!r}, which is not one of "
                             f"its record_keys {entry.record_keys}")
        parts.update({k: _plain(out.get(k)) for k in entry.record_keys})
    return parts
