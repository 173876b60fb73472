"""Input checks shared by the public functions (clear messages, one place).

Each helper raises :class:`ValueError` (or :class:`TypeError`) naming the
argument, what was wrong with it, and how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["positive_int", "finite_matrix", "check_finite"]


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_finite(x, name: str, xp=None) -> None:
    """Raise if ``x`` holds NaN or infinity."""
    if xp is None:
        ok = bool(np.all(np.isfinite(np.asarray(x))))
    else:
        ok = bool(xp.all(xp.isfinite(x)))
    if not ok:
        raise ValueError(f"{name} contains NaN or infinite values; clean the input first")


def finite_matrix(x, name: str, shape=None, *, dtype=np.float64) -> np.ndarray:
    """Return a finite 2-D float NumPy array, checking its shape.

    ``shape`` may contain ``None`` for a free dimension.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric 2-D array: {exc}") from None
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
