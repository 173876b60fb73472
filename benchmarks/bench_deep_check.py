"""A deep sign check at large N against a wall-clock limit: how the time splits and whether d_MS resolves.

Run:  python benchmarks/bench_deep_check.py [--N 1024] [--depth 3] [--budget 600] [--dtype float32]
                                            [--seed 0] [--json FILE]

Builds the deep sweep's generator, x = sign(A_L ⋯ sign(A_1 c/√D)/√N ⋯) with every hidden width N,
D = N/2, K = M = 1 (as ``examples/sweep_deep_rates.toml``), and runs :func:`getheory.check.check_generator`
with ``samples="auto"`` and the given time budget, which bounds the moments, the pilot and the sampling.
Prints the check's timings by step, the moments' time against the sampling time, the samples per
second, and the "d_MS resolved" verdict with its held-out |z|.  Never time it while other jobs run.
"""

from __future__ import annotations

import argparse
import json
import time

from getheory import check_generator, draw_weights, random_deep
from getheory.plan import PlanOptions


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--dtype", default=None, help="the check's dtype (default: the check's own default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args(argv)
    N, D = a.N, a.N // 2
    gen = random_deep([D] + [N] * a.depth, "sign", seed=a.seed)
    Ws, Wt = draw_weights(N, D, 1, 1, seed=a.seed + 1)
    extra = {"dtype": a.dtype} if a.dtype else {}
    t0 = time.perf_counter()
    res = check_generator(gen, W_student=Ws, W_teacher=Wt, samples="auto", plan=PlanOptions(time_budget=a.budget),
                          seed=a.seed, **extra)
    wall = time.perf_counter() - t0
    d = res.to_dict()
    cond = next(c for c in d["conditions"] if c["name"].startswith("d_MS resolved"))
    tm = d.get("timings_s", {})
    out = {"N": N, "D": D, "depth": a.depth, "budget_s": a.budget, "dtype": d.get("settings", {}).get("dtype"),
           "wall_s": wall, "timings_s": tm, "samples": d["sizes"]["samples"],
           "moments_over_sampling": tm.get("moments", float("nan")) / max(tm.get("sampling", 0.0), 1e-9),
           "rows_per_s": d["sizes"]["samples"] / max(tm.get("sampling", 0.0), 1e-9),
           "verdict": cond["verdict"], "z": cond["numbers"].get("z_max"), "detail": cond["detail"],
           "d_MS": d["d_MS"]["value"], "estimator": d["d_MS"]["estimator"]}
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
