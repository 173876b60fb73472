"""The process's threads and its clusters (getheory._cluster): BLAS threads limited around the host
sampler's workers; no wait on a cluster without a limit; no LocalCluster that binds a fixed port."""

import ast
import pathlib
import socket
import threading
import time
import warnings

import pytest

from getheory._cluster import (
    ClusterError,
    blas_threads,
    call_within,
    single_blas_threads,
    usable_cpus,
    wait_watched,
)


def test_single_blas_threads_limits_inside_and_restores_after_nested_blocks():
    before = blas_threads()
    with single_blas_threads() as single:
        assert single and blas_threads() == 1
        with single_blas_threads() as inner:
            assert inner and blas_threads() == 1
        assert blas_threads() == 1  # the inner block left; the outer one still holds the limit
    assert blas_threads() == before


def test_usable_cpus_is_at_least_one():
    assert usable_cpus() >= 1


# ---------------------------------------------------------------- no wait on a cluster without a limit
def test_a_watched_call_returns_its_value_and_raises_its_error():
    assert wait_watched(lambda: 42, lambda: None, poll=0.01) == 42
    with pytest.raises(KeyError, match="inside"):
        wait_watched(lambda: {}["inside"], lambda: None, poll=0.01)


def test_a_call_that_never_returns_is_stopped_by_its_watch():
    never = threading.Event()
    checks = []

    def watch():
        checks.append(1)
        if len(checks) >= 3:
            raise ClusterError("no workers")

    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="no workers"):
        wait_watched(never.wait, watch, poll=0.01)
    assert len(checks) == 3 and time.monotonic() - t0 < 30
    with pytest.raises(ClusterError, match="the scheduler did not answer within 0.2 s"):
        call_within(never.wait, 0.2, "the scheduler")
    never.set()  # ends the helper threads


# ---------------------------------------------------------------- no fixed port in any LocalCluster
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                yield node


def _no_fixed_port(call) -> bool:
    """A LocalCluster call with scheduler_port=0 and its scheduler's HTTP server on port 0."""
    kw = {k.arg: k.value for k in call.keywords}
    port = kw.get("scheduler_port")
    sk = kw.get("scheduler_kwargs")
    http = None
    if isinstance(sk, ast.Dict):
        http = next((v for k, v in zip(sk.keys, sk.values) if isinstance(k, ast.Constant)
                     and k.value == "dashboard_address"), None)
    return (isinstance(port, ast.Constant) and port.value == 0 and isinstance(http, ast.Constant)
            and str(http.value).endswith(":0"))


def test_every_local_cluster_and_dask_scheduler_binds_no_fixed_port():
    """Every LocalCluster made by the tests, the benchmarks, the examples and the package binds no
    fixed port (Dask's scheduler starts an HTTP server on 8787 even with the dashboard off, and where
    another process holds 8787 it falls back and leaks a socket); the tests make theirs with the
    conftest's make_local_cluster; a `dask scheduler` started by a test names its HTTP address; no
    Client() without an address (it would start a LocalCluster on 8787)."""
    bad = []
    for path in sorted(p for d in ("getheory", "tests", "benchmarks", "examples") for p in (ROOT / d).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        source = path.read_text()
        tree = ast.parse(source)
        for call in _calls(tree, "LocalCluster"):
            spread = any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == "NO_FIXED_PORTS"
                         for k in call.keywords)
            if rel == "tests/conftest.py" and spread:
                continue
            if rel.startswith("tests/") or not _no_fixed_port(call):
                bad.append(f"{rel}:{call.lineno}: LocalCluster with a fixed port (use make_local_cluster)")
        for call in _calls(tree, "Client"):
            if not call.args and not any(k.arg == "address" for k in call.keywords):
                bad.append(f"{rel}:{call.lineno}: Client() without an address starts a LocalCluster on 8787")
        for node in ast.walk(tree):
            words = [e.value for e in getattr(node, "elts", []) if isinstance(node, ast.List)
                     and isinstance(e, ast.Constant)]
            if "distributed.cli.dask_scheduler" in words and "--dashboard-address" not in words:
                bad.append(f"{rel}:{node.lineno}: `dask scheduler` without --dashboard-address binds 8787")
    assert not bad, "\n".join(bad)


def test_a_test_cluster_binds_no_fixed_port_while_another_process_holds_8787(local_cluster):
    """With 8787 taken (here, or by another Dask dashboard), a test's LocalCluster starts with no
    warning and listens on free ports only."""
    pytest.importorskip("distributed")
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:  # already held by another process: the case itself
        pass
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with local_cluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1") as cluster:
                http = cluster.scheduler.http_server
                ports = {s.getsockname()[1] for s in http._sockets.values()}
                assert 8787 not in ports and cluster.scheduler.port != 8786
        assert not [w for w in caught if "8787" in str(w.message)], [str(w.message) for w in caught]
    finally:
        holder.close()
    with pytest.raises(ValueError, match="takes no port options"):
        local_cluster(n_workers=0, dashboard_address=":8787")
