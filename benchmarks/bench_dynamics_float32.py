"""float32 SGD inputs against float64 (docs/theory.md §7.8): the effect on the learning curves, and the speed.

Run:  python benchmarks/bench_dynamics_float32.py                       # the paper setting to t = 100, 3 seeds
      python benchmarks/bench_dynamics_float32.py --N 1000 --D 100 --t-max 20 --seeds 3   # a quick look

For the sign generator (K = M = 2, η = 0.2, g = erf(z/√2), ``--seed``), ``getheory dynamics`` is run
twice with the same problem and the same SGD seeds, once with float64 inputs and once with float32
ones, without the ODE.  At every record time and for each source it reports the difference of
the mean order-parameter errors (float32 − float64) in units of the standard error over seeds of
the float64 curve, and the largest |difference|/SE over the record times from t = 1 on.  On generator
data the two runs share the latents, so the difference is the rounding's alone; on
Gaussian-equivalent data float32 draws its own ξ', so the runs are independent and the difference
is of the size of two runs' spread (√2 SE on average); for it the two-sample z,
(mean32 − mean64)/√(SE32² + SE64²), is also printed.  The issue's criterion for using float32 in
a long run: the difference at t = 100 below one SE.  Also reported: each run's SGD steps per second
(both sources side by side), back to back on this machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np

from getheory.dynamics import run_dynamics


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=8000)
    ap.add_argument("--D", type=int, default=800)
    ap.add_argument("--t-max", type=float, default=100.0)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs", flush=True)
    for dtype in ("float64", "float32"):  # warm up: the kernel compiled (or loaded) for each dtype's inputs
        run_dynamics(activation="sign", N=64, D=8, t_max=0.5, points=2, sgd_seeds=1, ode=False, n_test=100, dtype=dtype)
    res = {}
    for dtype in ("float64", "float32"):
        res[dtype] = run_dynamics(activation="sign", N=args.N, D=args.D, K=2, M=2, eta=0.2, t_max=args.t_max,
                                  points=args.points, sgd_seeds=args.seeds, seed=args.seed, ode=False,
                                  n_test=2000, dtype=dtype, progress=True)
    t = np.asarray(res["float64"].t)
    out = {"N": args.N, "D": args.D, "seeds": args.seeds, "t": t.tolist(), "sources": {}}
    for src in res["float64"].eps_per_seed:
        a = np.asarray(res["float64"].eps_per_seed[src]["order_parameters"])
        b = np.asarray(res["float32"].eps_per_seed[src]["order_parameters"])
        se = a.std(axis=0, ddof=1) / math.sqrt(a.shape[0])
        se32 = b.std(axis=0, ddof=1) / math.sqrt(b.shape[0])
        z = np.where(se > 0, (b.mean(0) - a.mean(0)) / np.where(se > 0, se, 1.0), 0.0)
        both = np.sqrt(se**2 + se32**2)
        z2 = np.where(both > 0, (b.mean(0) - a.mean(0)) / np.where(both > 0, both, 1.0), 0.0)
        late = t >= 1.0
        out["sources"][src] = {"diff_in_se": z.tolist(), "max_abs_diff_in_se_from_t1": float(np.max(np.abs(z[late]))),
                               "diff_in_se_at_t_max": float(z[-1]), "se_at_t_max": float(se[-1]),
                               "two_sample_z_at_t_max": float(z2[-1]),
                               "mean64_at_t_max": float(a.mean(0)[-1]), "mean32_at_t_max": float(b.mean(0)[-1])}
        print(f"{src}: at t = {t[-1]:g} float32 − float64 = {z[-1]:+.2f} SE of the float64 mean "
              f"(two-sample z {z2[-1]:+.2f}; ε_g {a.mean(0)[-1]:.5g} vs {b.mean(0)[-1]:.5g}, SE {se[-1]:.2g}); "
              f"largest |diff| from t = 1 on {np.max(np.abs(z[late])):.2f} SE")
    for dtype, r in res.items():
        rate = r.sgd["steps"] / r.sgd["seconds"] if r.sgd["seconds"] else float("nan")
        out[f"steps_per_second_{dtype}"] = rate
        print(f"{dtype}: {r.sgd['steps']:,} steps per source in {r.sgd['seconds']:.0f} s of SGD "
              f"({rate:,.0f} steps/s, both sources)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
