"""The run context a check resolves at its entry (getheory._run.RunContext): the backend object,
the time budget of samples="auto", the seed streams of the CHECK layout, the dtype and the progress switch."""

import numpy as np

from getheory._deadline import Deadline
from getheory._run import RunContext
from getheory._seeds import CHECK
from getheory.backend import get_backend
from getheory.check import CheckOptions, start_run
from getheory.plan import PlanOptions


def test_the_check_builds_one_run_context():
    run = start_run(CheckOptions(samples=2048, dtype="float32"), progress=True)
    assert isinstance(run, RunContext)
    assert run.dtype == "float32" and run.progress is True and run.executor is None
    assert dict(run.timings) == {} and run.notes == []


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


def test_the_shards_executor_travels_in_the_run():
    marker = object()
    assert start_run(CheckOptions(samples=2048), marker).executor is marker
