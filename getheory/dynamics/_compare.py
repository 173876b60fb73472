"""Curves over SGD seeds and the verdicts that compare them (docs/theory.md §7.7).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as _t_dist

__all__ = ["curve_summary", "largest_gap"]


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
