"""The sample-size planner (docs/theory.md §4.1)."""

import math

import pytest

import getheory as gt
from getheory.plan import PlanOptions, plan_samples, samples_for_z


def _problem(N=16, act="sign"):
    gen = gt.random_single_layer(N, N // 2, act, seed=0)
    Ws, Wt = gt.draw_weights(N, N // 2, 1, 1, seed=1)
    return gen, Ws, Wt, gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)


def test_samples_for_z_scales_like_z_squared():
    assert samples_for_z(1000, 2.0, 6.0) == pytest.approx(9000)
    assert samples_for_z(1000, -3.0, 6.0) == pytest.approx(4000)
    assert samples_for_z(1000, 0.0, 6.0) == math.inf


def test_plan_targets_z_and_never_goes_below_the_pilot():
    gen, Ws, Wt, match = _problem()
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=5.0), seed=0)
    assert p.limited_by == "target"  # N = 16 is strongly non-Gaussian: the pilot sees it
    assert p.n % 64 == 0
    assert p.n >= min(p.n_pilot, p.n_budget)  # at least the pilot's n, unless the budget forbids it
    assert p.n <= max(p.n_budget, p.options.min_samples) + 64
    assert "planned n" in p.statement()


def test_plan_respects_max_samples():
    gen, Ws, Wt, match = _problem()
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=5.0, max_samples=30_000,
                                                             min_samples=20_000), seed=0)
    assert p.n_pilot <= 30_000 and p.n <= 30_000


def test_plan_without_signal_fills_the_budget():
    gen, Ws, Wt, match = _problem(act="linear")  # exactly Gaussian fields: no cumulant to find
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=3.0), seed=3)
    assert p.limited_by == "budget" or p.pilot_z >= 1.0
    if p.limited_by == "budget":
        assert p.n >= p.options.min_samples


def test_plan_options_reject_bad_values():
    with pytest.raises(ValueError, match="time_budget"):
        PlanOptions(time_budget=-1)
    with pytest.raises(ValueError, match="z_target"):
        PlanOptions(z_target=7, z_plan=6)
    with pytest.raises(ValueError, match="pilot_fraction"):
        PlanOptions(pilot_fraction=1.5)
