"""Input checks shared by the dynamics modules (docs/theory.md §7).
"""

from __future__ import annotations


import numpy as np

from .._validation import positive_float

_G_NAMES = ("erf2", "linear", "relu")
_ODE_G = ("erf2", "linear")


def _check_g(g, *, ode=False):
    if not isinstance(g, str) or g.lower() not in _G_NAMES:
        raise ValueError(f"unknown network activation g={g!r}: choose one of {', '.join(_G_NAMES)}")
    g = g.lower()
    if ode and g not in _ODE_G:
        raise ValueError(
            f"the ODEs need closed-form Gaussian integrals (docs/theory.md §7.4), available for "
            f"{' and '.join(_ODE_G)} only, not g={g!r}; SGD runs with relu, the ODEs do not"
        )
    return g


def _check_eta(eta):
    return positive_float(eta, "learning rate eta")


def _weights(W, name, cols=None):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (units, inputs), got shape {W.shape}")
    if W.shape[0] == 0:
        raise ValueError(f"{name} has no units (shape {W.shape}): K and M must be >= 1")
    if cols is not None and W.shape[1] != cols:
        raise ValueError(f"{name} has {W.shape[1]} columns, expected {cols} (shape {W.shape})")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return W


def _vector(v, name, n):
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries (one per unit), got {v.shape[0]}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return v
