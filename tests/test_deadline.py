"""Time budgets bound what they claim to bound (getheory._deadline, check --time-budget)."""

import time

import numpy as np
import pytest

from getheory import check_generator
from getheory._deadline import Deadline, TimeBudgetExceeded
from getheory.generators import CallableGenerator
from getheory.plan import PlanOptions

A = np.random.default_rng(0).standard_normal((32, 16))


def test_a_spent_deadline_stops_the_loop_naming_the_stage_and_the_option():
    d = Deadline(0.0, "--time-budget")
    time.sleep(0.01)
    with pytest.raises(TimeBudgetExceeded, match=r"the pilot ran past the time budget of 0 s \(--time-budget\)"):
        d.check("the pilot")
    Deadline(10.0).check("the pilot")  # not spent: nothing happens


def test_a_stage_that_cannot_fit_is_refused_up_front_naming_the_budget_it_needs():
    d = Deadline(10.0, "--time-budget")
    with pytest.raises(TimeBudgetExceeded, match="raise --time-budget to at least 4[0-9] s"):
        d.refuse("Monte Carlo moments", 20.0, share=0.5)
    d.refuse("Monte Carlo moments", 2.0, share=0.5)


def test_the_guard_stops_a_call_that_blocks():
    d = Deadline(0.3)
    t0 = time.perf_counter()
    with pytest.raises(TimeBudgetExceeded, match="was still running"):
        with d.guard("a blocking call"):
            time.sleep(30)
    assert time.perf_counter() - t0 < 0.3 * 1.1 + 0.2


def _slow(seconds_per_row):
    def gen(c):
        time.sleep(seconds_per_row * c.shape[0])
        return np.tanh(c @ A.T / 4)
    return gen


@pytest.mark.parametrize("per_row, budget", [(2e-4, 4.0), (2e-5, 3.0)])
def test_check_with_a_slow_generator_stops_or_refuses_within_its_budget(per_row, budget):
    # 2e-4 s a row: the 10^5 Monte Carlo moment rows would take 20 s, refused after the first group;
    # 2e-5 s a row: moments (2 s) fit, and the pilot and the sampling are cut to what is left
    gen = CallableGenerator(_slow(per_row), D=16, name="slow")
    t0 = time.perf_counter()
    try:
        check_generator(gen, K=1, M=1, samples="auto", plan=PlanOptions(time_budget=budget, min_pilot=1024,
                                                                       min_samples=1024), seed=0)
    except TimeBudgetExceeded as exc:
        assert "--time-budget" in str(exc)
    assert time.perf_counter() - t0 < 1.1 * budget + 3.0  # + the estimation after sampling (no budget)


def test_check_with_a_generator_that_blocks_is_stopped_at_the_budget():
    def block(c):
        if c.shape[0] > 2:  # not the size probe
            time.sleep(3600)
        return np.tanh(c @ A.T / 4)

    gen = CallableGenerator(block, D=16, name="block")
    t0 = time.perf_counter()
    with pytest.raises(Exception) as info:
        check_generator(gen, K=1, M=1, samples="auto", plan=PlanOptions(time_budget=2.0), seed=0)
    assert isinstance(info.value, TimeBudgetExceeded) or isinstance(info.value.__cause__, TimeBudgetExceeded)
    assert time.perf_counter() - t0 < 2.0 * 1.1 + 0.5
