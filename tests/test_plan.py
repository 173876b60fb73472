"""The sample-size planner (docs/theory.md §4.1)."""

import math

import pytest

import getheory as gt
from getheory.check import CheckOptions, build_problem, compute_moments, plan_step, start_run
from getheory.plan import Plan, PlanOptions, plan_samples, resolving_ratio, samples_for_z, stopping_corrected_z


def _problem(N=16, act="sign"):
    gen = gt.random_single_layer(N, N // 2, act, seed=0)
    Ws, Wt = gt.draw_weights(N, N // 2, 1, 1, seed=1)
    return gen, Ws, Wt, gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)


def test_samples_for_z_scales_like_z_squared():
    assert samples_for_z(1000, 2.0, 6.0) == pytest.approx(9000)
    assert samples_for_z(1000, -3.0, 6.0) == pytest.approx(4000)
    assert samples_for_z(1000, 0.0, 6.0) == math.inf


def test_plan_targets_z_within_the_budget():
    gen, Ws, Wt, match = _problem()
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=5.0), seed=0)
    assert p.limited_by == "target"  # N = 16 is strongly non-Gaussian: the pilot sees it
    assert p.n % 64 == 0
    assert p.options.min_samples <= p.n <= max(p.n_budget, p.options.min_samples) + 64
    assert p.n >= p.n_pilot * resolving_ratio(p.pilot_z, p.options) - 64
    assert "planned n" in p.statement()


def test_a_pilot_that_resolved_plans_a_smaller_measured_run():
    # a pilot of 10^5 rows at N = 16 sees |z| in the tens: it stops after one stage, and the measured
    # run needs only min_samples rows, not a second run of the pilot's size
    gen, Ws, Wt, match = _problem()
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=20.0, min_pilot=100_032), seed=0)
    assert p.pilot_z > 20 and p.pilot_stages == 1 and p.pilot_stop == "z"
    assert p.n == 20_032 < p.n_pilot == 100_032  # min_samples in whole groups of 64
    assert p.n_plugin <= p.n


def test_the_pilot_doubles_until_its_share_of_the_budget():
    gen, Ws, Wt, match = _problem(act="linear")  # exactly Gaussian fields: |z| stays small
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=30.0), seed=3)  # plans only: 3 s pilot
    assert p.pilot_stop == "budget" and p.pilot_stages >= 2
    assert p.n_pilot == 20_032 * 2 ** (p.pilot_stages - 1)  # stages of doubling size on one stream
    # (its seconds are not asserted: each stage is predicted from the last one's rate, which a loaded
    # machine moves)


def test_plan_reservoir_is_small_when_the_plugin_cannot_be_chosen():
    gen, Ws, Wt, match = _problem(act="linear")
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=3.0), seed=3)
    assert p.n_plugin == min(65_536, p.n)  # E − 2 se <= 0 on Gaussian fields
    assert p.floor_scale > 0 and f"plug-in reservoir {p.n_plugin:,} rows" in p.statement()


def _plan(z, n_pilot=800_000, n_needed=math.inf):
    return Plan(n=4_000_000, n_needed=n_needed, n_budget=4_000_000, n_pilot=n_pilot, rate=300_000.0,
                pilot_seconds=2.0, pilot_z=z, pilot_kappa4=0.0, pilot_kappa3=0.0, limited_by="budget",
                options=PlanOptions(), n_plugin=65_536, pilot_stages=6, pilot_stop="budget")


def test_a_weak_pilot_says_what_it_saw_not_what_the_law_is():
    # seen before: "no usable signal in the pilot ... fills the budget", then |z| = 22.85
    s = _plan(1.3).statement()
    assert "no usable signal" not in s and "needs" not in s
    assert "|z| = 1.30" in s and "800,000 rows" in s and "too weak to project" in s
    assert "n = 4,000,000 fills the 60 s budget" in s


def test_a_pilot_too_weak_to_project_gives_a_range_not_one_number():
    # seen before: "needs n = 5,999,271,801 (about 79,376 s)" from a pilot just above q·s, then |z| = 13
    p = _plan(3.4, n_needed=800_000 * resolving_ratio(3.4, PlanOptions()))
    assert p.n_needed > 10**8  # the single number the old statement printed
    s = p.statement()
    assert "needs" not in s and f"{p.n_needed:,.0f}" not in s
    lo, hi = p.expected_range()
    assert lo == pytest.approx(800_000 * (5 / 7.4) ** 2) and hi == math.inf  # 3.4 − 2·2 <= 0: no upper end
    assert "beyond n ≈ 370,000" in s
    s = _plan(9.0).statement()  # a pilot that can project: both ends, in two significant figures
    assert "expected at n ≈ 120,000 to 800,000" in s


def test_plan_prints_the_users_budget_not_what_is_left_of_it():
    # seen before: "fills the 59.9781 s budget" (the budget less the moments' seconds)
    options = CheckOptions(activation="linear", N=16, D=8, K=1, M=1, seed=3, plan=PlanOptions(time_budget=3.0))
    run = start_run(options)
    problem = build_problem(None, None, None, options, run.seeds)
    plan = plan_step(problem, compute_moments(problem, options, run).match, options, run, spent=0.0219)
    assert plan.limited_by == "budget" and "fills the 3 s budget" in plan.statement()


def test_the_projection_removes_the_overshoot_of_the_pilots_stopping_rule():
    # a pilot kept because |z| >= 8 overshoots its expectation by s·φ(α)/(1 − Φ(α)), α = (8 − |z|)/s
    assert stopping_corrected_z(8.0, 8.0, 2.0) == pytest.approx(8.0 - 2.0 * 0.7978845608, rel=1e-9)
    assert stopping_corrected_z(10.0, 8.0, 2.0) == pytest.approx(10.0 - 2.0 * 0.2876000, rel=1e-5)
    assert 126.0 - stopping_corrected_z(126.0, 8.0, 2.0) < 1e-12  # far above the threshold: nothing to remove
    gen, Ws, Wt, match = _problem()
    p = plan_samples(gen, Ws, Wt, match, options=PlanOptions(time_budget=5.0), seed=0)
    assert p.pilot_stop == "z" and p.projected_z == pytest.approx(stopping_corrected_z(p.pilot_z, 8.0))
    assert "less the overshoot" in p.statement()


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
    with pytest.raises(ValueError, match="z_pilot"):
        PlanOptions(z_pilot=0)
