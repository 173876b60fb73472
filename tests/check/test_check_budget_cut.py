"""A measured run that reaches its time budget is cut, not lost (docs/theory.md §4.1, "A run cut at its budget").

The streamed statistics are sums over rows and the moment the run stops does not depend on
the data, so a run cut at n rows gives the numbers of a run asked for n rows: in one stream,
and in shards (this process, a local pool) where the cut keeps the first shards that finished.
The clock is patched so that the budget is spent when the measured run starts: the cut is certain
and does not depend on the machine's speed.
"""

import numpy as np
import pytest

from getheory.check import _executors as executors_mod
from getheory.check import _sample as sample_mod
from getheory._deadline import Deadline, TimeBudgetExceeded
from getheory._run import start_run_context
from getheory.check import ShardOptions, check_generator
from getheory.distances import FieldStream, StreamOptions
from getheory.fields import LatentDraw, stream_fields_in
from getheory.generators import random_single_layer
from getheory.plan import PlanOptions

GEN = random_single_layer(N=32, D=16, activation="sign", seed=1)
W_S = np.random.default_rng(2).standard_normal((1, 32))
W_T = np.random.default_rng(3).standard_normal((1, 16))


def _stream(n, deadline=None, cut=False):
    run = start_run_context().with_(deadline=deadline)
    sink = FieldStream(np.zeros(2), np.eye(2), options=StreamOptions(n_plugin=500))
    done = stream_fields_in(run, GEN, W_S, W_T, LatentDraw(n, seed=5, batch_size=1000, cut=cut), sink)
    return done, sink.finish()


def test_a_cut_stream_stops_at_a_batch_boundary_with_the_numbers_of_a_run_of_that_n():
    done, cut = _stream(10_000, Deadline(-1.0), cut=True)  # spent from the start: one batch, then the cut
    assert 0 < done <= 1000 and done % StreamOptions().groups == 0
    n, whole = _stream(done)
    assert n == done
    for a, b in [(cut.S1, whole.S1), (cut.S2, whole.S2), (cut.S4, whole.S4), (cut.reservoir, whole.reservoir)]:
        np.testing.assert_array_equal(a, b)


def test_without_cut_a_spent_budget_still_stops_the_stream_with_an_error():
    with pytest.raises(TimeBudgetExceeded, match="ran past the time budget"):
        _stream(10_000, Deadline(-1.0), cut=False)


@pytest.fixture
def spent_at_sampling(monkeypatch):
    """The time budget is spent when the measured run starts (whatever the machine's speed): the run
    in one stream is cut after its first batch; a sharded one as soon as its first shards finished."""
    real = sample_mod.stream_fields_in
    monkeypatch.setattr(sample_mod, "stream_fields_in",
                        lambda run, *args: real(run.with_(deadline=Deadline(-1.0, "--time-budget")), *args))
    monkeypatch.setattr(executors_mod, "_spent", lambda run: run.deadline is not None)  # a run with a budget


# linear σ: no signal, so the pilot and the plan run to max_samples (32 shards of 65,536 rows);
# the budget is generous, so only the patched clock cuts the run.  The run is cut when its first shards
# are back; with 8 shards (about 0.3 s of work on 2 workers) a pool on this 2-core machine once had all
# of them done before the caller looked (a quiet CI run, 2026-12-07), so the run needs more work than that
AUTO = dict(N=64, D=32, K=1, M=1, activation="linear", samples="auto", seed=3,
            plan=PlanOptions(time_budget=120.0, min_pilot=4096, min_samples=4096, max_samples=32 * 65_536))


def test_a_check_that_reaches_its_budget_reports_what_it_measured(spent_at_sampling):
    res = check_generator(**AUTO)
    run = res.measured_run
    assert run["cut"] and res.sizes["samples"] == run["n"] < run["n_planned"] == res.plan.n
    assert run["n"] >= 4096 and np.isfinite(res.dms.value)
    assert f"cut at n = {run['n']:,} of the planned {run['n_planned']:,}" in res.to_table()
    assert res.to_dict()["measured_run"]["cut"] is True


@pytest.fixture(params=["this process", "local pool", "dask"])
def where(request):
    """How the shards run: (ShardOptions keywords, Dask client or None)."""
    if request.param == "dask":
        return {}, request.getfixturevalue("dask_cluster")[1]
    return {"workers": 2 if request.param == "local pool" else None}, None


def test_a_sharded_check_cut_at_its_budget_keeps_whole_shards_and_equals_a_run_of_them(spent_at_sampling, where):
    size, (kw, client) = 65_536, where
    res = check_generator(shards=ShardOptions(size=size, **kw), client=client, **AUTO)
    run = res.measured_run
    assert res.plan.n == 32 * size and run["cut"] and run["n"] % size == 0
    assert run["n"] == size * res.settings["shards"]["count"]
    fixed = check_generator(shards=ShardOptions(size=size),
                            stream=StreamOptions(n_plugin=res.plan.n_plugin),
                            **{k: v for k, v in AUTO.items() if k != "plan"} | {"samples": run["n"]})
    assert not fixed.measured_run["cut"]
    a, b = fixed.dms.to_dict(), res.dms.to_dict()
    assert a["n"] == b["n"] == run["n"] and a["cumulant"] == b["cumulant"] and a["plug_in"] == b["plug_in"]
