"""Rate fits (getheory.rates): exact recovery, interval coverage, resolved-point selection."""

import math

import numpy as np
import pytest

from getheory.rates import expected_slope, fit_loglog, fit_rates

N_GRID = np.array([16, 32, 64, 128, 256, 512, 1024])


def synthetic(rng, slope=-0.75, seeds=4, noise=None):
    noise = np.linspace(0.1, 0.3, N_GRID.size) if noise is None else noise
    N = np.repeat(N_GRID, seeds)
    sd = np.repeat(noise, seeds)
    y = np.exp(0.3 + slope * np.log(N) + sd * rng.standard_normal(N.size))
    return N, y


def test_noise_free_slope_is_exact():
    N = np.repeat(N_GRID, 3)
    fit = fit_loglog(N, 2.0 * N**-1.0, n_boot=200)
    assert fit.slope == pytest.approx(-1.0, abs=1e-12)
    assert fit.intercept == pytest.approx(math.log(2.0), abs=1e-10)
    assert fit.ci_low == pytest.approx(-1.0, abs=1e-10) and fit.ci_high == pytest.approx(-1.0, abs=1e-10)
    assert fit.N_used == N_GRID.tolist() and fit.n_points == N.size


def test_coverage_of_the_95_percent_interval():
    """200 synthetic data sets (7 N values × 4 seeds, heteroscedastic log-normal noise,
    true slope −0.75): the 95 % bootstrap interval must cover the true slope in a fraction
    inside the binomial band [0.90, 0.99] (p = 0.95, n = 200: sd 0.0154, i.e. about
    −3.2 sd / +2.6 sd; a false failure has probability below 1e-3)."""
    rng = np.random.default_rng(20220601)
    hits = 0
    widths = []
    for i in range(200):
        N, y = synthetic(rng)
        fit = fit_loglog(N, y, n_boot=400, seed=i)
        hits += fit.contains(-0.75)
        widths.append(fit.ci_high - fit.ci_low)
    cover = hits / 200
    assert 0.90 <= cover <= 0.99, cover
    assert 0.05 < np.median(widths) < 0.5


def test_recovers_slope_from_noisy_data():
    rng = np.random.default_rng(3)
    N, y = synthetic(rng, slope=-0.5, seeds=20, noise=np.full(N_GRID.size, 0.05))
    fit = fit_loglog(N, y, n_boot=500)
    assert abs(fit.slope + 0.5) < 0.02 and fit.contains(-0.5)


def test_non_positive_values_are_left_out_with_reason():
    N = np.repeat([16, 32, 64, 128], 2)
    y = 1.0 / N
    y[0] = -1.0
    fit = fit_loglog(N, y, n_boot=100)
    assert fit.N_used == [32, 64, 128]
    assert fit.left_out == [{"N": 16, "reason": "non-positive or missing value"}]
    assert fit_loglog([16, 16], [1.0, 2.0]) is None  # one N: no slope


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        fit_loglog([1, 2], [1.0])
    with pytest.raises(ValueError, match="level"):
        fit_loglog([1, 2], [1.0, 2.0], level=1.5)


def _record(gen, w, N, s, plug, resolved, edge, edge_res, odd=True, M1=0.0):
    return {
        "task": {"generator": {"name": gen}, "weights": w, "N": N, "D": N // 2, "delta": 0.5, "K": 1, "M": 1,
                 "seed_index": s},
        "odd_activation": odd, "samples": 1000,
        "d_MS": {"plug_in": {"value": plug}, "resolved": resolved, "excess": plug / 2,
                 "floor": {"mean": plug / 2}, "certified": {"value": 2 * plug + 0.01},
                 "cumulant": {"edgeworth_w1": edge, "resolved": edge_res, "kappa3": 0.0, "kappa4": -edge}},
        "bound_terms": {"M1_term": M1, "M2_term": 1.0 / N, "teacher_term": N**-0.5, "n_term": N**-0.5,
                        "total": M1 + 1.0 / N + 2 * N**-0.5},
        "moment_errors": {}, "timings_s": {"total": 1.0},
    }


def test_fit_rates_uses_resolved_points_only():
    recs = []
    for N in (16, 32, 64, 128, 256, 512):
        for s in range(3):
            # plug-in resolved up to 64; at 128 only 2 of 3 seeds; cumulant everywhere
            res = N <= 64 or (N == 128 and s < 2) or N == 512
            recs.append(_record("sign", "gaussian", N, s, 0.4 / N * (1 + 0.01 * s), res, 0.4 / N, True))
    (g,) = fit_rates(recs, n_boot=200)
    assert g.fits["plug_in"].N_used == [16, 32, 64]
    assert {d["N"]: d["reason"] for d in g.fits["plug_in"].left_out} == {
        128: "unresolved (2 of 3 seeds resolved)", 256: "unresolved (0 of 3 seeds resolved)",
        512: "resolved, but beyond the first unresolved N = 128 (an isolated resolved point is treated as chance)"}
    assert g.fits["edgeworth"].slope == pytest.approx(-1.0, abs=1e-9)
    assert g.bound_fits["M1_term"] is None  # identically zero (odd σ)
    assert g.bound_fits["n_term"].slope == pytest.approx(-0.5, abs=1e-12)
    assert g.expected["d_MS"] == -1.0
    assert g.verdicts["primary_estimator"] == "edgeworth"
    assert "consistent with the expected -1" in g.verdicts["rate"]
    assert g.ratio_fit_resolved.N_used == [16, 32, 64]
    assert [r["plug_in_resolved"] for r in g.table] == [3, 3, 3, 2, 0, 3]


def test_ratio_verdict_when_certified_bounds_stall():
    recs = [_record("sign", "gaussian", N, s, 0.4 / N, N <= 64, 0.4 / N, True)
            for N in (16, 32, 64, 128, 256) for s in range(3)]
    (g,) = fit_rates(recs, n_boot=200)
    # the certified bound (2 d + 0.01) stalls at its floor while the bound keeps falling
    assert g.verdicts["ratio_bounded"] is None and "certified upper bounds" in g.verdicts["ratio"]


def test_expected_slopes():
    assert expected_slope(True, "gaussian")[0] == -1.0
    assert expected_slope(False, "abs_gaussian")[0] == -0.5
    assert expected_slope(False, "gaussian")[0] is None
