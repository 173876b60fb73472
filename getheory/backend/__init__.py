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

from ._base import Backend, NumpyBackend
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
]

#: backend classes by name; "strict" is a test backend, not offered on the command line
_CLASSES = {"numpy": NumpyBackend, "cupy": CupyBackend, "strict": StrictBackend}

#: the backends a user chooses from (command-line choices, messages)
USER_BACKENDS = ("numpy", "cupy")
#: every name get_backend accepts (specs and options validate against it)
BACKEND_NAMES = tuple(_CLASSES)

_CACHE: dict[str, Backend] = {}


def available_backends() -> list[str]:
    """Names of the user backends that can run here (``numpy`` always; ``cupy`` with a GPU)."""
    out = ["numpy"]
    try:
        import cupy

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
    return get_backend("numpy")
