"""False-positive counts of the check's two "resolved" verdicts where the null holds, in a given dtype.

Run:  python benchmarks/bench_calibration.py --dtype float32          # both setups, 200 runs each
      python benchmarks/bench_calibration.py --dtype float64 --runs 200 --setups exact

The setups of ``tests/test_calibration.py``: an exactly Gaussian generator, x = A c/6 (N = 60,
D = 30, K = M = 1, n = 2·10^4), whose fields *are* their Gaussian match, checked 200 times
(seeds 0–199) with exact moments (closed form for the linear σ) and with Monte Carlo moments
(the same map as a user generator, 2·10^4 moment samples).  Every "resolved" is a false
positive.  Printed per setup: the count of the plug-in's rank test (nominal level 0.05) and of
the held-out cumulant t-test (nominal 0.01), with the central 99.8 % binomial band the test
asserts ([2, 21] and [0, 8] of 200).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats

N, D, n = 60, 30, 20_000


def band(level, runs, two_sided=0.002):
    return int(stats.binom.ppf(two_sided / 2, runs, level)), int(stats.binom.isf(two_sided / 2, runs, level))


def false_positives(setup: str, dtype: str, runs: int):
    from getheory import CallableGenerator, SingleLayerGenerator, check_generator
    from getheory.distances import DmsOptions

    A = np.random.default_rng(123).standard_normal((N, D))
    if setup == "exact":
        gen, moment_samples = SingleLayerGenerator(A / 6.0, "linear"), None
    else:
        gen = CallableGenerator(lambda c: c @ A.T / 6.0, D=D, N=N, name="linear user generator")
        moment_samples = n
    plug = cum = 0
    for s in range(runs):
        d = check_generator(gen, K=1, M=1, samples=n, seed=s, moment_samples=moment_samples, dms=DmsOptions(),
                            analytic=False, dtype=dtype).dms
        plug += bool(d.resolved)
        cum += bool(d.cumulant.resolved)
    return plug, cum


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--setups", nargs="+", default=["exact", "monte_carlo"], choices=("exact", "monte_carlo"))
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args(argv)
    out = []
    for setup in a.setups:
        t = time.perf_counter()
        plug, cum = false_positives(setup, a.dtype, a.runs)
        row = {"setup": setup, "dtype": a.dtype, "runs": a.runs, "plug_in": plug, "plug_in_band": band(0.05, a.runs),
               "cumulants": cum, "cumulants_band": band(0.01, a.runs), "seconds": time.perf_counter() - t}
        out.append(row)
        print(f"{setup:11s} {a.dtype}: plug-in {plug} of {a.runs} at level 0.05 (band {row['plug_in_band']}), "
              f"cumulants {cum} of {a.runs} at level 0.01 (band {row['cumulants_band']}); {row['seconds']:.0f} s",
              flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
