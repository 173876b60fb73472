"""The SGD's batches (getheory.dynamics._batches): the host's two-stage path, shared out to worker
threads with single-threaded BLAS, makes the very numbers of each source's one-stage ``inputs``."""

import numpy as np
import pytest

from getheory._cluster import blas_threads
from getheory.backend import get_backend
from getheory.dynamics import GaussianEquivalentData, GeneratorData, NormalStream
from getheory.dynamics._batches import BatchMaker
from getheory.dynamics._data import _teacher_labels
from getheory.generators import random_deep, random_single_layer
from getheory.moments import exact_moments


def _sources(N, D, activation):
    gen = random_single_layer(N, D, activation, seed=4)
    mom = exact_moments(gen)
    return [GeneratorData(gen, mom.mean), GaussianEquivalentData(mom.Omega, mom.Phi)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("N", "D", "activation", "b"), [(800, 80, "sign", 300), (301, 37, "relu", 131),
                                                          (64, 8, "tanh", 5)])
def test_two_stage_batches_equal_the_sources_inputs_bit_for_bit(N, D, activation, b, dtype):
    bk = get_backend("numpy")
    sources = _sources(N, D, activation)
    Wt, vt = np.random.default_rng(1).standard_normal((2, D)), np.ones(2)
    maker = BatchMaker(bk, sources, D, 512, (Wt, vt, "erf2"), dtype)
    assert all(s.in_two_stages for s in sources)
    with maker.running():
        got = maker.make(np.random.default_rng(7), [NormalStream(11), NormalStream(12)], b)
        got = [np.array(a, copy=True) for a in (got[0], got[1], *got[2])]
    c = np.random.default_rng(7).standard_normal((b, D))
    c_in = c.astype(dtype)
    want = [c, _teacher_labels(c, Wt, vt, "erf2"), sources[0].inputs(c_in, NormalStream(11)),
            sources[1].inputs(c_in, NormalStream(12))]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert g.dtype == w.dtype
        if dtype == "float64":
            assert np.array_equal(g, w)
        else:  # OpenBLAS's float32 sums depend on the column blocks and threads: equal to float32 round-off
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-5 * float(np.max(np.abs(w))))
    assert got[2].dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batches_do_not_depend_on_the_number_of_workers(dtype):
    bk = get_backend("numpy")
    sources = _sources(700, 70, "sign")
    batches = []
    for workers in (1, 2, 3):
        maker = BatchMaker(bk, sources, 70, 300, (np.ones((2, 70)), np.ones(2), "erf2"), dtype)
        maker.workers = workers
        maker._scratch = [maker._scratch[0].copy() for _ in range(workers)]
        with maker.running():
            _, _, Xs = maker.make(np.random.default_rng(2), [NormalStream(3), NormalStream(4)], 300)
            batches.append([X.copy() for X in Xs])
    for other in batches[1:]:
        for a, b in zip(batches[0], other):
            assert np.array_equal(a, b)


def test_float32_inputs_are_the_float64_ones_to_float32_precision():
    """The generator's float32 inputs are its float64 ones rounded, but for a sign flip where the float32
    preactivation rounds across 0; the Gaussian equivalent's draw their own float32 noise, so they agree
    in distribution only: their covariance with the float64 ones' is checked."""
    bk = get_backend("numpy")
    sources = _sources(400, 40, "sign")
    c = np.random.default_rng(3).standard_normal((2000, 40))
    x64 = sources[0].inputs(c)
    x32 = sources[0].inputs(c.astype(np.float32))
    close = np.abs(x32 - x64) <= 1e-6
    assert x32.dtype == np.float32
    assert close.mean() > 0.999  # a flip needs |h| below float32's resolution: rare
    g64 = sources[1].inputs(c, NormalStream(1))
    g32 = sources[1].inputs(c.astype(np.float32), NormalStream(1))
    assert g32.dtype == np.float32
    # the same Φc part, other noise: the covariance of the two over rows is that of Φc, not of x
    cov64, cov32 = np.cov(g64, rowvar=False), np.cov(g32.astype(np.float64), rowvar=False)
    se = np.sqrt(2 / c.shape[0]) * np.sqrt(np.outer(np.diag(cov64), np.diag(cov64)))
    assert np.max(np.abs(cov32 - cov64) / (se + 1e-12)) < 6


def test_two_stage_batches_reuse_their_buffers_and_restore_blas_threads():
    bk = get_backend("numpy")
    sources = _sources(200, 20, "sign")
    before = blas_threads()
    maker = BatchMaker(bk, sources, 20, 256, (np.ones((1, 20)), np.ones(1), "erf2"))
    streams = [NormalStream(1), NormalStream(2)]
    with maker.running():
        _, _, X1 = maker.make(np.random.default_rng(0), streams, 256)
        _, _, X2 = maker.make(np.random.default_rng(1), streams, 100)
        assert all(np.shares_memory(a, b) for a, b in zip(X1, X2))
        assert maker.workers == 1 or blas_threads() == 1
    assert blas_threads() == before


def test_deep_generators_and_the_direct_basis_take_the_one_stage_path():
    bk = get_backend("numpy")
    gen = random_deep([30, 40, 50], "relu", seed=3)
    mom = exact_moments(gen) if gen.exact_moments else None
    sources = [GeneratorData(gen, np.zeros(gen.N))]
    if mom is not None:
        sources.append(GaussianEquivalentData(mom.Omega, mom.Phi, basis="direct"))
    assert not any(s.in_two_stages for s in sources)
    maker = BatchMaker(bk, sources, gen.D, 64, (np.ones((1, gen.D)), np.ones(1), "erf2"))
    with maker.running():
        c, _, Xs = maker.make(np.random.default_rng(3), [NormalStream(5), NormalStream(6)], 64)
    assert np.array_equal(Xs[0], sources[0].inputs(np.random.default_rng(3).standard_normal((64, gen.D))))


def test_run_sgd_reports_where_the_sampling_time_goes():
    from getheory.dynamics import run_sgd

    sources = _sources(200, 20, "sign")
    rng = np.random.default_rng(0)
    _, info = run_sgd(sources, rng.standard_normal((2, 200)), np.ones(2), rng.standard_normal((2, 20)), np.ones(2),
                      eta=0.2, t_points=[0.0, 3.0], seed=1)
    stages = info["seconds_sampling_stages"]
    assert set(stages) == {"latents", "products", "maps"}
    assert all(v > 0 for v in stages.values())
    assert sum(stages.values()) <= info["seconds_sampling"] * 1.01
