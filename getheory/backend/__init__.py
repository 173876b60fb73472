"""Array backends: the one seam through which NumPy, CuPy and the simulated device run the same code.

getheory's array code is written once against an array namespace ``bk.xp`` (the Python
array API standard) plus the few methods of :class:`Backend` the standard lacks.  A
backend is an object, one class per array library, in the spirit of POT's
``ot.backend``: :class:`NumpyBackend`, :class:`CupyBackend` and :class:`StrictBackend`
(array-api-strict on a simulated device, a stand-in GPU for tests).  A workflow resolves
its backend once, at its entry, with :func:`get_backend` (a name or an instance), and
passes the object down; code below never tests a backend's name, only its methods and
capability attributes.

Results cross the public API boundary as host floats or NumPy arrays through
:meth:`Backend.to_numpy` and :meth:`Backend.scalar`, the one door off the device, which
counts the bytes.  Arrays of other libraries (torch, JAX, CuPy, array-api-strict,
anything speaking DLPack) enter through :meth:`Backend.from_foreign`.
"""

from __future__ import annotations

from ._base import _CLASSES, USER_BACKENDS, Backend, NumpyBackend, available_backends, get_backend, host_backend
from ._cupy import CupyBackend
from ._foreign import array_library, check_foreign
from ._strict import StrictBackend

__all__ = [
    "Backend",
    "CupyBackend",
    "NumpyBackend",
    "StrictBackend",
    "BACKEND_NAMES",
    "USER_BACKENDS",
    "array_library",
    "available_backends",
    "backend_of",
    "check_foreign",
    "get_backend",
    "host_backend",
]

#: every name get_backend accepts (specs and options validate against it): "numpy", "cupy", "strict"
BACKEND_NAMES = tuple(_CLASSES)


def backend_of(*arrays) -> Backend:
    """The backend whose device holds the given arrays (NumPy for host arrays and floats)."""
    for a in arrays:
        if a is None:
            continue
        lib = array_library(a)
        if lib in ("cupy", "array_api_strict"):
            bk = get_backend("cupy" if lib == "cupy" else "strict")
            if bk.owns(a):
                return bk
    return host_backend()
