"""The family-wise false-positive rate of the ERM verdict on exactly Gaussian inputs (docs/theory.md §10.6).

    python benchmarks/bench_erm_calibration.py [--runs 40] [--N 150] [--seeds 5] [--loss logistic hinge]

Each run draws a fresh problem (master seed r) and measures the Gaussian-equivalent source only (its
inputs are exactly Gaussian, so the theory holds up to its finite-N bias) on the grid
α ∈ {0.5, 1, 2, 4}, λ ∈ {0.1, 1}, then applies :func:`getheory.erm.validate_erm` at family level
1 %.  Prints, per loss, the number of runs that failed, its exact binomial 95 % interval, and the
nominal rate.  A rate well above 1 % means the stated finite-N bias allowance is too small at this
N (or the theory is off); the count is the measurement, not a test.
"""

import argparse
import time

from scipy.stats import binomtest

from getheory.erm import ErmOptions, erm_curves, validate_erm


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--N", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--loss", nargs="+", default=["logistic", "hinge"])
    a = ap.parse_args()
    for loss in a.loss:
        opts = ErmOptions(loss=loss, alphas=(0.5, 1.0, 2.0, 4.0), lambdas=(0.1, 1.0), seeds=a.seeds, n_test=4000,
                          sources=("gaussian",))
        t0, fails, notes = time.perf_counter(), 0, []
        for r in range(a.runs):
            v = validate_erm(erm_curves(options=opts, N=a.N, seed=1000 + r))
            if not v.passed:
                fails += 1
                notes.append(f"run {r}: " + "; ".join(v.failures(opts.alphas, opts.lambdas)))
        ci = binomtest(fails, a.runs).proportion_ci(0.95)
        print(f"{loss}: {fails} of {a.runs} runs rejected at family level 1 % (rate {fails / a.runs:.3f}, "
              f"95 % interval [{ci.low:.3f}, {ci.high:.3f}]), N = {a.N}, {a.seeds} seeds, "
              f"{time.perf_counter() - t0:.0f} s")
        for line in notes:
            print("   ", line)


if __name__ == "__main__":
    main()
