"""The built-in activations: one object each, in one registry (THEORY §2, §3; docs/theory.md §7.1).

Each built-in is an instance of an :class:`~getheory.activations.Activation` subclass
that carries its array function (NumPy and CuPy, through
:func:`getheory.backend.backend_of`), its in-place fast path, its mpmath form, and its
closed forms as methods.  The closed forms all follow from E[f(ζ) He_k(ζ)] = E[f^{(k)}(ζ)]
(Gaussian integration by parts, THEORY §3); a built-in without them (tanh) takes the
numerical routes of the coefficient functions, like a user callable.  Those that can be
the network's g (erf2, linear, relu) also mix in their
:class:`~getheory.activations._network.NetworkActivation` facet.

Adding a built-in is one entry in :func:`register` below (and its test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..backend import backend_of
from ._base import _REGISTRY, Activation, register
from ._network import Erf2Network, LinearNetwork, ReluNetwork
from ._quadrature import _mp

_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_PI = 2.0 / math.pi


# ---------------------------------------------------------------------------
# Array functions and in-place forms
# ---------------------------------------------------------------------------
def _sign(x):
    xp = backend_of(x).xp
    return xp.sign(xp.asarray(x))


def _erf2(x):
    bk = backend_of(x)
    return bk.erf(bk.xp.asarray(x) / _SQRT2)


def _erf(x):
    bk = backend_of(x)
    return bk.erf(bk.xp.asarray(x))


def _tanh(x):
    xp = backend_of(x).xp
    return xp.tanh(xp.asarray(x))


def _relu(x):
    xp = backend_of(x).xp
    x = xp.asarray(x)
    return xp.where(x > 0, x, xp.zeros_like(x))


def _linear(x):
    xp = backend_of(x).xp
    return xp.asarray(x)


def _softsign(x):
    xp = backend_of(x).xp
    x = xp.asarray(x)
    return x / (1 + xp.abs(x))


def _sign_(h, bk):
    bk.copysign_(h)  # sign(h) but at h = ±0 (probability 0 for continuous h)


def _relu_(h, bk):
    bk.maximum0_(h)


def _tanh_(h, bk):
    bk.tanh_(h)


def _erf_(h, bk):
    bk.erf(h, out=h)


def _erf2_(h, bk):
    bk.scale_(h, 1.0 / _SQRT2)
    bk.erf(h, out=h)


def _linear_(h, bk):
    pass


# ---------------------------------------------------------------------------
# The classes with closed forms
# ---------------------------------------------------------------------------
def _sign_base(order: int) -> np.ndarray:
    """b_k = √(2/π) He_{k-1}(0)/√k! (odd k), 0 (even k): ĉ_k of sign (THEORY §3)."""
    b = np.zeros(order + 1)
    if order >= 1:
        b[1] = _SQRT_2_OVER_PI
    for k in range(1, order - 1, 2):
        # He_{k+1}(0)/He_{k-1}(0) = -k  and  √(k!/(k+2)!) = 1/√((k+1)(k+2))
        b[k + 2] = -b[k] * k / math.sqrt((k + 1) * (k + 2))
    return b


def _relu_base(order: int) -> np.ndarray:
    """r_k = φ(0) He_{k-2}(0)/√k! for even k >= 2, 0 otherwise."""
    r = np.zeros(order + 1)
    if order >= 2:
        r[2] = _INV_SQRT_2PI / _SQRT2
    for k in range(2, order - 1, 2):
        # He_k(0)/He_{k-2}(0) = -(k-1)
        r[k + 2] = -r[k] * (k - 1) / math.sqrt((k + 1) * (k + 2))
    return r


class SignActivation(Activation):
    """σ = sign (THEORY §2, §3).

    μ_k = √(2/π) He_{k-1}(0) for odd k, 0 for even k, independent of s > 0, with
    He_{2m}(0) = (-1)^m (2m-1)!!; E sign(sζ)² = 1, E sign'(sζ) = 2φ(0)/s = √(2/π)/s
    (distributional; +inf at s = 0); Ω_ij = (2/π) arcsin ρ_ij.
    """

    has_closed_forms: ClassVar[bool] = True

    def normalized_closed(self, s, order):
        out = np.broadcast_to(_sign_base(order), (s.shape[0], order + 1)).copy()
        out[s == 0] = 0.0  # sign(0·ζ) = 0
        return out

    def moments_closed(self, s):
        deriv = _SQRT_2_OVER_PI / s  # 2φ(0)/s, +inf at s = 0 (THEORY §2)
        return {"mean": np.zeros_like(s), "second": np.where(s > 0, 1.0, 0.0), "mean_derivative": deriv}

    def omega_closed(self, C, rho, si, sj, xp):
        return _TWO_OVER_PI * xp.asin(rho)


@dataclass(frozen=True, repr=False, eq=False)
class ErfActivation(Activation):
    """σ(x) = erf(√(a/2) x): erf2 = erf(x/√2) = 2Φ(x) − 1 (a = 1) and erf (a = 2) (THEORY §2, §3).

    With u = √a s and t = u/√(1+u²): μ_k(s) = √(2/π) He_{k-1}(0) t^k (odd k), 0 (even k)
    (σ(sζ) = erf2(uζ)); E σ(sζ)² = (2/π) arcsin(u²/(1+u²)); E σ'(sζ) = μ1(s)/s =
    √(2/π) √a/√(1+u²); Ω_ij = (2/π) arcsin(a C_ij/√((1+a s_i²)(1+a s_j²))).
    """

    a: float = field(default=1.0, kw_only=True)

    has_closed_forms: ClassVar[bool] = True

    def normalized_closed(self, s, order):
        u = math.sqrt(self.a) * s
        t = u / np.sqrt(1.0 + u * u)
        k = np.arange(order + 1)
        with np.errstate(under="ignore"):
            return _sign_base(order)[None, :] * t[:, None] ** k[None, :]

    def moments_closed(self, s):
        u = math.sqrt(self.a) * s
        second = _TWO_OVER_PI * np.arcsin(u * u / (1.0 + u * u))
        # E σ'(sζ) = μ1(s)/s = √(2/π) (u/s)/√(1+u²), u/s = √a
        deriv = _SQRT_2_OVER_PI * math.sqrt(self.a) / np.sqrt(1.0 + u * u)
        return {"mean": np.zeros_like(s), "second": second, "mean_derivative": deriv}

    def omega_closed(self, C, rho, si, sj, xp):
        a = self.a
        arg = a * C / xp.sqrt((1.0 + a * si * si) * (1.0 + a * sj * sj))
        return _TWO_OVER_PI * xp.asin(xp.clip(arg, -1.0, 1.0))


class Erf2Activation(Erf2Network, ErfActivation):
    """σ = g = erf(x/√2): the generator's closed forms of :class:`ErfActivation` (a = 1) and the
    network's g with all its Gaussian integrals (:class:`~getheory.activations._network.Erf2Network`)."""


class ReluActivation(ReluNetwork, Activation):
    """σ = g = relu(x) = max(x, 0) = x/2 + |x|/2 (THEORY §2, §3; docs/theory.md §7.1).

    μ_0 = s/√(2π), μ_1 = s/2, μ_k = s φ(0) He_{k-2}(0) for k ≥ 2 (zero for odd k ≥ 3);
    E relu(sζ)² = s²/2, E relu'(sζ) = 1/2; Ω_ij is the arc-cosine kernel minus the
    product of the means, (s_i s_j/2π)(sin θ + (π − θ) cos θ) − s_i s_j/2π, θ = arccos ρ_ij.
    """

    has_closed_forms: ClassVar[bool] = True

    def normalized_closed(self, s, order):
        out = s[:, None] * _relu_base(order)[None, :]
        out[:, 0] = s * _INV_SQRT_2PI
        if order >= 1:
            out[:, 1] = s / 2.0
        return out

    def moments_closed(self, s):
        return {"mean": s * _INV_SQRT_2PI, "second": s * s / 2.0, "mean_derivative": np.full_like(s, 0.5)}

    def omega_closed(self, C, rho, si, sj, xp):
        theta = xp.acos(rho)
        ss = (si * sj) / (2.0 * math.pi)
        return ss * (xp.sqrt(xp.clip(1.0 - rho * rho, 0.0, 1.0)) + (math.pi - theta) * rho) - ss


class LinearActivation(LinearNetwork, Activation):
    """σ = g = identity: μ_1 = s, all other μ_k = 0; E σ(sζ)² = s², E σ' = 1; Ω_ij = C_ij."""

    has_closed_forms: ClassVar[bool] = True

    def normalized_closed(self, s, order):
        out = np.zeros((s.shape[0], order + 1))
        if order >= 1:
            out[:, 1] = s
        return out

    def moments_closed(self, s):
        return {"mean": np.zeros_like(s), "second": s * s, "mean_derivative": np.ones_like(s)}

    def omega_closed(self, C, rho, si, sj, xp):
        return C + xp.zeros_like(C)


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------
register(
    SignActivation("sign", _sign, True, lambda x: _mp().sign(x), _sign_),
    Erf2Activation("erf2", _erf2, False, lambda x: _mp().erf(x / _mp().sqrt(2)), _erf2_, a=1.0),
    ErfActivation("erf", _erf, False, lambda x: _mp().erf(x), _erf_, a=2.0),
    # tanh: no closed form; quadrature and the Mehler series (E tanh(ζ)² by mpmath, chaos_coefficients)
    Activation("tanh", _tanh, False, lambda x: _mp().tanh(x), _tanh_),
    ReluActivation("relu", _relu, True, lambda x: x if x > 0 else 0 * x, _relu_),
    LinearActivation("linear", _linear, False, lambda x: x, _linear_),
    # softsign x/(1+|x|): σ'' jumps at 0 (kink); no closed form, no in-place form
    Activation("softsign", _softsign, True, lambda x: x / (1 + abs(x))),
)

ACTIVATIONS: tuple[str, ...] = tuple(_REGISTRY)
"""Names of the built-in activations."""
