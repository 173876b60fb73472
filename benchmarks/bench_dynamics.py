"""Steps per second of one-pass SGD (docs/theory.md §7.1) at N = 1000 and N = 8000.

Run:  python benchmarks/bench_dynamics.py [--N 1000 8000] [--K 2] [--delta 0.1] [--steps 20000]

Three figures per N:
* kernel: the compiled per-step update alone (numba, sequential), on
  pre-generated inputs -- the ceiling of the SGD loop;
* generator: end to end on a sign generator σ(A c/√D), D = δN (sampling
  by BLAS-3 batches + kernel), one data source;
* generator + Gaussian: both sources of `getheory dynamics` side by side
  (same latents), steps/s per source.
Each end-to-end rate is also given as a fraction of the GEMM bound: this
machine's float64 GEMM rate divided by the 2·N·D flops a step's sample costs.
Also prints this machine's float64 GEMM rate and the load average, since
other processes on the machine slow every figure.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from getheory.dynamics import GaussianEquivalentData, GeneratorData, run_sgd
from getheory.dynamics._kernel_cpu import G_CODES, sgd_segment
from getheory.generators import random_single_layer
from getheory.moments import exact_moments


def gemm_gflops(b, D, N):
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((b, D)), rng.standard_normal((D, N))
    a @ w
    t = time.perf_counter()
    for _ in range(3):
        a @ w
    return 2 * b * D * N * 3 / (time.perf_counter() - t) / 1e9


def kernel_rate(N, K, steps):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((min(steps, 4096), N))
    y = rng.standard_normal(X.shape[0])
    W, v = rng.standard_normal((K, N)), rng.standard_normal(K)
    sgd_segment(W, v, X, y, 0.01, G_CODES["erf2"], True, 0, 10)  # compile / load cache
    done = 0
    t = time.perf_counter()
    while done < steps:
        n = min(X.shape[0], steps - done)
        sgd_segment(W, v, X, y, 0.01, G_CODES["erf2"], True, 0, n)
        done += n
    return done / (time.perf_counter() - t)


def end_to_end(N, D, K, steps, gaussian):
    gen = random_single_layer(N, D, "sign", seed=0)
    mom = exact_moments(gen)
    sources = [GeneratorData(gen, mom.mean)]
    if gaussian:
        sources.append(GaussianEquivalentData(mom.Omega, mom.Phi))
    rng = np.random.default_rng(1)
    W0, v0, Wt = rng.standard_normal((K, N)), rng.standard_normal(K), rng.standard_normal((2, D))
    t_points = [0.0, steps / N]
    _, info = run_sgd(sources, W0, v0, Wt, np.ones(2), eta=0.2, t_points=t_points, seed=0)
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[1000, 8000])
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--delta", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    for N in args.N:
        D = max(1, int(args.delta * N))
        g = gemm_gflops(512, D, N)
        k = kernel_rate(N, args.K, 5 * args.steps)
        e1 = end_to_end(N, D, args.K, args.steps, False)
        e2 = end_to_end(N, D, args.K, args.steps, True)
        bound = g * 1e9 / (2 * N * D)  # steps/s if a step cost only its 2·N·D-flop GEMM share
        r1, r2 = e1["steps_per_second_per_source"], e2["steps_per_second_per_source"]
        print(f"N={N} D={D} K={args.K}: GEMM {g:.0f} GFLOP/s -> bound {bound:,.0f} steps/s | "
              f"kernel {k:,.0f} steps/s | generator {r1:,.0f} steps/s ({r1 / bound:.0%} of bound) | "
              f"generator+Gaussian {r2:,.0f} steps/s per source ({r2 / bound:.0%} of bound; "
              f"sampling {e2['seconds_sampling']:.2f} s, kernel {e2['seconds_kernel']:.2f} s)")


if __name__ == "__main__":
    main()
