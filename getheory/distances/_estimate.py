"""Everything of THEORY §4 for one sample: the one-call summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._json import to_plain as _plain
from .._validation import check_int, check_level, check_p, seedseq
from ._certify import CertifiedBound, certified_upper_bound
from ._cumulants import CumulantResult, cumulant_estimate
from ._floor import FloorResult, sampling_floor
from ._inputs import _prepare
from ._search import MaxSlicedResult, _check_search, _max_sliced_prepared


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
    p = check_p(p)
    confidence = check_level(confidence)
    floor_replicates = check_int(floor_replicates, "floor_replicates", 1)
    prep = _prepare(samples, mean, cov)
    ss = seedseq(seed)
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
