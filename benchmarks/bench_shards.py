"""A sharded d_MS point on a Dask cluster: its sampling rate, its per-shard overhead, and a projection.

Run on a quiet machine (nothing else running)::

    python benchmarks/bench_shards.py [--N 1024] [--shards 16] [--shard-size 32768] [--json FILE]

1. **Rate.** One point (single-layer sign, D = N/2, K = M = 1) sampled twice with the same n:
   in one process with this machine's BLAS threads (2 here), and sharded on a local Dask
   cluster of 2 single-thread worker *processes*.  The figure is samples/s of the measured
   run's sampling stage (``CheckResult.timings["sampling"]``, which for the sharded run
   includes scheduling, the shards' transfers and the merge), and their ratio.
2. **Per-shard overhead.** Many tiny shards (N = 16, 4,096 rows, no plug-in rows) on the same
   cluster: the wall time per shard when compute is negligible (scheduling, transfer, merge
   together: an upper bound on the serial cost per shard), the pickled bytes a shard returns,
   and the time :func:`getheory.distances.merge_stats` takes per part.
3. **Projection.** With the single-thread row cost t_row(N) ∝ N·D (measured at ``--N`` and
   scaled: the sampling is a D×N product per row), a shard of s rows computes for
   t_s = s·t_row; counting the serial per-shard cost c once per worker in flight, the
   overhead fraction at W workers is about (1 + W)·c / t_s.  Printed: the efficiency at 16
   and 100 workers for N = 2048 and 8192 at the shard size used, and the smallest shard size
   that keeps the overhead ≤ 2 %.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time

import numpy as np


def _check(N, n, shard_size=None, client=None, n_plugin=None, seed=0):
    import getheory as gt
    from getheory.distances import StreamOptions

    opts = gt.CheckOptions(activation="sign", N=N, D=N // 2, K=1, M=1, samples=n, seed=seed,
                           shards=gt.ShardOptions(size=shard_size) if shard_size else None,
                           stream=None if n_plugin is None else StreamOptions(n_plugin=n_plugin))
    return gt.check_generator(None, opts, client=client)


def rate(args, client):
    n = args.shards * args.shard_size
    _check(args.N, 4 * 4096, 4096, client)  # warm the workers (imports, the generator recipe)
    single = _check(args.N, n)
    sharded = _check(args.N, n, args.shard_size, client)
    r1 = n / single.timings["sampling"]
    r2 = n / sharded.timings["sampling"]
    return {"N": args.N, "n": n, "shard_size": args.shard_size, "single_process_rows_per_s": r1,
            "two_workers_rows_per_s": r2, "ratio": r2 / r1}


def overhead(client, shards=200, size=4096):
    from getheory.distances import merge_stats

    n = shards * size
    local = _check(16, n, n_plugin=0)
    t_local = local.timings["sampling"]
    res = _check(16, n, size, client, n_plugin=0)
    t_sharded = res.timings["sampling"]
    # one shard's statistics as a worker returns them (d = 2 fields, 64 groups, no reservoir rows)
    from getheory.distances import FieldStream, StreamOptions

    fs = FieldStream(np.zeros(2), np.eye(2), options=StreamOptions(n_plugin=0))
    fs.update(np.random.default_rng(0).standard_normal((size, 2)))
    part = fs.finish()
    nbytes = len(pickle.dumps(part))
    parts = [part] * shards
    t0 = time.perf_counter()
    merge_stats(parts)
    t_merge = (time.perf_counter() - t0) / shards
    per_shard = t_sharded / shards
    return {"shards": shards, "shard_rows": size, "sharded_seconds": t_sharded, "in_process_seconds": t_local,
            "seconds_per_shard": per_shard, "bytes_per_shard": nbytes, "merge_seconds_per_part": t_merge}


def single_thread_row_cost(N, n=65536):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        res = _check(N, n)
    return res.timings["sampling"] / n


def project(t_row_ref, N_ref, c, shard_size):
    out = {}
    for N in (2048, 8192):
        t_row = t_row_ref * (N * (N // 2)) / (N_ref * (N_ref // 2))
        t_s = shard_size * t_row
        row = {"t_row_s": t_row, "shard_seconds": t_s}
        for W in (16, 100):
            f = (1 + W) * c / t_s
            row[f"efficiency_{W}"] = 1 / (1 + f)
            row[f"shard_rows_for_2pct_{W}"] = int(np.ceil((1 + W) * c / 0.02 / t_row))
        out[N] = row
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=1024)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--shard-size", type=int, default=32768)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    # no fixed port: the scheduler's and its HTTP server's (started even without a dashboard, on 8787 by default)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, scheduler_port=0, dashboard_address=None,
                      worker_dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, \
            Client(cluster) as client:
        r = rate(args, client)
        o = overhead(client)
    t_row = single_thread_row_cost(args.N)
    p = project(t_row, args.N, o["seconds_per_shard"], args.shard_size)
    result = {"rate": r, "overhead": o, "single_thread_seconds_per_row": t_row, "projection": p}
    print(f"rate at N = {r['N']}, n = {r['n']:,} ({r['n'] // r['shard_size']} shards of {r['shard_size']:,}): "
          f"one process (BLAS threads as set) {r['single_process_rows_per_s']:,.0f} rows/s, "
          f"2 single-thread workers {r['two_workers_rows_per_s']:,.0f} rows/s: ratio {r['ratio']:.3f}")
    print(f"per-shard overhead: {o['shards']} shards of {o['shard_rows']} rows (N = 16) in {o['sharded_seconds']:.2f} s "
          f"on the cluster against {o['in_process_seconds']:.2f} s in process: {1e3 * o['seconds_per_shard']:.2f} ms "
          f"a shard; {o['bytes_per_shard']:,} bytes returned; merge {1e6 * o['merge_seconds_per_part']:.0f} µs a part")
    print(f"single-thread row cost at N = {args.N}: {1e6 * t_row:.1f} µs")
    for N, row in p.items():
        print(f"N = {N}: a shard of {args.shard_size:,} rows computes {row['shard_seconds']:.0f} s; efficiency "
              f"{100 * row['efficiency_16']:.1f} % at 16 workers, {100 * row['efficiency_100']:.1f} % at 100; "
              f"overhead <= 2 % needs >= {row['shard_rows_for_2pct_16']:,} rows a shard at 16, "
              f">= {row['shard_rows_for_2pct_100']:,} at 100")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
