"""The simulated device: the pipeline on array-api-strict's Device("device1") gives NumPy's numbers.

``backend="strict"`` places every array on a device that is not the host, where
``np.asarray`` of a device array raises and a host array mixed into a device
computation raises: code that passes here is device-clean, so it keeps its data on a
GPU.  Its special functions and normals are NumPy's, so every figure must equal the
NumPy backend's with the same seeds (to 1e-12 relative: only the order of a few sums
may differ).  The byte counter of :meth:`Backend.to_numpy` measures what leaves the device.
"""

import json
import math

import numpy as np
import pytest

xs = pytest.importorskip("array_api_strict")

from getheory import check_generator, random_deep, random_single_layer  # noqa: E402
from getheory.backend import backend_of, get_backend  # noqa: E402
from getheory.distances import DmsOptions  # noqa: E402
from getheory.generators import CallableGenerator  # noqa: E402
from getheory.plan import PlanOptions  # noqa: E402

STRICT = get_backend("strict")
DEVICE = xs.Device("device1")
#: keys whose values are wall-clock times or the backend's own name
VOLATILE = ("seconds", "timings", "rate", "backend", "pilot_seconds", "statement", "host")


def assert_same(a, b, rtol=1e-12, path=""):
    """Every number of two JSON-ready results agrees to ``rtol`` (times and names excepted)."""
    if any(v in path.rsplit(".", 1)[-1] for v in VOLATILE):
        return
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys differ"
        for k in a:
            assert_same(a[k], b[k], rtol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rtol, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and path.endswith("p_value") and a > 0 and b > 0:
        # a tail probability p ~ exp(-z²/2) moves |z|² times as much as z, relatively: compared as log p
        assert math.log(a) == pytest.approx(math.log(b), rel=rtol), path
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=rtol, abs=1e-300), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def both(fn, **kw):
    """fn(backend=...) on NumPy and on the strict device, with the bytes the latter moved to the host."""
    a = fn(backend="numpy", **kw)
    STRICT.reset_transfers()
    b = fn(backend="strict", **kw)
    return a, b, STRICT.reset_transfers()


def checked(result):
    d = result.to_dict()
    d.pop("timings_s", None)
    return d


# -- the simulated device is a device --------------------------------------------------------------
def test_the_strict_device_refuses_host_copies_and_host_arrays():
    x = STRICT.xp.zeros((3,))
    assert x.device == DEVICE
    with pytest.raises(RuntimeError):
        np.asarray(x)
    with pytest.raises(TypeError):
        x + np.ones(3)
    with pytest.raises(ValueError):
        x + xs.ones((3,))  # array-api-strict's own host device
    assert backend_of(x) is STRICT


def test_bytes_leave_the_strict_device_only_through_the_counted_door():
    STRICT.reset_transfers()
    x = STRICT.asarray(np.arange(10.0))
    assert STRICT.reset_transfers() == 0  # uploads are not counted
    np.testing.assert_array_equal(STRICT.to_numpy(x), np.arange(10.0))
    assert STRICT.scalar(STRICT.xp.sum(x)) == 45.0
    assert STRICT.reset_transfers() == 80 + 8


# -- check_generator ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-6)])
@pytest.mark.parametrize("activation", ["sign", "erf2"])
def test_check_of_a_single_layer_generator_on_the_strict_device_equals_numpy(activation, dtype, rtol):
    # float64: the same numbers to rounding.  float32: NumPy's host sampler takes its products in
    # 512-row pieces on worker threads and the device in whole batches, so a product's float32
    # rounding (2^-24 ≈ 6e-8 relative) differs between them; 1e-6 is about 17 such roundings
    gen = random_single_layer(32, 16, activation, seed=1)
    a, b, moved = both(lambda **k: check_generator(gen, samples=20_480, seed=5, dtype=dtype, **k))
    assert b.settings["backend"] == "strict"
    assert_same(checked(a), checked(b), rtol=rtol)
    assert moved < 400_000


def test_check_with_the_pilot_on_the_strict_device_equals_numpy():
    # the planned n is deterministic when a bound binds (here min_samples), not the clock.  In float64: the
    # devices batch the probe and the pilot differently, and in float32 the products of differently
    # sized batches round differently (the pilot's z = 35.4 agreed to 1.5e-6, not 1e-12)
    gen = random_single_layer(24, 12, "sign", seed=2)
    plan = PlanOptions(time_budget=120, min_pilot=20_480, min_samples=20_480, max_samples=40_960)
    a, b, _ = both(lambda **k: check_generator(gen, samples="auto", plan=plan, seed=6, dtype="float64", **k))
    # the pilot's |z| ≈ 21 projects n ≈ 3,300 rows, so the min_samples floor binds
    assert a.plan.n == b.plan.n == 20_480 and a.plan.n_pilot == b.plan.n_pilot
    assert a.plan.pilot_z == pytest.approx(b.plan.pilot_z, rel=1e-12)
    da, db = checked(a), checked(b)
    da.pop("plan"), db.pop("plan")
    assert_same(da, db)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-6)])
def test_check_of_a_deep_generator_on_the_strict_device_equals_numpy(dtype, rtol):
    # Monte Carlo moments with their batch-means errors, and floor replicates that re-draw the match;
    # float32's tolerance as for the single-layer check (NumPy's host sampler rounds its pieces' products)
    gen = random_deep([12, 20, 16], "tanh", seed=3)
    a, b, moved = both(lambda **k: check_generator(gen, samples=20_480, moment_samples=20_000, seed=7, dtype=dtype,
                                                   **k))
    assert a.moments_source.startswith("Monte Carlo")
    assert_same(checked(a), checked(b), rtol=rtol)
    assert moved < 400_000


def test_certified_w2_check_on_the_strict_device_equals_numpy():
    gen = random_single_layer(20, 10, "relu", seed=4)
    # float64: the same numbers to rounding (float32's device agreement: the checks above)
    a, b, _ = both(lambda **k: check_generator(gen, samples=20_480, seed=8, dms=DmsOptions(p=2, certify=True),
                                                dtype="float64", **k))
    assert_same(checked(a), checked(b))


def test_check_moves_a_few_hundred_kilobytes_to_the_host_whatever_n():
    gen = random_single_layer(32, 16, "sign", seed=1)
    moved = {}
    for n in (20_480, 204_800):
        STRICT.reset_transfers()
        check_generator(gen, samples=n, seed=5, backend="strict")
        moved[n] = STRICT.reset_transfers()
    # the reservoir (n × d floats: 6.5 MB at the larger n) and the samples stay on the device
    assert max(moved.values()) < 400_000, moved
    assert moved[204_800] < 1.5 * moved[20_480], moved


# -- generators that live on the device -----------------------------------------------------------------
def _trained(seed=0):
    from getheory.trained import DenseGenerator

    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((20, 10)) / math.sqrt(10), rng.standard_normal((24, 20)) / math.sqrt(20)]
    bs = [0.1 * rng.standard_normal(20), 0.1 * rng.standard_normal(24)]
    return DenseGenerator(Ws, bs, ["tanh", "erf2"])


def test_trained_dense_generator_samples_on_the_strict_device():
    gen = _trained()
    c = np.random.default_rng(1).standard_normal((50, 10))
    x = gen.sample(STRICT.asarray(c))
    assert x.device == DEVICE
    np.testing.assert_allclose(STRICT.to_numpy(x), gen.sample(c), rtol=1e-12)


def test_check_of_a_trained_generator_on_the_strict_device_equals_numpy():
    gen = _trained(2)
    a, b, _ = both(lambda **k: check_generator(gen, samples=20_480, moment_samples=20_000, seed=9, **k))
    assert_same(checked(a), checked(b))


A = np.random.default_rng(0).standard_normal((16, 8))


def _device_generator(c):
    """A framework generator computing on the latents' device (array-api-strict's device1)."""
    if isinstance(c, np.ndarray):  # the size probe
        c = xs.asarray(c, device=DEVICE)
    return xs.tanh(c @ xs.asarray(A.T, device=c.device) / 2)


def test_framework_generator_returning_device_arrays_runs_on_the_strict_device():
    gen = CallableGenerator(_device_generator, D=8, name="device")
    twin = CallableGenerator(lambda c: np.tanh(c @ A.T / 2), D=8, name="device")
    kw = {"K": 1, "M": 1, "samples": 8192, "moment_samples": 8192, "seed": 3}
    b = check_generator(gen, backend="strict", **kw)
    a = check_generator(twin, backend="numpy", **kw)
    assert_same(checked(a), checked(b))


def test_a_host_array_in_a_strict_device_run_is_refused_naming_the_fix():
    gen = CallableGenerator(lambda c: np.tanh(np.zeros((c.shape[0], 16))), D=8, N=16, name="host")
    with pytest.raises(ValueError, match="compute it on the latents' device"):
        gen.sample(STRICT.asarray(np.zeros((4, 8))))


def test_a_device_array_in_a_numpy_run_is_refused_naming_the_fix():
    gen = CallableGenerator(_device_generator, D=8, name="device")
    with pytest.raises(ValueError, match="move it to the CPU"):
        gen.sample(np.zeros((4, 8)))


# -- sweep tasks -----------------------------------------------------------------------------------------------
def _task(mode, backend):
    from getheory import sweep as sw

    samples = {"fixed": {"mode": "fixed", "n": 20_480, "moment_samples": 4000},
               "plan": {"mode": "plan", "pilot": 20_480, "min": 20_480, "max": 40_960, "time_budget": 120,
                        "moment_samples": 4000},
               "analytic": {"mode": "analytic"}}[mode]
    spec = sw.spec_from_dict({"name": "strict", "seed": 11, "grid": {"N": [24], "delta": [0.5], "K": 1, "M": 1,
                                                                       "seeds": 1},
                              "generator": [{"activation": "sign"}], "samples": samples,
                              "estimator": {"floor_replicates": 19}, "run": {"backend": backend}})
    (task,) = spec.tasks()
    return task


@pytest.mark.parametrize("mode", ["fixed", "plan", "analytic"])
def test_a_sweep_task_on_the_strict_device_equals_numpy(mode):
    from getheory.sweep import run_task

    a = json.loads(run_task(_task(mode, "numpy")).to_json())
    b = json.loads(run_task(_task(mode, "strict")).to_json())
    for key in ("d_MS", "bound_terms", "gaussian_match", "conditions", "moment_errors"):
        assert_same(a.get(key), b.get(key))
    assert a["samples"] == b["samples"]


# -- dynamics ----------------------------------------------------------------------------------------------------
def test_sgd_reference_step_equals_the_compiled_kernel():
    from getheory.dynamics._kernel_cpu import sgd_segment
    from getheory.dynamics._kernel_xp import sgd_segment_xp

    rng = np.random.default_rng(0)
    K, N, b = 3, 50, 40
    W, v = rng.standard_normal((K, N)), rng.standard_normal(K)
    X, y = rng.standard_normal((b, N)), rng.standard_normal(b)
    for code in (0, 1, 2):
        W1, v1, W2, v2 = W.copy(), v.copy(), STRICT.asarray(W), STRICT.asarray(v)
        assert sgd_segment(W1, v1, X, y, 0.3, code, True, 5, 35) == 30
        assert sgd_segment_xp(STRICT, W2, v2, STRICT.asarray(X), STRICT.asarray(y), 0.3, code, True, 5, 35) == 30
        np.testing.assert_allclose(STRICT.to_numpy(W2), W1, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(STRICT.to_numpy(v2), v1, rtol=1e-12, atol=1e-14)


def test_sgd_reference_step_stops_where_the_run_diverges():
    from getheory.dynamics._kernel_xp import sgd_segment_xp

    W, v = STRICT.asarray(np.ones((1, 4))), STRICT.asarray(np.ones(1))
    X = STRICT.asarray(np.array([[1.0, 0, 0, 0], [math.inf, 0, 0, 0], [1.0, 0, 0, 0]]))
    assert sgd_segment_xp(STRICT, W, v, X, STRICT.asarray(np.zeros(3)), 0.1, 1, True, 0, 3) == 1


def test_dynamics_on_the_strict_device_equals_numpy():
    from getheory.dynamics import DynamicsOptions, run_dynamics

    opts = DynamicsOptions(t_max=2.0, points=6, sgd_seeds=2, n_test=2000, seed=1)
    a = run_dynamics(None, opts, activation="sign", N=40, D=20)
    b = run_dynamics(None, opts, activation="sign", N=40, D=20, backend="strict")
    assert b.settings["backend"] == "strict"
    for key in ("eps_gen_order", "eps_gauss_order", "eps_gen_heldout", "eps_gauss_heldout", "eps_ode"):
        np.testing.assert_allclose(getattr(b, key), getattr(a, key), rtol=1e-12, err_msg=key)
    for src in a.Q:
        np.testing.assert_allclose(b.Q[src], a.Q[src], rtol=1e-12, atol=1e-15)


def test_dynamics_data_sources_stay_on_the_strict_device():
    from getheory.dynamics import NormalStream
    from getheory.equivalent import GaussianEquivalentData, GeneratorData
    from getheory.moments import exact_moments

    gen = random_single_layer(30, 15, "erf2", seed=2)
    mom = exact_moments(gen)
    c = np.random.default_rng(3).standard_normal((64, 15))
    for make in (lambda bk: GeneratorData(gen, mom.mean, backend=bk),
                 lambda bk: GaussianEquivalentData(mom.Omega, mom.Phi, backend=bk)):
        host = make(get_backend("numpy")).inputs(c.copy(), NormalStream(4, "numpy"))
        dev = make(STRICT).inputs(STRICT.asarray(c), NormalStream(4, STRICT))
        assert dev.device == DEVICE
        np.testing.assert_allclose(STRICT.to_numpy(dev), host, rtol=1e-12, atol=1e-14)
