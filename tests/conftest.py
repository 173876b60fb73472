"""Shared fixtures: the backend fixture runs a test on every installed backend.

"strict" is the simulated device (array-api-strict on Device("device1"), a stand-in GPU
that fails loudly on host copies), so every backend-parametrised test also checks device
hygiene in CI.  CuPy cases are skipped with a reason where CuPy or a GPU is missing.
"""

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


@pytest.fixture(scope="session")
def dask_cluster():
    """(LocalCluster, Client): 2 single-thread Dask worker *processes* on 127.0.0.1, one for the whole
    session (started once, at the first test that asks for it); a test may scale it and scales it back
    to 2 workers; skipped where dask.distributed is not installed."""
    distributed = pytest.importorskip("distributed")
    # its scheduler's HTTP server on a free port, not Dask's default 8787: held for the whole session,
    # 8787 would push every later LocalCluster of the tests onto the busy-port path
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  scheduler_kwargs={"dashboard_address": ":0"}) as c, \
            distributed.Client(c) as client:
        client.wait_for_workers(2, timeout=60)
        yield c, client
