"""Validated inputs of the distance estimators: samples, mean and covariance (THEORY §4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_cov
from ..backend import Backend, backend_of


@dataclass
class _Prepared:
    """Validated inputs: device samples and host mean / covariance (PSD-clipped)."""

    bk: Backend
    z: object  # (n, d) float64 on the backend
    n: int
    d: int
    mean: np.ndarray
    cov: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray
    clipped: int


def _as_samples(samples, name="samples", min_n=2):
    bk = backend_of(samples)
    xp = bk.xp
    try:
        z = bk.asarray(samples)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape (n, d): {exc}") from None
    if z.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n, d) (one row per sample, one column per local "
            f"field); got shape {tuple(z.shape)}. For one-dimensional data use {name}[:, None] or "
            "w1_to_normal."
        )
    if not (xp.isdtype(z.dtype, "real floating") or xp.isdtype(z.dtype, "integral")):
        raise ValueError(f"{name} must hold real numbers; got dtype {z.dtype}")
    z = xp.astype(z, xp.float64)
    n, d = int(z.shape[0]), int(z.shape[1])
    if d < 1:
        raise ValueError(f"{name} has no columns (shape {tuple(z.shape)}); pass an (n, d) array with d >= 1")
    if n < min_n:
        raise ValueError(f"{name} has n = {n} rows; at least {min_n} samples are needed here")
    if not bool(xp.all(xp.isfinite(z))):
        raise ValueError(f"{name} contains NaN or infinite values; remove or fix those rows first")
    return bk, z, n, d


def _prepare(samples, mean, cov, *, min_n=2) -> _Prepared:
    bk, z, n, d = _as_samples(samples, min_n=min_n)
    try:
        m = np.asarray(bk.to_numpy(mean) if mean is not None else 0.0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"mean must be a numeric vector of length d: {exc}") from None
    if m.ndim == 0:
        m = np.full(d, float(m))
    if m.shape != (d,):
        raise ValueError(
            f"mean has shape {m.shape} but the samples have d = {d} columns; pass a length-{d} vector "
            "(the mean of the Gaussian match)"
        )
    if not np.all(np.isfinite(m)):
        raise ValueError("mean contains NaN or infinite values")
    C, w, V, clipped = check_cov(bk.to_numpy(cov) if cov is not None else cov, d)
    return _Prepared(bk, z, n, d, m, C, w, V, clipped)
