"""The local process pool (getheory._cluster.ProcessPool): a worker that dies loses only its call,
which runs again on a fresh worker; a call that kills its worker every time is given up, named;
an error comes back with its traceback; closing ends and joins every process; workers ignore Ctrl-C.

The functions the workers run are this module's (spawned workers import it by name: the tests'
folder is on their sys.path, as on the parent's).  Deaths are chosen by call, never by time: a
function kills its own process (SIGKILL) when a marker file says it has not yet done so.
"""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from getheory import _cluster
from getheory._cluster import ProcessPool, RemoteTraceback, WorkerLost, make_pool

#: seconds any wait on a pool may take before the test calls it broken (only reached when it is)
LONG = 120


def _pid_after_a_kill(marker: str) -> int:
    """Kill this worker (SIGKILL) the first time (no marker yet); else this worker's pid."""
    if not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def _always_killed():
    os.kill(os.getpid(), signal.SIGKILL)


def _fails(x):
    raise ValueError(f"bad value {x}")


def _blocks(started: str):
    """Say it started (a file), then run until the pool ends it."""
    with open(started, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(3600)


def _wait_for(path, timeout=LONG):
    end = time.monotonic() + timeout
    while not os.path.exists(path) or not Path(path).read_text():
        assert time.monotonic() < end, f"{path} did not appear within {timeout} s"
        time.sleep(0.02)
    return int(Path(path).read_text())


def test_a_call_whose_worker_is_killed_runs_again_on_a_fresh_worker(tmp_path):
    marker = str(tmp_path / "killed")
    with make_pool(1) as pool:
        assert pool.call(_pid_after_a_kill, marker, timeout=LONG) != int(Path(marker).read_text())  # a fresh process
        assert pool.call(os.getpid, timeout=LONG) > 0  # and the pool goes on


def test_a_call_that_kills_its_worker_every_time_is_given_up_naming_it():
    with make_pool(2) as pool:
        pool.submit("shard 3", _always_killed)
        pool.submit("shard 4", os.getpid)
        out = {}
        end = time.monotonic() + LONG
        while len(pool):
            assert time.monotonic() < end
            out.update({k: (ok, v) for k, ok, v in pool.wait(1.0)})
    ok, exc = out["shard 3"]
    assert not ok and isinstance(exc, WorkerLost)
    assert "died 2 times in a row" in str(exc) and "killed by signal 9" in str(exc)
    assert out["shard 4"][0]  # the other call is not lost with it


def test_an_error_in_a_worker_comes_back_with_its_traceback():
    with make_pool(1) as pool, pytest.raises(ValueError, match="bad value 7") as err:
        pool.call(_fails, 7, timeout=LONG)
    assert isinstance(err.value.__cause__, RemoteTraceback) and "_fails" in str(err.value.__cause__)


def test_closing_after_an_error_ends_and_joins_every_worker(tmp_path):
    started = [str(tmp_path / f"started-{i}") for i in range(2)]
    with pytest.raises(RuntimeError, match="stop here"), make_pool(2) as pool:
        for i, s in enumerate(started):
            pool.submit(i, _blocks, s)
        pids = [_wait_for(s) for s in started]
        raise RuntimeError("stop here")
    assert not [p for p in mp.active_children() if p.pid in pids]  # terminated and joined, none left
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_pool_workers_ignore_ctrl_c():
    with ProcessPool(1) as pool:
        pid = pool.call(os.getpid, timeout=LONG)
        os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to every process of its group
        assert pool.call(os.getpid, timeout=LONG) == pid  # the same worker, alive and working


def test_a_worker_that_died_while_idle_is_replaced_and_no_call_is_lost():
    with ProcessPool(1) as pool:
        pid = pool.call(os.getpid, timeout=LONG)
        os.kill(pid, signal.SIGKILL)
        assert pool.call(os.getpid, timeout=LONG) not in (pid, None)


def test_an_interrupt_during_the_teardown_does_not_cut_it_short(tmp_path, monkeypatch):
    """Ctrl-C (or a time budget's alarm) while the pool ends its workers: every worker still ends,
    and the interrupt is raised after."""
    started = [str(tmp_path / f"started-{i}") for i in range(2)]
    pool = make_pool(2)
    for i, s in enumerate(started):
        pool.submit(i, _blocks, s)
    pids = [_wait_for(s) for s in started]
    real, calls = _cluster._Slot.end, []

    def end(slot, now):
        calls.append(slot.proc.pid)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as if Ctrl-C came in the middle of the teardown
        real(slot, now)

    monkeypatch.setattr(_cluster._Slot, "end", end)
    with pytest.raises(KeyboardInterrupt):
        pool.close(now=True)
    assert not [p for p in mp.active_children() if p.pid in pids] and len(pool) == 0


def test_a_pool_left_open_does_not_hold_the_interpreters_exit(tmp_path):
    """A teardown cut short (here: none at all) leaves live workers; the exit ends them instead of
    waiting on them (multiprocessing joins its children at exit)."""
    code = ("import os, sys\nfrom getheory._cluster import make_pool\npool = make_pool(2)\n"
            "print(pool.call(os.getpid, timeout=120), flush=True)\nsys.exit(3)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=LONG,
                          check=False)
    assert proc.returncode == 3, proc.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(proc.stdout.split()[0]), 0)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
def test_every_pool_worker_blocks_ctrl_c_from_its_start_the_first_one_too():
    """A Ctrl-C that lands while a worker still imports must not print a traceback there: each worker
    starts with SIGINT blocked, the first one too (starting multiprocessing's resource tracker, which
    the first worker's start does in a fresh process, unblocks SIGINT in the caller)."""
    code = ("from getheory._cluster import make_pool\npool = make_pool(2)\n"
            "for s in pool._slots:\n"
            "    status = open(f'/proc/{s.proc.pid}/status').read().splitlines()\n"
            "    print(int(next(x for x in status if x.startswith('SigBlk')).split()[1], 16))\n"
            "pool.close()\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=LONG,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    masks = [int(x) for x in proc.stdout.split()]
    assert len(masks) == 2 and all(m & (1 << (signal.SIGINT - 1)) for m in masks), masks
