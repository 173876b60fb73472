"""Input checks shared by the dynamics modules (docs/theory.md §7).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_dtype, positive_float
from ..activations import NETWORK_ACTIVATIONS, get_network_activation

#: the network activations whose Gaussian integrals have closed forms, so that the ODEs run (§7.4)
_ODE_G = tuple(g for g in NETWORK_ACTIVATIONS if get_network_activation(g).has_integrals)


def _check_g(g, *, ode=False):
    """The name of the network activation ``g`` (docs/theory.md §7.1), checked by the activation registry;
    with ``ode=True`` it must have closed-form Gaussian integrals (§7.4)."""
    return get_network_activation(g, ode=ode).name


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


def check_inputs_dtype(dtype, bk=None) -> str:
    """The SGD inputs' dtype, ``"float64"`` or ``"float32"`` (docs/theory.md §7.8); with a backend
    ``bk``, refused where its kernel reads float64 inputs only (the CUDA kernel)."""
    dtype = check_dtype(dtype, "dtype of the SGD inputs")
    if bk is not None and dtype != "float64" and bk.compiled_kernels == "cuda":
        raise ValueError(f"float32 SGD inputs need the CPU kernel or the array-API step; backend {bk.name!r}'s "
                         "CUDA kernel reads float64 inputs: use dtype='float64' (--dtype float64) there")
    return dtype
