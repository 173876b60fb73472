"""The backend interface and the NumPy backend.

A :class:`Backend` is an array namespace ``xp`` (the array API standard, via
``array-api-compat``) plus what the standard leaves out and getheory needs: the
device, the special functions ``ndtr``, ``ndtri`` and ``erf``, seeded normals,
in-place products, free memory, and the one door through which data leaves the
device (:meth:`Backend.to_numpy`, :meth:`Backend.scalar`), which counts the bytes.

Everything that differs between array libraries is a method or a capability
attribute of a subclass, so code below the workflow layer never tests a name:

=====================  =========================================================
``host``               arrays are host memory NumPy reads without a copy
``host_normals``       latents come from the blocked host stream (NumPy's SFC64
                       blocks, :class:`getheory.fields.LatentStream`)
``sparse_gathers``     data-dependent shapes (``nonzero``) are cheap: True on the
                       CPU, False on accelerators (each one synchronises)
``batch_cap_bytes``    the most working memory one sampling batch is given
``block_elems``        float64 elements of one block of projections
``compiled_kernels``   which compiled SGD step runs here: ``"cpu"``, ``"cuda"``
                       or None (the array-API reference step)
=====================  =========================================================
"""

from __future__ import annotations

import threading
from typing import Any

import array_api_compat.numpy as npx
import numpy as np
import scipy.special

from ._foreign import (
    _DL_HOST,
    _DL_NAMES,
    _advice,
    _describe,
    _dlpack_device,
    array_library,
    check_foreign,
    refuse_on_host,
)

__all__ = ["Backend", "NumpyBackend", "UfuncBackend", "USER_BACKENDS", "available_backends", "get_backend"]

#: backend classes by name, in the order they are defined: each concrete class registers itself
#: (:meth:`Backend.__init_subclass__`); "strict" is a test backend, not offered on the command line
_CLASSES: dict[str, type] = {}

#: the backends a user chooses from (command-line choices, messages)
USER_BACKENDS = ("numpy", "cupy")

_CACHE: dict[str, Backend] = {}


class Backend:
    """An array namespace plus the non-standard functions getheory needs (see module doc).

    Attributes
    ----------
    name : str
        A label for messages and records (``"numpy"``, ``"cupy"``, ``"strict"``);
        never tested below the workflow layer.
    xp : module
        The array-API namespace; its creation functions place arrays on ``device``.
    device : object
        Where this backend's arrays live (``"cpu"``, a CUDA device, a simulated device).
    bytes_to_host : int
        Bytes moved from the device to the host through :meth:`to_numpy` and
        :meth:`scalar` since the backend was made (or :meth:`reset_transfers`).
    """

    name: str = "?"
    host: bool = True
    host_normals: bool = True
    sparse_gathers: bool = True
    batch_cap_bytes: int = 256 * 1024**2
    block_elems: int = 1 << 17
    compiled_kernels: str | None = None

    def __init__(self, xp: Any, device: Any = None):
        self.xp = xp
        self.device = device
        self.bytes_to_host = 0
        self._lock = threading.Lock()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in vars(cls):  # a concrete backend; a shared base (UfuncBackend) names none
            _CLASSES[cls.name] = cls

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __reduce__(self):
        """A backend travels to another process (a pool or Dask worker) as its name and is
        resolved there (:func:`get_backend`): its namespace is a module, which does not pickle,
        and its device is that process's own."""
        return get_backend, (self.name,)

    # -- arrays of this backend ------------------------------------------------
    def owns(self, x) -> bool:
        """True when ``x`` is an array this backend computes on in place."""
        raise NotImplementedError

    def dtype(self, dtype):
        """This namespace's dtype for ``dtype`` (a NumPy dtype, a name, or a namespace dtype)."""
        return getattr(self.xp, np.dtype(dtype).name) if not _is_ns_dtype(dtype) else dtype

    def dtype_name(self, x) -> str:
        """``"float64"``, ``"float32"``, ... of an array of this backend."""
        return str(x.dtype).rsplit(".", 1)[-1]

    def empty(self, shape, dtype="float64"):
        return self.xp.empty(tuple(shape), dtype=self.dtype(dtype))

    def asarray(self, x, dtype=None):
        """Place ``x`` (host data: a NumPy array, a list, a float) on this backend's device."""
        raise NotImplementedError

    def matmul_into(self, a, b, out):
        """``out[...] = a @ b`` without a temporary where the library allows ``out=``."""
        out[...] = a @ b
        return out

    def contiguous(self, x):
        """A C-contiguous copy of ``x`` (for compiled kernels and fast row slices)."""
        return self.xp.asarray(x, copy=True)

    # -- the one door to the host ------------------------------------------------
    def to_numpy(self, x) -> np.ndarray:
        """``x`` as a host NumPy array; device-to-host bytes are counted in ``bytes_to_host``."""
        out = self._to_host(x)
        if not self.host:
            with self._lock:
                self.bytes_to_host += int(out.nbytes)
        return out

    def scalar(self, x) -> float:
        """A 0-d (or size-1) array as a Python float, counted like :meth:`to_numpy`."""
        return float(self.to_numpy(x).reshape(-1)[0])

    def to_bool(self, x) -> bool:
        """A 0-d boolean array as a Python bool, counted (1 byte) like :meth:`to_numpy`."""
        return bool(self.to_numpy(x))

    def reset_transfers(self) -> int:
        """Set the byte counter to 0; returns its previous value."""
        with self._lock:
            n, self.bytes_to_host = self.bytes_to_host, 0
        return n

    def _to_host(self, x) -> np.ndarray:
        return np.asarray(x)

    # -- special functions (not in the array API standard) -----------------------
    def ndtr(self, x):
        """Standard normal CDF Φ(x), elementwise."""
        raise NotImplementedError

    def ndtri(self, p):
        """Inverse standard normal CDF Φ^{-1}(p), elementwise."""
        raise NotImplementedError

    def erf(self, x, out=None):
        """Error function, elementwise (into ``out`` when given; it may be ``x``)."""
        raise NotImplementedError

    # -- in-place elementwise maps for the activations' fast paths ------------------
    def copysign_(self, h):
        """h ← sign(h) (copysign(1, h): differs from sign only at ±0)."""
        h[...] = self.xp.sign(h)

    def maximum0_(self, h):
        """h ← max(h, 0)."""
        h[...] = self.xp.where(h > 0, h, self.xp.zeros_like(h))

    def tanh_(self, h):
        """h ← tanh(h)."""
        h[...] = self.xp.tanh(h)

    def scale_(self, h, a: float):
        """h ← a·h."""
        h *= a

    # -- random numbers -----------------------------------------------------------
    def rng(self, seed=None):
        """A seeded generator on this device with ``standard_normal(size, dtype=...)``.

        ``seed`` may be an int, ``None`` or a :class:`numpy.random.SeedSequence`.
        """
        raise NotImplementedError

    def host_view(self, out) -> np.ndarray:
        """The host memory behind ``out`` (backends with ``host_normals`` only)."""
        raise NotImplementedError

    # -- memory and time -------------------------------------------------------------
    def free_memory_bytes(self) -> int:
        """Free memory of the device holding this backend's arrays, in bytes."""
        return _host_available()

    def synchronize(self) -> None:
        """Wait for queued device work (no-op on the CPU); for timings."""

    # -- foreign arrays ------------------------------------------------------------------
    def from_foreign(self, x, *, dtype=None, what: str = "the array"):
        """Import ``x``, an array of any DLPack or array-API library, onto this backend.

        Arrays of this backend pass through; torch, JAX, array-api-strict and other
        DLPack arrays are imported through DLPack, sharing memory with ``x`` (no copy)
        when ``x`` is on this backend's device, strided views included.  Nothing is
        moved between devices: a CUDA array on the NumPy backend or a CPU array on a
        GPU backend is an error naming the fix (a silent host-device copy per batch
        would hide the cost the user chose the backend to avoid).

        Parameters
        ----------
        x : array
            The foreign array.
        dtype : dtype, optional
            Cast the result to this dtype (float32 or float64); the only copy made,
            and only when the dtypes differ.
        what : str
            How error messages name ``x`` (e.g. "the output of user generator 'm:f'").

        Returns
        -------
        array
            An array of this backend, possibly read-only (JAX arrays are immutable):
            treat it as read-only.

        Raises
        ------
        ValueError
            With the fix, for a non-array, a dtype other than float32/float64, a torch
            tensor that requires grad or carries a negation bit, an array on another
            device, or one DLPack cannot export (sparse layouts).
        """
        check_foreign(x, what=what)
        lib = array_library(x)
        dev = _dlpack_device(x, what)
        if dev is not None:
            self._check_device(dev, lib, what)
        if self.owns(x):
            arr = x
        elif dev is None:
            arr = self._without_dlpack(x, what)
        else:
            try:
                arr = self._from_dlpack(x)
            except (BufferError, RuntimeError, TypeError, ValueError) as exc:
                raise ValueError(
                    f"{what} ({_describe(x, lib)}) could not be imported through DLPack: {exc}. Return a "
                    f"dense strided array: {_advice(lib, 'dense')}"
                ) from None
        if dtype is not None and self.dtype_name(arr) != np_dtype(dtype).name:
            arr = self.xp.astype(arr, self.dtype(dtype))
        return arr

    def _without_dlpack(self, x, what):
        raise ValueError(
            f"{what} is a {type(x).__module__}.{type(x).__qualname__}, which speaks neither DLPack nor "
            f"the array API; return a {self.name}, torch, JAX or other DLPack array"
        )

    def _from_dlpack(self, x):
        raise NotImplementedError

    def _check_device(self, dev, lib, what):
        """Refuse an array whose DLPack device this backend cannot read in place."""
        raise NotImplementedError


def _is_ns_dtype(dtype) -> bool:
    return not isinstance(dtype, (str, np.dtype, type))


def np_dtype(dtype) -> np.dtype:
    """The NumPy dtype of a NumPy dtype, a name, or an array namespace's dtype object."""
    if isinstance(dtype, (str, np.dtype, type)):
        return np.dtype(dtype)
    return np.dtype(str(dtype).rsplit(".", 1)[-1])


def _host_available() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return 4 * 1024**3  # pragma: no cover


def _seed_int(seed):
    """An int (or None) from an int, None or a SeedSequence, as every backend's rng takes it."""
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    return seed


class UfuncBackend(Backend):
    """A NumPy-like library with ``out=`` arguments: ``_mod`` (numpy or cupy) and its SciPy-like
    ``_special`` module; the in-place products and maps are single ufunc calls."""

    _mod = np

    @property
    def _special(self):
        return scipy.special

    def dtype(self, dtype):
        return np_dtype(dtype)

    def dtype_name(self, x) -> str:
        return np.dtype(x.dtype).name

    def matmul_into(self, a, b, out):
        return self._mod.matmul(a, b, out=out)

    def contiguous(self, x):
        return self._mod.ascontiguousarray(x).copy()

    def ndtr(self, x):
        return self._special.ndtr(x)

    def ndtri(self, p):
        return self._special.ndtri(p)

    def erf(self, x, out=None):
        return self._special.erf(x, out=out) if out is not None else self._special.erf(x)

    def copysign_(self, h):
        # copysign is a plain SIMD bit operation, 5x faster than sign
        self._mod.copysign(1.0, h, out=h)

    def maximum0_(self, h):
        self._mod.maximum(h, 0, out=h)

    def tanh_(self, h):
        self._mod.tanh(h, out=h)


class NumpyBackend(UfuncBackend):
    """NumPy on the host: BLAS products with ``out=``, SciPy's special functions."""

    name = "numpy"
    compiled_kernels = "cpu"

    def __init__(self):
        super().__init__(npx, "cpu")

    def owns(self, x) -> bool:
        return isinstance(x, np.ndarray)

    def asarray(self, x, dtype=None):
        if type(x).__module__.startswith("cupy"):
            raise TypeError("a CuPy array was given to the NumPy backend: pass x.get(), or use backend='cupy'")
        return np.asarray(x, dtype=None if dtype is None else np_dtype(dtype))

    def rng(self, seed=None):
        return np.random.default_rng(_seed_int(seed))

    def host_view(self, out):
        return out

    def from_foreign(self, x, *, dtype=None, what: str = "the array"):
        if array_library(x) == "array_api_strict":
            refuse_on_host(x, what)
        return super().from_foreign(x, dtype=dtype, what=what)

    def _without_dlpack(self, x, what):
        if hasattr(x, "__array__"):
            return np.asarray(x)
        return super()._without_dlpack(x, what)

    def _from_dlpack(self, x):
        return np.from_dlpack(x)

    def _check_device(self, dev, lib, what):
        kind, index = dev
        if kind not in _DL_HOST:
            where = f"{_DL_NAMES.get(kind, f'DLPack device type {kind}')} device {index}"
            raise ValueError(
                f"{what} is on {where} but the run uses backend 'numpy' (host memory): run with "
                f"--backend cupy (backend='cupy') to keep the samples on the GPU, or move it to the "
                f"CPU with {_advice(lib, 'cpu')}"
            )


def available_backends() -> list[str]:
    """Names of the user backends that can run here (``numpy`` always; ``cupy`` with a GPU)."""
    out = ["numpy"]
    try:
        import cupy  # optional (the gpu extra): probed, never required

        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append("cupy")
    except Exception:  # ImportError, or CUDA present without a device
        pass
    return out


def get_backend(name: str | Backend | None = "numpy") -> Backend:
    """Return the backend called ``name`` (``"numpy"``, ``"cupy"``, or the test backend ``"strict"``).

    A :class:`Backend` instance is returned unchanged; ``None`` means NumPy.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        When ``"cupy"`` is asked for but CuPy or a GPU is missing, or CUPY_TF32 is set.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = "numpy"
    if not isinstance(name, str) or name.lower() not in _CLASSES:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(USER_BACKENDS)}")
    name = name.lower()
    if name in _CACHE:
        return _CACHE[name]
    if name == "cupy" and "cupy" not in available_backends():
        raise RuntimeError(
            "backend 'cupy' needs CuPy and a CUDA GPU; install getheory[gpu] on a GPU "
            "machine or use backend='numpy'"
        )
    bk = _CACHE[name] = _CLASSES[name]()
    return bk


def host_backend() -> Backend:
    """The NumPy backend of the host: where results arrive and host-side maths runs (the ODEs'
    eigen-decomposition, quadratures on grids), whatever backend the run's samples use."""
    return get_backend("numpy")
