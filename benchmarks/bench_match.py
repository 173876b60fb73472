"""The Gaussian match of a generator without closed forms: from the fields against from Ω (docs/theory.md §2, §6).

Run:  python benchmarks/bench_match.py [--N 1024] [--D 512] [--depth 3] [--n 20000] [--dtypes float64 float32]
      python benchmarks/bench_match.py --noise [--omega 5000 20000 80000] [--seeds 2]

Timing (default): on a random deep sign network x = sign(W_L … sign(W_1 c/√D)/√N …) of the given depth,
K = M = 1 as in the check, the rows per second of

* sampling the fields (λ, ν) (``stream_fields`` into a sink that drops them): the check's measured run;
* the match from the fields (``monte_carlo_match``, 20 groups): the check's moments now;
* the match from Ω (``monte_carlo_moments`` with the weights, then ``gaussian_match``, 20 groups):
  the check's moments before, and what the linearised condition's Ω, Φ cost a row now;

each on n rows in each dtype, interleaved, best of ``--repeats``.  The ratio rows/s of sampling over rows/s
of a route is what that route costs a row in units of one sampled row.

Noise (``--noise``): the linearised condition's statistic ‖offdiag(Ω − ΦΦᵀ)‖_op/‖Ω‖_op and its noise level
(half the same norm of the difference of two independent halves) from the check's own moments step, at each
n_Ω and seed, with the seconds the Ω, Φ took.

Measured on the 2-core development machine, N = 1024, D = 512, depth 3:

* ``--n 20000 --repeats 2``, load about 1: float64 sampling 7,823 rows/s, a row of the match from the fields
  costs 0.82 sampled rows' time, of the match from Ω 1.50; float32 sampling 15,244 rows/s, 0.92 and 1.39
  (under load 10-20: 1,878 rows/s, 1.12 and 1.60; 3,872 rows/s, 1.43 and 2.17).  With the check's defaults
  (10^5 match rows, 20,000 Ω rows) the moments cost about 0.82·10^5 + 1.50·2·10^4 = 1.1·10^5 sampled rows
  in float64 against 1.5·10^5 before: a quarter less at depth 3, where a sampled row already costs 2·N² a
  layer; on a single-layer sign generator at the same sizes the match alone is 2.9× cheaper than through
  Ω (n = 12,000, best of 2, loaded).
* ``--noise --omega 5000 20000 80000 --seeds 2``: statistic 0.322 / 0.316, 0.305 / 0.308, 0.298 / 0.300;
  noise level 0.244 / 0.250, 0.107 / 0.106, 0.053 / 0.054.
"""

from __future__ import annotations

import argparse
import json
import time

from getheory import draw_weights, random_deep, stream_fields
from getheory.check import CheckOptions, build_problem, compute_moments, start_run
from getheory.check._conditions import _linearised
from getheory.moments import gaussian_match, monte_carlo_match, monte_carlo_moments


class _Drop:
    """A sink that keeps nothing."""

    def update(self, z):
        pass


def _routes(gen, Ws, Wt, n, dtype):
    """Seconds of each route on n rows (one run each)."""
    out = {}
    t = time.perf_counter()
    stream_fields(gen, Ws, Wt, n, _Drop(), seed=1, dtype=dtype)
    out["sampling"] = time.perf_counter() - t
    t = time.perf_counter()
    monte_carlo_match(gen, Ws, Wt, n, seed=2, dtype=dtype)
    out["match from the fields"] = time.perf_counter() - t
    t = time.perf_counter()
    gaussian_match(monte_carlo_moments(gen, n, seed=2, weights=(Ws, Wt), dtype=dtype), Ws, Wt)
    out["match from Omega"] = time.perf_counter() - t
    return out


def timing(args) -> dict:
    gen = random_deep([args.D] + [args.N] * args.depth, "sign", seed=0)
    Ws, Wt = draw_weights(args.N, args.D, 1, 1, seed=1)
    res = {}
    for dtype in args.dtypes:
        stream_fields(gen, Ws, Wt, min(args.n, 4096), _Drop(), seed=0, dtype=dtype)  # warm-up
        best = {}
        for _ in range(args.repeats):
            for k, v in _routes(gen, Ws, Wt, args.n, dtype).items():
                best[k] = min(best.get(k, float("inf")), v)
        rows = {k: args.n / v for k, v in best.items()}
        res[dtype] = {"seconds": best, "rows_per_s": rows,
                      "cost_in_sampled_rows": {k: rows["sampling"] / v for k, v in rows.items()}}
        print(f"{dtype}: " + ", ".join(f"{k} {v:,.0f} rows/s ({rows['sampling'] / v:.2f}× a sampled row)"
                                       for k, v in rows.items()), flush=True)
    return res


def noise(args) -> list:
    gen = random_deep([args.D] + [args.N] * args.depth, "sign", seed=0)
    out = []
    for n_omega in args.omega:
        for seed in range(args.seeds):
            options = CheckOptions(K=1, M=1, samples=4096, seed=seed, moment_samples=40, omega_samples=n_omega,
                                   dtype=args.dtypes[0])
            run = start_run(options)
            problem = build_problem(gen, None, None, options, run.seeds)
            step = compute_moments(problem, options, run)
            c = _linearised(step)
            row = {"omega_samples": n_omega, "seed": seed, **c.numbers}
            out.append(row)
            print(f"n_Ω = {n_omega:,} seed {seed}: statistic {row['relative_offdiag_residual']:.4f}, noise level "
                  f"{row['noise_level']:.4f}, Ω, Φ in {row['seconds']:.1f} s", flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--N", type=int, default=1024)
    p.add_argument("--D", type=int, default=512)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    p.add_argument("--noise", action="store_true")
    p.add_argument("--omega", type=int, nargs="+", default=[5_000, 20_000, 80_000])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    res = {"noise": noise(args)} if args.noise else {"timing": timing(args)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), **res}, f, indent=1)


if __name__ == "__main__":
    main()
