"""Input checks of the activation functions: scales, orders, tolerances (THEORY §2, §3)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..backend import backend_of


def _check_scale(scale) -> float:
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"scale must be a real number, got {scale!r}") from None
    if not math.isfinite(s):
        raise ValueError(f"scale must be finite, got {s}")
    if s < 0:
        raise ValueError(f"scale must be >= 0 (it is a standard deviation), got {s}")
    return s


def _check_scales(scales, name: str = "scales") -> np.ndarray:
    try:
        s = np.asarray(backend_of(scales).to_numpy(scales), dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers") from None
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or infinite values; scales must be finite")
    if np.any(s < 0):
        raise ValueError(f"{name} must be >= 0 (standard deviations), got min {s.min():.3g}")
    return s


def _check_order(order, name: str = "order") -> int:
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        if isinstance(order, float) and order.is_integer():
            order = int(order)
        else:
            raise TypeError(f"{name} must be a non-negative integer, got {order!r}")
    order = int(order)
    if order < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {order}")
    return order


def _check_tol(tol) -> float:
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive finite number, got {tol}")
    return tol
