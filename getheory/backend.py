"""Array backends: the one seam through which NumPy and CuPy run the same code.

getheory's array code is written once against an *array namespace* ``xp``
(the Python array API standard, via ``array-api-compat``), plus the few
special functions and random-number calls the standard does not cover:
the normal CDF ``ndtr``, its inverse ``ndtri``, and a seeded normal
generator.  Every numerical module obtains a :class:`Backend` either by name
(``get_backend("numpy")``, ``get_backend("cupy")``) or from its input arrays
(:func:`backend_of`), and then uses only ``bk.xp`` and the methods here.

Results cross the public API boundary as host floats or NumPy arrays
(:meth:`Backend.to_numpy`).  Arrays of other libraries (torch, JAX, CuPy,
array-api-strict, anything speaking DLPack) enter through one door,
:meth:`Backend.from_foreign`, which imports them without a copy when they
already live on the backend's device and refuses, naming the fix, a wrong
device, dtype or layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Backend", "array_library", "available_backends", "backend_of", "check_foreign", "get_backend"]

_KNOWN = ("numpy", "cupy")


@dataclass(frozen=True)
class Backend:
    """An array namespace plus the non-standard functions getheory needs.

    Attributes
    ----------
    name : str
        ``"numpy"`` or ``"cupy"``.
    xp : module
        The array-API-compatible namespace (``array_api_compat.numpy`` or
        ``array_api_compat.cupy``).
    """

    name: str
    xp: Any

    @property
    def raw(self):
        """The plain ``numpy`` or ``cupy`` module, for ``out=`` arguments the
        array API lacks (in-place products and ufuncs in hot loops)."""
        if self.name == "cupy":
            import cupy

            return cupy
        return np

    def inplace(self, name: str, h) -> bool:
        """Apply a built-in activation ``name`` to ``h`` in place, if possible.

        Returns False (leaving ``h`` untouched) when no in-place form exists.
        """
        raw = self.raw
        if name == "sign":
            # copysign is a plain SIMD bit operation, 5× faster than sign; it differs
            # from sign only at h = ±0 exactly (probability 0 for continuous h).
            raw.copysign(1.0, h, out=h)
        elif name == "relu":
            raw.maximum(h, 0, out=h)
        elif name == "tanh":
            raw.tanh(h, out=h)
        elif name == "linear":
            pass
        elif name in ("erf", "erf2"):
            if name == "erf2":
                h *= 1.0 / 2**0.5
            if self.name == "cupy":
                from cupyx.scipy.special import erf
            else:
                from scipy.special import erf
            erf(h, out=h)
        else:
            return False
        return True

    # -- conversions ---------------------------------------------------
    def asarray(self, x, dtype=None):
        """Move ``x`` (any array-like, host or device) onto this backend."""
        if self.name == "cupy":
            import cupy

            return cupy.asarray(x, dtype=dtype)
        if type(x).__module__.startswith("cupy"):
            x = x.get()
        return np.asarray(x, dtype=dtype)

    def from_foreign(self, x, *, dtype=None, what: str = "the array"):
        """Import ``x``, an array of any DLPack or array-API library, onto this backend.

        NumPy and CuPy arrays of this backend pass through; torch, JAX,
        array-api-strict and other DLPack arrays are imported with
        :func:`numpy.from_dlpack` or :func:`cupy.from_dlpack`, which share
        memory with ``x`` (no copy) when ``x`` is on this backend's device,
        strided views included.  Nothing is moved between devices: a CUDA
        array on the NumPy backend or a CPU array on the CuPy backend is an
        error (a silent host-device copy per batch would hide the cost the
        user chose the backend to avoid).  Objects without DLPack but with
        ``__array__`` are read with :func:`numpy.asarray` on the NumPy backend.

        Parameters
        ----------
        x : array
            The foreign array.
        dtype : numpy dtype, optional
            Cast the result to this dtype (float32 or float64); the only copy
            made, and only when the dtypes differ.
        what : str
            How error messages name ``x`` (e.g. "the output of user generator 'm:f'").

        Returns
        -------
        array
            A ``numpy.ndarray`` or ``cupy.ndarray``, possibly read-only (JAX
            arrays are immutable): treat it as read-only.

        Raises
        ------
        ValueError
            With the fix, for a non-array, a dtype other than float32/float64, a
            torch tensor that requires grad or carries a negation bit, an array on
            another device, or one DLPack cannot export (sparse layouts).
        """
        check_foreign(x, what=what)
        lib = array_library(x)
        native = (self.name == "numpy" and isinstance(x, np.ndarray)) or (
            self.name == "cupy" and lib == "cupy" and type(x).__name__ == "ndarray"
        )
        dev = _dlpack_device(x, what)
        if dev is not None:
            self._check_device(dev, lib, what)
        if native:
            arr = x
        elif dev is None:
            if self.name == "numpy" and hasattr(x, "__array__"):
                arr = np.asarray(x)
            else:
                raise ValueError(
                    f"{what} is a {type(x).__module__}.{type(x).__qualname__}, which speaks neither DLPack "
                    f"nor the array API; return a NumPy{'/CuPy' if self.name == 'cupy' else ''}, torch, JAX "
                    "or other DLPack array"
                )
        else:
            if self.name == "cupy":
                import cupy

                importer = cupy.from_dlpack
            else:
                importer = np.from_dlpack
            try:
                arr = importer(x)
            except (BufferError, RuntimeError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{what} ({_describe(x, lib)}) could not be imported through DLPack: {exc}. Return a "
                    f"dense strided array: {_advice(lib, 'dense')}"
                ) from None
        if dtype is not None and arr.dtype != np.dtype(dtype):
            arr = self.xp.astype(arr, np.dtype(dtype))
        return arr

    def _check_device(self, dev, lib, what):
        """Refuse an array whose DLPack device this backend cannot read in place."""
        kind, index = dev
        where = f"{_DL_NAMES.get(kind, f'DLPack device type {kind}')} device {index}"
        if self.name == "numpy":
            if kind not in _DL_HOST:
                raise ValueError(
                    f"{what} is on {where} but the run uses backend 'numpy' (host memory): run with "
                    f"--backend cupy (backend='cupy') to keep the samples on the GPU, or move it to the "
                    f"CPU with {_advice(lib, 'cpu')}"
                )
            return
        if kind not in _DL_GPU:
            raise ValueError(
                f"{what} is on {where} but the run uses backend 'cupy' (GPU memory), and getheory does not "
                f"copy samples to the GPU batch by batch: return an array on the GPU ({_advice(lib, 'gpu')}), "
                "e.g. by computing on the latents' device, or run with --backend numpy (backend='numpy')"
            )
        import cupy

        current = cupy.cuda.Device().id
        if index != current:
            raise ValueError(
                f"{what} is on {where} but the run uses CUDA device {current}: move it with "
                f"{_advice(lib, 'gpu', current)}, or run getheory on device {index} "
                f"(CUDA_VISIBLE_DEVICES={index})"
            )

    def to_numpy(self, x) -> np.ndarray:
        """Return ``x`` as a host NumPy array (no copy on the NumPy backend)."""
        if self.name == "cupy" and type(x).__module__.startswith("cupy"):
            return x.get()
        return np.asarray(x)

    # -- special functions (not in the array API standard) ---------------
    def ndtr(self, x):
        """Standard normal CDF Φ(x), elementwise."""
        if self.name == "cupy":
            from cupyx.scipy.special import ndtr

            return ndtr(x)
        from scipy.special import ndtr

        return ndtr(x)

    def ndtri(self, p):
        """Inverse standard normal CDF Φ^{-1}(p), elementwise."""
        if self.name == "cupy":
            from cupyx.scipy.special import ndtri

            return ndtri(p)
        from scipy.special import ndtri

        return ndtri(p)

    def erf(self, x):
        """Error function, elementwise."""
        if self.name == "cupy":
            from cupyx.scipy.special import erf

            return erf(x)
        from scipy.special import erf

        return erf(x)

    # -- random numbers ----------------------------------------------------
    def rng(self, seed=None):
        """A seeded random generator living on this backend's device.

        ``seed`` may be an int, ``None`` or a :class:`numpy.random.SeedSequence`.
        The generator offers ``standard_normal(size, dtype=...)``.
        """
        if isinstance(seed, np.random.SeedSequence):
            seed = int(seed.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        if self.name == "cupy":
            import cupy

            return cupy.random.default_rng(seed)
        return np.random.default_rng(seed)

    # -- memory --------------------------------------------------------------
    def free_memory_bytes(self) -> int:
        """Free memory of the device holding this backend's arrays, in bytes."""
        if self.name == "cupy":
            import cupy

            free, _total = cupy.cuda.runtime.memGetInfo()
            pool = cupy.get_default_memory_pool()
            return int(free + pool.free_bytes())
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:  # pragma: no cover - non-Linux
            pass
        return 4 * 1024**3  # pragma: no cover

    def synchronize(self) -> None:
        """Wait for queued device work (no-op on the CPU); for timings."""
        if self.name == "cupy":
            import cupy

            cupy.cuda.get_current_stream().synchronize()


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


_CACHE: dict[str, Backend] = {}


def available_backends() -> list[str]:
    """Names of the backends that can run here (``numpy`` always; ``cupy`` with a GPU)."""
    out = ["numpy"]
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append("cupy")
    except Exception:  # ImportError, or CUDA present without a device
        pass
    return out


def get_backend(name: str | Backend | None = "numpy") -> Backend:
    """Return the backend called ``name`` (``"numpy"`` or ``"cupy"``).

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        When ``"cupy"`` is asked for but CuPy or a GPU is missing.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = "numpy"
    if not isinstance(name, str) or name.lower() not in _KNOWN:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(_KNOWN)}")
    name = name.lower()
    if name in _CACHE:
        return _CACHE[name]
    if name == "numpy":
        import array_api_compat.numpy as xp
    else:
        if "cupy" not in available_backends():
            raise RuntimeError(
                "backend 'cupy' needs CuPy and a CUDA GPU; install getheory[gpu] on a GPU "
                "machine or use backend='numpy'"
            )
        import os

        if os.environ.get("CUPY_TF32", "0") not in ("", "0"):
            raise RuntimeError(
                "CUPY_TF32 is set: CuPy would round float32 matrix products to TF32 (10-bit "
                "mantissa), which flips sign(h) for small |h| and biases d_MS; unset CUPY_TF32"
            )
        import array_api_compat.cupy as xp
    bk = Backend(name, xp)
    _CACHE[name] = bk
    return bk


def backend_of(*arrays) -> Backend:
    """The backend of the given arrays (CuPy if any is a CuPy array, else NumPy)."""
    for a in arrays:
        if a is not None and type(a).__module__.startswith("cupy"):
            return get_backend("cupy")
    return get_backend("numpy")
