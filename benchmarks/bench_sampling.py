"""Throughput and memory of the (λ, ν) sampler against this machine's own GEMM.

Run:  python benchmarks/bench_sampling.py [--N 2000] [--D 1000] [--n 200000] [--dtype float64]
      python benchmarks/bench_sampling.py --memory   # peak memory at N=4000 for n=1e5 and 1e6

Sampling FLOPs are counted as 2·n·D·N (the generator's product c Aᵀ; the
student product x Wᵀ adds 2·n·N·K, not counted).  The reference is a plain
NumPy matrix product of the same shape and dtype, measured in the same run.
The GEMM reference is the best of three runs and the sampling figure the best of
two, interleaved.  Peak memory is measured with tracemalloc (NumPy reports its
allocations to it).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from getheory import draw_weights, random_single_layer, sample_fields
from getheory.fields import auto_batch_size


def gemm_gflops(b, D, N, dtype, repeats=5):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((b, D)).astype(dtype)
    w = rng.standard_normal((D, N)).astype(dtype)
    a @ w
    t = time.perf_counter()
    for _ in range(repeats):
        a @ w
    return 2 * b * D * N * repeats / (time.perf_counter() - t) / 1e9


def sampling_gflops(N, D, n, dtype, K=2, M=2, activation="sign"):
    gen = random_single_layer(N, D, activation, seed=0)
    Ws, Wt = draw_weights(N, D, K, M, seed=1)
    sample_fields(gen, Ws, Wt, min(n, 20000), seed=2, dtype=dtype)  # warm-up
    t = time.perf_counter()
    sample_fields(gen, Ws, Wt, n, seed=3, dtype=dtype)
    el = time.perf_counter() - t
    return 2 * n * D * N / el / 1e9, n / el


def peak_memory(N, D, n, dtype="float64"):
    gen = random_single_layer(N, D, "sign", seed=0)
    Ws, Wt = draw_weights(N, D, 2, 2, seed=1)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t = time.perf_counter()
    sample_fields(gen, Ws, Wt, n, seed=3, dtype=dtype, progress=True)
    el = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    out = n * 4 * np.dtype(dtype).itemsize
    return peak, out, el


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=2000)
    ap.add_argument("--D", type=int, default=1000)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--memory", action="store_true")
    a = ap.parse_args()
    if a.memory:
        for n in (100_000, 1_000_000):
            peak, out, el = peak_memory(4000, 2000, n, a.dtype)
            print(f"N=4000 D=2000 n={n:>9,}: peak {peak / 2**20:8.1f} MiB, of which output (n×4) "
                  f"{out / 2**20:6.1f} MiB, working {(peak - out) / 2**20:7.1f} MiB, {el:.1f} s")
        return
    b = auto_batch_size(a.N, a.D, dtype=a.dtype)
    # best of three for the reference (conservative: favours GEMM), interleaved with two
    # sampling runs (best kept), so that load changes hit both alike
    refs, runs = [], []
    for _ in range(2):
        refs.append(gemm_gflops(b, a.D, a.N, a.dtype))
        runs.append(sampling_gflops(a.N, a.D, a.n, a.dtype))
    refs.append(gemm_gflops(b, a.D, a.N, a.dtype))
    ref = max(refs)
    got, rate = max(runs)
    print(f"N={a.N} D={a.D} n={a.n} dtype={a.dtype} batch={b}")
    print(f"  NumPy GEMM ({b}×{a.D} @ {a.D}×{a.N}): {ref:7.1f} GFLOP/s")
    print(f"  sampling (λ, ν):                      {got:7.1f} GFLOP/s = {100 * got / ref:5.1f} % of GEMM, "
          f"{rate:,.0f} samples/s")


if __name__ == "__main__":
    main()
