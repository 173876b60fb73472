"""The one run context (getheory._run): timings, notes, the deadline's guard, derived contexts."""

import time

import numpy as np
import pytest

from getheory._deadline import Deadline, TimeBudgetExceeded
from getheory._run import RunContext, Timings, start_run_context
from getheory._seeds import CHECK
from getheory.backend import get_backend


def test_timings_record_stages_in_order_from_their_start():
    times = Timings()
    t0 = time.perf_counter()
    with times.stage("first", since=t0 - 10.0):
        pass
    with times.stage("skipped", when=False):
        pass
    with times.stage("second"):
        pass
    assert list(times) == ["first", "second"]
    assert 10.0 <= times["first"] < 10.0 + 60 and 0 <= times["second"] < 60


def test_a_stage_that_raises_records_nothing():
    times = Timings()
    with pytest.raises(RuntimeError):
        with times.stage("broken"):
            raise RuntimeError("boom")
    assert times == {}


def test_timings_add_to_a_stage_when_asked_and_replace_it_otherwise():
    times = Timings()
    times.record("sgd", 1.5)
    times.record("sgd", 2.0, add=True)
    assert times["sgd"] == 3.5
    times.record("sgd", 0.25)
    assert times["sgd"] == 0.25
    with times.stage("sgd", since=time.perf_counter() - 1.0, add=True):
        pass
    assert 1.25 <= times["sgd"] < 1.25 + 60


def test_the_run_collects_notes_and_stage_timings():
    run = start_run_context()
    run.note("first")
    run.note("second")
    with run.stage("moments"):
        pass
    assert run.notes == ["first", "second"] and list(run.timings) == ["moments"]


def test_without_a_time_budget_the_guard_and_the_check_are_no_ops():
    run = start_run_context()
    assert run.deadline is None
    with run.guard():
        pass
    run.check_deadline("anything")  # does not raise


def test_a_spent_time_budget_stops_the_run_naming_the_stage_and_the_option():
    run = start_run_context(time_budget=1e-9, budget_option="--time-budget")
    assert isinstance(run.deadline, Deadline) and run.deadline.option == "--time-budget"
    time.sleep(0.01)
    with pytest.raises(TimeBudgetExceeded, match="the pilot"):
        run.check_deadline("the pilot")


def test_the_context_resolves_the_backend_and_keeps_the_dtype_by_name():
    run = start_run_context(backend="numpy", dtype=np.float32)
    assert run.backend is get_backend("numpy") and run.dtype == "float32"
    assert run.seeds is None and run.progress is False and run.executor is None


@pytest.mark.parametrize("dtype", ["float16", np.float16, "int64", "complex128", "no-such-dtype", None])
def test_the_context_refuses_a_dtype_other_than_float32_or_float64_naming_them(dtype):
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'; got"):
        start_run_context(dtype=dtype)


def test_the_seed_streams_are_those_of_the_layout():
    run = start_run_context(layout=CHECK, seed=3)
    want = CHECK.streams(3)
    for name in CHECK.names:
        assert run.seeds[name].spawn_key == want[name].spawn_key


def test_a_derived_context_shares_the_timings_and_notes():
    run = start_run_context(progress=True)
    quiet = run.with_(progress=False)
    assert isinstance(quiet, RunContext) and quiet.progress is False and run.progress is True
    quiet.note("from the derived run")
    quiet.timings.record("probe", 1.0)
    assert run.notes == ["from the derived run"] and run.timings == {"probe": 1.0}
    assert quiet.backend is run.backend and quiet.started == run.started
