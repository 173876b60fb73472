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

The functions are shared with ``benchmarks/device_run.py`` (the prepared GPU script):
``gemm_gflops``, ``sampling``, ``streaming`` (sampling into the streamed statistics),
``estimation`` (d_MS from streamed statistics), ``readme_command`` (the README's main
command through the API) and ``peak_memory`` (device memory of sampling + streaming).
They take any backend, the test backend ``"strict"`` included.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import getheory as gt
from getheory.backend import available_backends, get_backend
from getheory.fields import auto_batch_size


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


def streaming(bk, N, D, n, dtype="float64", K=2, M=2):
    """Sampling into the streamed statistics (``FieldStream``: power sums in groups + reservoir).

    Returns a dict: GFLOP/s (counting 2·n·D·N), samples/s, seconds, and the finished
    statistics with the Gaussian match (``stats``, ``match``) for :func:`estimation`.
    """
    from getheory.distances import FieldStream
    from getheory.fields import stream_fields

    gen = gt.random_single_layer(N, D, "sign", seed=0)
    Ws, Wt = gt.draw_weights(N, D, K, M, seed=1)
    match = gt.gaussian_match(gt.exact_moments(gen, backend=bk), Ws, Wt)
    warm = FieldStream(match.mean, match.cov, backend=bk)
    stream_fields(gen, Ws, Wt, min(n, 4096), warm, seed=2, backend=bk, dtype=dtype)
    sink = FieldStream(match.mean, match.cov, backend=bk)
    bk.synchronize()
    t = time.perf_counter()
    stream_fields(gen, Ws, Wt, n, sink, seed=3, backend=bk, dtype=dtype)
    stats = sink.finish()
    bk.synchronize()
    el = time.perf_counter() - t
    return {"gflops": 2 * n * D * N / el / 1e9, "samples_per_s": n / el, "seconds": el, "n": n,
            "stats": stats, "match": match}


def estimation(stats, match, seed=4):
    """Seconds of ``estimate_dms`` (plug-in with its floor replicates + held-out cumulants) on streamed stats."""
    t = time.perf_counter()
    est = gt.estimate_dms(stats, match.mean, match.cov, seed=seed)
    el = time.perf_counter() - t
    return {"seconds": el, "d_MS": est.value, "se": est.se, "estimator": est.estimator, "n": est.n}


def readme_command(bk, N=256, D=128, time_budget=60.0):
    """The README's main command, ``getheory check --activation sign --N 256 --D 128``, through the API.

    Same defaults as the command line (K = M = 2, samples planned by a pilot within
    ``time_budget`` seconds, seed 0); the time excludes starting Python and importing.
    """
    from getheory.plan import PlanOptions

    t = time.perf_counter()
    res = gt.check_generator(activation="sign", N=N, D=D, K=2, M=2, seed=0, backend=bk,
                             plan=PlanOptions(time_budget=time_budget))
    bk.synchronize()
    el = time.perf_counter() - t
    cond = next(c for c in res.conditions if c.name == "d_MS resolved")
    return {"N": N, "D": D, "time_budget_s": time_budget, "seconds": el, "timings_s": dict(res.timings),
            "n": res.sizes["samples"], "d_MS": res.dms.value, "se": res.dms.se, "estimator": res.dms.estimator,
            "z_max": cond.numbers.get("z_max"), "resolved_5_sigma": cond.verdict == "pass", "resolution": cond.detail}


class MemoryMeter:
    """Peak memory of the work inside ``with``: device memory on CuPy, traced host memory elsewhere.

    On CuPy a memory hook follows the bytes handed out by the memory pool (current and
    peak) and the pool's size after the work is read too (it keeps freed blocks, so it
    is the pool's high-water mark).  On the CPU backends (NumPy, and the strict test
    device, whose arrays live in NumPy memory) ``tracemalloc`` traces the allocations.
    """

    def __init__(self, bk):
        self.bk = bk
        self.figures = {}

    def __enter__(self):
        self._cupy = None
        if self.bk.name == "cupy":  # a benchmark may choose by backend; getheory code does not
            import cupy

            self._cupy = cupy
            self._pool = cupy.get_default_memory_pool()
            self._pool.free_all_blocks()
            self._base_total = self._pool.total_bytes()
            self._used0 = self._pool.used_bytes()

            class _Hook(cupy.cuda.MemoryHook):
                name = "getheory_peak"

                def __init__(self):
                    super().__init__()
                    self.used = self.peak = 0

                def malloc_postprocess(self, **kw):
                    self.used += int(kw.get("mem_size", 0))
                    self.peak = max(self.peak, self.used)

                def free_postprocess(self, **kw):
                    self.used -= int(kw.get("mem_size", 0))

            self._hook = _Hook()
            self._hook.__enter__()
        else:
            import tracemalloc

            self._tm = tracemalloc
            tracemalloc.start()
            tracemalloc.reset_peak()
            self._tm0 = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc):
        self.bk.synchronize()
        if self._cupy is not None:
            self._hook.__exit__(*exc)
            self.figures = {
                "method": "CuPy memory pool: hook on pool allocations (peak of bytes in use) and the pool's size after",
                "peak_bytes": self._hook.peak + self._used0,
                "peak_bytes_during": self._hook.peak,
                "pool_total_bytes_after": self._pool.total_bytes() - self._base_total,
            }
        else:
            cur, peak = self._tm.get_traced_memory()
            self._tm.stop()
            self.figures = {"method": "tracemalloc (host allocations, NumPy buffers included)",
                            "peak_bytes": peak, "peak_bytes_during": peak - self._tm0}
        return False


def peak_memory(bk, N, D, n, K=1, M=1):
    """Peak memory of sampling n rows into the streamed statistics (N, D, K = M = 1), with the rate."""
    from getheory.distances import FieldStream
    from getheory.fields import stream_fields

    gen = gt.random_single_layer(N, D, "sign", seed=0)
    Ws, Wt = gt.draw_weights(N, D, K, M, seed=1)
    match = gt.gaussian_match(gt.exact_moments(gen, backend=bk), Ws, Wt)
    meter = MemoryMeter(bk)
    t = time.perf_counter()
    with meter:
        sink = FieldStream(match.mean, match.cov, backend=bk)
        stream_fields(gen, Ws, Wt, n, sink, seed=2, backend=bk)
        sink.finish()
    el = time.perf_counter() - t
    return {"N": N, "D": D, "K": K, "M": M, "n": n, "seconds": el, "rows_per_s": n / el, **meter.figures}


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
        b = auto_batch_size(N, D, backend=bk)
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
