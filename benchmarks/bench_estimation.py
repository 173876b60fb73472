"""Cost of estimating d_MS against the cost of sampling the fields it is estimated from.

Run:  python benchmarks/bench_estimation.py                      # ratios at n = 10^6, N = 1024, K = M = 2
      python benchmarks/bench_estimation.py --memory 1e6 1e8     # peak memory, N = 256, K = M = 1
      python benchmarks/bench_estimation.py --reach --N 2048 --budget 600  # sign, K = M = 1: z of κ4 in the budget,
                                                                           # the Edgeworth d_MS against the analytic

Ratios are measured in one run, so they do not depend on how loaded this shared machine
is at the time:

* sampling: ``stream_fields`` into a sink that discards the batches;
* streaming statistics: ``FieldStream.update`` (power sums in 64 groups plus the plug-in
  reservoir) on n rows in the sampler's batch size, timed on its own (the sampling run into a
  FieldStream is reported too, but its difference from the bare run is within the noise);
* cumulant path: streaming statistics plus ``cumulants_from_stats``;
* plug-in path: the plug-in (guided search) plus its 19 floor replicates on the reservoir.

Peak memory is the process's maximum resident set (``ru_maxrss``), each n in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def _setup(N, D, K, M, activation="sign"):
    import getheory as gt

    gen = gt.random_single_layer(N, D, activation, seed=0)
    Ws, Wt = gt.draw_weights(N, D, K, M, seed=1)
    match = gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)
    return gen, Ws, Wt, match


class _Discard:
    def update(self, z):
        pass


def ratios(N, D, K, M, n):
    from getheory.distances import DmsOptions, FieldStream, cumulants_from_stats, estimate_dms
    from getheory.fields import stream_fields

    gen, Ws, Wt, match = _setup(N, D, K, M)
    stream_fields(gen, Ws, Wt, 20_000, _Discard(), seed=9)  # warm-up
    t = time.perf_counter()
    stream_fields(gen, Ws, Wt, n, _Discard(), seed=2)
    t_sample = time.perf_counter() - t
    sink = FieldStream(match.mean, match.cov)
    t = time.perf_counter()
    stream_fields(gen, Ws, Wt, n, sink, seed=2)
    stats = sink.finish()
    t_sample_and_stream = time.perf_counter() - t
    # the statistics alone, measured directly (the difference of two sampling runs is noise):
    # FieldStream.update on n rows in batches of the sampler's size
    from getheory.fields import auto_batch_size

    b = auto_batch_size(N, D)
    b -= b % 64
    zb = np.random.default_rng(0).standard_normal((b, K + M))
    probe = FieldStream(match.mean, match.cov)
    t = time.perf_counter()
    for _ in range(n // b):
        probe.update(zb)
    probe.finish()
    t_stream = (time.perf_counter() - t) * n / (b * (n // b))
    cumulants_from_stats(probe.finish(), match.cov, seed=4)  # warm-up: one-time imports (scipy.stats)
    t = time.perf_counter()
    cum = cumulants_from_stats(stats, match.cov, seed=3)
    t_cum = time.perf_counter() - t
    t = time.perf_counter()
    est = estimate_dms(stats, match.mean, match.cov, seed=3, options=DmsOptions())
    t_all = time.perf_counter() - t
    t_plug = t_all - t_cum
    out = {
        "N": N, "D": D, "K": K, "M": M, "n": n,
        "sampling_s": t_sample, "sampling_with_stream_s": t_sample_and_stream, "streaming_stats_s": t_stream, "cumulants_s": t_cum,
        "plug_in_and_floor_s": t_plug, "estimate_dms_s": t_all,
        "cumulant_path_over_sampling": (t_stream + t_cum) / t_sample,
        "plug_in_and_floor_over_sampling": t_plug / t_sample,
        "all_estimation_over_sampling": (t_stream + t_all) / t_sample,
        "z_kappa4": cum.z_kappa4, "estimator": est.estimator, "d_MS": est.value, "se": est.se,
    }
    return out


def _memory_child(n, N, D):
    from getheory.distances import FieldStream
    from getheory.fields import stream_fields

    gen, Ws, Wt, match = _setup(N, D, 1, 1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sink = FieldStream(match.mean, match.cov)
    t = time.perf_counter()
    stream_fields(gen, Ws, Wt, n, sink, seed=2)
    stats = sink.finish()
    el = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"n": n, "N": N, "D": D, "seconds": el, "rows_per_s": n / el, "peak_rss_mib": peak / 1024,
                      "rss_before_sampling_mib": base / 1024, "groups": stats.groups,
                      "reservoir_rows": int(stats.reservoir.shape[0])}))


def reach(N, budget):
    """The issue's reach point: sign, N, D = N/2, K = M = 1, planned within ``budget`` seconds; whether
    d_MS is resolved at |z| >= 5, and its Edgeworth value against the analytic one (docs/theory.md §4.2)."""
    import getheory as gt
    from getheory.plan import PlanOptions

    t = time.perf_counter()
    res = gt.check_generator(activation="sign", N=N, D=N // 2, K=1, M=1, seed=0,
                             plan=PlanOptions(time_budget=budget), progress=True)
    el = time.perf_counter() - t
    d = res.to_dict()
    cu = d["d_MS"]["cumulant"]
    cond = next(c for c in d["conditions"] if c["name"].startswith("d_MS resolved"))
    an = (d.get("analytic") or {}).get("analytic") or {}
    ew, se_ew, a_ew = cu["edgeworth_w1"], cu["edgeworth_se"], an.get("edgeworth_w1", float("nan"))
    return {"N": N, "budget_s": budget, "wall_s": el, "n": d["sizes"]["samples"], "kappa4": cu["kappa4"],
            "se_kappa4": cu["se_kappa4"], "z_kappa4": cu["z_kappa4"], "resolved": cond["verdict"],
            "plan": d["plan"]["statement"], "d_MS": d["d_MS"]["value"], "se": d["d_MS"]["se"],
            "estimator": d["d_MS"]["estimator"], "edgeworth_w1": ew, "edgeworth_se": se_ew,
            "analytic_edgeworth_w1": a_ew,
            "edgeworth_minus_analytic_in_se": (ew - a_ew) / se_ew if se_ew > 0 else None,
            "timings": d["timings_s"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int, default=1024)
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--M", type=int, default=2)
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--memory", type=float, nargs="*", metavar="n")
    ap.add_argument("--memory-N", type=int, default=256)
    ap.add_argument("--reach", action="store_true")
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--_child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()
    if a._child is not None:
        _memory_child(int(a._child), a.memory_N, a.memory_N // 2)
        return
    if a.memory:
        out = []
        for n in a.memory:
            r = subprocess.run([sys.executable, __file__, "--_child", str(n), "--memory-N", str(a.memory_N)],
                               capture_output=True, text=True, check=True)
            out.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(json.dumps(out[-1]))
    elif a.reach:
        out = reach(a.N, a.budget)
        print(json.dumps(out, indent=1))
    else:
        out = ratios(a.N, a.N // 2, a.K, a.M, int(a.n))
        print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
