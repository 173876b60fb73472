"""Sharded checks on a local pool (getheory.check._executors.PoolShards; docs/theory.md §4.1).

A worker killed while it runs a shard loses that shard only: it runs again on a fresh worker and
the result is the undisturbed run's, bit for bit.  A shard that kills its worker every time stops
the run with an error naming it.  A generator that fails only in the workers, or gives NaN in one
shard, ends `getheory check` with one line, and the process exits with every worker ended.

Deaths are chosen by shard, never by time: the generator's recipe (this module's
:func:`killing_generator`, built in each worker) makes the worker kill itself (SIGKILL) when it
starts the chosen shard, once (a marker file says it did) or every time.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from getheory._cluster import ClusterError
from getheory.check import GeneratorRecipe, ShardOptions, _shards, check_generator
from getheory.distances import StreamOptions
from getheory.generators import random_single_layer

#: 5 shards of 2048 rows, the last one short; the reservoir spans two shards
BASE = {"N": 48, "D": 24, "K": 2, "M": 2, "samples": 9000, "seed": 7, "stream": StreamOptions(n_plugin=3000)}
SIZE, GEN = 2048, (48, 24, "sign", 5)
#: seconds a subprocess may take before the test calls it hung (only reached when it is)
LONG = 300


def killing_generator(marker: str, shard: int, every_time: bool, *args):
    """In a pool worker: ``random_single_layer(*args)``, and this process killed (SIGKILL) when it starts
    shard ``shard`` the first time (no marker yet), or every time."""

    def starts(index):
        if index == shard and (every_time or not os.path.exists(marker)):
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)

    real = _shards.shard_stats

    def shard_stats(job, generator, index, **kw):
        starts(index)
        return real(job, generator, index, **kw)

    _shards.shard_stats = shard_stats  # this worker's own module: the shards after this one call it
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "run_shard_in_pool":
        frame = frame.f_back
    starts(frame.f_locals["index"])  # built as this worker starts its first shard, which the patch misses
    return random_single_layer(*args)


#: how the workers build the generator undisturbed
PLAIN = GeneratorRecipe("getheory.generators:random_single_layer", GEN)


def _pool_check(recipe=PLAIN):
    return check_generator(random_single_layer(*GEN[:3], seed=GEN[3]), **BASE, recipe=recipe,
                           shards=ShardOptions(size=SIZE, workers=2)).to_dict()


def _numbers(d: dict) -> dict:
    """The result without its wall times."""
    if isinstance(d, dict):
        return {k: _numbers(v) for k, v in d.items() if "timing" not in k and "seconds" not in k}
    if isinstance(d, list):
        return [_numbers(v) for v in d]
    return d


@pytest.fixture(scope="module")
def undisturbed():
    return _pool_check()


def test_a_worker_killed_at_a_chosen_shard_changes_nothing_bit_for_bit(tmp_path, undisturbed):
    marker = tmp_path / "killed"
    got = _pool_check(GeneratorRecipe(f"{__name__}:killing_generator", (str(marker), 2, False, *GEN)))
    assert marker.exists()  # a worker was killed at shard 2, and the run went on
    assert got["settings"]["shards"] == {"size": SIZE, "count": 5} and got["sizes"]["samples"] == 9000
    assert repr(_numbers(got)) == repr(_numbers(undisturbed))  # every number, to the last bit (NaN too)


def test_a_shard_that_kills_its_worker_every_time_is_refused_naming_it(tmp_path):
    recipe = GeneratorRecipe(f"{__name__}:killing_generator", (str(tmp_path / "killed"), 3, True, *GEN))
    with pytest.raises(ClusterError, match=r"shard 3 of 5 .*died 2 times in a row .*killed by signal 9") as err:
        _pool_check(recipe)
    assert "without --workers" in str(err.value)


WORKERS_ONLY = '''
import multiprocessing as mp
import numpy as np

def fails(c):
    if mp.current_process().name != "MainProcess":
        raise RuntimeError("only in the workers")
    return np.tanh(c)

def nan_in_one_shard(c):
    out = np.tanh(c)
    if mp.current_process().name != "MainProcess":
        out[np.abs(c[:, 0]) < 1e-4] = np.nan
    return out
'''


@pytest.mark.parametrize(("function", "message"), [
    ("fails", "user generator 'workers_only_gen:fails' raised RuntimeError .*only in the workers"),
    ("nan_in_one_shard", "user generator 'workers_only_gen:nan_in_one_shard' returned NaN"),
])
def test_a_generator_that_fails_in_the_workers_ends_the_check_in_one_line(tmp_path, function, message):
    (tmp_path / "workers_only_gen.py").write_text(WORKERS_ONLY)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    cmd = [sys.executable, "-m", "getheory", "check", "--generator", f"workers_only_gen:{function}", "--D", "24",
           "--samples", "40000", "--shard-size", "2048", "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=LONG)  # the process exits: nothing waits on a dead worker
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no thread traceback after the error
    assert lines[0].startswith("getheory check: error: ") and re.search(message, lines[0]), err
