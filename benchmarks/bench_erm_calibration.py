"""The false-positive rates of the ERM verdicts (docs/theory.md §10.6, §10.7).

    python benchmarks/bench_erm_calibration.py [--runs 40] [--N 150] [--seeds 5] [--loss logistic hinge]
    python benchmarks/bench_erm_calibration.py --paired [--runs 300] [--N 40] [--seeds 5] [--loss square] [--first 0]

Theory validation (default): each run draws a fresh problem (master seed r) and measures the
Gaussian-equivalent source only (its inputs are exactly Gaussian, so the theory holds up to its
finite-N bias) on the grid α ∈ {0.5, 1, 2, 4}, λ ∈ {0.1, 1}, then applies
:func:`getheory.erm.validate_erm` at family level 1 %.  Prints, per loss, the number of runs that
failed, its exact binomial 95 % interval, and the nominal rate.  A rate well above 1 % means the
stated finite-N bias allowance is too small at this N (or the theory is off).

Paired gap (``--paired``): each run draws a Gaussian twin (:func:`getheory.erm.gaussian_twin`: a
generator with exactly the law of its Gaussian equivalent, rows of its own) of seed r, measures
both sources on the same grid and applies :func:`getheory.erm.paired_gap` at family level 1 %.
Prints the number of runs with a resolved gap anywhere (the family-wise rate, at most 1 % by
Bonferroni) with its exact 95 % interval, and the per-point rate over all runs and points against
its nominal 1 %/G (exact for normal paired differences; these are differences of test errors over
S seeds).  The counts are the measurement, not a test.
"""

import argparse
import time

from scipy.stats import binomtest

from getheory.erm import ErmOptions, erm_curves, gaussian_twin, paired_gap, validate_erm

ALPHAS, LAMBDAS, LEVEL = (0.5, 1.0, 2.0, 4.0), (0.1, 1.0), 0.01


def _interval(k, n):
    ci = binomtest(k, n).proportion_ci(0.95)
    return f"rate {k / n:.4f}, exact 95 % interval [{ci.low:.4f}, {ci.high:.4f}]"


def theory_validation(a, loss):
    opts = ErmOptions(loss=loss, alphas=ALPHAS, lambdas=LAMBDAS, seeds=a.seeds, n_test=4000, sources=("gaussian",))
    t0, fails, notes = time.perf_counter(), 0, []
    for r in range(a.runs):
        v = validate_erm(erm_curves(options=opts, N=a.N, seed=1000 + r))
        if not v.passed:
            fails += 1
            notes.append(f"run {r}: " + "; ".join(v.failures(opts.alphas, opts.lambdas)))
    print(f"{loss}: {fails} of {a.runs} runs rejected at family level 1 % ({_interval(fails, a.runs)}), "
          f"N = {a.N}, {a.seeds} seeds, {time.perf_counter() - t0:.0f} s")
    for line in notes:
        print("   ", line)


def paired_null(a, loss):
    opts = ErmOptions(loss=loss, alphas=ALPHAS, lambdas=LAMBDAS, seeds=a.seeds, n_test=a.n_test, theory=False)
    G = len(ALPHAS) * len(LAMBDAS)
    t0, runs_hit, points_hit = time.perf_counter(), 0, 0
    for r in range(a.runs):
        gen, mom = gaussian_twin(a.N, max(1, a.N // 2), seed=a.first + r)
        resolved = paired_gap(erm_curves(gen, opts, seed=a.first + r, moments=mom), level=LEVEL).resolved
        runs_hit += bool(resolved.any())
        points_hit += int(resolved.sum())
        if (r + 1) % 50 == 0:
            print(f"  ... {r + 1} runs: {runs_hit} resolved a gap, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"{loss}, paired gap on Gaussian twins: {runs_hit} of {a.runs} runs resolved a gap at family level 1 % "
          f"({_interval(runs_hit, a.runs)}); per point {points_hit} of {a.runs * G} "
          f"({_interval(points_hit, a.runs * G)}; nominal {LEVEL / G:.5f}, points of one run are correlated); "
          f"N = {a.N}, D = {max(1, a.N // 2)}, {a.seeds} seeds, G = {G}, n_test = {a.n_test}, twins {a.first} to "
          f"{a.first + a.runs - 1}, "
          f"{time.perf_counter() - t0:.0f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paired", action="store_true", help="the paired gap's null (Gaussian twins)")
    ap.add_argument("--runs", type=int, default=None, help="independent problems (default 40; 300 with --paired)")
    ap.add_argument("--N", type=int, default=None, help="input dimension (default 150; 40 with --paired)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first", type=int, default=0,
                    help="master seed of the first twin of --paired (default 0; runs use first, first + 1, ...)")
    ap.add_argument("--n-test", type=int, default=1000, help="test rows per seed of --paired (default 1000)")
    ap.add_argument("--loss", nargs="+", default=None,
                    help="losses (default logistic hinge; square with --paired)")
    a = ap.parse_args()
    a.runs = a.runs or (300 if a.paired else 40)
    a.N = a.N or (40 if a.paired else 150)
    for loss in a.loss or (["square"] if a.paired else ["logistic", "hinge"]):
        (paired_null if a.paired else theory_validation)(a, loss)


if __name__ == "__main__":
    main()
