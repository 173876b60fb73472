"""Sweep points cut into shards ([samples] shard_size; getheory.sweep, docs/theory.md §4.1).

A sharded point gives the same record numbers in one process and on 1 or 2 Dask workers (its
shards sent to the sweep's own client); a spec without the key keeps its hash and task keys
(databases written before resume); a bad shard size names the key.

The session's LocalCluster of 2 worker processes (1 thread each, tests/conftest.py) serves the module.
"""

import tomllib

import pytest

from getheory import sweep as sw

distributed = pytest.importorskip("distributed")

SPEC = """
name = "shards"
seed = 5
[grid]
N = [12, 20]
delta = [0.5]
seeds = 1
[[generator]]
activation = "sign"
[run]
dtype = "float64"   # the default before float32, written out to keep the hash (and the 1e-12 agreement across workers)
[samples]
mode = "fixed"
n = 6000
moment_samples = 0
time_budget = 120   # the sweep's default before getheory.plan.DEFAULT_TIME_BUDGET, written out to keep the hash
"""
SHARDED = SPEC + "shard_size = 2048\n"

#: the hash and first task key of SPEC as getheory computed them before samples.shard_size existed
OLD_HASH = "11415b597ca3bc7764fbeed4fabbf1cba80e206a1de69092747c4c842c3cacfc"
OLD_KEY = "getheory-task-N12-D6-638e8bfd33af5b50952b15bd2cdf5a0f"


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    return dask_cluster


def spec(text):
    return sw.spec_from_dict(tomllib.loads(text))


def numbers(db):
    """task id -> (samples, d_MS value and SE, cumulants and their SEs, shard settings)."""
    with sw.ResultsDB(db) as d:
        out = {}
        for r in d.records():
            dm = r["d_MS"]
            cum = {k: v for k, v in dm["cumulant"].items() if isinstance(v, float)}
            out[r["task"]["task_id"]] = (r["samples"], dm["value"], dm["se"], cum, r["check_settings"]["shards"])
        return out


def assert_same(a, b):
    assert a.keys() == b.keys() and len(a) == 2
    for k in a:
        (na, va, sa, ca, sha), (nb, vb, sb, cb, shb) = a[k], b[k]
        assert (na, sha) == (nb, shb) == (6000, {"size": 2048, "count": 3})
        assert vb == pytest.approx(va, rel=1e-12) and sb == pytest.approx(sa, rel=1e-12)
        assert cb == pytest.approx(ca, rel=1e-12, nan_ok=True)


def test_a_sharded_point_gives_the_same_records_in_one_process_and_on_one_and_two_dask_workers(cluster, dask_workers,
                                                                                              tmp_path):
    c, client = cluster
    s = spec(SHARDED)
    serial = sw.run_sweep(s, tmp_path / "serial.db", workers=1, progress=False)
    assert (serial.done, serial.failed) == (2, 0)
    ref = numbers(tmp_path / "serial.db")
    try:
        for n in (2, 1):
            dask_workers(c, client, n)
            r = sw.run_sweep(s, tmp_path / f"dask{n}.db", client=client, progress=False)
            assert (r.done, r.failed) == (2, 0), r.failures
            assert_same(ref, numbers(tmp_path / f"dask{n}.db"))
    finally:
        dask_workers(c, client, 2)


def test_a_spec_without_shard_size_keeps_its_hash_and_task_keys():
    plain, sharded = spec(SPEC), spec(SHARDED)
    assert plain.hash() == OLD_HASH and sw.task_key(plain.tasks()[0]) == OLD_KEY
    assert "shard_size" not in plain.to_dict()["samples"] and "shard_size" not in plain.tasks()[0].samples
    assert sharded.samples.shard_size == 2048 and sharded.to_dict()["samples"]["shard_size"] == 2048
    assert sharded.hash() != plain.hash() and sharded.tasks()[0].samples["shard_size"] == 2048
    assert sw.spec_from_dict(sharded.to_dict()).hash() == sharded.hash()


@pytest.mark.parametrize("extra, match", [
    ("shard_size = 32\n", r"'samples.shard_size': must be >= 64"),
    ("shard_size = 0\n", r"'samples.shard_size': must be >= 64 .*got 0"),
    ("shard_size = -64\n", r"'samples.shard_size': must be >= 64 .*got -64"),
    ("shard_size = 'big'\n", r"'samples.shard_size': must be an integer"),
])
def test_a_bad_shard_size_names_the_key(extra, match):
    with pytest.raises(sw.SpecError, match=match):
        spec(SPEC + extra)


def test_an_analytic_sweep_refuses_a_shard_size():
    text = SPEC.replace('mode = "fixed"', 'mode = "analytic"') + "shard_size = 4096\n"
    with pytest.raises(sw.SpecError, match="'samples.shard_size': mode 'analytic' draws no samples"):
        spec(text)
