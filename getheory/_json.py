"""One converter from NumPy-laden results to JSON-ready plain Python.

Used by every ``to_dict()``, the sweep database, the reports and the numerical
proofs, so that all JSON getheory writes follows one rule: arrays become lists,
NumPy scalars become Python scalars, mpmath numbers become floats, non-finite
floats become ``None`` (strict JSON has no NaN: a missing number is ``null``),
objects with a ``to_dict()`` are converted through it, other dataclass instances
(the frozen options) field by field.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["to_plain"]


def to_plain(x):
    """Convert NumPy scalars/arrays (and nested containers) to plain Python types."""
    if isinstance(x, dict):
        return {str(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_plain(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.generic):
        return x.item()
    if type(x).__module__.startswith("mpmath"):  # mpf from the proofs' references
        return to_plain(float(x))
    if hasattr(x, "to_dict"):
        return x.to_dict()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):  # options dataclasses
        return to_plain(dataclasses.asdict(x))
    return x
