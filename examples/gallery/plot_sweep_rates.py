"""
A small sweep and its rate plot
===============================

A sweep runs one check per grid point and seed into a resumable SQLite database
(:func:`getheory.run_sweep`), and :func:`getheory.fit_rates` fits how d_MS decays with N, with a
bootstrap interval over seeds (docs/theory.md §4-§5).

This sweep uses ``[samples] mode = "analytic"``: every point's d_MS is the leading-order
Edgeworth value computed without sampling (docs/theory.md §4.2), so a grid of single-layer sign
generators from N = 64 to 512 takes seconds. For an odd activation d_MS ∝ 1/N: the fitted slope is
close to −1. The database goes to a temporary folder.
"""

# %%
# The sweep
# ---------
# The same keys as a TOML sweep file (``getheory sweep FILE.toml``), given here as a dict.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import getheory as gt

spec = gt.spec_from_dict({
    "name": "gallery-sign-analytic",
    "seed": 7,
    "grid": {"N": [64, 128, 256, 512], "delta": [0.5], "K": 1, "M": 1, "seeds": 3},
    "generator": [{"activation": "sign"}],
    "weights": {"student": ["gaussian"], "teacher": "gaussian"},
    "samples": {"mode": "analytic"},
})
with tempfile.TemporaryDirectory() as folder:
    db_path = Path(folder) / "sweep.db"
    summary = gt.run_sweep(spec, db_path, workers=1, progress=False)  # in this process
    print(summary)
    with gt.ResultsDB(db_path) as db:
        records = db.records()
print(len(records), "records")

# %%
# Fit the rate
# ------------
# Each record holds the point's reported d_MS with its estimator and whether it is resolved (for the
# analytic value: above twice its truncation error). :func:`getheory.fit_loglog` fits the slope of
# log d_MS against log N over the resolved points, with a percentile bootstrap interval that
# resamples seeds within each N. (``getheory report`` and :func:`getheory.fit_rates` do this per
# group of a sampled sweep, with the bound terms' rates beside it.)
N = np.array([r.task["N"] for r in records])
reported = [r.reported_dms() for r in records]
dms = np.array([d["value"] for d in reported])
resolved = np.array([bool(d["resolved"]) for d in reported])
print(f"resolved at N = {sorted(set(N[resolved].tolist()))}; not resolved at {sorted(set(N[~resolved].tolist()))}")
fit = gt.fit_loglog(N[resolved], dms[resolved], seed=0)
print(f"d_MS ∝ N^{fit.slope:.3f}, 95 % interval [{fit.ci_low:.3f}, {fit.ci_high:.3f}] (expected -1 for odd σ)")

# %%
# The rate plot
# -------------
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.loglog(N[resolved], dms[resolved], "o", color="C0", label="analytic d_MS, resolved")
ax.loglog(N[~resolved], dms[~resolved], "o", mfc="none", color="C0", label="not resolved")
grid = np.geomspace(N.min(), N.max(), 50)
ax.loglog(grid, fit.predict(grid), "k--", label=f"fit: slope {fit.slope:.2f}")
ax.set_xlabel("N")
ax.set_ylabel("d_MS")
ax.legend()
fig.tight_layout()
