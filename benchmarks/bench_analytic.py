"""Time and peak memory of one analytic point against the sampler's time to resolve it.

    python benchmarks/bench_analytic.py                 # N = 4096 and 16384, sign, δ = 1/2, K = M = 1
    python benchmarks/bench_analytic.py --N 1024 4096 --json bench_analytic.json

Each analytic point runs in a fresh subprocess (peak RSS = its ru_maxrss, generator
included).  The sampler's throughput is measured at the same N by streaming
``--throughput-rows`` rows into a FieldStream; the time to resolve the point at 5σ is
n₅ / throughput with n₅ = 24·(5/|κ4|)² (the cumulant rule of docs/theory.md §4).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
import getheory as gt
from getheory.analytic import analytic_dms
N, act, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
gen = gt.random_single_layer(N, N // 2, act, seed=seed)
W, Wt = gt.draw_weights(N, N // 2, 1, 1, seed=seed + 1)
t0 = time.perf_counter()
r = analytic_dms(gen, W, Wt)
t = time.perf_counter() - t0
print(json.dumps({"N": N, "seconds": t, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "A_mib": 8 * N * (N // 2) / 2**20, "kappa4": r.kappa4, "dms": r.edgeworth_w1}))
"""


def throughput(N, act, rows, seed=0):
    import getheory as gt

    gen = gt.random_single_layer(N, N // 2, act, seed=seed)
    W, Wt = gt.draw_weights(N, N // 2, 1, 1, seed=seed + 1)
    m = gt.gaussian_match(gt.exact_moments(gen), W, Wt) if N <= 8192 else None
    import numpy as np

    mean, cov = (m.mean, m.cov) if m is not None else (np.zeros(2), np.eye(2))
    sink = gt.FieldStream(mean, cov)
    gt.stream_fields(gen, W, Wt, min(rows, 2000), sink, seed=1)  # warm-up
    sink = gt.FieldStream(mean, cov)
    t0 = time.perf_counter()
    gt.stream_fields(gen, W, Wt, rows, sink, seed=2)
    return rows / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int, nargs="+", default=[4096, 16384])
    ap.add_argument("--activation", default="sign")
    ap.add_argument("--throughput-rows", type=int, default=20_000)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rows = []
    for N in a.N:
        out = subprocess.run([sys.executable, "-c", CHILD, str(N), a.activation, "0"], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        tp = throughput(N, a.activation, a.throughput_rows)
        n5 = 24 * (5 / abs(r["kappa4"])) ** 2
        r.update({"sampler_rows_per_s": tp, "n_5sigma": n5, "sampler_seconds_5sigma": n5 / tp,
                  "speedup": n5 / tp / r["seconds"]})
        rows.append(r)
        print(f"N={N}: analytic {r['seconds']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB (A: {r['A_mib']:.0f} MiB); "
              f"κ4 = {r['kappa4']:.3g}; sampler {tp:.0f} rows/s needs n = {n5:.3g} rows = {n5 / tp:.3g} s "
              f"({n5 / tp / 3600:.3g} h) for 5σ: {r['speedup']:.3g}× slower", flush=True)
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
