"""Foreign arrays: the checks every backend runs on an array of another library.

torch, JAX, CuPy, array-api-strict and other DLPack arrays enter getheory through
:meth:`getheory.backend.Backend.from_foreign`; this module holds what does not depend
on the backend (is it an array, a float dtype, no autograd) and the advice that names
the fix in each library's own words.
"""

from __future__ import annotations

# -- foreign arrays (DLPack, the array API) -------------------------------------
#: DLPack device types (dlpack.h, DLDeviceType) by name
_DL_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm",
             11: "ROCm host", 12: "ext_dev", 13: "CUDA managed", 14: "oneAPI", 15: "WebGPU", 16: "Hexagon",
             17: "MAIA"}
#: device types NumPy reads in place (host-accessible memory)
_DL_HOST = (1, 3, 11, 13)
#: device types CuPy reads in place
_DL_GPU = (2, 10, 13)
#: dtypes getheory computes in
_FLOATS = ("float32", "float64")

_ADVICE = {
    "torch": {"cpu": "x.cpu()", "gpu": "x.cuda() or x.to('cuda:{i}')", "float": "x.to(torch.float64) (x.double())",
              "dense": "x.contiguous(), and x.to_dense() for a sparse tensor"},
    "jax": {"cpu": "jax.device_get(x)", "gpu": "jax.device_put(x, jax.devices('gpu')[{i}])",
            "float": "x.astype(jnp.float32), or jnp.float64 after jax.config.update('jax_enable_x64', True)",
            "dense": "jnp.asarray(x)"},
    "cupy": {"cpu": "x.get()", "gpu": "x under cupy.cuda.Device({i})", "float": "x.astype(cupy.float64)",
             "dense": "cupy.ascontiguousarray(x)"},
    "numpy": {"cpu": "np.asarray(x)", "gpu": "cupy.asarray(x)", "float": "x.astype(np.float64)",
              "dense": "np.ascontiguousarray(x)"},
}
_ADVICE_ANY = {"cpu": "xp.to_device(x, 'cpu')", "gpu": "xp.to_device(x, <the GPU>)",
               "float": "xp.astype(x, xp.float64)", "dense": "xp.asarray(x, copy=True)"}


def array_library(x) -> str:
    """The top-level package of ``x``'s type: ``"numpy"``, ``"torch"``, ``"jax"``, ``"cupy"``, ...

    (``jaxlib`` counts as ``"jax"``.)
    """
    lib = type(x).__module__.split(".")[0]
    return "jax" if lib == "jaxlib" else lib


def _advice(lib, key, index=0):
    text = _ADVICE.get(lib, _ADVICE_ANY).get(key) or _ADVICE_ANY[key]
    return text.format(i=index)


def _dtype_name(x) -> str | None:
    """'float64', 'bfloat16', 'int32', ... for a NumPy, torch, JAX or array-API dtype; None if x has none."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    return str(dt).rsplit(".", 1)[-1]


def _describe(x, lib):
    return f"a {lib} {type(x).__qualname__} of dtype {_dtype_name(x)} and shape {tuple(getattr(x, 'shape', ()))}"


def _dlpack_device(x, what):
    """(device type, index) of a DLPack array as ints, or None for objects without DLPack."""
    if not hasattr(x, "__dlpack__") or not hasattr(x, "__dlpack_device__"):
        return None
    try:
        kind, index = x.__dlpack_device__()
    except (AttributeError, BufferError, RuntimeError, TypeError, ValueError) as exc:
        # e.g. torch's meta device: "Unknown device type meta for Dlpack"
        raise ValueError(
            f"{what} ({_describe(x, array_library(x))}) is on a device DLPack cannot describe ({exc}); "
            f"compute it on the CPU or a CUDA GPU"
        ) from None
    return int(kind), int(index)


def check_foreign(x, *, what: str = "the array") -> None:
    """Device-independent checks of a foreign array: an array at all, a float dtype, no autograd.

    Raises
    ------
    ValueError
        Naming the fix (``what`` names ``x`` in the message).
    """
    name = _dtype_name(x)
    lib = array_library(x)
    if name is None or getattr(x, "shape", None) is None:
        raise ValueError(
            f"{what} is a {type(x).__module__}.{type(x).__qualname__}, not an array; return a NumPy, CuPy, "
            "torch, JAX or other DLPack / array-API array"
        )
    if name not in _FLOATS:
        why = {"float16": "float16 rounds each sample by up to 5e-4 of its size, as much as the d_MS measured",
               "bfloat16": "bfloat16 rounds each sample by up to 4e-3 of its size, more than the d_MS measured"}.get(
            name, "getheory computes in real floating point")
        raise ValueError(
            f"{what} has dtype {name}; samples must be float32 or float64 ({why}): convert it with "
            f"{_advice(lib, 'float')}"
        )
    is_neg = getattr(x, "is_neg", None)
    if callable(is_neg) and is_neg():
        # e.g. z.conj().imag: DLPack exports the data without the negation (checked with torch 2.13)
        raise ValueError(
            f"{what} is a torch tensor with a lazy negation bit (such as z.conj().imag), which DLPack "
            "drops, so its values would arrive with the wrong sign: return x.resolve_neg()"
        )
    if getattr(x, "requires_grad", False):
        raise ValueError(
            f"{what} is a tensor that requires grad (autograd would record every batch and DLPack "
            "cannot export it): compute it under torch.no_grad() (decorate the function with "
            "@torch.no_grad()) or return x.detach()"
        )




def refuse_on_host(x, what: str) -> None:
    """The NumPy backend's check of an array-api-strict array that is not on the host."""
    # optional (the test extra): only an array-api-strict array, which has loaded it, gets here
    import array_api_strict as xs
    from array_api_strict._array_object import Array

    if isinstance(x, Array) and x.device != xs.Device("CPU_DEVICE"):
        raise ValueError(
            f"{what} is on array-api-strict's {x.device} but the run uses backend 'numpy' (host memory): "
            f"move it to the CPU with xp.asarray(x, device=array_api_strict.Device('CPU_DEVICE')) or "
            f"run with backend='strict'"
        )
