"""User generators that return arrays of other libraries (issue 12, part 2).

A ``module:function`` generator may return torch, JAX, CuPy or array-api-strict
arrays; :meth:`getheory.backend.Backend.from_foreign` imports them without a
copy on the run's device and refuses a wrong dtype, shape, device or layout
with a message that names the fix.  array-api-strict cases run everywhere (it
is a test dependency); torch and JAX cases are skipped where those are not
installed, CuPy cases where there is no GPU.
"""

from pathlib import Path

import numpy as np
import pytest

from getheory import CallableGenerator, check_generator, load_generator
from getheory.backend import CupyBackend, available_backends, get_backend

xs = pytest.importorskip("array_api_strict")

N, D = 16, 8
A = np.random.default_rng(0).standard_normal((N, D))
LATENTS = np.random.default_rng(1).standard_normal((5, D))
REPO = Path(__file__).resolve().parents[1]
needs_gpu = pytest.mark.skipif("cupy" not in available_backends(), reason="needs CuPy and a CUDA GPU")


def numpy_twin(c):
    """The reference generator x = tanh(A c / 2) in NumPy."""
    return np.tanh(c @ A.T / 2)


def strict_generator(c):
    """The same generator computed with array-api-strict."""
    return xs.tanh(xs.asarray(c) @ xs.asarray(A.T) / 2)


class FakeCudaArray:
    """A float64 array that tells DLPack it lives on CUDA device 0."""

    def __init__(self, x):
        self._x = x
        self.shape, self.dtype = x.shape, x.dtype

    def __dlpack__(self, **kwargs):
        return self._x.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return (2, 0)


def error_of(fn, c=LATENTS, backend="numpy"):
    """The message of the ValueError that sampling ``fn`` on ``backend`` raises."""
    with pytest.raises(ValueError) as info:
        CallableGenerator(fn, D=D, N=N).sample(get_backend(backend).asarray(c))
    return str(info.value)


# -- array-api-strict: runs in CI -----------------------------------------------------------


def test_array_api_strict_output_becomes_the_numpy_twins_output():
    x = CallableGenerator(strict_generator, D=D).sample(LATENTS)
    assert type(x) is np.ndarray and x.dtype == np.float64
    np.testing.assert_array_equal(x, numpy_twin(LATENTS))


def test_array_api_strict_output_is_imported_without_a_copy():
    kept = []
    gen = CallableGenerator(lambda c: kept.append(strict_generator(c)) or kept[-1], D=D)
    x = gen.sample(LATENTS)
    assert np.shares_memory(x, np.from_dlpack(kept[-1]))


def test_float32_output_is_widened_to_the_runs_dtype():
    gen = CallableGenerator(lambda c: xs.astype(strict_generator(c), xs.float32), D=D)
    x = gen.sample(LATENTS)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, numpy_twin(LATENTS).astype(np.float32))
    assert gen.sample(LATENTS.astype(np.float32)).dtype == np.float32


def test_check_of_an_array_api_strict_generator_equals_the_check_of_its_numpy_twin():
    kw = {"K": 1, "M": 1, "samples": 4096, "moment_samples": 4096, "seed": 3}
    strict = check_generator(CallableGenerator(strict_generator, D=D, name="strict"), **kw)
    twin = check_generator(CallableGenerator(numpy_twin, D=D, name="twin"), **kw)
    assert strict.sizes == twin.sizes and (strict.sizes["N"], strict.sizes["D"]) == (N, D)
    a, b = strict.dms.to_dict(), twin.dms.to_dict()
    assert np.isfinite(a["value"]) and a["value"] > 0
    assert a["value"] == pytest.approx(b["value"], rel=1e-12)
    assert a["cumulant"]["kappa4"] == pytest.approx(b["cumulant"]["kappa4"], rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("dtype", ["int64", "bool", "complex128"])
def test_non_float_dtype_is_refused_naming_the_conversion(dtype):
    msg = error_of(lambda c: xs.astype(xs.asarray(c @ A.T), getattr(xs, dtype)))
    assert f"dtype {dtype}" in msg and "float32 or float64" in msg and "xp.astype(x, xp.float64)" in msg


def test_wrong_shape_is_refused_naming_the_expected_shape():
    with pytest.raises(ValueError, match=r"returned shape \(5, 8\).*expected \(5, 16\)"):
        CallableGenerator(lambda c: xs.asarray(c) if c.shape[0] == 5 else strict_generator(c), D=D).sample(LATENTS)
    with pytest.raises(ValueError, match=r"must map latents of shape \(n, D\)"):
        CallableGenerator(lambda c: xs.reshape(strict_generator(c), (-1,)), D=D)


def test_a_non_array_is_refused_naming_the_libraries_accepted():
    with pytest.raises(ValueError, match="builtins.list, not an array; return a NumPy, CuPy, torch, JAX"):
        CallableGenerator(lambda c: c.tolist(), D=D)


def test_non_finite_values_of_a_strict_array_are_refused():
    with np.errstate(divide="ignore", invalid="ignore"):
        msg = error_of(lambda c: xs.log(xs.asarray(c @ A.T)))
    assert "NaN or infinite" in msg


def test_a_gpu_array_in_a_numpy_run_is_refused_naming_both_fixes():
    msg = error_of(lambda c: FakeCudaArray(numpy_twin(c)))
    assert "on CUDA device 0" in msg and "--backend cupy" in msg and "move it to the CPU" in msg


def test_a_cpu_array_in_a_cupy_run_is_refused_naming_both_fixes():
    # the device rule runs before CuPy is imported, so it is checked on any machine
    cupy_rule = CupyBackend(check_env=False)
    with pytest.raises(ValueError) as info:
        cupy_rule.from_foreign(strict_generator(LATENTS), what="x")
    msg = str(info.value)
    assert "x is on CPU device 0" in msg and "--backend numpy" in msg and "does not copy samples to the GPU" in msg


def test_an_object_that_only_has_array_is_read_on_the_numpy_backend():
    class Table:
        shape, dtype = (5, N), np.dtype("float64")

        def __array__(self, dtype=None, copy=None):
            return numpy_twin(LATENTS)

    np.testing.assert_array_equal(get_backend("numpy").from_foreign(Table()), numpy_twin(LATENTS))


# -- torch (skipped where not installed) ----------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_torch_generator_output_is_shared_not_copied(torch):
    kept = []

    def gen(c):
        kept.append(torch.tanh(torch.from_dlpack(c) @ torch.from_numpy(A.T) / 2))
        return kept[-1]

    x = CallableGenerator(gen, D=D).sample(LATENTS)
    np.testing.assert_allclose(x, numpy_twin(LATENTS), rtol=1e-15, atol=1e-15)
    assert np.shares_memory(x, kept[-1].numpy())


def test_strided_torch_view_is_imported_without_a_copy(torch):
    kept = []

    def gen(c):  # a transposed view: column-major strides
        kept.append(torch.from_numpy(np.ascontiguousarray(numpy_twin(c).T)))
        return kept[-1].T

    x = CallableGenerator(gen, D=D).sample(LATENTS)
    assert not kept[-1].T.is_contiguous()
    np.testing.assert_array_equal(x, numpy_twin(LATENTS))
    assert np.shares_memory(x, kept[-1].numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int32", "complex64"])
def test_torch_dtype_is_refused_naming_the_torch_conversion(torch, dtype):
    msg = error_of(lambda c: torch.from_dlpack(c @ A.T).to(getattr(torch, dtype)))
    assert f"dtype {dtype}" in msg and "x.to(torch.float64)" in msg


def test_torch_tensor_that_requires_grad_is_refused_naming_no_grad(torch):
    weights = torch.from_numpy(A.T).requires_grad_()
    with pytest.raises(ValueError, match=r"requires grad.*torch\.no_grad\(\).*x\.detach\(\)"):
        CallableGenerator(lambda c: torch.from_dlpack(c) @ weights, D=D)
    gen = CallableGenerator(torch.no_grad()(lambda c: torch.from_dlpack(c) @ weights), D=D)
    np.testing.assert_allclose(gen.sample(LATENTS), LATENTS @ A.T, rtol=1e-14)


def test_sparse_torch_tensor_is_refused_naming_to_dense(torch):
    msg = error_of(lambda c: torch.from_numpy(numpy_twin(c)).to_sparse())
    assert "could not be imported through DLPack" in msg and "x.to_dense()" in msg


def test_torch_negation_bit_is_refused_rather_than_imported_with_the_wrong_sign(torch):
    def gen(c):  # the imaginary part of a conjugate is a lazy negated view of x
        x = torch.from_numpy(numpy_twin(c))
        return torch.complex(torch.zeros_like(x), x).conj().imag

    msg = error_of(gen)
    assert "negation bit" in msg and "x.resolve_neg()" in msg
    fixed = CallableGenerator(lambda c: gen(c).resolve_neg(), D=D).sample(LATENTS)
    np.testing.assert_array_equal(fixed, -numpy_twin(LATENTS))


def test_torch_meta_tensor_is_refused_as_an_unknown_device(torch):
    msg = error_of(lambda c: torch.empty((c.shape[0], N), dtype=torch.float64, device="meta"))
    assert "device DLPack cannot describe" in msg


def test_torch_example_runs_through_load_generator_and_check(torch, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    gen = load_generator("examples.torch_generator:generate", D=D)
    assert (gen.N, gen.D) == (2 * D, D)
    x = gen.sample(LATENTS)
    assert type(x) is np.ndarray and x.shape == (5, 2 * D) and np.all(np.abs(x) < 1)
    res = check_generator(gen, K=1, M=1, samples=4096, moment_samples=4096, seed=0)
    assert res.generator["name"] == "examples.torch_generator:generate"
    assert np.isfinite(res.dms.value) and res.moments_source.startswith("Monte Carlo")


# -- JAX (skipped where not installed) ------------------------------------------------------


def test_jax_generator_output_is_shared_not_copied():
    jnp = pytest.importorskip("jax.numpy")
    kept = []

    def gen(c):
        kept.append(jnp.tanh(jnp.from_dlpack(c) @ jnp.asarray(A.T) / 2))
        return kept[-1]

    x = CallableGenerator(gen, D=D).sample(LATENTS)
    assert x.dtype == np.float64  # widened from JAX's default float32
    np.testing.assert_allclose(x, numpy_twin(LATENTS), rtol=1e-6, atol=1e-6)
    y = CallableGenerator(gen, D=D).sample(LATENTS.astype(np.float32))
    assert np.shares_memory(y, np.from_dlpack(kept[-1]))


def test_jax_integer_output_is_refused_naming_the_jax_conversion():
    jnp = pytest.importorskip("jax.numpy")
    msg = error_of(lambda c: jnp.asarray(c @ A.T, dtype=jnp.int32))
    assert "dtype int32" in msg and "x.astype(jnp.float32)" in msg


# -- CuPy (skipped without a GPU) -----------------------------------------------------------


@pytest.mark.gpu
@needs_gpu
def test_cupy_run_keeps_a_torch_cuda_output_on_the_gpu_without_a_copy(torch):
    if not torch.cuda.is_available():
        pytest.skip("needs torch with CUDA")
    kept = []
    At = torch.from_numpy(A.T).cuda()

    def gen(c):
        kept.append(torch.tanh(torch.from_dlpack(c) @ At / 2))
        return kept[-1]

    cp = get_backend("cupy")
    x = CallableGenerator(gen, D=D).sample(cp.asarray(LATENTS))
    assert type(x).__module__.startswith("cupy") and x.data.ptr == kept[-1].data_ptr()
    np.testing.assert_allclose(cp.to_numpy(x), numpy_twin(LATENTS), rtol=1e-12)


@pytest.mark.gpu
@needs_gpu
def test_cupy_run_refuses_a_host_array_for_real():
    msg = error_of(lambda c: numpy_twin(c.get()), backend="cupy")
    assert "on CPU device 0" in msg and "--backend numpy" in msg


@pytest.mark.gpu
@needs_gpu
def test_numpy_run_refuses_a_cupy_array_naming_get():
    import cupy

    msg = error_of(lambda c: cupy.asarray(numpy_twin(c)))
    assert "on CUDA device 0" in msg and "x.get()" in msg and "--backend cupy" in msg
