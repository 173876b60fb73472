"""The plan step: n fixed, or planned by an independent pilot within the time budget (docs/theory.md §4.1)."""

import pytest

from getheory import check_generator
from getheory.check import CheckOptions, plan_step
from getheory.check._plan import planned_n
from getheory.plan import PlanOptions
from getheory.reports import format_check


def test_a_fixed_n_needs_no_pilot(small):
    options, run, problem, moments = small
    assert plan_step(problem, moments.match, options, run, spent=0.0) is None
    assert planned_n(None, options) == 2048


def test_moments_that_spent_the_whole_budget_leave_nothing_to_plan(small):
    _, run, problem, moments = small
    options = CheckOptions(plan=PlanOptions(time_budget=5.0))
    with pytest.raises(ValueError, match="the moments alone took 5.0 s, the whole time budget of 5 s"):
        plan_step(problem, moments.match, options, run, spent=5.0)


def test_check_auto_samples_plans_from_an_independent_pilot():
    res = check_generator(activation="sign", N=16, D=8, K=1, M=1, seed=0, plan=PlanOptions(time_budget=60.0))
    d = res.to_dict()
    plan = d["plan"]
    # the measured run may be smaller than the pilot, never smaller than min_samples
    assert plan["n"] == d["sizes"]["samples"] >= 20_000 and plan["n_pilot"] >= 20_000
    assert plan["limited_by"] in ("target", "budget") and plan["rate"] > 0
    # the strongly non-Gaussian N = 16 point is resolved at 5 sigma by the planned run
    assert d["d_MS"]["cumulant"]["z_max"] >= 5
    assert list(d["timings_s"])[:3] == ["moments", "pilot", "sampling"]
    assert "pilot" in format_check(res)


def test_check_refuses_a_budget_too_small_for_the_pilot():
    with pytest.raises(ValueError, match="too small even for the pilot.*at least"):
        check_generator(activation="sign", N=400, D=200, K=1, M=1, seed=0,
                        plan=PlanOptions(time_budget=0.2, min_pilot=200_000))
