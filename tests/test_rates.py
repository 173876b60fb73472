"""Rate fits (getheory.rates): exact recovery, interval coverage, resolved-point selection."""

import math

import numpy as np
import pytest

from getheory.rates import LEGACY, dms_for_ratio, expected_slope, fit_loglog, fit_rates, reported_dms

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


def _new_record(N, s, value, estimator, resolved, se=None, plug=None, odd=True):
    """A record as run_task writes it now: one reported d_MS, no certificate unless asked."""
    rec = _record("sign", "gaussian", N, s, plug if plug is not None else value, resolved, value, resolved, odd=odd)
    d = rec["d_MS"]
    d.update(value=value, se=se if se is not None else 0.1 * value, estimator=estimator,
             choice_rule="plug-in if resolved and >= 3 x floor, else Edgeworth", certified=None)
    if estimator == "edgeworth":
        d["resolved"] = False  # the plug-in did not resolve; the cumulant test decides
        d["cumulant"]["resolved"] = resolved
    if plug is None and estimator == "edgeworth":
        d.update(plug_in=None, floor=None, excess=None)
    return rec


def test_old_format_records_are_legacy_and_keep_the_previous_fits():
    rec = _record("sign", "gaussian", 16, 0, 0.02, True, 0.01, True)
    assert "estimator" not in rec["d_MS"] and rec["d_MS"]["certified"] is not None
    r = reported_dms(rec)
    assert r["estimator"] == LEGACY == "legacy: plug-in and cumulants, no choice recorded"
    assert r["value"] is None and r["legacy"] is True
    assert dms_for_ratio(rec) == (0.02, "plug_in", True)  # the previous rule: resolved plug-in
    rec["d_MS"]["resolved"] = False
    assert dms_for_ratio(rec)[:2] == (2 * 0.02 + 0.01, "certified")  # else the certified upper bound
    recs = [_record("sign", "gaussian", N, s, 0.4 / N, True, 0.4 / N, True) for N in (16, 32, 64) for s in range(2)]
    (g,) = fit_rates(recs, n_boot=100)
    assert g.fits["reported"] is None and g.fits["plug_in"].slope == pytest.approx(-1.0, abs=1e-9)
    assert g.estimators == {"counts": {LEGACY: 6}, "choice_rules": [], "legacy": 6}
    assert g.verdicts["primary_estimator"] == "edgeworth"
    assert g.table[0]["estimators"] == {LEGACY: 2}


def test_fit_rates_uses_each_rows_reported_estimate():
    recs = []
    for N in (16, 32, 64, 128):
        for s in range(2):
            # small N: the plug-in is far above its floor and chosen; large N: the Edgeworth value
            if N <= 32:
                recs.append(_new_record(N, s, 0.4 / N, "plug-in", True))
            else:
                recs.append(_new_record(N, s, 0.2 / N, "edgeworth", True, se=0.01 / N))
    (g,) = fit_rates(recs, n_boot=100)
    f = g.fits["reported"]
    assert f.N_used == [16, 32, 64, 128] and f.n_points == 8
    # the reported values: 0.4/N then 0.2/N, i.e. not the plug-in's nor the Edgeworth's own series
    x = np.log([16, 16, 32, 32, 64, 64, 128, 128])
    y = np.log([0.4 / 16] * 2 + [0.4 / 32] * 2 + [0.2 / 64] * 2 + [0.2 / 128] * 2)
    assert f.slope == pytest.approx(np.polyfit(x, y, 1)[0], abs=1e-9)
    assert g.verdicts["primary_estimator"] == "reported" and g.verdicts["rate"].startswith("reported d_MS slope")
    assert g.estimators["counts"] == {"edgeworth": 4, "plug-in": 4} and g.estimators["legacy"] == 0
    assert g.estimators["choice_rules"] == ["plug-in if resolved and >= 3 x floor, else Edgeworth"]
    assert g.fits["certified"] is None  # no certificate was computed
    assert g.fits["plug_in"].N_used == [16, 32]  # the plug-in's own fit: where it exists and is resolved
    row = g.table[3]
    assert row["reported"] == pytest.approx(0.2 / 128)
    assert row["reported_se"] == pytest.approx(0.01 / 128 / math.sqrt(2))
    assert row["estimators"] == {"edgeworth": 2} and row["ratio_uses"] == ["edgeworth"]
    assert row["ratio"] == pytest.approx(np.mean([r["d_MS"]["value"] / r["bound_terms"]["total"] for r in recs[6:]]))


def test_reported_fit_leaves_out_unresolved_and_legacy_points():
    recs = [_new_record(N, s, 0.2 / N, "edgeworth", N != 64) for N in (16, 32, 64, 128) for s in range(2)]
    recs += [_record("sign", "gaussian", 256, s, 0.4 / 256, True, 0.4 / 256, True) for s in range(2)]
    (g,) = fit_rates(recs, n_boot=100)
    f = g.fits["reported"]
    assert f.N_used == [16, 32]
    reasons = {d["N"]: d["reason"] for d in f.left_out}
    assert reasons[64] == "unresolved (0 of 2 seeds resolved)" and "beyond the first unresolved" in reasons[128]
    assert reasons[256] == "2 of 2 seeds are legacy records (no reported d_MS)"
    assert g.estimators["counts"] == {"edgeworth": 8, LEGACY: 2} and g.estimators["legacy"] == 2
    assert g.verdicts["primary_estimator"] is None  # fewer than 3 resolved N


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


def test_fitted_rates_show_as_the_report_tables_in_a_notebook():
    recs = [_new_record(N, s, 0.2 / N, "edgeworth", True) for N in (16, 32, 64) for s in range(2)]
    fits = fit_rates(recs, n_boot=100)
    assert len(fits) == 1 and fits[0] is list(fits)[0] and fits.options.n_boot == 100
    md = fits._repr_markdown_()
    (g,) = fits
    assert md.startswith("## Fitted slopes (log d vs log N)")
    assert f"| {g.label} | edgeworth ×6 | -1.000 [-1.000, -1.000] (N 16–64) |" in md
    assert "## Verdicts" in md and f"### {g.label}" in md and "| reported | -1.000 [-1.000, -1.000] |" in md
    assert "array(" not in md and "SlopeFit(" not in md
    assert g._repr_markdown_() == md  # one group shows the same tables
