"""The convex losses of full-batch ERM, each one object with its value, proximal map and kinks
(docs/theory.md §10.1).

For a loss ℓ(y, z) and V > 0 the proximal map is

    prox(ω; y, V) = argmin_z [(z − ω)²/(2V) + ℓ(y, z)],

which the channel of the fixed point (§10.2) integrates over ω.  Each loss carries its prox,
the prox's derivative in ω (1/(1 + V ℓ''), or its piecewise value for the hinge) and the ω
at which the prox has a kink (so that the channel's quadrature splits there).

* square ½(y − z)²: prox = (ω + V y)/(1 + V), closed form;
* hinge max(0, 1 − y z): prox = ω (y ω ≥ 1), y (1 − V < y ω < 1), ω + V y (y ω ≤ 1 − V);
* logistic log(1 + e^{−y z}): the root of z − ω − V y s(−y z) = 0 (s the logistic function),
  on every node at once: bisection inside the bracket [ω − V, ω + V] that |ℓ'| <= 1 gives,
  then Newton's method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["LOSSES", "Loss", "get_loss"]

#: the losses erm_theory and the fits know
LOSSES = ("square", "logistic", "hinge")
#: relative Newton step below which the logistic prox's iteration stops (quadratic convergence: the
#: error after that step is of its square)
_PROX_TOL = 1e-13
#: bisection steps of the logistic prox before Newton's (the bracket shrinks by 2^-40)
_BISECT = 40


@dataclass(frozen=True)
class Loss:
    """A convex loss ℓ(y, z) with its proximal map (§10.1).

    ``binary``: whether it needs labels y ∈ {−1, +1} (hinge, logistic).
    """

    name: str
    binary: bool

    def value(self, y, z):
        """ℓ(y, z), elementwise."""
        y, z = np.asarray(y, float), np.asarray(z, float)
        if self.name == "square":
            return 0.5 * (y - z) ** 2
        if self.name == "hinge":
            return np.maximum(0.0, 1.0 - y * z)
        return np.logaddexp(0.0, -y * z)

    def prox(self, y, omega, V):
        """prox(ω; y, V) and its derivative in ω, elementwise (arrays of a common shape)."""
        y, omega = np.broadcast_arrays(np.asarray(y, float), np.asarray(omega, float))
        if self.name == "square":
            return (omega + V * y) / (1.0 + V), np.full(omega.shape, 1.0 / (1.0 + V))
        if self.name == "hinge":
            u = y * omega
            z = np.where(u >= 1.0, omega, np.where(u <= 1.0 - V, omega + V * y, y))
            return z, np.where((u >= 1.0) | (u <= 1.0 - V), 1.0, 0.0)
        return _logistic_prox(y, omega, V)

    def kinks(self, y: float, V: float) -> tuple:
        """The ω at which prox(·; y, V) is not smooth (where the channel's quadrature splits)."""
        if self.name == "hinge":
            return (y * 1.0, y * (1.0 - V))
        return ()


def _logistic_prox(y, omega, V):
    """The logistic prox, the root of h(z) = z − ω − V y s(−y z) (increasing: h' = 1 + V s(yz)s(−yz) >= 1):
    bisection on the bracket [ω − V, ω + V] down to 2V·2^-_BISECT, then Newton steps (quadratic
    from there); returns (z, 1/(1 + V ℓ''(z)))."""
    lo, hi = omega - V, omega + V  # |ℓ'| <= 1: the root lies within V of ω
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        up = mid - omega - V * y * expit(-y * mid) > 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    z = 0.5 * (lo + hi)
    for _ in range(8):
        s = expit(-y * z)
        step = (z - omega - V * y * s) / (1.0 + V * s * (1.0 - s))
        z = z - step
        if np.all(np.abs(step) <= _PROX_TOL * (1.0 + np.abs(z))):
            break
    else:
        raise RuntimeError(f"the logistic proximal map did not converge (V = {V:g}, |ω| up to "
                           f"{float(np.max(np.abs(omega))):g})")
    s = expit(-y * z)
    return z, 1.0 / (1.0 + V * s * (1.0 - s))


def get_loss(name) -> Loss:
    """The loss called ``name`` (one of :data:`LOSSES`); a clear error naming the choices otherwise."""
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
    return Loss(str(name), binary=name != "square")
