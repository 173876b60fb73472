"""What a check resolves at its entry (backend, time budget, seed streams) and its stage timings."""

import time

import numpy as np
import pytest

from getheory._deadline import Deadline
from getheory._seeds import CHECK
from getheory.backend import get_backend
from getheory.check import CheckOptions, Timings, start_run
from getheory.plan import PlanOptions


def test_a_fixed_n_has_no_time_budget():
    run = start_run(CheckOptions(samples=2048, seed=5))
    assert run.deadline is None
    with run.guard():  # a no-op
        pass


def test_samples_auto_starts_the_plans_time_budget():
    run = start_run(CheckOptions(plan=PlanOptions(time_budget=7.5)))
    assert isinstance(run.deadline, Deadline) and run.deadline.seconds == 7.5
    assert run.deadline.option == "--time-budget"


def test_the_backend_is_resolved_once_to_its_object():
    assert start_run(CheckOptions(samples=2048)).backend is get_backend("numpy")
    bk = get_backend("numpy")
    assert start_run(CheckOptions(samples=2048, backend=bk)).backend is bk


def test_the_seed_streams_are_the_check_layout_of_the_master_seed():
    run = start_run(CheckOptions(samples=2048, seed=11))
    expected = np.random.SeedSequence(11).spawn(len(CHECK.names))
    for name, ss in zip(CHECK.names, expected, strict=True):
        got = run.seeds[name]
        assert (got.entropy, got.spawn_key) == (ss.entropy, ss.spawn_key), name
    assert CHECK.names == ("generator", "weights", "moments", "fields", "dms", "pilot")


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
