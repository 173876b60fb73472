"""Throughput and memory of the (λ, ν) sampler against this machine's own GEMM.

Run:  python benchmarks/bench_sampling.py [--N 1024 2048] [--D ...] [--n 200000] [--dtype both]
      python benchmarks/bench_sampling.py --N 1024 2048 --split   # where the time goes, part by part
      python benchmarks/bench_sampling.py --memory   # peak memory at N=4000 for n=1e5 and 1e6

Sampling FLOPs are counted as 2·n·D·N (the generator's product c Aᵀ; the
student product x Wᵀ adds 2·n·N·K, not counted).  The reference is a plain
NumPy matrix product of the same shape and dtype (b × D @ D × N, b the automatic
batch size), measured in the same run.  For each N the GEMM references (best of
three) and the sampling runs (best of two) of both dtypes are interleaved, so that
load changes hit them alike; ``--dtype both`` (the default) also prints the
float32/float64 ratio of samples per second.  ``--sink stream`` streams the fields
into a :class:`getheory.distances.FieldStream` (what ``getheory check`` does) instead of
collecting them in arrays.  D defaults to N/2 (δ = 1/2), K = M = 2, sign.

``--split`` times the parts of the one-thread batch loop that the sampler ran before it
gave rows to worker threads (latent normals, c Aᵀ, σ in place, x W_studentᵀ, c W_teacherᵀ,
the stream's update), each summed over the batches of one run, against the GEMM
reference and the sampler itself, in one process.

Peak memory is measured with tracemalloc (NumPy reports its allocations to it).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import tracemalloc

import numpy as np

from getheory import draw_weights, random_single_layer, sample_fields, stream_fields
from getheory.distances import FieldStream
from getheory.fields import LatentStream, auto_batch_size

K = M = 2


def gemm_gflops(b, D, N, dtype, repeats=5):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((b, D)).astype(dtype)
    w = rng.standard_normal((D, N)).astype(dtype)
    a @ w
    t = time.perf_counter()
    for _ in range(repeats):
        a @ w
    return 2 * b * D * N * repeats / (time.perf_counter() - t) / 1e9


def _problem(N, D, activation="sign"):
    gen = random_single_layer(N, D, activation, seed=0)
    Ws, Wt = draw_weights(N, D, K, M, seed=1)
    return gen, Ws, Wt


def _sample(gen, Ws, Wt, n, seed, dtype, sink):
    if sink == "stream":
        stream_fields(gen, Ws, Wt, n, FieldStream(np.zeros(K + M), np.eye(K + M)), seed=seed, dtype=dtype)
    else:
        sample_fields(gen, Ws, Wt, n, seed=seed, dtype=dtype)


def sampling_gflops(N, D, n, dtype, sink="arrays", activation="sign"):
    """(GFLOP/s counting 2·n·D·N, samples/s) of one sampling run of n rows, after a warm-up."""
    gen, Ws, Wt = _problem(N, D, activation)
    _sample(gen, Ws, Wt, min(n, 20000), 2, dtype, sink)  # warm-up
    t = time.perf_counter()
    _sample(gen, Ws, Wt, n, 3, dtype, sink)
    el = time.perf_counter() - t
    return 2 * n * D * N / el / 1e9, n / el


def throughput(N, D, n, dtypes, sink="arrays"):
    """Per dtype: the GEMM reference (best of three), sampling (best of two), interleaved across dtypes."""
    refs = {dt: [] for dt in dtypes}
    runs = {dt: [] for dt in dtypes}
    for rep in range(3):
        for dt in dtypes:
            refs[dt].append(gemm_gflops(auto_batch_size(N, D, dtype=dt), D, N, dt))
            if rep < 2:
                runs[dt].append(sampling_gflops(N, D, n, dt, sink))
    out = {}
    for dt in dtypes:
        got, rate = max(runs[dt])
        out[dt] = {"N": N, "D": D, "n": n, "dtype": dt, "sink": sink, "batch": auto_batch_size(N, D, dtype=dt),
                   "gemm_gflops": max(refs[dt]), "sampling_gflops": got, "fraction_of_gemm": got / max(refs[dt]),
                   "samples_per_s": rate}
    return out


def split(N, D, n, dtype):
    """Seconds per part of the one-thread batch loop over n rows, streamed into a FieldStream."""
    gen, Ws0, Wt0 = _problem(N, D)
    b = auto_batch_size(N, D, dtype=dtype)
    At = np.asarray(gen.A.T / math.sqrt(D), dtype=dtype)
    Ws = np.asarray(Ws0.T / math.sqrt(N), dtype=dtype)
    Wt = np.asarray(Wt0.T / math.sqrt(D), dtype=dtype)
    c_buf, h_buf, z_buf = np.empty((b, D), dtype), np.empty((b, N), dtype), np.empty((b, K + M), dtype)
    sink = FieldStream(np.zeros(K + M), np.eye(K + M))
    stream = LatentStream(D, seed=3, dtype=dtype)
    parts = dict.fromkeys(["latent normals", "c Aᵀ", "σ in place", "x W_studentᵀ", "c W_teacherᵀ", "stream update"],
                          0.0)
    names = list(parts)
    t_all, done = time.perf_counter(), 0
    while done < n:
        bb = min(b, n - done)
        c, h, z = c_buf[:bb], h_buf[:bb], z_buf[:bb]
        steps = ((stream.fill, (c,), {}), (np.matmul, (c, At), {"out": h}), (np.copysign, (1.0, h), {"out": h}),
                 (np.matmul, (h, Ws), {"out": z[:, :K]}), (np.matmul, (c, Wt), {"out": z[:, K:]}),
                 (sink.update, (z,), {}))
        for name, (fn, args, kw) in zip(names, steps):
            t = time.perf_counter()
            fn(*args, **kw)
            parts[name] += time.perf_counter() - t
        done += bb
    total = time.perf_counter() - t_all
    gemm_s = 2 * n * D * N / gemm_gflops(b, D, N, dtype) / 1e9
    gen2, Ws2, Wt2 = _problem(N, D)
    _sample(gen2, Ws2, Wt2, min(n, 20000), 2, dtype, "stream")
    t = time.perf_counter()
    _sample(gen2, Ws2, Wt2, n, 3, dtype, "stream")
    now = time.perf_counter() - t
    return {"N": N, "D": D, "n": n, "dtype": dtype, "batch": b, "one_thread_loop_s": total, "parts_s": parts,
            "gemm_reference_s": gemm_s, "sampler_s": now}


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


def _print_split(s):
    tot = s["one_thread_loop_s"]
    print(f"N={s['N']} D={s['D']} n={s['n']:,} {s['dtype']} batch={s['batch']}: one-thread batch loop {tot:.2f} s "
          f"(the GEMM alone {s['gemm_reference_s']:.2f} s = {100 * s['gemm_reference_s'] / tot:.0f} %); "
          f"the sampler now {s['sampler_s']:.2f} s ({100 * s['gemm_reference_s'] / s['sampler_s']:.0f} % of GEMM)")
    for name, sec in s["parts_s"].items():
        print(f"    {name:<16} {sec:7.3f} s  {100 * sec / tot:5.1f} %")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[2000])
    ap.add_argument("--D", type=int, nargs="+", default=None, help="one per N (default N/2)")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    ap.add_argument("--sink", choices=["arrays", "stream"], default="arrays")
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    if a.memory:
        dt = "float64" if a.dtype == "both" else a.dtype
        for n in (100_000, 1_000_000):
            peak, out, el = peak_memory(4000, 2000, n, dt)
            print(f"N=4000 D=2000 n={n:>9,}: peak {peak / 2**20:8.1f} MiB, of which output (n×4) "
                  f"{out / 2**20:6.1f} MiB, working {(peak - out) / 2**20:7.1f} MiB, {el:.1f} s")
        return
    Ds = a.D or [N // 2 for N in a.N]
    if len(Ds) != len(a.N):
        ap.error(f"--D takes one value per --N ({len(a.N)}), got {len(Ds)}")
    dtypes = ["float64", "float32"] if a.dtype == "both" else [a.dtype]
    figures = []
    for N, D in zip(a.N, Ds):
        if a.split:
            for dt in dtypes:
                s = split(N, D, a.n, dt)
                _print_split(s)
                figures.append(s)
            continue
        res = throughput(N, D, a.n, dtypes, a.sink)
        for dt in dtypes:
            r = res[dt]
            print(f"N={N} D={D} n={a.n:,} {dt} batch={r['batch']} ({a.sink}): GEMM {r['gemm_gflops']:7.1f} GFLOP/s, "
                  f"sampling {r['sampling_gflops']:7.1f} GFLOP/s = {100 * r['fraction_of_gemm']:5.1f} % of GEMM, "
                  f"{r['samples_per_s']:,.0f} samples/s")
        if len(dtypes) == 2:
            ratio = res["float32"]["samples_per_s"] / res["float64"]["samples_per_s"]
            print(f"N={N} D={D}: float32/float64 samples per second = {ratio:.2f}")
            res["float32_over_float64"] = ratio
        figures.append(res)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(figures, fh, indent=1)


if __name__ == "__main__":
    main()
