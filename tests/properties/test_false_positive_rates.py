"""Measured false-positive rates of the toolkit's statistical assertions (getheory.testing).

Each assertion runs many times, seeded, on data where what it asserts is true; the number
of failures must lie in the central 99.8 % binomial band of the rate its docstring states
(two-sided where the rate is exact, upper end where it is "at most").  ``pytest -s`` prints
the measured rates.

* assert_moments_match: exact moments of a sign generator (closed forms, §2), at level 0.2
  so that the rate is visible in 400 runs; Bonferroni makes it at most the level;
* assert_dms_within_bound(bound=0): an exactly Gaussian generator (linear σ, so (λ, ν) *is*
  its Gaussian match); the rank test's rate is exactly 1/20;
* assert_dms_within_bound(known_dms=d): x = relu(c), D = N = 1, whose d_MS is computed
  here on a quantile grid (at most the level);
* assert_bound_scaling: a term that is exactly a power law times log-normal scatter; the
  t-interval's rate is exactly the level.

Hundreds of runs each: the module is the slow tier's (``python -m pytest -m slow``).
"""

import math

import numpy as np
import pytest
from scipy import optimize, special, stats

import getheory as gt
import getheory.testing as gtt
from getheory.distances import SearchOptions

pytestmark = pytest.mark.slow

# Any search keeps the rank test exact (docs/theory.md §4.1); this one is cheap.
CHEAP = SearchOptions(mode="full", n_directions=16, refine=False, guide=False)


def _band(level, runs, two_sided=0.002):
    return int(stats.binom.ppf(two_sided / 2, runs, level)), int(stats.binom.isf(two_sided / 2, runs, level))


def _failures(run, runs):
    fails = 0
    for s in range(runs):
        try:
            run(s)
        except AssertionError:
            fails += 1
    return fails


def test_moments_match_false_positive_rate_is_at_most_its_level():
    gen = gt.random_single_layer(3, 2, "sign", seed=0)
    exact = gt.exact_moments(gen)
    runs, level = 400, 0.2
    fails = _failures(lambda s: gtt.assert_moments_match(gen, exact, n=2_000, level=level, seed=s), runs)
    print(f"\nassert_moments_match: {fails}/{runs} = {fails / runs:.3f} at level {level}")
    assert fails <= _band(level, runs)[1], f"{fails} false positives of {runs} at level {level}"


def test_dms_within_bound_zero_false_positive_rate_is_its_exact_level():
    A = np.random.default_rng(0).standard_normal((6, 3))
    gen = gt.SingleLayerGenerator(A, "linear")  # x = A c/√D: (λ, ν) exactly Gaussian
    Ws, Wt = gt.draw_weights(6, 3, 1, 1, seed=1)
    runs, level = 200, 0.05
    fails = _failures(lambda s: gtt.assert_dms_within_bound(gen, Ws, Wt, bound=0.0, n=500, level=level, seed=s,
                                                            search=CHEAP), runs)
    print(f"\nassert_dms_within_bound(bound=0): {fails}/{runs} = {fails / runs:.3f}, exact level 1/20")
    lo, hi = _band(level, runs)
    assert lo <= fails <= hi, f"{fails} false positives of {runs} at exact level {level}"


def _dms_one_latent(f, w, wt, Q=2**14):
    """d_MS of (λ, ν) = (w f(c), wt c), c ~ N(0, 1), against its Gaussian match.

    On the quantile grid ζ_j = Φ^{-1}((j − ½)/Q) both laws are Q equally weighted points
    (the fields by sorting u·z(ζ_j), the normal by σ_u ζ_j), so W1 = mean |sorted − σ_u ζ|;
    the sup over u = (cos θ, sin θ) by a 1° grid and a bounded refinement.  Q = 2^14 agrees
    with Q = 2^18 to 1e-5.
    """
    zeta = special.ndtri((np.arange(Q) + 0.5) / Q)
    lam = w * f(zeta)
    Z = np.stack([lam - lam.mean(), wt * zeta])
    C = Z @ Z.T / Q

    def w1(th):
        u = np.array([math.cos(th), math.sin(th)])
        return float(np.mean(np.abs(np.sort(u @ Z) - math.sqrt(u @ C @ u) * zeta)))

    ths = np.linspace(0, math.pi, 181)
    i = int(np.argmax([w1(t) for t in ths]))
    res = optimize.minimize_scalar(lambda t: -w1(t), bounds=(ths[max(i - 1, 0)], ths[min(i + 1, 180)]),
                                   method="bounded", options={"xatol": 1e-9})
    return -res.fun


def test_dms_within_bound_known_value_false_positive_rate_is_at_most_its_level():
    gen = gt.SingleLayerGenerator(np.ones((1, 1)), "relu")
    Ws, Wt = np.array([[1.0]]), np.array([[0.8]])
    d = _dms_one_latent(lambda z: np.maximum(z, 0.0), 1.0, 0.8)
    assert 0.2 < d < 0.3  # far from Gaussian: the plug-in resolves it at n = 500
    runs, level = 100, 0.05
    fails = _failures(lambda s: gtt.assert_dms_within_bound(gen, Ws, Wt, known_dms=d, n=500, level=level, seed=s,
                                                            search=CHEAP), runs)
    print(f"\nassert_dms_within_bound(known_dms={d:.4f}): {fails}/{runs} = {fails / runs:.3f} at level {level}")
    assert fails <= _band(level, runs)[1], f"{fails} false positives of {runs} at level {level}"


def test_bound_scaling_false_positive_rate_is_its_exact_level():
    def term(N, rng):  # log term = log 0.3 − ½ log N + N(0, 0.2²)
        return 0.3 * N**-0.5 * math.exp(0.2 * rng.standard_normal())

    runs, level = 1000, 0.05
    fails = _failures(lambda s: gtt.assert_bound_scaling(term, -0.5, sizes=(16, 64, 256), draws=2, level=level,
                                                         seed=s), runs)
    print(f"\nassert_bound_scaling: {fails}/{runs} = {fails / runs:.3f}, exact level {level}")
    lo, hi = _band(level, runs)
    assert lo <= fails <= hi, f"{fails} false positives of {runs} at exact level {level}"
