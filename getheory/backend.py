"""Array backends: the one seam through which NumPy and CuPy run the same code.

getheory's array code is written once against an *array namespace* ``xp``
(the Python array API standard, via ``array-api-compat``), plus the few
special functions and random-number calls the standard does not cover:
the normal CDF ``ndtr``, its inverse ``ndtri``, and a seeded normal
generator.  Every numerical module obtains a :class:`Backend` either by name
(``get_backend("numpy")``, ``get_backend("cupy")``) or from its input arrays
(:func:`backend_of`), and then uses only ``bk.xp`` and the methods here.

Results cross the public API boundary as host floats or NumPy arrays
(:meth:`Backend.to_numpy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Backend", "get_backend", "backend_of", "available_backends"]

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
