"""Shared fixtures: the backend fixture runs a test on every installed backend.

"strict" is the simulated device (array-api-strict on Device("device1"), a stand-in GPU
that fails loudly on host copies), so every backend-parametrised test also checks device
hygiene in CI.  CuPy cases are skipped with a reason where CuPy or a GPU is missing.
"""

import time

import numpy as np
import pytest

from getheory.backend import available_backends

BACKENDS = ["numpy", "strict", "cupy"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "strict":
        pytest.importorskip("array_api_strict")
    elif request.param not in available_backends():
        pytest.skip(f"backend {request.param!r} unavailable here (needs CuPy and a CUDA GPU)")
    return request.param


@pytest.fixture
def small_sign():
    """A small sign generator and weights (N=12, D=8, K=2, M=2), fixed seed."""
    from getheory import draw_weights, random_single_layer

    gen = random_single_layer(12, 8, "sign", seed=1)
    Ws, Wt = draw_weights(12, 8, 2, 2, seed=2)
    return gen, Ws, Wt


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


#: the options every LocalCluster of the tests starts with: no fixed port anywhere.  The scheduler listens on
#: a free port, and so does its HTTP server, which Dask starts even with the dashboard off, by default on 8787:
#: where another process holds 8787 (a user's dashboard, another test run), Dask tries it, falls back to a
#: random port and leaks a socket, which the warnings-as-errors setting turns into test errors.
NO_FIXED_PORTS = {"scheduler_port": 0, "dashboard_address": None, "worker_dashboard_address": None,
                  "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}}


def make_local_cluster(**kwargs):
    """A ``distributed.LocalCluster`` with ``kwargs`` that binds no fixed port (:data:`NO_FIXED_PORTS`);
    the port options are refused, so that no test picks one."""
    distributed = pytest.importorskip("distributed")
    fixed = sorted(set(kwargs) & {*NO_FIXED_PORTS, "dashboard"})
    if fixed:
        raise ValueError(f"a test's LocalCluster takes no port options ({', '.join(fixed)}): every port is free")
    return distributed.LocalCluster(**NO_FIXED_PORTS, **kwargs)


@pytest.fixture(scope="session")
def local_cluster():
    """The one way the tests make a ``distributed.LocalCluster``: :func:`make_local_cluster`."""
    return make_local_cluster


def n_workers(client) -> int:
    """The workers the scheduler of ``client`` knows now."""
    return len(client.scheduler_info(n_workers=-1)["workers"])


def wait_for_workers(client, n: int, timeout: float) -> bool:
    """Whether the scheduler of ``client`` has exactly ``n`` workers within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while n_workers(client) != n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def scale_workers(cluster, client, n: int, timeout: float = 60.0):
    """Scale ``cluster`` to ``n`` workers and wait (``timeout`` seconds) until the scheduler has them.

    After a test killed worker processes their nannies start new ones; a nanny whose new worker was
    killed while it started does not try again, and keeps no worker.  So where ``n`` workers do not
    come, the cluster is scaled to 0 (its nannies closed) and back to ``n`` (new nannies), once.
    """
    cluster.scale(n)
    if wait_for_workers(client, n, timeout / 2):
        return
    cluster.scale(0)
    assert wait_for_workers(client, 0, timeout), f"the cluster did not close its workers within {timeout:g} s"
    cluster.scale(n)
    assert wait_for_workers(client, n, timeout), f"the cluster did not reach {n} workers within {timeout:g} s"


@pytest.fixture(scope="session")
def dask_cluster():
    """(LocalCluster, Client): 2 single-thread Dask worker *processes* on 127.0.0.1, one for the whole
    session (started once, at the first test that asks for it); a test may scale it (or kill its workers)
    and brings it back to 2 workers with :func:`scale_workers`; skipped where dask.distributed is not
    installed.  No fixed port (:func:`make_local_cluster`)."""
    distributed = pytest.importorskip("distributed")
    with make_local_cluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1") as c, \
            distributed.Client(c) as client:
        client.wait_for_workers(2, timeout=60)
        yield c, client


@pytest.fixture(scope="session")
def dask_workers():
    """:func:`scale_workers`: ``dask_workers(cluster, client, n)`` scales to ``n`` workers and waits for them."""
    return scale_workers
