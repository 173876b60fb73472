"""Backend benchmarks (NumPy and, where present, CuPy): the issue-4 table.

Run:  python benchmarks/bench_backends.py [--backends numpy cupy] [--quick] [--json FILE]

For each available backend it measures, in the same run:

* GEMM throughput at float64 and float32 (b × D @ D × N, N = 4096, δ = 1/2);
* sampling throughput of (λ, ν), counting 2·n·D·N FLOPs, as a fraction of it;
* samples of (λ, ν) per second at N = 1024, 4096, 16384 (δ = 1/2, K = M = 2, float64);
* d_MS estimation time (max_sliced_w1 plus the cumulant estimator) for
  n = 10^7 samples, K + M = 4 (``--quick``: 10^6);
* the largest N (doubling from 256, δ = 1/2) for which one sweep point —
  exact moments, bound terms, n = 10^5 samples, d_MS with its 19 floor replicates —
  finishes within 60 s.

Every figure is measured here; nothing is extrapolated.  Timings synchronise
the device before reading the clock.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import getheory as gt
from getheory.backend import available_backends, get_backend


def _time(fn, bk, repeats=3):
    fn()
    bk.synchronize()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    bk.synchronize()
    return (time.perf_counter() - t) / repeats


def gemm_gflops(bk, b, D, N, dtype):
    rng = bk.rng(0)
    a = rng.standard_normal((b, D), dtype=np.dtype(dtype).type)
    w = rng.standard_normal((D, N), dtype=np.dtype(dtype).type)
    return 2 * b * D * N / _time(lambda: a @ w, bk) / 1e9


def sampling(bk, N, D, n, dtype):
    gen = gt.random_single_layer(N, D, "sign", seed=0)
    Ws, Wt = gt.draw_weights(N, D, 2, 2, seed=1)
    gt.sample_fields(gen, Ws, Wt, min(n, 4096), seed=2, backend=bk.name, dtype=dtype)
    bk.synchronize()
    t = time.perf_counter()
    gt.sample_fields(gen, Ws, Wt, n, seed=3, backend=bk.name, dtype=dtype)
    bk.synchronize()
    el = time.perf_counter() - t
    return 2 * n * D * N / el / 1e9, n / el


def dms_time(bk, n):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, 4))
    z[:, 0] = 0.5 * np.sign(z[:, 0]) + 0.866 * rng.standard_normal(n)
    zd = bk.asarray(z)
    t = time.perf_counter()
    r = gt.max_sliced_w1(zd, np.zeros(4), np.eye(4), seed=1)
    c = gt.cumulant_estimate(zd, np.zeros(4), np.eye(4), seed=2)
    bk.synchronize()
    return time.perf_counter() - t, r.value, c.kappa4


def sweep_point_seconds(bk, N, n=100_000):
    t = time.perf_counter()
    gt.check_generator(activation="sign", N=N, D=N // 2, K=2, M=2, samples=n, seed=0, backend=bk.name)
    bk.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="*", default=available_backends())
    ap.add_argument("--quick", action="store_true", help="smaller n for the d_MS timing and the samples/s points")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args()
    out = {"machine": platform.processor() or platform.machine(), "results": {}}
    for name in a.backends:
        bk = get_backend(name)
        res = {}
        N, D = 4096, 2048
        b = gt.fields.auto_batch_size(N, D, backend=bk)
        for dtype in ("float64", "float32"):
            ref = gemm_gflops(bk, b, D, N, dtype)
            got, _ = sampling(bk, N, D, 8 * b, dtype)
            res[f"gemm_gflops_{dtype}"] = ref
            res[f"sampling_gflops_{dtype}"] = got
            res[f"sampling_fraction_{dtype}"] = got / ref
            print(f"[{name}] {dtype}: GEMM {ref:8.1f} GFLOP/s, sampling {got:8.1f} GFLOP/s = {100 * got / ref:5.1f} %")
        for N in (1024, 4096, 16384):
            n = 20_000 if (a.quick or name == "numpy") else 200_000
            if name == "numpy" and N == 16384:
                n = 2_000
            _, rate = sampling(bk, N, N // 2, n, "float64")
            res[f"samples_per_s_N{N}"] = rate
            print(f"[{name}] N={N:6d}, D={N // 2}: {rate:12,.0f} samples/s (n = {n})")
        n = 10**6 if a.quick else 10**7
        el, val, k4 = dms_time(bk, n)
        res["dms_seconds"] = el
        res["dms_n"] = n
        print(f"[{name}] d_MS (max-sliced W1 + cumulants), n = {n:,}, K+M = 4: {el:.2f} s (value {val:.4f}, κ4 {k4:.3f})")
        N, best = 256, None
        while True:
            el = sweep_point_seconds(bk, N)
            print(f"[{name}] sweep point at N = {N}: {el:.1f} s")
            if el > 60:
                break
            best = N
            N *= 2
            if N > 65536:
                break
        res["largest_N_in_60s"] = best
        out["results"][name] = res
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
