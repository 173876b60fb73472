"""Sharded checks (getheory.check._shards, _executors; docs/theory.md §4.1, Sharded runs).

The measured run cut into shards gives the same numbers in this process, on a local pool and
on 1, 2 or 3 Dask workers, also when a worker is killed while it holds shards; its merged
statistics are those of one stream fed the shards' rows; what cannot work (a scheduler that
does not answer, a shard size below the groups, a generator that cannot travel, a module the
workers cannot import) is refused before any work starts, naming what was wrong.

The session's LocalCluster of 2 worker processes (1 thread each, tests/conftest.py) serves the module.
"""

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import getheory as gt
from getheory._cluster import ClusterError, process_id
from getheory._seeds import CHECK, shard_seed
from getheory.check import GeneratorRecipe, ShardOptions, _executors, check_generator
from getheory.check import _pipeline as pipeline
from getheory.check._shards import ShardJob, recipe_of, run_shard_remote, shard_stats
from getheory.distances import FieldStream, StreamOptions, merge_stats
from getheory.plan import whole_shards

distributed = pytest.importorskip("distributed")

#: a small sign problem: 5 shards of 2048 rows, the last one short; the reservoir spans two shards
BASE = dict(N=48, D=24, K=2, M=2, samples=9000, seed=7, stream=StreamOptions(n_plugin=3000))
#: BASE for a given generator, which brings its own N and D (a different N or D given with it is refused)
GIVEN = {k: v for k, v in BASE.items() if k not in ("N", "D")}
SIZE = 2048


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    return dask_cluster


@pytest.fixture(scope="module")
def scale(cluster, dask_workers):
    """``scale(n)``: the session cluster with ``n`` workers, waited for (after a kill too)."""
    c, client = cluster
    return lambda n: dask_workers(c, client, n)


@pytest.fixture(scope="module")
def reference():
    """The serial executor's result: shards one after the other in this process."""
    return check_generator(**BASE, shards=ShardOptions(size=SIZE)).to_dict()


def _numbers(d: dict) -> dict:
    """Every number of the d_MS estimate and of the analytic comparison, by path (no wall times)."""
    out = {}

    def walk(x, path):
        if isinstance(x, dict):
            for k, v in x.items():
                if k != "seconds":
                    walk(v, f"{path}.{k}")
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")
        else:
            out[path] = x

    walk(d["d_MS"], "d_MS")
    walk(d["analytic"], "analytic")
    return out


def assert_numbers_equal(a: dict, b: dict):
    """Every number of two results' d_MS and analytic parts equal to 1e-12 (strings and flags exactly)."""
    na, nb = _numbers(a), _numbers(b)
    assert na.keys() == nb.keys()
    for k, v in na.items():
        if isinstance(v, float):
            assert nb[k] == pytest.approx(v, rel=1e-12, abs=1e-15, nan_ok=True), k
        else:
            assert nb[k] == v, k


def assert_same_numbers(a: dict, b: dict):
    """:func:`assert_numbers_equal` for two runs of BASE in 5 shards."""
    assert_numbers_equal(a, b)
    assert a["settings"]["shards"] == b["settings"]["shards"] == {"size": SIZE, "count": 5}
    assert a["sizes"]["samples"] == b["sizes"]["samples"] == BASE["samples"]


def _sampled_kappas(d):
    cum = d["d_MS"]["cumulant"]
    return {k: cum[k] for k in cum if k.startswith(("kappa", "se_kappa"))}


# ------------------------------------------------------------------ the same numbers wherever the shards run
def test_one_two_and_three_dask_workers_give_the_numbers_of_the_serial_shards(cluster, scale, reference):
    _c, client = cluster
    try:
        for n in (2, 1, 3):
            scale(n)
            got = check_generator(**BASE, shards=ShardOptions(size=SIZE), client=client).to_dict()
            assert_same_numbers(reference, got)
            assert _sampled_kappas(got) == pytest.approx(_sampled_kappas(reference), rel=1e-12)
    finally:
        scale(2)


def test_a_local_pool_and_a_scheduler_address_give_the_numbers_of_the_serial_shards(cluster, reference):
    c, _client = cluster
    pool = check_generator(**BASE, shards=ShardOptions(size=SIZE, workers=2)).to_dict()
    assert_same_numbers(reference, pool)
    by_address = check_generator(**BASE, shards=ShardOptions(size=SIZE, scheduler=c.scheduler_address)).to_dict()
    assert_same_numbers(reference, by_address)


def test_the_result_depends_on_the_shard_size_and_sharding_off_is_the_plain_run(reference):
    plain = check_generator(**BASE).to_dict()
    off = check_generator(**BASE, shards=ShardOptions()).to_dict()
    assert _numbers(off) == _numbers(plain) and "shards" not in plain["settings"]
    other = check_generator(**BASE, shards=ShardOptions(size=4096)).to_dict()
    assert other["d_MS"]["value"] != reference["d_MS"]["value"]  # other shards, other rows
    assert other["settings"]["shards"] == {"size": 4096, "count": 3}


def test_shards_in_this_process_run_on_the_runs_backend_with_the_same_numbers(backend, reference):
    """On a device the shards' reservoirs stay there and merge there (the simulated device fails on
    a stray host copy); the numbers are the NumPy run's."""
    got = check_generator(**BASE, shards=ShardOptions(size=SIZE), backend=backend).to_dict()
    assert_same_numbers(reference, got)


# ------------------------------------------------------------------ shard seeds and the merge
def _job(n=5 * 1024 + 300, size=1024, n_plugin=1500, groups=8):
    gen = gt.random_single_layer(20, 10, "sign", seed=1)
    Ws, Wt = gt.draw_weights(20, 10, 2, 1, seed=2)
    match = gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)
    job = ShardJob(W_student=Ws, W_teacher=Wt, mean=match.mean, cov=match.cov,
                   stream=StreamOptions(groups=groups, n_plugin=n_plugin), n=n, size=size,
                   seed=CHECK.streams(5).fields, backend=gt.get_backend("numpy"), dtype="float64")
    return gen, job


def test_merged_shards_equal_one_stream_fed_the_shards_rows_in_shard_order():
    """Shard i's rows are those of shard_seed(fields, i); one stream fed them shard by shard, one
    batch a shard, holds the same counts in the same groups and the same power sums, and its first
    n_plugin rows are the merged reservoir."""
    gen, job = _job()
    merged = merge_stats([shard_stats(job, gen, i) for i in range(job.count)], n_plugin=job.stream.n_plugin)
    one = FieldStream(job.mean, job.cov, options=job.stream)
    for i in range(job.count):
        lam, nu = gt.sample_fields(gen, job.W_student, job.W_teacher, job.rows(i), seed=shard_seed(job.seed, i))
        one.update(np.concatenate([lam, nu], axis=1))
    one = one.finish()
    assert job.count == 6 and [job.rows(i) for i in range(6)] == [1024] * 5 + [300]
    assert np.array_equal(merged.counts, one.counts) and merged.n == job.n
    assert merged.counts.max() - merged.counts.min() <= 1
    # the power sums: the same terms added in another order (a shard's remainder rows join its
    # sum before the merge), so equal to rounding, 1e-12 relative
    for got, want in zip((merged.S1, merged.S2, merged.S3, merged.S4), (one.S1, one.S2, one.S3, one.S4)):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert np.array_equal(merged.reservoir, one.reservoir) and merged.reservoir.shape == (1500, 3)


def test_a_shard_keeps_only_its_part_of_the_first_n_plugin_rows():
    _gen, job = _job()
    assert [job.keep(i) for i in range(job.count)] == [1024, 476, 0, 0, 0, 0]
    assert [job.first_group(i) for i in range(job.count)] == [0] * 6  # 1024 is a multiple of G = 8
    _gen, odd = _job(size=1000, n=3500)
    assert [odd.first_group(i) for i in range(odd.count)] == [0, 0, 0, 0] and odd.rows(3) == 500
    _gen, odd = _job(size=1003, n=3500)
    assert [odd.first_group(i) for i in range(odd.count)] == [0, 3, 6, 1]


def test_planned_n_is_rounded_up_to_whole_shards():
    assert whole_shards(20_000, 4096, 10**10) == 20_480 and whole_shards(8192, 4096, 10**10) == 8192
    assert whole_shards(20_000, 4096, 20_000) == 16_384  # down, when up would pass max_samples
    assert whole_shards(3000, 4096, 3500) == 4096  # never below one shard


def test_a_budget_limited_plan_is_rounded_down_to_the_shards_that_fit():
    assert whole_shards(100_000, 65_536, 10**10, n_budget=100_000) == 65_536  # up would pass the budget
    assert whole_shards(20_000, 4096, 10**10, n_budget=10**6) == 20_480  # room: up, as without a budget
    assert whole_shards(30_000, 65_536, 10**10, n_budget=30_000) == 65_536  # never below one shard
    plan = gt.PlanOptions(time_budget=30, min_pilot=4096, min_samples=4096, max_samples=40_000)
    res = check_generator(N=32, D=16, K=1, M=1, samples="auto", plan=plan, seed=2,
                          stream=StreamOptions(n_plugin=2000), shards=ShardOptions(size=3000))
    d = res.to_dict()
    assert d["sizes"]["samples"] % 3000 == 0 and d["plan"]["n"] == d["sizes"]["samples"]
    assert d["plan"]["shard_size"] == 3000 and "whole shards of 3,000 rows" in d["plan"]["statement"]


# ------------------------------------------------------------------ the generator travels as its recipe
def test_the_default_generator_travels_as_a_recipe_that_rebuilds_its_weights():
    from getheory.check import build_problem

    opts = gt.CheckOptions(N=40, D=20, seed=4)
    problem = build_problem(None, None, None, opts, CHECK.streams(4))
    r = problem.recipe
    assert isinstance(r, GeneratorRecipe) and r.function == "getheory.generators:random_single_layer"
    import pickle

    assert len(pickle.dumps(r)) < 2000  # a few numbers, not A
    assert np.array_equal(pickle.loads(pickle.dumps(r)).build().A, problem.generator.A)


def user_generator(c):
    """A module-level user generator: it travels as module:function."""
    return np.tanh(c[:, :6] * 1.5)


def test_an_importable_user_function_travels_as_module_and_name():
    gen = gt.CallableGenerator(user_generator, D=12)
    r = recipe_of(gen)
    assert r.args[0] == f"{__name__}:user_generator" and r.needs == (__name__,)
    assert r.build().N == 6
    assert recipe_of(gt.CallableGenerator(lambda c: c * 2.0, D=3)) is None  # a lambda travels whole


def test_an_importable_user_function_is_imported_on_the_workers_and_gives_the_same_numbers(cluster):
    _c, client = cluster
    gen = gt.CallableGenerator(user_generator, D=24)
    kw = dict(GIVEN, moment_samples=4000)
    ref = check_generator(gen, **kw, shards=ShardOptions(size=SIZE)).to_dict()
    assert_numbers_equal(ref, check_generator(gen, **kw, shards=ShardOptions(size=SIZE), client=client).to_dict())


def test_a_generator_without_a_recipe_is_scattered_once_and_never_sent_with_a_shard(cluster, monkeypatch):
    _c, client = cluster
    gen = gt.random_single_layer(48, 24, "sign", seed=3)  # built by the caller: no recipe known
    ref = check_generator(gen, **BASE, shards=ShardOptions(size=SIZE)).to_dict()
    scatters, submits = [], []
    scatter, submit = client.scatter, client.submit
    monkeypatch.setattr(client, "scatter", lambda data, **kw: scatters.append(kw) or scatter(data, **kw))
    monkeypatch.setattr(client, "submit", lambda fn, *a, **kw: submits.append(a) or submit(fn, *a, **kw))
    got = check_generator(gen, **BASE, shards=ShardOptions(size=SIZE), client=client).to_dict()
    assert_same_numbers(ref, got)
    assert len(scatters) == 1 and scatters[0]["broadcast"] is True
    assert len(submits) == 5 and not any(isinstance(x, gt.Generator) for a in submits for x in a)


def _blas_threads_after_a_shard(job, source, caller):
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=2)  # as a worker that set no limit of its own
    run_shard_remote(job, source, 0, caller)
    return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})


def test_a_shard_on_a_dask_worker_runs_with_one_blas_thread(cluster):
    _c, client = cluster
    gen, job = _job()
    recipe = GeneratorRecipe("getheory.generators:random_single_layer", (20, 10, "sign", 1))
    assert np.array_equal(recipe.build().A, gen.A)
    assert client.submit(_blas_threads_after_a_shard, job, recipe, process_id(), pure=False).result(60) == [1]


# ------------------------------------------------------------------ a worker killed while it holds shards
@pytest.mark.slow
def test_a_worker_killed_while_it_holds_shards_changes_nothing(cluster, scale):
    """SIGKILL of a worker process that is running a shard: Dask runs its shards again on the
    other worker (and on the one its nanny restarts), and every number equals the undisturbed run."""
    _c, client = cluster
    scale(2)
    base = dict(N=256, D=128, K=2, M=2, samples=16 * 32768, seed=11, stream=StreamOptions(n_plugin=20_000))
    shards = ShardOptions(size=32768)
    out = {}

    def go():
        try:
            out["result"] = check_generator(**base, shards=shards, client=client).to_dict()
        except BaseException as exc:  # reported below
            out["exc"] = exc

    pids = client.run(os.getpid)  # worker address -> pid, before the run
    th = threading.Thread(target=go)
    th.start()
    victim, running, deadline = None, [], time.monotonic() + 60
    while victim is None and th.is_alive():
        busy = {w: [k for k in ks if "getheory-shard" in str(k)] for w, ks in client.processing().items()}
        busy = {w: ks for w, ks in busy.items() if ks and w in pids}
        stored = [k for ks in client.has_what().values() for k in ks if "getheory-shard" in str(k)]
        if busy and stored:  # shards finished and shards running: kill a worker that runs one
            victim = min(busy)
            running = busy[victim]
            os.kill(pids[victim], signal.SIGKILL)
        assert time.monotonic() < deadline, "no shard ran within a minute"
        time.sleep(0.02)
    assert victim is not None and th.is_alive(), out  # killed mid-run, while it held shards
    th.join(timeout=120)
    assert not th.is_alive() and "exc" not in out, out
    assert victim not in client.scheduler_info(n_workers=-1)["workers"]
    # the scheduler released the killed worker's shards when it lost the worker, and ran them again
    story = [e for e in client.story(*running) if e[0] == "scheduler"]
    lost = {e[1] for e in story if e[2:4] == ("processing", "released") and e[5].startswith("handle-worker-cleanup")}
    assert lost and lost <= set(running), story
    assert all(any(e[1] == k and e[2:4] == ("processing", "memory") for e in story) for k in lost), story
    undisturbed = check_generator(**base, shards=shards).to_dict()
    assert_numbers_equal(out["result"], undisturbed)
    assert out["result"]["settings"]["shards"] == {"size": 32768, "count": 16}


# ------------------------------------------------------------------ clusters that die: no wait without a limit
def _in_thread(fn) -> tuple:
    """``fn()`` in a thread: (thread, out), out holding "result" or "exc" and "t_end" once it ended."""
    out = {}

    def go():
        try:
            out["result"] = fn()
        except BaseException as exc:  # reported by the test
            out["exc"] = exc
        out["t_end"] = time.monotonic()

    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th, out


def test_a_gather_that_would_wait_forever_is_stopped_by_the_no_worker_check(cluster, monkeypatch):
    """The results of finished shards are on workers that then die: the gather that fetches them
    would wait for ever.  The no-worker check runs while it waits, and stops the check after the
    worker timeout (before, the gather had no limit and the 20 s check never ran)."""
    _c, client = cluster
    monkeypatch.setattr(_executors, "WORKER_TIMEOUT_S", 2.0)
    forever, gathering = threading.Event(), threading.Event()
    real_info = client.scheduler_info

    def gather(futures, *a, **kw):  # as for results whose workers died: no answer, ever
        gathering.set()
        forever.wait()

    def scheduler_info(*a, **kw):  # every worker gone once the gather started
        return {"n_workers": 0, "workers": {}} if gathering.is_set() else real_info(*a, **kw)

    monkeypatch.setattr(client, "gather", gather)
    monkeypatch.setattr(client, "scheduler_info", scheduler_info)
    try:
        th, out = _in_thread(lambda: check_generator(**BASE, shards=ShardOptions(size=SIZE), client=client))
        assert gathering.wait(120), out
        t_gather = time.monotonic()
        th.join(60)
        assert not th.is_alive(), "the check still waits on the gather 60 s after its workers died"
    finally:
        forever.set()
    assert isinstance(out.get("exc"), ClusterError), out
    assert "has lost every worker (they died or left) for 2 s" in str(out["exc"]) and "while gathering 5 finished shards" in str(out["exc"])
    assert out["t_end"] - t_gather < 30


def _start_worker(address):
    """A `dask worker` process without a nanny (nothing restarts it), one thread, its own process group."""
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny", "--nthreads", "1",
           "--no-dashboard", "--name", f"w{time.monotonic_ns()}"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _kill(workers):
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
        w.wait()


def _shards_stored(client) -> int:
    return sum("getheory-shard" in str(k) for ks in client.has_what().values() for k in ks)


#: 12 shards of 16384 rows: long enough that a worker can be killed between two of them
KILLED = dict(N=128, D=64, K=2, M=2, samples=12 * 16384, seed=13, stream=StreamOptions(n_plugin=8000))
KILLED_SIZE = 16384


@pytest.fixture
def bare_cluster(local_cluster):
    """(client, start_worker): a scheduler in this process with no worker; workers are started as
    processes without a nanny (and killed at the end)."""
    workers = []
    with local_cluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1") as c, \
            distributed.Client(c) as client:

        def start(k=1):
            workers.extend(_start_worker(c.scheduler_address) for _ in range(k))
            client.wait_for_workers(len([w for w in workers if w.poll() is None]), timeout=120)

        try:
            yield client, start, workers
        finally:
            _kill(workers)


def _kill_at_a_shard(client, workers, th, k=2):
    """Kill every worker process once ``k`` shards are stored and the check still runs."""
    deadline = time.monotonic() + 120
    while _shards_stored(client) < k:
        assert th.is_alive() and time.monotonic() < deadline, "the shards did not run"
        time.sleep(0.02)
    assert th.is_alive()
    _kill(workers)
    return time.monotonic()


@pytest.mark.slow
def test_a_check_whose_workers_all_die_stops_within_the_worker_timeout(bare_cluster, monkeypatch):
    """Every worker (no nanny) killed by PID once 2 shards are stored: the check stops within the
    worker timeout, saying the workers were lost, whatever it was waiting on."""
    client, start, workers = bare_cluster
    monkeypatch.setattr(_executors, "WORKER_TIMEOUT_S", 3.0)
    start(2)
    th, out = _in_thread(lambda: check_generator(**KILLED, shards=ShardOptions(size=KILLED_SIZE), client=client))
    t_kill = _kill_at_a_shard(client, workers, th)
    th.join(60)
    assert not th.is_alive(), "the check still waits 60 s after every worker died"
    assert isinstance(out.get("exc"), ClusterError), out
    assert "has lost every worker" in str(out["exc"]) and "Start workers" in str(out["exc"])
    assert out["t_end"] - t_kill < 3.0 + 25


@pytest.mark.slow
def test_a_scattered_generator_lost_with_its_workers_is_scattered_again_when_workers_come_back(bare_cluster):
    """A generator without a recipe travels scattered; its only worker is killed once 2 shards are
    stored, and a new worker starts: the generator is scattered again, the lost shards run again,
    and every number equals the serial run's (before, the check stopped with "cancelled shard 3
    (lost the scheduler?)" while the scheduler was up)."""
    client, start, workers = bare_cluster
    gen = gt.random_single_layer(128, 64, "sign", seed=5)  # built by the caller: no recipe, scattered
    shards = ShardOptions(size=KILLED_SIZE)
    start(1)
    th, out = _in_thread(lambda: check_generator(gen, **KILLED, shards=shards, client=client).to_dict())
    _kill_at_a_shard(client, workers, th)
    start(1)
    th.join(180)
    assert not th.is_alive() and "exc" not in out, out
    assert_numbers_equal(out["result"], check_generator(gen, **KILLED, shards=shards).to_dict())


@pytest.mark.slow
def test_a_scattered_generator_lost_for_good_is_named_in_the_error(bare_cluster, monkeypatch):
    """The same, with no worker coming back: the error says the scattered generator was lost with
    the workers and how to avoid it (a recipe), not that the scheduler was lost."""
    client, start, workers = bare_cluster
    monkeypatch.setattr(_executors, "WORKER_TIMEOUT_S", 3.0)
    gen = gt.random_single_layer(128, 64, "sign", seed=5)
    start(1)
    th, out = _in_thread(lambda: check_generator(gen, **KILLED, shards=ShardOptions(size=KILLED_SIZE), client=client))
    _kill_at_a_shard(client, workers, th)
    th.join(60)
    assert not th.is_alive(), "the check still waits 60 s after its worker died"
    msg = str(out.get("exc"))
    assert isinstance(out.get("exc"), ClusterError), out
    assert "lost the scheduler" not in msg and "scattered generator" in msg and "recipe" in msg, msg


# ------------------------------------------------------------------ refused before any work starts
@pytest.fixture
def no_work(monkeypatch):
    """Any step after the entry fails the test: the error must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the check started working before refusing its input")

    monkeypatch.setattr(pipeline, "compute_moments", forbidden)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_where_nothing_listens_fails_within_seconds_naming_the_address(no_work):
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(ClusterError, match="nothing is listening") as err:
        check_generator(**BASE, shards=ShardOptions(size=SIZE, scheduler=address))
    assert address in str(err.value) and time.perf_counter() - t0 < 10


def test_an_http_server_as_scheduler_is_refused_within_10_s_naming_the_address(no_work):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        address = f"tcp://127.0.0.1:{srv.server_address[1]}"
        t0 = time.perf_counter()
        with pytest.raises(ClusterError, match="did not answer as a Dask scheduler") as err:
            check_generator(**BASE, shards=ShardOptions(size=SIZE, scheduler=address))
        elapsed = time.perf_counter() - t0
    finally:
        srv.shutdown()
        srv.server_close()
    assert address in str(err.value) and elapsed < 10, elapsed


def test_a_shard_size_below_the_groups_is_refused_naming_the_minimum():
    with pytest.raises(ValueError, match="shard size 32 is below the 64 groups.*at least 64"):
        gt.CheckOptions(shards=ShardOptions(size=32))
    with pytest.raises(ValueError, match="shard size 10 is below the 16 groups"):
        check_generator(**dict(BASE, stream=StreamOptions(groups=16)), shards=ShardOptions(size=10))
    with pytest.raises(ValueError, match="no shard size was given"):
        ShardOptions(workers=2)
    with pytest.raises(ValueError, match="no shard size was given"):
        ShardOptions(scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="shard size must be"):
        ShardOptions(size=0)


def test_a_client_without_a_shard_size_is_refused(cluster, no_work):
    _c, client = cluster
    with pytest.raises(ValueError, match="no shard size was given"):
        check_generator(**BASE, client=client)


def _locked_generator():
    lock = threading.Lock()
    return gt.CallableGenerator(lambda c: np.tanh(c) + 0.0 * (lock is None), D=24)


@pytest.mark.parametrize("where", ["pool", "dask"])
def test_a_generator_that_cannot_be_pickled_is_refused_before_any_work(cluster, no_work, where):
    _c, client = cluster
    kw = {"client": client} if where == "dask" else {}
    shards = ShardOptions(size=SIZE, workers=2 if where == "pool" else None)
    with pytest.raises(TypeError, match="generator cannot be sent to .*pickling it failed") as err:
        check_generator(_locked_generator(), **GIVEN, shards=shards, **kw)
    assert "in this process" in str(err.value)  # and how to do without


def test_a_user_module_the_workers_cannot_import_is_named_before_any_work(cluster, no_work, tmp_path,
                                                                          monkeypatch):
    _c, client = cluster
    (tmp_path / "only_here_gen.py").write_text("import numpy as np\n\ndef gen(c):\n    return np.sin(c)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers started before
    generator = gt.load_generator("only_here_gen:gen", D=24)
    with pytest.raises(ValueError, match="module 'only_here_gen' cannot be imported on the Dask worker") as err:
        check_generator(generator, **GIVEN, shards=ShardOptions(size=SIZE), client=client)
    assert "PYTHONPATH" in str(err.value)
    sys.modules.pop("only_here_gen", None)
