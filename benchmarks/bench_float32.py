"""float32 sampling against float64: the precision effect on κ3, κ4 and d_MS, and the speed.

Run:  python benchmarks/bench_float32.py                                  # sign, erf2, relu at N = 256, 1024
      python benchmarks/bench_float32.py --N 256 --activations sign --n 200000 --json out.json
      python benchmarks/bench_float32.py --N 2048 --activations sign --n 200000 --speed   # (c) only

For each activation and N (D = N/2, K = M given, Gaussian weights, exact moments) it measures
in one process:

(a) **identical latents**: n latents drawn in float64, the same rows cast to float32; the fields
    (λ, ν) computed from each with the sampler's arithmetic in its dtype (x = σ(c Aᵀ/√D),
    λ = x Wᵀ/√N, ν = c W̃ᵀ/√D: products and σ in the dtype), both streamed into a
    :class:`getheory.distances.FieldStream` (float64 power sums and reservoir) and estimated with
    the same seed.  Reported: the difference float32 − float64 of the held-out κ3, κ4, the
    Edgeworth d_MS and the plug-in, each in units of the float64 estimate's standard error (the
    plug-in's: its floor's spread).  This is the rounding's whole effect on the numbers.
(b) **independent draws**: ``stream_fields`` in float64 and in float32 from independent seeds at
    the same n; z = (a − b)/√(SE_a² + SE_b²) of κ3, κ4 and the Edgeworth d_MS, with the
    two-sided level-0.01 threshold |z| = 2.58 (a float32 bias of the order of the SE would show).
(c) **speed**: rows/s of ``stream_fields`` into a FieldStream (sampling plus the streamed
    statistics) in each dtype, after a warm-up, and their ratio.

The machine's load changes absolute rates; the ratio of (c) is measured back to back.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

Z_01 = 2.5758  # two-sided 0.01


def fields_of(gen, c, W_student, W_teacher, dtype):
    """(λ, ν) of the latents ``c`` with the sampler's arithmetic in ``dtype`` (getheory.fields)."""
    Ws = (W_student.T / math.sqrt(gen.N)).astype(dtype)
    Wt = (W_teacher.T / math.sqrt(gen.D)).astype(dtype)
    c = c.astype(dtype, copy=False)
    return np.concatenate([gen.sample(c) @ Ws, c @ Wt], axis=1)


def _numbers(est):
    """The figures compared, with the scale each difference is measured in."""
    cu = est.cumulant
    out = {"kappa3": (cu.kappa3, cu.se_kappa3), "kappa4": (cu.kappa4, cu.se_kappa4),
           "edgeworth": (cu.edgeworth_w1, cu.edgeworth_se)}
    if est.plug_in is not None:
        out["plug_in"] = (est.plug_in.value, est.floor.sd)
    return out


def identical_latents(gen, Ws, Wt, match, n, seed):
    """(a): both dtypes from the same float64 latents; differences in SE of the float64 estimate."""
    from getheory.distances import FieldStream, estimate_dms

    sinks = {dt: FieldStream(match.mean, match.cov) for dt in ("float64", "float32")}
    rng = np.random.default_rng(seed)
    b = 1 << 14
    for start in range(0, n, b):
        c = rng.standard_normal((min(b, n - start), gen.D))
        for dt, sink in sinks.items():
            sink.update(fields_of(gen, c, Ws, Wt, dt))
    est = {dt: _numbers(estimate_dms(s.finish(), match.mean, match.cov, seed=seed + 1)) for dt, s in sinks.items()}
    return {k: {"float64": a, "float32": est["float32"][k][0], "se": se,
                "diff_in_se": (est["float32"][k][0] - a) / se if se > 0 else float("nan")}
            for k, (a, se) in est["float64"].items()}


def independent_draws(gen, Ws, Wt, match, n, seed, estimate=True):
    """(b): independent streams in each dtype; z of the difference, and the sampling rates (only
    the rates without ``estimate``)."""
    from getheory.distances import FieldStream, estimate_dms
    from getheory.fields import stream_fields

    out, rate = {}, {}
    for i, dt in enumerate(("float64", "float32")):
        stream_fields(gen, Ws, Wt, 20_000, FieldStream(match.mean, match.cov), seed=seed + 99, dtype=dt)  # warm-up
        sink = FieldStream(match.mean, match.cov)
        t = time.perf_counter()
        stream_fields(gen, Ws, Wt, n, sink, seed=seed + 10 + i, dtype=dt)
        rate[dt] = n / (time.perf_counter() - t)
        if not estimate:
            continue
        out[dt] = _numbers(estimate_dms(sink.finish(), match.mean, match.cov, seed=seed + 20 + i))
    z = {}
    for k in ("kappa3", "kappa4", "edgeworth") if estimate else ():
        (a, sa), (b, sb) = out["float64"][k], out["float32"][k]
        z[k] = {"float64": a, "float32": b, "se64": sa, "se32": sb, "z": (b - a) / math.hypot(sa, sb)}
    return z, rate


def one_point(activation, N, K, M, n, seed, speed_only=False):
    import getheory as gt

    D = max(1, N // 2)
    gen = gt.random_single_layer(N, D, activation, seed=seed)
    Ws, Wt = gt.draw_weights(N, D, K, M, seed=seed + 1)
    match = gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)
    t = time.perf_counter()
    same = {} if speed_only else identical_latents(gen, Ws, Wt, match, n, seed + 2)
    indep, rate = independent_draws(gen, Ws, Wt, match, n, seed + 3, estimate=not speed_only)
    return {"activation": activation, "N": N, "D": D, "K": K, "M": M, "n": n, "identical_latents": same,
            "independent": indep, "rows_per_s": rate, "speedup": rate["float32"] / rate["float64"],
            "seconds": time.perf_counter() - t}


def _print(r):
    print(f"{r['activation']:5s} N = {r['N']:5d}, D = {r['D']}, K = M = {r['K']}, n = {r['n']:,}  "
          f"({r['seconds']:.0f} s)")
    for k, v in r["identical_latents"].items():
        print(f"  (a) same latents  {k:9s} f64 {v['float64']: .6e}  f32 {v['float32']: .6e}  "
              f"Δ = {v['diff_in_se']: .1e} SE")
    for k, v in r["independent"].items():
        flag = "" if abs(v["z"]) < Z_01 else f"  |z| > {Z_01} (level 0.01)"
        print(f"  (b) independent   {k:9s} f64 {v['float64']: .4e} ± {v['se64']:.1e}  "
              f"f32 {v['float32']: .4e} ± {v['se32']:.1e}  z = {v['z']: .2f}{flag}")
    rate = r["rows_per_s"]
    print(f"  (c) rows/s  float64 {rate['float64']:,.0f}  float32 {rate['float32']:,.0f}  "
          f"ratio {r['speedup']:.2f}")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--activations", nargs="+", default=["sign", "erf2", "relu"])
    ap.add_argument("--K", type=int, default=1)
    ap.add_argument("--M", type=int, default=1)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed", action="store_true", help="only (c), the rows/s of each dtype")
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args(argv)
    rows = []
    for N in a.N:
        for act in a.activations:
            rows.append(one_point(act, N, a.K, a.M, a.n, a.seed, a.speed))
            _print(rows[-1])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if a.speed:
        return
    worst_a = max(abs(v["diff_in_se"]) for r in rows for v in r["identical_latents"].values())
    zs = [v["z"] for r in rows for v in r["independent"].values()]
    print(f"largest |Δ|/SE on identical latents: {worst_a:.1e}; independent draws: {sum(abs(z) >= Z_01 for z in zs)} "
          f"of {len(zs)} |z| >= {Z_01} (level 0.01; {0.01 * len(zs):.2f} expected by chance), largest |z| = "
          f"{max(map(abs, zs)):.2f}")


if __name__ == "__main__":
    main()
