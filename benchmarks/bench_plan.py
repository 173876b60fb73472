"""How far the held-out |z| of the cumulant estimator moves between independent runs at the same n.

Run:  python benchmarks/bench_plan.py [--problems 20] [--n 600000] [--N 256] [--D 128] [--K 2] [--M 2]

The planner (getheory/plan.py, docs/theory.md §4.1) projects the measured run's |z| from its
pilot's.  Both are noisy, and not only by the ±1 of a z-score: each run chooses its most
non-Gaussian direction on a quarter of its groups, so κ4 along the chosen direction, and with
it z, changes from run to run.  For each of ``--problems`` generators and weight draws (the
README's main command: sign, N = 256, D = 128, K = M = 2) this script streams two
independent samples of n rows, computes the held-out z of each, and reports the spread
s = SD(z1 − z2)/√2 (the SD of one run's z around its expectation), with a 90 % interval
from the χ² law of the pooled variance, and the same for the relative spread (z1 − z2)/z̄.
getheory.plan.Z_SPREAD is set from this figure.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np


def z_pair(problem_seed, n, N, D, K, M):
    import getheory as gt
    from getheory.distances import FieldStream, cumulants_from_stats

    ss = np.random.SeedSequence(problem_seed)
    s_gen, s_w, s1, s2, c1, c2 = ss.spawn(6)
    gen = gt.random_single_layer(N, D, "sign", seed=s_gen)
    Ws, Wt = gt.draw_weights(N, D, K, M, seed=s_w)
    match = gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)
    out = []
    for s, c in ((s1, c1), (s2, c2)):
        st = FieldStream(match.mean, match.cov)
        gt.stream_fields(gen, Ws, Wt, n, st, seed=s)
        out.append(cumulants_from_stats(st.finish(), match.cov, seed=c).z_max)
    return out


def main(argv=None):
    from scipy import stats

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=20)
    ap.add_argument("--n", type=int, default=600_000)
    ap.add_argument("--N", type=int, default=256)
    ap.add_argument("--D", type=int, default=128)
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--M", type=int, default=2)
    a = ap.parse_args(argv)
    pairs = []
    for p in range(a.problems):
        z1, z2 = z_pair(p, a.n, a.N, a.D, a.K, a.M)
        pairs.append((z1, z2))
        print(f"problem {p:3d}: z = {z1:6.2f}, {z2:6.2f}", flush=True)
    z = np.array(pairs)
    diff = z[:, 0] - z[:, 1]
    P = len(diff)
    s = float(np.sqrt(np.mean(diff**2) / 2))  # E(z1 - z2) = 0: pooled without a mean
    lo, hi = (s * math.sqrt(P / stats.chi2.ppf(q, P)) for q in (0.95, 0.05))
    rel = diff / z.mean(axis=1)
    s_rel = float(np.sqrt(np.mean(rel**2) / 2))
    res = {"problems": P, "n": a.n, "N": a.N, "D": a.D, "K": a.K, "M": a.M,
           "mean_z": float(z.mean()), "spread_of_z": s, "spread_90pct_interval": [lo, hi],
           "relative_spread": s_rel, "corr_absdiff_meanz": float(np.corrcoef(np.abs(diff), z.mean(axis=1))[0, 1])}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
