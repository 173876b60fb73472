"""Generators and the streaming field sampler (docs/theory.md §1-2)."""

import contextlib
import math
import sys
import textwrap
import time

import numpy as np
import pytest

from getheory import (
    CallableGenerator,
    DeepGenerator,
    SingleLayerGenerator,
    draw_weights,
    exact_moments,
    gaussian_match,
    load_generator,
    random_deep,
    random_single_layer,
    sample_fields,
)
from getheory.fields import LatentStream, auto_batch_size


def test_single_layer_sample_is_sigma_of_preactivation(backend):
    from getheory.backend import get_backend

    gen = random_single_layer(7, 5, "relu", seed=0)
    bk = get_backend(backend)
    c = bk.rng(1).standard_normal((4, 5))
    x = bk.to_numpy(gen.sample(c))
    h = bk.to_numpy(c) @ gen.A.T / math.sqrt(5)
    assert np.allclose(x, np.maximum(h, 0))


def test_fields_do_not_depend_on_batch_size(small_sign):
    gen, Ws, Wt = small_sign
    a = sample_fields(gen, Ws, Wt, 1000, seed=5, batch_size=1000)
    b = sample_fields(gen, Ws, Wt, 1000, seed=5, batch_size=37)
    # same latent stream; only the BLAS summation order may differ with the batch shape
    assert np.allclose(a[0], b[0], rtol=1e-12, atol=1e-12) and np.allclose(a[1], b[1], rtol=1e-12, atol=1e-12)


def test_field_covariance_matches_exact_match_within_clt(small_sign):
    gen, Ws, Wt = small_sign
    n = 200_000
    lam, nu = sample_fields(gen, Ws, Wt, n, seed=6)
    z = np.concatenate([lam, nu], axis=1)
    match = gaussian_match(exact_moments(gen), Ws, Wt)
    emp = np.cov(z.T)
    # SE of a sample covariance entry: sqrt(Var(z_a z_b)/n), estimated from the sample;
    # 5 SE over 10 distinct entries has two-sided probability < 1e-5 each.
    zc = z - z.mean(0)
    se = np.sqrt(np.var(zc[:, :, None] * zc[:, None, :], axis=0) / n)
    assert np.all(np.abs(emp - match.cov) < 5 * se)


def test_deep_generator_matches_manual_stack():
    gen = random_deep([5, 7, 6], ["sign", "tanh"], seed=2)
    c = np.random.default_rng(0).standard_normal((3, 5))
    (A1, _), (A2, _) = gen.layers
    x = np.tanh(np.sign(c @ A1.T / math.sqrt(5)) @ A2.T / math.sqrt(7))
    assert np.allclose(gen.sample(c), x)
    assert gen.N == 6 and gen.D == 5


def test_callable_generator_checks_output_shape_and_values():
    with pytest.raises(ValueError, match="returned shape"):
        CallableGenerator(lambda c: c[:, 0], D=4)
    gen = CallableGenerator(lambda c: np.tanh(c @ np.ones((4, 3))), D=4)
    assert gen.N == 3
    flaky = CallableGenerator(lambda c: c[: max(len(c) - 1, 2)], D=4)
    with pytest.raises(ValueError, match="returned shape"):
        flaky.sample(np.zeros((5, 4)))
    nan_gen = CallableGenerator(lambda c: np.sqrt(c), D=2, N=2)
    with pytest.raises(ValueError, match="NaN"), np.errstate(invalid="ignore"):
        nan_gen.sample(-np.ones((3, 2)))


def test_load_generator_from_module_function(tmp_path, monkeypatch):
    (tmp_path / "mygen.py").write_text(textwrap.dedent("""
        import numpy as np
        B = np.random.default_rng(0).standard_normal((6, 4))
        def gen(c):
            return np.sign(c @ B.T)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = load_generator("mygen:gen", D=4)
    assert gen.N == 6
    with pytest.raises(ValueError, match="module:function"):
        load_generator("mygen.gen", D=4)
    with pytest.raises(ValueError, match="cannot import"):
        load_generator("no_such_module_xyz:gen", D=4)
    with pytest.raises(ValueError, match="no attribute"):
        load_generator("mygen:nope", D=4)
    sys.modules.pop("mygen", None)


def test_generator_that_raises_is_named_with_the_users_exception_as_cause():
    from getheory._validation import UserCodeError

    def broken(c):
        raise KeyError("missing weights")

    with pytest.raises(UserCodeError, match=r"user generator 'broken' raised KeyError on latents of shape \(2, 4\): "
                                            "'missing weights'") as info:
        CallableGenerator(broken, D=4)
    assert isinstance(info.value.__cause__, KeyError)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)

    calls = []

    def fails_later(c):
        calls.append(len(c))
        if len(calls) > 1:
            raise FloatingPointError("diverged")
        return np.tanh(c)

    gen = CallableGenerator(fails_later, D=3, name="mine")
    with pytest.raises(UserCodeError, match=r"'mine' raised FloatingPointError on latents of shape \(5, 3\): diverged"):
        gen.sample(np.ones((5, 3)))


def test_generator_module_that_raises_at_import_is_named_with_the_cause(tmp_path, monkeypatch):
    from getheory._validation import UserCodeError

    (tmp_path / "gen_fails_at_import.py").write_text("import numpy as np\nW = np.load('no-such-file.npy')\n")
    (tmp_path / "gen_lacks_dependency.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserCodeError, match="module 'gen_fails_at_import' of generator 'gen_fails_at_import:g' "
                                            "raised FileNotFoundError at import") as info:
        load_generator("gen_fails_at_import:g", D=2)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(UserCodeError, match="raised ModuleNotFoundError at import: No module named "
                                            "'no_such_dependency_xyz'"):
        load_generator("gen_lacks_dependency:g", D=2)


def test_generator_that_modifies_its_latents_in_place_is_refused():
    def scales(c):
        c *= 2.0
        return np.tanh(c)

    with pytest.raises(ValueError, match="user generator 'scales' modified its latents in place: a generator must "
                                         "not modify its latents in place .* copy them first"):
        CallableGenerator(scales, D=3)

    calls = []

    def shifts_later(c):  # passes the probe, modifies the run's first batch
        calls.append(1)
        if len(calls) > 1:
            c += 1.0
        return np.tanh(c)

    gen = CallableGenerator(shifts_later, D=3, name="shifts")
    c = np.random.default_rng(0).standard_normal((6, 3))
    with pytest.raises(ValueError, match="'shifts' modified its latents in place"):
        gen.sample(c)
    ok = CallableGenerator(lambda c: np.tanh(c.copy() * 2), D=3)
    np.testing.assert_array_equal(ok.sample(c.copy()), np.tanh(2 * c))


@pytest.mark.parametrize("bad", [0, -3])
def test_sizes_must_be_positive(bad):
    with pytest.raises(ValueError, match="N must be"):
        random_single_layer(bad, 4)
    with pytest.raises(ValueError, match="D must be"):
        random_single_layer(4, bad)
    gen = random_single_layer(4, 3)
    Ws, Wt = draw_weights(4, 3, 1, 1, seed=0)
    with pytest.raises(ValueError, match="n must be"):
        sample_fields(gen, Ws, Wt, bad)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="2-D"):
        SingleLayerGenerator(np.ones(5), "sign")
    with pytest.raises(ValueError, match="NaN"):
        SingleLayerGenerator(np.array([[1.0, np.inf]]), "sign")
    with pytest.raises(ValueError, match="unknown"):
        SingleLayerGenerator(np.ones((2, 2)), "softsign-typo")
    with pytest.raises(ValueError, match="columns"):
        DeepGenerator([(np.ones((3, 2)), "sign"), (np.ones((2, 4)), "sign")])
    gen = random_single_layer(4, 3)
    with pytest.raises(ValueError, match=r"shape \(n, D=3\)"):
        gen.sample(np.zeros((2, 5)))
    Ws, Wt = draw_weights(4, 3, 1, 1, seed=0)
    with pytest.raises(ValueError, match="W_student"):
        sample_fields(gen, Ws.T, Wt, 10)
    with pytest.raises(TypeError, match="integer"):
        sample_fields(gen, Ws, Wt, 2.5)


def test_auto_batch_size_bounds_memory():
    b = auto_batch_size(4000, 2000, budget_bytes=64 * 1024**2)
    assert b * 8 * (2000 + 3 * 4000) <= 64 * 1024**2
    with pytest.raises(MemoryError, match="bytes"):
        auto_batch_size(10**6, 10**6, budget_bytes=1000)


@pytest.mark.parametrize("activation", ["sign", "erf2", "erf", "tanh", "relu", "linear"])
def test_in_place_fast_path_equals_general_path(activation):
    # single-layer and deep generators are sampled by the host's worker threads, σ in place; a
    # user function goes through the general path (one batch at a time) with the same latent stream
    gen = random_single_layer(30, 10, activation, seed=0)
    Ws, Wt = draw_weights(30, 10, 2, 2, seed=1)
    a = sample_fields(gen, Ws, Wt, 500, seed=3, batch_size=64)
    deep = sample_fields(DeepGenerator([(gen.A, activation)]), Ws, Wt, 500, seed=3, batch_size=64)
    user = CallableGenerator(lambda c: gen.activation(c @ gen.A.T / math.sqrt(10)), D=10)
    b = sample_fields(user, Ws, Wt, 500, seed=3, batch_size=64)
    assert np.array_equal(a[0], deep[0]) and np.array_equal(a[1], deep[1])
    assert np.allclose(a[0], b[0], rtol=0, atol=1e-13) and np.allclose(a[1], b[1], rtol=0, atol=1e-13)


def test_deep_fast_path_equals_the_stacked_layers():
    gen = random_deep([9, 14, 11], ["sign", "relu"], seed=4)
    Ws, Wt = draw_weights(11, 9, 2, 1, seed=5)
    lam, nu = sample_fields(gen, Ws, Wt, 3000, seed=6, batch_size=700)
    c = LatentStream(9, seed=6).fill(np.empty((3000, 9)))
    assert np.allclose(lam, gen.sample(c) @ Ws.T / math.sqrt(11), rtol=0, atol=1e-12)
    assert np.allclose(nu, c @ Wt.T / 3.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_latent_stream_rows_do_not_depend_on_how_they_are_cut(dtype):
    rng = np.random.default_rng(0)
    whole = LatentStream(3, seed=11, dtype=dtype).fill(np.empty((5000, 3), dtype))
    cuts = np.sort(rng.choice(np.arange(1, 5000), size=12, replace=False))
    stream = LatentStream(3, seed=11, dtype=dtype)
    parts = [stream.fill(np.empty((hi - lo, 3), dtype)) for lo, hi in zip([0, *cuts], [*cuts, 5000])]
    assert np.array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("generator", ["single", "deep"])
def test_fields_do_not_depend_on_the_number_of_worker_threads(monkeypatch, dtype, generator):
    from getheory import fields

    gen = random_single_layer(40, 20, "sign", seed=0) if generator == "single" else \
        random_deep([20, 30, 40], ["relu", "sign"], seed=0)
    Ws, Wt = draw_weights(40, 20, 2, 2, seed=1)
    runs = []
    for workers in (1, 2, 3):
        monkeypatch.setattr(fields, "blas_threads", lambda w=workers: w)
        monkeypatch.setattr(fields, "usable_cpus", lambda w=workers: w)
        runs.append(np.concatenate(sample_fields(gen, Ws, Wt, 7000, seed=2, batch_size=2500, dtype=dtype), axis=1))

    @contextlib.contextmanager
    def not_allowed():  # another thread controls BLAS's threads: the workers run one after the other here
        yield False

    monkeypatch.setattr(fields, "single_blas_threads", not_allowed)
    runs.append(np.concatenate(sample_fields(gen, Ws, Wt, 7000, seed=2, batch_size=2500, dtype=dtype), axis=1))
    assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_host_sampler_checks_the_deadline_between_batches():
    from getheory import stream_fields
    from getheory._deadline import Deadline, TimeBudgetExceeded

    class Sink:
        rows = 0

        def update(self, z):
            self.rows += int(z.shape[0])
            time.sleep(0.05)

    gen = random_single_layer(16, 8, "sign", seed=0)
    Ws, Wt = draw_weights(16, 8, 1, 1, seed=1)
    sink = Sink()
    with pytest.raises(TimeBudgetExceeded, match="the test stage"):
        stream_fields(gen, Ws, Wt, 10**6, sink, batch_size=100, deadline=Deadline(0.2), stage="the test stage")
    assert 0 < sink.rows < 10**4


def test_run_that_cannot_fit_is_refused_before_work_naming_the_memory():
    from getheory.fields import check_memory

    with pytest.raises(MemoryError, match="GiB"):
        check_memory(10**13, 100, 50, 2, 2)
    assert check_memory(1000, 100, 50, 2, 2) == 8 * (1000 * 4 + 100 * 50 + 50 + 300 + 16)


def test_float32_fields_have_the_exact_covariance(small_sign):
    gen, Ws, Wt = small_sign
    n = 200_000
    lam, nu = sample_fields(gen, Ws, Wt, n, seed=9, dtype="float32")
    assert lam.dtype == np.float32 and nu.dtype == np.float32
    z = np.concatenate([lam, nu], axis=1).astype(np.float64)
    cov = gaussian_match(exact_moments(gen), Ws, Wt).cov
    zc = z - z.mean(0)
    se = np.sqrt(np.var(zc[:, :, None] * zc[:, None, :], axis=0) / n)
    # CLT: 5 SE per entry; float32 rounding (≈1e-7 relative, sign flips 5e-8 of
    # entries, benchmarks/bench_precision.py) is far below SE ≈ 3e-3
    assert np.all(np.abs(np.cov(z.T) - cov) < 5 * se)


def test_tf32_is_refused(monkeypatch):
    from getheory.backend import _base as backend_mod  # get_backend and its cache

    monkeypatch.setenv("CUPY_TF32", "1")
    monkeypatch.setattr(backend_mod, "available_backends", lambda: ["numpy", "cupy"])
    backend_mod._CACHE.pop("cupy", None)
    with pytest.raises(RuntimeError, match="TF32"):
        backend_mod.get_backend("cupy")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int32", "float128", "fp32", None])
def test_a_dtype_other_than_float32_or_float64_is_refused_naming_the_choices(small_sign, dtype):
    from getheory import monte_carlo_moments
    from getheory.distances import FieldStream
    from getheory.fields import stream_fields

    gen, Ws, Wt = small_sign
    calls = (lambda: sample_fields(gen, Ws, Wt, 100, dtype=dtype),
             lambda: stream_fields(gen, Ws, Wt, 128, FieldStream(np.zeros(4), np.eye(4)), dtype=dtype),
             lambda: monte_carlo_moments(gen, 100, dtype=dtype))
    for call in calls:
        with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'; got") as exc:
            call()
        if dtype == "float16":
            assert "rounds each sample by up to 5e-4" in str(exc.value)


def _huge(c):  # finite in float32 (3e38 < 3.4e38), but 8 of them sum beyond it
    return np.full((c.shape[0], 8), 3e38, dtype=c.dtype)


def test_a_float32_run_whose_fields_overflow_is_refused_naming_float64():
    gen = CallableGenerator(_huge, D=4, N=8, name="huge")
    Ws, Wt = np.ones((1, 8)), np.ones((1, 4))
    with pytest.raises(ValueError, match=r"rows 0 to 99 are NaN or infinite in float32.*run in float64 "
                                         r"\(dtype='float64'; getheory check --dtype float64"):
        sample_fields(gen, Ws, Wt, 100, dtype="float32")
    lam, _nu = sample_fields(gen, Ws, Wt, 100, dtype="float64")  # λ = 3e38·8/√8 ≈ 8.5e38: fine in float64
    assert np.allclose(lam, 3e38 * math.sqrt(8))


def test_a_float32_run_of_a_built_in_generator_whose_fields_overflow_is_refused_naming_float64():
    # h = A c/√D ~ 3e37 fits float32; λ = 10 Σ relu(h_i)/√16 ~ 5e38 does not
    gen = SingleLayerGenerator(np.random.default_rng(0).standard_normal((16, 8)) * 3e37, "relu")
    Ws, Wt = np.full((1, 16), 10.0), np.ones((1, 8))
    with pytest.raises(ValueError, match="overflow float32.*run in float64"):
        sample_fields(gen, Ws, Wt, 4096, seed=2, dtype="float32")
    lam, _nu = sample_fields(gen, Ws, Wt, 4096, seed=2, dtype="float64")
    assert np.all(np.isfinite(lam))


def test_a_user_generator_beyond_float32_in_a_float32_run_is_refused_naming_float64():
    gen = CallableGenerator(lambda c: np.full((c.shape[0], 8), 1e39), D=4, N=8, name="beyond")
    Ws, Wt = np.ones((1, 8)), np.ones((1, 4))
    with pytest.raises(ValueError, match="'beyond' returned NaN or infinite values in float32.*overflows float32; "
                                         "run in float64"):
        sample_fields(gen, Ws, Wt, 100, dtype="float32")
    assert np.all(np.isfinite(sample_fields(gen, Ws, Wt, 100, dtype="float64")[0]))


def test_float32_monte_carlo_moments_that_overflow_are_refused_naming_float64():
    from getheory import monte_carlo_moments

    gen = DeepGenerator([(np.random.default_rng(0).standard_normal((8, 4)) * 1e37, "linear")])
    with pytest.raises(ValueError, match=r"Monte Carlo sums xᵀx .* overflow float32.*run in float64"):
        monte_carlo_moments(gen, 1000, seed=1, dtype="float32")
    assert np.all(np.isfinite(monte_carlo_moments(gen, 1000, seed=1, dtype="float64").Omega))


def test_non_finite_fields_in_float64_are_refused_with_a_clear_error():
    gen = CallableGenerator(_huge, D=4, N=8, name="huge")
    with pytest.raises(ValueError, match="NaN or infinite in float64: .* too large"):
        sample_fields(gen, np.full((1, 8), 1e300), np.ones((1, 4)), 100, dtype="float64")
