"""Sweeps that meet faults: shared schedulers, wrong addresses, dying workers, killed pools,
places that cannot be written (getheory.sweep._runner, getheory.sweep._database).

Nothing wrong is stored, nothing finished is lost, nothing hangs.
"""

import http.server
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from getheory import sweep as sw
from getheory.sweep import _database, _runner

SPEC = """
name = "faults"
seed = 3
[grid]
N = {N}
delta = [0.5]
seeds = {seeds}
[[generator]]
activation = "relu"
[samples]
mode = "fixed"
n = {n}
moment_samples = 400
"""


def spec_text(n=2000, N="[12, 24]", seeds=2):
    return SPEC.format(n=n, N=N, seeds=seeds)


def load(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return sw.load_spec(p)


def n_rows(db):
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        con.close()


def wait_for_rows(db, k, timeout, alive=lambda: True):
    deadline = time.time() + timeout
    while time.time() < deadline and alive():
        if db.exists() and n_rows(db) >= k:
            return True
        time.sleep(0.05)
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env1():
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


# ---------------------------------------------------------------- 1. task keys
def test_task_keys_carry_the_whole_task(tmp_path):
    a = load(tmp_path, spec_text(n=2000), "a.toml").tasks()
    b = load(tmp_path, spec_text(n=3000), "b.toml").tasks()
    assert [t.task_id for t in a] == [t.task_id for t in b] and [t.seed for t in a] == [t.seed for t in b]
    ka, kb = [sw.task_key(t) for t in a], [sw.task_key(t) for t in b]
    assert len(set(ka)) == len(a) and not set(ka) & set(kb)  # unique within a sweep, disjoint across specs
    assert ka == [sw.task_key(t) for t in load(tmp_path, spec_text(n=2000), "c.toml").tasks()]  # reproducible
    assert sw.task_key(replace(a[0], certify=True)) != ka[0]
    assert ka[0].startswith(f"getheory-task-N{a[0].N}-D{a[0].D}-")


@pytest.mark.slow
def test_two_sweeps_at_once_on_one_scheduler_keep_their_own_n(tmp_path, local_cluster):
    """Specs that differ only in samples.n, run at the same time on one scheduler: each
    database holds rows computed with its own n (with keys that ignored the spec, Dask
    merged the tasks and one sweep stored the other's rows)."""
    sizes = (1500, 2500)
    specs = {n: load(tmp_path, spec_text(n=n), f"s{n}.toml") for n in sizes}
    out, errors = {}, []
    start = threading.Barrier(len(sizes))
    with local_cluster(n_workers=2, processes=True, threads_per_worker=1) as cluster:

        def go(n):
            try:
                start.wait(timeout=30)
                out[n] = sw.run_sweep(specs[n], tmp_path / f"n{n}.db", scheduler=cluster.scheduler_address,
                                      progress=False)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(n,)) for n in sizes]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
    assert not errors, errors
    for n in sizes:
        assert (out[n].done, out[n].failed) == (4, 0)
        with sw.ResultsDB(tmp_path / f"n{n}.db") as db:
            rows = db.rows()
            recs = db.records()
        assert len(rows) == 4 and {r["samples"] for r in rows} == {n}
        assert {r["task"]["samples"]["n"] for r in recs} == {n}


# ---------------------------------------------------------------- 2. scheduler address
def test_scheduler_where_nothing_listens_is_refused_at_once_and_creates_no_database(tmp_path):
    pytest.importorskip("distributed")
    spec = load(tmp_path, spec_text())
    db = tmp_path / "r.db"
    address = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(sw.SweepError, match="nothing is listening") as err:
        sw.run_sweep(spec, db, scheduler=address, progress=False)
    elapsed = time.perf_counter() - t0
    assert address in str(err.value) and elapsed < 10, elapsed
    assert not db.exists()


def test_http_server_as_scheduler_is_refused_within_10_s_and_creates_no_database(tmp_path):
    pytest.importorskip("distributed")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        spec = load(tmp_path, spec_text())
        db = tmp_path / "r.db"
        address = f"tcp://127.0.0.1:{srv.server_address[1]}"
        t0 = time.perf_counter()
        with pytest.raises(sw.SweepError, match="did not answer as a Dask scheduler") as err:
            sw.run_sweep(spec, db, scheduler=address, progress=False)
        elapsed = time.perf_counter() - t0
    finally:
        srv.shutdown()
        srv.server_close()
    assert address in str(err.value) and elapsed < 10, elapsed
    assert not db.exists()


def test_scheduler_that_is_not_a_dask_address_is_refused(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(sw.SweepError, match="not a Dask address"):
        sw.run_sweep(load(tmp_path, spec_text()), tmp_path / "r.db", scheduler="http://localhost:1", progress=False)
    assert not (tmp_path / "r.db").exists()


# ---------------------------------------------------------------- 3. workers that die
def test_scheduler_without_workers_is_reported(tmp_path, local_cluster):
    spec = load(tmp_path, spec_text())
    with local_cluster(n_workers=0, processes=False) as cluster:
        t0 = time.perf_counter()
        with pytest.raises(sw.SweepError, match="has no workers") as err:
            sw.run_sweep(spec, tmp_path / "r.db", scheduler=cluster.scheduler_address, progress=False,
                         worker_timeout=2)
        assert time.perf_counter() - t0 < 15
    assert cluster.scheduler_address in str(err.value) and "rerun" in str(err.value)


def test_a_record_that_would_wait_forever_is_stopped_by_the_no_worker_check(tmp_path, local_cluster, monkeypatch):
    """A finished task's record is on a worker that then dies, with no other worker: fetching it
    would wait for ever.  The no-worker check runs while it waits and stops the sweep after the
    worker timeout (before, the fetch had no limit and the check never ran)."""
    distributed = pytest.importorskip("distributed")
    spec = load(tmp_path, spec_text())
    forever, fetching = threading.Event(), threading.Event()
    result = {}

    def never(future, *a, **kw):  # as for a record whose worker died: no answer, ever
        fetching.set()
        forever.wait()

    with local_cluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            distributed.Client(cluster) as client:
        real_info = client.scheduler_info
        monkeypatch.setattr(client, "scheduler_info", lambda *a, **kw: {"n_workers": 0, "workers": {}}
                            if fetching.is_set() else real_info(*a, **kw))
        monkeypatch.setattr(distributed.Future, "result", never)

        def go():
            try:
                result["summary"] = sw.run_sweep(spec, tmp_path / "r.db", client=client, progress=False,
                                                 worker_timeout=2)
            except BaseException as exc:
                result["exc"] = exc
            result["t_end"] = time.monotonic()

        th = threading.Thread(target=go, daemon=True)
        th.start()
        try:
            assert fetching.wait(120), result
            t_fetch = time.monotonic()
            th.join(60)
            assert not th.is_alive(), "the sweep still waits on a record 60 s after its workers died"
        finally:
            forever.set()
            monkeypatch.undo()
    exc = result.get("exc")
    assert isinstance(exc, sw.SweepError), result
    # "every worker ... is gone" when the watch saw a worker before the fetch began, "has no workers" when
    # its first look came after (a loaded machine): either names the cause
    assert ("every worker" in str(exc) or "has no workers" in str(exc)) and "for 2 s" in str(exc)
    assert "rerun" in str(exc) and result["t_end"] - t_fetch < 30


def _start_worker(address):
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny", "--nthreads", "1",
           "--no-dashboard", "--name"]
    return subprocess.Popen(cmd + [f"w{time.monotonic_ns()}"], env=env1(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sweep_whose_workers_all_die_stops_within_a_minute_keeps_rows_and_resumes(tmp_path, local_cluster):
    distributed = pytest.importorskip("distributed")
    spec = load(tmp_path, spec_text(N="[12, 16, 20, 24]", seeds=3))
    db = tmp_path / "r.db"
    result = {}
    # tcp: workers in other processes join
    with local_cluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1") as cluster:
        address = cluster.scheduler_address
        workers = [_start_worker(address) for _ in range(2)]
        try:
            def go():
                try:
                    result["summary"] = sw.run_sweep(spec, db, scheduler=address, progress=False)
                except BaseException as exc:
                    result["exc"] = exc
                result["t_end"] = time.perf_counter()

            th = threading.Thread(target=go)
            th.start()
            assert wait_for_rows(db, 2, 120, alive=th.is_alive), result
            for w in workers:  # every worker dies, mid-task
                os.killpg(w.pid, signal.SIGKILL)
            t_kill = time.perf_counter()
            th.join(timeout=90)
            assert not th.is_alive(), "the sweep still waits 90 s after its workers died"
        finally:
            for w in workers:
                if w.poll() is None:
                    os.killpg(w.pid, signal.SIGKILL)
                w.wait()
    exc = result.get("exc")
    assert isinstance(exc, sw.SweepError), result
    stopped_after = result["t_end"] - t_kill
    assert stopped_after < 60, stopped_after
    assert "worker" in str(exc) and address in str(exc) and "rerun" in str(exc)
    kept = n_rows(db)
    assert 2 <= kept < 12
    # a rerun on a fresh cluster runs only the rest
    with local_cluster(n_workers=1, threads_per_worker=2, processes=False) as cluster, \
            distributed.Client(cluster) as client:
        s = sw.run_sweep(spec, db, client=client, progress=False)
    assert (s.done, s.skipped, s.failed) == (12 - kept, kept, 0)
    with sw.ResultsDB(db) as d:
        assert sorted(r["task_id"] for r in d.rows()) == sorted(t.task_id for t in spec.tasks())


@pytest.mark.slow
def test_sweep_whose_scheduler_dies_stops_and_keeps_rows(tmp_path):
    pytest.importorskip("distributed")
    spec = load(tmp_path, spec_text(N="[12, 16, 20, 24]", seeds=3))
    db = tmp_path / "r.db"
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                              "--port", str(port), "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                             env=env1(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers, result = [], {}
    try:
        deadline = time.time() + 60
        while True:
            try:
                _runner._check_scheduler(address, timeout=2)
                break
            except sw.SweepError:
                assert time.time() < deadline and sched.poll() is None, "the scheduler did not start"
                time.sleep(0.2)
        workers = [_start_worker(address) for _ in range(2)]

        def go():
            try:
                result["summary"] = sw.run_sweep(spec, db, scheduler=address, progress=False)
            except BaseException as exc:
                result["exc"] = exc
            result["t_end"] = time.perf_counter()

        th = threading.Thread(target=go)
        th.start()
        assert wait_for_rows(db, 2, 120, alive=th.is_alive), result
        os.killpg(sched.pid, signal.SIGKILL)
        t_kill = time.perf_counter()
        th.join(timeout=90)
        assert not th.is_alive(), "the sweep still waits 90 s after its scheduler died"
    finally:
        for p in [sched] + workers:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    exc = result.get("exc")
    assert isinstance(exc, sw.SweepError), result
    assert result["t_end"] - t_kill < 60
    assert address in str(exc) and "rerun the same command" in str(exc).lower()
    assert 2 <= n_rows(db) < 12


# ---------------------------------------------------------------- 4. kill -9 of a pool sweep
def _descendants(pid):
    """Every live process below ``pid`` (read from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has ended


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_kill_9_of_a_pool_sweep_leaves_no_pool_process(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(spec_text(N="[12, 16, 20, 24]", seeds=3))
    db = tmp_path / "r.db"
    cmd = [sys.executable, "-m", "getheory", "sweep", str(p), "--db", str(db), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env1(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    below = []
    try:
        # both pool workers are running tasks once the first row is in
        assert wait_for_rows(db, 1, 120, alive=lambda: proc.poll() is None), proc.stderr.read().decode()[-2000:]
        below = _descendants(proc.pid)
        assert len(below) >= 2, below
        proc.send_signal(signal.SIGKILL)  # the sweep process alone, as `kill -9 PID` does
        proc.wait()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 5 and any(_alive(c) for c in below):
            time.sleep(0.05)
        survivors = [c for c in below if _alive(c)]
        assert not survivors, f"{len(survivors)} of {len(below)} pool processes outlived the sweep by 5 s"
    finally:
        for c in below + _descendants(proc.pid) + ([proc.pid] if proc.poll() is None else []):
            if _alive(c):
                os.kill(c, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert 1 <= n_rows(db) < 12


def _watched(parent_pid):
    """In a pool worker: its parent watch is installed and names the real parent."""
    return os.getppid() == parent_pid and any(t.name == "getheory-parent-watch" for t in threading.enumerate())


def test_pool_workers_watch_their_parent():
    with _runner._make_pool(1) as pool:
        assert pool.call(_watched, os.getpid(), timeout=60)


# ---------------------------------------------------------------- 5. places that cannot be written
def test_spec_path_that_is_a_directory_is_a_spec_error(tmp_path, capsys):
    with pytest.raises(sw.SpecError, match="is a directory") as err:
        sw.load_spec(tmp_path)
    assert str(tmp_path) in str(err.value)
    from getheory.cli import main

    assert main(["sweep", str(tmp_path), "--db", str(tmp_path / "r.db")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()


def _no_tasks(monkeypatch):
    def forbidden(task):
        raise AssertionError("a task ran although the database cannot be written")

    monkeypatch.setattr(_runner, "run_task", forbidden)


def test_new_database_in_a_folder_nobody_can_write_is_refused_before_computing(tmp_path, monkeypatch):
    """The real probe: nobody, root included, can create a file in /proc."""
    spec = load(tmp_path, spec_text())
    _no_tasks(monkeypatch)
    with pytest.raises(sw.SweepError, match="cannot create the results database") as err:
        sw.run_sweep(spec, "/proc/getheory-results.db", workers=1, progress=False)
    msg = str(err.value)
    assert "'/proc/getheory-results.db'" in msg and "'/proc'" in msg and "writable folder" in msg
    assert not os.path.exists("/proc/getheory-results.db")
    with pytest.raises(sw.SweepError, match="does not exist"):
        sw.run_sweep(spec, tmp_path / "missing" / "r.db", workers=1, progress=False)


def test_probe_really_writes(tmp_path, monkeypatch):
    """The probe creates and removes a file (leaving nothing), and opens an existing database
    for writing: permission bits are not consulted (they do not stop root)."""
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # never asked
    _database._check_writable(str(tmp_path / "new.db"), False)
    assert list(tmp_path.iterdir()) == []
    f = tmp_path / "old.db"
    f.write_bytes(b"")
    _database._check_writable(str(f), True)
    assert [x.name for x in tmp_path.iterdir()] == ["old.db"]
    # a path that cannot be opened for writing (a folder) is refused as unwritable
    with pytest.raises(sw.SweepError, match="cannot resume the sweep in .* cannot be written"):
        _database._check_writable(str(tmp_path), True)


def test_resume_in_a_read_only_folder_is_refused_before_computing(tmp_path, monkeypatch):
    spec = load(tmp_path, spec_text())
    db = tmp_path / "r.db"
    assert sw.run_sweep(spec, db, workers=1, progress=False, max_tasks=1).done == 1
    before = db.read_bytes()
    real = _database.tempfile.mkstemp

    def read_only(*args, dir=None, **kw):  # a read-only folder, as a mount would make it
        if dir is not None and os.path.samefile(dir, tmp_path):
            raise PermissionError(30, "Read-only file system")
        return real(*args, dir=dir, **kw)

    monkeypatch.setattr(_database.tempfile, "mkstemp", read_only)
    _no_tasks(monkeypatch)
    with pytest.raises(sw.SweepError, match="cannot resume the sweep in") as err:
        sw.run_sweep(spec, db, workers=1, progress=False)
    assert str(db) in str(err.value) and "Read-only file system" in str(err.value)
    assert "copy the database to a writable folder" in str(err.value)
    assert db.read_bytes() == before


def test_write_failure_after_a_task_names_the_database(tmp_path):
    spec = load(tmp_path, spec_text())
    db = tmp_path / "r.db"
    sw.run_sweep(spec, db, workers=1, progress=False, max_tasks=1)
    with sw.ResultsDB(db) as d:
        rec = d.records()[0]
        d.conn.execute("PRAGMA query_only = ON")  # every write now fails inside SQLite
        t2 = dict(rec["task"], task_id="other")
        with pytest.raises(sw.SweepError, match="cannot write task other to the results database"):
            d.insert(sw.TaskRecord.from_dict(dict(rec, task=t2)))


def _can_mount_read_only(tmp_path):
    if not sys.platform.startswith("linux"):
        return False
    d = tmp_path / "probe-mount"
    d.mkdir()
    try:
        r = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro '{d}' '{d}' && ! touch '{d}/x'"],
                           capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        d.rmdir()
    return r.returncode == 0


@pytest.mark.slow
def test_read_only_mount_is_refused_before_computing(tmp_path):
    """End to end where the system allows it (root in a private mount namespace): a folder,
    or a database file, bind-mounted read-only; the sweep stops with exit status 2 before
    running a task, names the path, and the database is unchanged."""
    if not _can_mount_read_only(tmp_path):
        pytest.skip("needs `unshare -m` and `mount --bind -o ro` (root with CAP_SYS_ADMIN)")
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_text())
    ro = tmp_path / "ro"
    ro.mkdir()
    db = ro / "r.db"
    assert sw.run_sweep(sw.load_spec(spec_path), db, workers=1, progress=False, max_tasks=1).done == 1
    before = db.read_bytes()
    sweep = f"'{sys.executable}' -m getheory sweep '{spec_path}' --workers 1 --quiet --db"
    for target, dbpath, what in ((ro, db, "its folder"), (db, db, "the database cannot be written"),
                                 (ro, ro / "new.db", "cannot create the results database")):
        t0 = time.perf_counter()
        r = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount --bind -o ro '{target}' '{target}' && exec {sweep} '{dbpath}'"],
                           capture_output=True, text=True, env=env1(), timeout=120)
        elapsed = time.perf_counter() - t0
        assert r.returncode == 2, r.stderr
        assert str(dbpath) in r.stderr and what in r.stderr and "Nothing was run" in r.stderr, r.stderr
        assert db.read_bytes() == before and not (ro / "new.db").exists()
        assert elapsed < 30, elapsed
