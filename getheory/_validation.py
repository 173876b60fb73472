"""Input checks shared by the public functions (clear messages, one place).

Each helper raises :class:`ValueError` naming the argument, what was wrong with it, and
how to fix it.  A value of the wrong *type* (a string where an integer is needed) raises
:class:`InputTypeError`, which is both a :class:`TypeError` and a :class:`ValueError`, so
callers may catch either.

One tolerance for covariances: a symmetric matrix whose smallest eigenvalue is above
``-PSD_RTOL · λ_max`` is positive semi-definite up to rounding (those eigenvalues are
clipped to 0 and counted); below that it is refused.  Every API that takes a covariance
(the Gaussian match, the distance estimators, the floor) goes through :func:`check_cov`,
so the same Σ cannot pass one and fail another.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import tempfile
from contextlib import contextmanager

import numpy as np

__all__ = [
    "InputTypeError",
    "UserCodeError",
    "user_code",
    "check_output_dir",
    "check_output_file",
    "EXCERPT_CHARS",
    "LINE_CHARS",
    "excerpt",
    "PSD_RTOL",
    "positive_int",
    "positive_int_value",
    "check_int",
    "check_level",
    "check_p",
    "check_cov",
    "finite_matrix",
    "check_finite",
    "SAMPLE_DTYPES",
    "CHECK_DTYPE",
    "check_dtype",
    "check_seed",
]

#: relative tolerance below which negative eigenvalues of a covariance are rounding
PSD_RTOL = 1e-10
#: relative tolerance of the symmetry check of a covariance
SYM_RTOL = 1e-8

#: the dtypes samples may be drawn in: products and σ run in it, every sum over rows runs in float64
SAMPLE_DTYPES = ("float32", "float64")
#: the samples' dtype of a check (``CheckOptions.dtype``, ``getheory check --dtype``, a sweep's
#: ``[run] dtype``); the low-level samplers (``sample_fields``, ``stream_fields``,
#: ``monte_carlo_moments``) keep float64.  Why float32: docs/guide/gpus.md, "Backends, precision and memory".
CHECK_DTYPE = "float32"

#: the most characters of foreign text (a file's bytes, another library's message) that a message quotes
EXCERPT_CHARS = 200
#: the longest error line a command prints: getheory's own messages fit; a longer one is cut by
#: :func:`excerpt` (foreign text that reached it unquoted)
LINE_CHARS = 1500

#: why a narrower float is refused, by its name
_NARROW_WHY = {"float16": "float16 rounds each sample by up to 5e-4 of its size, as much as the d_MS measured",
               "bfloat16": "bfloat16 rounds each sample by up to 4e-3 of its size, more than the d_MS measured"}


class InputTypeError(TypeError, ValueError):
    """A value of the wrong type (both a TypeError and a ValueError)."""


class UserCodeError(RuntimeError, ValueError):
    """User code (a generator function, the module that holds it) raised.

    Both a :class:`RuntimeError` and a :class:`ValueError`; the user's own exception is
    its ``__cause__``, so its traceback is kept (``getheory --traceback`` prints it).
    """


@contextmanager
def user_code(what: str, during: str = ""):
    """Run user code (``with user_code("user generator 'm:f'"): ...``); what it raises becomes a
    :class:`UserCodeError` naming ``what``, with the user's exception as its cause.

    getheory's own exception classes pass unchanged: a :class:`UserCodeError` of nested user
    code, or a time-budget error raised inside the call by a deadline's timer.
    """
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] == "getheory":
            raise
        raise UserCodeError(f"{what} raised {type(exc).__name__}{during}: {excerpt(exc)}") from exc


def excerpt(text, limit: int = EXCERPT_CHARS) -> str:
    """Foreign text as a message may quote it: one line, printable, at most about ``limit`` characters.

    ``text`` is a string, bytes (shown escaped) or an exception (its message, else its type's name).
    Control and other unprintable characters become ``?``, runs of white space one space, and a
    longer text is cut, saying how long it was: a damaged file's bytes never flood a message.
    """
    if isinstance(text, BaseException):
        text = str(text) or type(text).__name__
    elif isinstance(text, (bytes, bytearray, memoryview)):
        text = repr(bytes(text))[2:-1]
    text = " ".join("".join(c if c.isprintable() or c.isspace() else "?" for c in str(text)).split())
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text):,} characters in all)"
    return text


def _cannot_write_in(folder: str) -> str | None:
    """Why no file can be made in the existing folder ``folder`` (None: one can). A real probe, not
    :func:`os.access`, so that a read-only file system is caught as it is for root."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".getheory-write-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or excerpt(exc)
    os.close(fd)
    os.unlink(probe)
    return None


def _existing_parent(path: str) -> str:
    """The nearest folder above ``path`` (or ``path`` itself) that exists."""
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    return parent


def check_output_dir(path, name: str = "--out") -> str:
    """``path`` as an output folder that exists or can be created, or a :class:`ValueError`.

    Refused: an existing file, a path under a file, a folder where no file can be written (no
    permission, a read-only file system).  Checked before any work, so nothing is computed for a
    folder that cannot be written.  ``name`` (the option, or "" for none) starts the message.
    """
    path = os.fspath(path)
    what = f"{name} {path!r}".strip()
    if not path:
        raise ValueError(f"{name or 'the output folder'} is empty: give a folder path")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{what} is an existing file, not a folder: give a folder path (it is created if missing)")
    parent = _existing_parent(path)
    if not os.path.isdir(parent):
        raise ValueError(f"{what} cannot be created: {parent!r} is a file, not a folder")
    why = _cannot_write_in(parent)
    if why is not None:
        raise ValueError(f"{what} is not writable ({why} in {parent!r}): give a folder you can write to")
    return path


def check_output_file(path, name: str = "") -> str:
    """``path`` as a file that can be written (created, or replaced whole), or a :class:`ValueError`.

    Refused before any work: an empty path, an existing folder, a folder that does not exist (it
    is not created: a typo should not make folders), a path under a file, a folder where no file
    can be written.  ``name`` (the option, or "" for none) starts the message.
    """
    path = os.fspath(path)
    what = f"{name} {path!r}".strip()
    if not path:
        raise ValueError(f"{name or 'the output file'} is empty: give a file path")
    if os.path.isdir(path):
        raise ValueError(f"{what} is an existing folder, not a file: give a file path, e.g. "
                         f"{os.path.join(path, 'check.json')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        parent = _existing_parent(folder)
        if not os.path.isdir(parent):
            raise ValueError(f"{what} cannot be written: {parent!r} is a file, not a folder")
        raise ValueError(f"{what} cannot be written: its folder {folder!r} does not exist; create it first "
                         "or give a path in an existing folder")
    why = _cannot_write_in(folder)
    if why is not None:
        raise ValueError(f"{what} cannot be written ({why} in {folder!r}): give a path in a folder you can "
                         "write to")
    return path


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise a clear error.

    Integral floats (``1e6``) are accepted; booleans and fractional numbers are not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InputTypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def positive_float(value, name: str) -> float:
    """Return ``value`` as a finite float > 0 or raise: TypeError for a non-number, ValueError otherwise."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_int(value, name: str, minimum: int) -> int:
    """:func:`positive_int` with an explicit minimum (which may be 0)."""
    return positive_int(value, name, minimum=minimum)


def check_level(level, name: str = "confidence") -> float:
    """A probability strictly between 0 and 1 (a confidence or a test level)."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name} must be a number in (0, 1); got {level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1 (e.g. 0.95); got {level}")
    return level


def check_p(p) -> int:
    """The order of the sliced Wasserstein distance: 1 (default, THEORY §4) or 2."""
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(
            f"p must be 1 (max-sliced W1, the default of THEORY §4) or 2 (max-sliced W2); got {p!r}"
        )
    return int(p)



def check_cov(cov, d: int | None = None, name: str = "cov"):
    """Validate a covariance: square (d, d), finite, symmetric, PSD up to :data:`PSD_RTOL`.

    Returns ``(C, eigvals, eigvecs, n_clipped)``: the symmetrised matrix with eigenvalues
    in ``[-PSD_RTOL λ_max, 0)`` clipped to 0 (docs/theory.md §2: rounding, said so), its
    eigen-decomposition and the number of clipped eigenvalues.
    """
    try:
        C = np.asarray(cov, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{name} must be a numeric square matrix: {exc}") from None
    if C.ndim == 0 and d == 1:
        C = C.reshape(1, 1)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {C.shape}")
    if d is not None and C.shape != (d, d):
        raise ValueError(
            f"{name} has shape {C.shape} but the samples have d = {d} columns; pass the ({d}, {d}) "
            "covariance of the Gaussian match (same column order as the samples)"
        )
    if not np.all(np.isfinite(C)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = float(np.max(np.abs(C))) if C.size else 0.0
    asym = float(np.max(np.abs(C - C.T))) if C.size else 0.0
    if asym > SYM_RTOL * max(scale, 1e-300):
        raise ValueError(
            f"{name} is not symmetric (max |C - C^T| = {asym:.3g} vs max |C| = {scale:.3g}); "
            "pass a symmetric covariance, e.g. (C + C.T) / 2 if the asymmetry is rounding"
        )
    C = 0.5 * (C + C.T)
    w, V = np.linalg.eigh(C)
    tol = PSD_RTOL * max(float(np.max(np.abs(w))), 1e-300)
    if w[0] < -tol:
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {w[0]:.6g} (largest "
            f"{w[-1]:.6g}); negative eigenvalues beyond {PSD_RTOL:g} relative are not rounding. Check how "
            "the covariance was computed"
        )
    clipped = int(np.sum(w < 0))
    if clipped:
        w = np.clip(w, 0.0, None)
        C = (V * w) @ V.T
        C = 0.5 * (C + C.T)
    return C, w, V, clipped


def check_finite(x, name: str, xp=None) -> None:
    """Raise if ``x`` holds NaN or infinity."""
    if xp is None:
        ok = bool(np.all(np.isfinite(np.asarray(x))))
    else:
        ok = bool(xp.all(xp.isfinite(x)))
    if not ok:
        raise ValueError(f"{name} contains NaN or infinite values; clean the input first")


def check_dtype(dtype, name: str = "dtype") -> str:
    """The NumPy name of a samples' dtype, one of :data:`SAMPLE_DTYPES` (a name, a NumPy type or dtype).

    The message names the value as ``name`` (none: it starts with "must be").

    Raises
    ------
    ValueError
        Naming the choices, for float16, bfloat16, an integer dtype or an unknown name.
    """
    got = dtype
    if dtype is not None:  # np.dtype(None) is float64: None is refused, not read as a default
        with contextlib.suppress(TypeError):
            got = np.dtype(dtype).name
    if got in SAMPLE_DTYPES:
        return got
    why = _NARROW_WHY.get(got, "")
    raise ValueError(f"{name + ' ' if name else ''}must be one of {', '.join(map(repr, SAMPLE_DTYPES))}; got {got!r}"
                     + (f" ({why})" if why else ""))


def check_seed(seed, name: str = "seed"):
    """``seed`` unchanged if it can seed a run: None, an integer, a ``numpy.random.SeedSequence`` or a
    ``numpy.random.Generator`` (:func:`getheory._seeds.seedseq`); else :class:`InputTypeError`."""
    if seed is None or isinstance(seed, (np.random.SeedSequence, np.random.Generator)):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputTypeError(f"{name} must be an int, None or numpy.random.SeedSequence; got {seed!r}")
    return seed


def finite_matrix(x, name: str, shape=None, *, dtype=np.float64) -> np.ndarray:
    """Return a finite 2-D float NumPy array, checking its shape.

    ``shape`` may contain ``None`` for a free dimension.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{name} must be a numeric 2-D array: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} has shape {arr.shape}, expected {tuple('*' if w is None else w for w in shape)}"
                    f" (axis {axis} should be {want})"
                )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    check_finite(arr, name)
    return arr


def positive_int_value(x) -> int:
    """A strictly positive integer from a command-line text or a TOML value (an estimator setting's
    ``convert``, :class:`getheory.distances.Setting`); ValueError says what is wrong."""
    try:
        v = int(x)
    except (TypeError, ValueError):
        raise ValueError(f"expected an integer, got {x!r}") from None
    if isinstance(x, bool) or (isinstance(x, float) and x != v):
        raise ValueError(f"expected an integer, got {x!r}")
    if v <= 0:
        raise ValueError(f"must be positive, got {x}")
    return v
