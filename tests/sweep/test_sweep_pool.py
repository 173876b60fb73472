"""Sweeps on a local pool (getheory.sweep._runner, the pool runner) that meet Ctrl-C and killed workers.

Ctrl-C ends `getheory sweep --workers 2` in one line with status 130, the finished rows kept, and
the rerun resumes.  A worker killed while it runs a task is replaced and the task runs again in the
same run; a task that kills its worker every time is recorded as failed (and retried by the next run).
Signals are sent on events (a row in the database, a task that starts), never after a chosen time.
"""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from getheory import sweep as sw

SPEC = """
name = "pool"
seed = 3
[grid]
N = {N}
delta = [0.5]
seeds = {seeds}
[[generator]]
{generator}
[samples]
mode = "fixed"
n = 2000
moment_samples = 400
"""

#: seconds a sweep may take before the test calls it hung (only reached when it is)
LONG = 300


def _spec(tmp_path, N="[12, 24]", seeds=2, generator='activation = "relu"'):
    p = tmp_path / "spec.toml"
    p.write_text(SPEC.format(N=N, seeds=seeds, generator=generator))
    return p


def _rows(db) -> int:
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        con.close()


def _sweep(spec, db, *extra):
    return [sys.executable, "-m", "getheory", "sweep", str(spec), "--db", str(db), "--quiet", *extra]


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


@contextlib.contextmanager
def _ctrl_c_as_in_a_terminal():
    """The processes started in this block take SIGINT as a terminal's foreground job does.  A test run
    started in the background by a non-interactive shell (``cmd &``, as a CI script may be) ignores SIGINT,
    and an ignored signal stays ignored through exec: the sweep would never see the Ctrl-C.  A handled
    one is reset to its default at exec, so the sweep's Python installs its KeyboardInterrupt again."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def test_ctrl_c_during_a_pool_sweep_ends_in_one_line_with_status_130_and_the_rerun_resumes(tmp_path):
    spec, db = _spec(tmp_path, N="[12, 16, 20, 24]", seeds=3), tmp_path / "r.db"
    with _ctrl_c_as_in_a_terminal():
        proc = subprocess.Popen(_sweep(spec, db, "--workers", "2"), cwd=tmp_path, env=_env(), start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + LONG
        while proc.poll() is None and not (db.exists() and _rows(db) >= 1):  # a finished row: workers are busy
            assert time.monotonic() < end, "no row within the time limit"
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1]
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the sweep and its workers, all at once
        _out, err = proc.communicate(timeout=LONG)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["getheory sweep: interrupted"], err  # no traceback, none from a worker
    kept = _rows(db)
    assert 1 <= kept < 12
    again = subprocess.run(_sweep(spec, db, "--workers", "2"), cwd=tmp_path, env=_env(), capture_output=True,
                           text=True, timeout=LONG, check=False)
    assert again.returncode == 0, again.stderr
    assert f"{12 - kept} tasks run, {kept} already done" in again.stdout and _rows(db) == 12


KILLER = '''
import os
import signal

import numpy as np

def make(N, D, seed):
    """Kill this worker (SIGKILL) as it starts a task of N = 24: the first time only, or every time."""
    if N == 24 and ({every_time} or not os.path.exists({marker!r})):
        open({marker!r}, "a").close()
        os.kill(os.getpid(), signal.SIGKILL)
    A = np.random.default_rng(seed).standard_normal((N, D))
    return lambda c: np.tanh(c @ A.T / np.sqrt(D))
'''


@pytest.mark.parametrize("every_time", [False, True])
def test_a_pool_worker_killed_in_a_task_runs_the_task_again_then_records_it_as_failed(tmp_path, monkeypatch,
                                                                                     every_time):
    marker = tmp_path / "killed"
    (tmp_path / "killer_gen.py").write_text(KILLER.format(every_time=every_time, marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))  # the pool's workers start with this process's sys.path
    spec = sw.load_spec(_spec(tmp_path, generator='factory = "killer_gen:make"\nname = "tanh-user"'))
    s = sw.run_sweep(spec, tmp_path / "k.db", workers=2, progress=False)
    assert marker.exists()  # a worker was killed
    if not every_time:  # killed once: the task ran again on a fresh worker, nothing lost
        assert (s.done, s.failed) == (4, 0), s.failures
        return
    assert (s.done, s.failed) == (2, 2)  # N = 24 killed its worker twice, for each seed; N = 12 done
    assert all("N=24" in tid and "WorkerLost: its worker process died 2 times in a row" in err
               for tid, err in s.failures), s.failures
    (tmp_path / "killer_gen.py").write_text(KILLER.format(every_time=False, marker=str(marker)))
    sys.modules.pop("killer_gen", None)
    s = sw.run_sweep(spec, tmp_path / "k.db", workers=2, progress=False)  # the next run retries them
    assert (s.done, s.failed, s.skipped) == (2, 0, 2)


def test_an_interrupt_while_the_database_is_created_leaves_one_the_rerun_initialises(tmp_path, monkeypatch):
    """Ctrl-C between the database's tables and its spec (a sweep interrupted in its first second):
    the rerun starts the sweep, instead of refusing a database "of format None"."""
    spec, db = sw.load_spec(_spec(tmp_path)), tmp_path / "r.db"
    real = type(spec).stored_dict

    def interrupted(self):
        raise KeyboardInterrupt  # as Ctrl-C after the tables were created, before the spec was stored

    monkeypatch.setattr(type(spec), "stored_dict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sw.run_sweep(spec, db, workers=1, progress=False, max_tasks=1)
    monkeypatch.setattr(type(spec), "stored_dict", real)
    s = sw.run_sweep(spec, db, workers=1, progress=False, max_tasks=1)
    assert (s.done, s.failed) == (1, 0) and _rows(db) == 1
