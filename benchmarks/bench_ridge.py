"""Benchmark: the whole ridge learning curve (docs/theory.md §8) at N = 2000, D = 1000.

20 values of α on [0.1, 10], 3 of λ, generator and Gaussian-equivalent sources, 4 seeds,
10^4 fresh test samples per seed, and the deterministic equivalent; prints the time split
(moments, Gaussian-equivalent sampler set-up, theory, sampling, XᵀX/Xᵀy accumulation,
solves, evaluation) and the peak memory, which holds no n × N array (n_max = 10 N).

    python benchmarks/bench_ridge.py [--N 2000] [--seeds 4] [--solve-threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def main():
    from getheory.ridge import RidgeOptions, ridge_curves

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=2000)
    ap.add_argument("--D", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--solve-threads", type=int, default=1)
    ap.add_argument("--solver", default="auto")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    D = a.D or a.N // 2
    opts = RidgeOptions(seeds=a.seeds, teacher="sign", n_test=10_000, solver=a.solver, solve_threads=a.solve_threads)
    t0 = time.perf_counter()
    r = ridge_curves(activation="sign", N=a.N, D=D, options=opts, seed=0)
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_max = r.settings["sample_sizes"][-1]
    out = {"N": a.N, "D": D, "alphas": len(opts.alphas), "lambdas": len(opts.lambdas), "seeds": a.seeds,
           "sources": list(opts.sources), "n_max": n_max, "total_s": total, "split_s": r.timings,
           "peak_rss_MiB": rss, "n_x_N_array_MiB_not_held": 8 * n_max * a.N / 2**20}
    print(f"N={a.N}, D={D}: {len(opts.alphas)} α × {len(opts.lambdas)} λ × 2 sources × {a.seeds} seeds in {total:.1f} s")
    for k, v in r.timings.items():
        print(f"  {k:15s} {v:7.1f} s  ({100 * v / total:4.1f} %)")
    print(f"  peak RSS {rss:.0f} MiB (one n_max × N array alone would be {out['n_x_N_array_MiB_not_held']:.0f} MiB)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
