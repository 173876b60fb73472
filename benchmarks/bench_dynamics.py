"""Steps per second of one-pass SGD (docs/theory.md §7.1) against the GEMM bound, on NumPy or CuPy.

Run:  python benchmarks/bench_dynamics.py [--N 1000 8000] [--K 2] [--delta 0.1] [--steps 100000]
                                          [--backend numpy|cupy] [--dtype float64 float32] [--paper-t 1000]

Per N, on one backend:
* GEMM: this device's float64 GEMM rate on a (4096, D) × (D, N) product (the best of 5
  timings, taken before the runs and again after them, to show drift), and the bound it
  sets: a step needs one sample, 2·N·D flops, so bound = rate / (2·N·D) steps/s;
* kernel: the compiled per-step update alone (numba on the CPU, the CUDA kernel on
  CuPy) on pre-generated inputs -- the ceiling of the SGD loop;
* generator, gaussian: end to end (sampling by BLAS-3 batches + kernel) with one data
  source, sign generator σ(A c/√D), D = δN;
* both: the two sources of `getheory dynamics` side by side (same latents); throughput
  is source-steps per second (2 × steps/s), against the same per-source-step bound.
Each rate is also given as a fraction of the bound, so figures from one run compare.
``--dtype float64 float32`` also times the float32 inputs (docs/theory.md §7.8), against the same
float64 bound.
``--paper-t T`` also times the paper's setting (N = 8000, D = 800, K = M = 2, η = 0.2)
to t = T with one source, including the set-up (exact moments, eigendecomposition of
Ω − ΦΦᵀ for the Gaussian source) on the backend.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from getheory.backend import get_backend
from getheory.dynamics import GaussianEquivalentData, GeneratorData, run_sgd
from getheory.dynamics._kernel_cpu import G_CODES
from getheory.generators import random_single_layer
from getheory.moments import exact_moments


def gemm_gflops(bk, b, D, N, tries=5):
    """This device's float64 GEMM rate on (b, D) × (D, N): the best of ``tries`` timings (the bound is
    what the machine can do; a timing can only be slowed by the machine's other work)."""
    rng = bk.rng(0)
    a, w = rng.standard_normal((b, D), dtype=np.float64), rng.standard_normal((D, N), dtype=np.float64)
    out = a @ w
    bk.synchronize()
    reps = 3 if bk.name == "numpy" else 50
    best = 0.0
    for _ in range(tries):
        t = time.perf_counter()
        for _ in range(reps):
            bk.matmul_into(a, w, out)
        bk.synchronize()
        best = max(best, 2 * b * D * N * reps / (time.perf_counter() - t) / 1e9)
    return best


def kernel_rate(bk, N, K, steps):
    if bk.name == "cupy":
        from getheory.dynamics._kernel_cuda import sgd_segment_cuda as segment
    else:
        from getheory.dynamics._kernel_cpu import sgd_segment as segment
    rng = bk.rng(0)
    X = rng.standard_normal((min(steps, 4096), N), dtype=np.float64)
    y = rng.standard_normal(X.shape[0], dtype=np.float64)
    W, v = rng.standard_normal((K, N), dtype=np.float64) * 0.1, rng.standard_normal(K, dtype=np.float64)
    segment(W, v, X, y, 0.01, G_CODES["erf2"], True, 0, 10)  # compile / load cache
    bk.synchronize()
    done = 0
    t = time.perf_counter()
    while done < steps:
        n = min(X.shape[0], steps - done)
        segment(W, v, X, y, 0.01, G_CODES["erf2"], True, 0, n)
        done += n
    bk.synchronize()
    return done / (time.perf_counter() - t)


def sources_for(bk, N, D):
    """The sign generator's two data sources, by name (the moments and the eigenbasis made once)."""
    gen = random_single_layer(N, D, "sign", seed=0)
    mom = exact_moments(gen)
    gauss = GaussianEquivalentData(mom.Omega, mom.Phi, backend=bk)
    generator = GeneratorData(gen, mom.mean, backend=bk)
    return {"generator": [generator], "gaussian": [gauss], "both": [generator, gauss]}


def end_to_end(bk, sources, K, steps, dtype="float64"):
    N = sources[0].N
    D = sources[0].generator.D if hasattr(sources[0], "generator") else sources[0].PhiT.shape[0]
    rng = np.random.default_rng(1)
    W0, v0, Wt = rng.standard_normal((K, N)), rng.standard_normal(K), rng.standard_normal((2, D))
    kw = dict(eta=0.2, seed=0, backend=bk)
    if dtype != "float64":  # (so that the script also times an older getheory, before the option, for a baseline)
        kw["dtype"] = dtype
    run_sgd(sources, W0, v0, Wt, np.ones(2), t_points=[0.0, 2048 / N], **kw)  # warm up
    _, info = run_sgd(sources, W0, v0, Wt, np.ones(2), t_points=[0.0, steps / N], **kw)
    return info


def paper(bk, t_max):
    N, D = 8000, 800
    t0 = time.perf_counter()
    gen = random_single_layer(N, D, "sign", seed=0)
    mom = exact_moments(gen, backend=bk)
    t_mom = time.perf_counter() - t0
    t0 = time.perf_counter()
    gauss = GaussianEquivalentData(mom.Omega, mom.Phi, backend=bk)
    bk.synchronize()
    t_setup = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    W0, v0, Wt = rng.standard_normal((2, N)), rng.standard_normal(2), rng.standard_normal((2, D))
    out = {"moments_s": t_mom, "gaussian_setup_s": t_setup}
    for src in (GeneratorData(gen, mom.mean, backend=bk), gauss):
        _, info = run_sgd([src], W0, v0, Wt, np.ones(2), eta=0.2, t_points=[0.0, t_max], seed=0, backend=bk)
        out[src.name] = info
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[1000, 8000])
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--delta", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    ap.add_argument("--dtype", nargs="+", default=["float64"], choices=("float64", "float32"),
                    help="the SGD inputs' dtypes to time (the bound is float64's GEMM in each case)")
    ap.add_argument("--paper-t", type=float, default=None, help="also time the paper setting to this t")
    args = ap.parse_args()
    bk = get_backend(args.backend)
    print(f"backend {bk.name}; load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    for N in args.N:
        D = max(1, int(args.delta * N))
        sources = sources_for(bk, N, D)
        g = gemm_gflops(bk, 4096, D, N)
        bound = g * 1e9 / (2 * N * D)  # steps/s if a step cost only its 2·N·D-flop GEMM share
        k = kernel_rate(bk, N, args.K, 5 * args.steps)
        line = [f"N={N} D={D} K={args.K}: GEMM {g:.0f} GFLOP/s -> bound {bound:,.0f} steps/s",
                f"kernel {k:,.0f} steps/s ({k / bound:.1f}x bound)"]
        for dtype in args.dtype:
            for which in ("generator", "gaussian", "both"):
                info = end_to_end(bk, sources[which], args.K, args.steps, dtype)
                n_src = 2 if which == "both" else 1
                rate = info["steps_per_second_per_source"] * n_src
                per = {k: v / info["steps"] * 1e6 for k, v in info.get("seconds_sampling_stages", {}).items()}
                stages = ", ".join(f"{k} {v:.1f}" for k, v in per.items())
                line.append(f"{dtype} {which} {rate:,.0f} source-steps/s = {rate / bound:.0%} of the float64 bound "
                            f"(µs a step: {stages}, kernel {info['seconds_kernel'] / info['steps'] * 1e6:.1f}; "
                            f"one source-step at the bound {1e6 / bound:.1f})")
        g_after = gemm_gflops(bk, 4096, D, N)
        line.append(f"GEMM again after the runs: {g_after:.0f} GFLOP/s ({g_after / g:.0%} of the first)")
        print("\n  ".join(line), flush=True)
    if args.paper_t:
        out = paper(bk, args.paper_t)
        print(f"paper setting N=8000 D=800 K=M=2 to t={args.paper_t:g}: moments {out['moments_s']:.1f} s, "
              f"Gaussian set-up (eigh of Ω − ΦΦᵀ) {out['gaussian_setup_s']:.1f} s")
        for name in ("generator", "gaussian"):
            info = out[name]
            print(f"  {name}: {info['steps']:,} steps in {info['seconds']:.1f} s "
                  f"({info['steps_per_second_per_source']:,.0f} steps/s)")


if __name__ == "__main__":
    main()
