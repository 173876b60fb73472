"""The simulated device: array-api-strict arrays on ``Device("device1")``, a stand-in GPU.

``backend="strict"`` runs getheory's array code on array-api-strict arrays placed on
a device that is not the host.  Whatever is not device-clean fails loudly on the CPU:
``np.asarray`` of a device array raises, a host array (NumPy's, or array-api-strict's
on its CPU device) mixed into a device computation raises, and the standard's indexing
and promotion rules are enforced.  Code that passes here runs on CuPy, torch and JAX
alike.  It is a test backend: it is not advertised to users.

Like CuPy, the namespace's creation functions place arrays on the backend's device
(``xp.zeros(3)`` lands on device1).  The special functions and the random normals are
the backend's own internals: they read and write the NumPy memory behind the device
arrays, as CuPy's run on the GPU, and their streams are NumPy's, so every number agrees
with the NumPy backend.  Everything else that leaves the device goes through
:meth:`Backend.to_numpy` / :meth:`Backend.scalar`, which count the bytes.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from ._base import Backend, _seed_int, np_dtype
from ._foreign import _advice

__all__ = ["StrictBackend", "DEVICE_NAME"]

#: the simulated device
DEVICE_NAME = "device1"

_CREATION = ("arange", "empty", "eye", "full", "linspace", "ones", "zeros")


class _DeviceNamespace:
    """array-api-strict with creation functions defaulting to one device (as CuPy's do)."""

    def __init__(self, xs, device):
        from array_api_strict._array_object import Array  # optional (the test extra): loaded with the backend

        self._xs, self._Array = xs, Array
        self._device = device
        for name in _CREATION:
            setattr(self, name, self._on_device(getattr(xs, name)))

    def _on_device(self, fn):
        device = self._device

        def create(*args, **kwargs):
            kwargs.setdefault("device", device)
            return fn(*args, **kwargs)

        create.__name__ = fn.__name__
        return create

    def asarray(self, obj, /, *, dtype=None, device=None, copy=None):
        # an array keeps its device (a host array stays host, and mixing it later raises);
        # host data (lists, floats, NumPy arrays) is uploaded to the device
        if device is None and not isinstance(obj, self._Array):
            device = self._device
        return self._xs.asarray(obj, dtype=dtype, device=device, copy=copy)

    def __getattr__(self, name):
        return getattr(self._xs, name)


class _DeviceRandom:
    """NumPy's default generator writing device arrays (the strict device's cuRAND)."""

    def __init__(self, bk, seed):
        self._bk = bk
        self._rng = np.random.default_rng(_seed_int(seed))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        if out is not None:
            self._rng.standard_normal(out=self._bk.host_view(out), dtype=np_dtype(dtype).type)
            return out
        return self._bk._wrap(self._rng.standard_normal(size, dtype=np_dtype(dtype).type))


class StrictBackend(Backend):
    """array-api-strict on a simulated non-host device (see module doc)."""

    name = "strict"
    host = False
    host_normals = True  # the blocked host stream, written into device memory: NumPy's numbers
    sparse_gathers = False
    block_elems = 1 << 17
    compiled_kernels = None

    def __init__(self):
        # optional (the test extra): needed only when the strict backend is made
        import array_api_strict as xs
        from array_api_strict._array_object import Array

        self._xs, self._Array = xs, Array
        dev = xs.Device(DEVICE_NAME)
        super().__init__(_DeviceNamespace(xs, dev), dev)

    def owns(self, x) -> bool:
        return isinstance(x, self._Array) and x.device == self.device

    def asarray(self, x, dtype=None):
        if isinstance(x, self._Array):
            if x.device != self.device:
                raise ValueError(f"an array on {x.device} was given to the strict backend (device {self.device})")
            return x if dtype is None else self.xp.astype(x, self.dtype(dtype))
        if type(x).__module__.startswith(("cupy", "torch", "jax")):
            raise TypeError(f"a {type(x).__module__} array cannot be placed on the strict device")
        arr = np.asarray(x, dtype=None if dtype is None else np_dtype(dtype))
        return self._wrap(np.array(arr, copy=True))

    def _wrap(self, a: np.ndarray):
        return self._xs.asarray(a, device=self.device)

    def host_view(self, out) -> np.ndarray:
        return out._array  # the device memory, as the backend's own kernels see it

    def to_numpy(self, x) -> np.ndarray:
        if not isinstance(x, self._Array):
            return np.asarray(x)
        out = np.array(x._array, copy=True)
        with self._lock:
            self.bytes_to_host += int(out.nbytes)
        return out

    def _map(self, fn, x, out=None):
        if out is None:
            return self._wrap(np.asarray(fn(self.host_view(x))))
        fn(self.host_view(x), out=self.host_view(out))
        return out

    def ndtr(self, x):
        return self._map(scipy.special.ndtr, x)

    def ndtri(self, p):
        return self._map(scipy.special.ndtri, p)

    def erf(self, x, out=None):
        return self._map(scipy.special.erf, x, out)

    def rng(self, seed=None):
        return _DeviceRandom(self, seed)

    def _check_device(self, dev, lib, what):
        pass  # DLPack calls device1 the CPU; the array's own device is checked in from_foreign

    def from_foreign(self, x, *, dtype=None, what: str = "the array"):
        if not self.owns(x):
            where = getattr(x, "device", "the host")
            raise ValueError(
                f"{what} is a {type(x).__module__}.{type(x).__qualname__} on {where} but the run uses the "
                f"strict backend's {self.device}: compute it on the latents' device (xp.asarray(..., "
                f"device=c.device)), or run with backend='numpy' ({_advice('numpy', 'cpu')})"
            )
        return super().from_foreign(x, dtype=dtype, what=what)

