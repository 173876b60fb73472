"""Curves over SGD seeds and the verdicts that compare them (docs/theory.md §7.7).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as _t_dist

__all__ = ["curve_landmarks", "curve_summary", "largest_gap"]

#: landmarks are looked for from this time on (t = steps/N): before it every curve is flat in log t
LANDMARK_T_MIN = 1.0


def curve_summary(eps_order, eps_heldout, se_test):
    """Mean curves over S seeds and their standard errors (docs/theory.md §7.7).

    ``eps_order``, ``eps_heldout``, ``se_test``: arrays (S, n_t) of the error from the
    order parameters, the held-out error and the held-out error's test-set standard
    error, per seed.  Returns (mean order, its SE, mean held-out, its SE); the test
    set is shared by the seeds, so its own error adds in quadrature.  With one seed
    the SEs over seeds are zero (and no verdict is possible).
    """
    S = eps_order.shape[0]
    se_o = eps_order.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eps_order.shape[1])
    se_h = eps_heldout.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eps_heldout.shape[1])
    return eps_order.mean(0), se_o, eps_heldout.mean(0), np.sqrt(se_h**2 + se_test.mean(0) ** 2)


def largest_gap(a, b, se, t, *, seeds, level, paired=None):
    """Largest gap between two curves, in SEs, with a verdict at ``level`` (docs/theory.md §7.7).

    ``a``, ``b`` (n_t,) curves at the record times ``t``; ``se`` (n_t,) the SE
    of a − b, or ``paired`` (S, n_t) per-seed differences whose spread gives it.
    The verdict compares max_t |a − b|/SE with Student's t on ``seeds`` − 1 degrees
    of freedom, Bonferroni over the record times: "inconsistent" has nominal
    false-positive rate at most ``level``.  Returns None when a curve is missing.
    """
    if a is None or b is None:
        return None
    S = seeds
    d = np.abs(a - b)
    i = int(np.argmax(d))
    out = {"max_abs": float(d[i]), "at_t": float(t[i]), "relative_at_max": float(d[i] / max(abs(b[i]), 1e-300)),
           "max_relative": float(np.max(d / np.maximum(np.abs(b), 1e-300)))}
    if paired is not None:
        se = paired.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else None
    if se is None or S < 2:
        out["verdict"] = "needs >= 2 SGD seeds"
        return out
    ok = se > 0
    zero_se_gap = bool(np.any((~ok) & (d > 1e-12 * np.maximum(np.abs(b), 1e-300))))
    if not np.any(ok):  # no spread at all: the curves are identical or differ deterministically
        out["verdict"] = "inconsistent" if zero_se_gap else "consistent"
        return out
    z = np.where(ok, d / np.where(ok, se, 1.0), 0.0)
    n_t = int(ok.sum())
    thr = float(_t_dist.isf(level / (2 * n_t), S - 1))
    zi = int(np.argmax(z))
    # "checkpoints": the number n_t of record times compared; the key is kept as it was, since
    # stored reports (report.json's largest_gaps) hold it and their JSON must not change
    out.update({"max_abs_in_stderr": float(z[zi]), "at_t_in_stderr": float(t[zi]),
                "threshold_in_stderr": thr, "checkpoints": n_t, "level": level, "dof": S - 1,
                "verdict": "inconsistent" if (z[zi] > thr or zero_se_gap) else "consistent"})
    return out


def curve_landmarks(t, reference, per_seed: dict) -> dict:
    """The plateau, the escape time and the final error of learning curves (docs/theory.md §7.10).

    ``t`` (n_t,) record times; ``reference`` (n_t,) the curve that fixes the plateau's time (the ODE's,
    or the mean SGD curve); ``per_seed``: name -> (S, n_t) curves of each SGD seed.

    The plateau time t_p is the record time t ≥ ``LANDMARK_T_MIN`` where the reference curve is
    flattest in log-log (smallest |Δ log ε / Δ log t|, central differences) among the local minima of
    that slope after which the curve falls below half its value; without such a time, the flattest
    local minimum (and no escape), or the flattest time when the slope has none.  For each
    curve (the reference, and every seed): the plateau height ε(t_p), the escape time, the first time
    after t_p where ε falls below ε(t_p)/2 (log-log interpolation between record times; None when it
    does not by the last record time), and the final error ε(t_last).  Over seeds: mean and standard
    error (ddof 1, over the seeds that escaped for the escape time).  Returns a JSON-ready dict;
    ``None`` entries where the curves are too short (fewer than three record times from t_min on).
    """
    t = np.asarray(t, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    i_p, escapes = _plateau_index(t, ref)
    if i_p is None:
        return {"t_plateau": None, "reference": None, "curves": {}}
    out = {"t_plateau": float(t[i_p]), "t_last": float(t[-1]), "escape_seen_in_reference": escapes,
           "reference": _landmarks_of(t, ref, i_p), "curves": {}}
    for name, curves in per_seed.items():
        rows = [_landmarks_of(t, np.asarray(c, dtype=np.float64), i_p) for c in np.atleast_2d(curves)]
        out["curves"][name] = {key: _over_seeds([r[key] for r in rows]) for key in ("plateau", "escape_time", "final")}
    return out


def _plateau_index(t, ref):
    """The index of the plateau's record time in ``t`` (see :func:`curve_landmarks`) and whether the
    reference escapes after it; (None, False) when fewer than three record times qualify."""
    idx = np.flatnonzero((t >= LANDMARK_T_MIN) & (ref > 0))
    if idx.size < 3:
        return None, False
    lt, le = np.log(t[idx]), np.log(ref[idx])
    slope = np.abs((le[2:] - le[:-2]) / (lt[2:] - lt[:-2]))
    inner = idx[1:-1]
    padded = np.concatenate([[-np.inf], slope, [-np.inf]])
    local_min = (slope <= padded[:-2]) & (slope <= padded[2:])  # flatter than both neighbours (never an end)
    escapes = np.array([np.any(ref[i + 1:] < ref[i] / 2) for i in inner]) & local_min
    pool = next(np.flatnonzero(m) for m in (escapes, local_min, np.ones_like(local_min)) if m.any())
    return int(inner[pool[np.argmin(slope[pool])]]), bool(escapes.any())


def _landmarks_of(t, eps, i_p) -> dict:
    """Plateau height ε(t_p), escape time (None if not reached) and final error of one curve."""
    half = eps[i_p] / 2
    below = np.flatnonzero(eps[i_p + 1:] < half)
    escape = None
    if below.size:
        j = i_p + 1 + int(below[0])
        a, b = j - 1, j  # the crossing lies between record times a and b: log-log interpolation
        if eps[a] > 0 and eps[b] > 0 and t[a] > 0:
            f = (math.log(half) - math.log(eps[a])) / (math.log(eps[b]) - math.log(eps[a]))
            escape = float(math.exp(math.log(t[a]) + f * (math.log(t[b]) - math.log(t[a]))))
        else:
            escape = float(t[b])
    return {"plateau": float(eps[i_p]), "escape_time": escape, "final": float(eps[-1])}


def _over_seeds(values) -> dict:
    """Mean, standard error (ddof 1) and count of the values that are not None, and the count of all."""
    got = np.array([v for v in values if v is not None], dtype=np.float64)
    n = int(got.size)
    return {"mean": float(got.mean()) if n else None,
            "se": float(got.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
            "n": n, "of": len(values)}
