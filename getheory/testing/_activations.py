"""Random smooth activations with finite second moment (docs/theory.md §3, §6).

Two families, both smooth (no kink), of polynomial or bounded growth (so E σ(sζ)² < ∞ at
every scale), evaluated on NumPy, CuPy and mpmath numbers alike:

* :class:`HermitePolynomial` -- σ(x) = Σ_k c_k He_k(x)/√k!, whose normalised Hermite
  coefficients at unit scale are the c_k themselves (μ_k(1) = c_k √k!, §3), so a test knows
  the exact answer;
* :class:`TanhMixture` -- σ(x) = offset + Σ_j a_j tanh(b_j x + t_j), bounded.

Their ``repr`` is the constructor call, so a failing Hypothesis example prints an
activation that can be rebuilt by copying it.  No Hypothesis here: the strategies that draw
them are in :mod:`getheory.testing._strategies`.
"""

from __future__ import annotations

import math

import mpmath

from ..activations import Activation
from ..backend import backend_of

__all__ = ["HermitePolynomial", "TanhMixture"]


def _tuple(values, name):
    try:
        out = tuple(float(v) for v in values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of real numbers, got {values!r}") from None
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


class HermitePolynomial:
    r"""σ(x) = Σ_{k=0}^{K} c_k He_k(x)/√k!  (probabilists' Hermite polynomials, §3).

    .. math::
        \hat c_k(1) = \frac{μ_k(1)}{\sqrt{k!}} = c_k,\qquad E σ(ζ)^2 = \sum_k c_k^2 < ∞

    Parameters
    ----------
    coefficients : sequence of float
        c_0, …, c_K (normalised Hermite coefficients at unit scale).  c_0 = μ_0(1); odd σ
        when every even c_k is zero.

    Notes
    -----
    Evaluated by the normalised three-term recurrence
    h_{k+1} = (x h_k − √k h_{k−1})/√(k+1), h_k = He_k/√k!, using only + and ×, so it runs
    on NumPy and CuPy arrays and on mpmath numbers (it is its own ``mp_fn``).
    """

    def __init__(self, coefficients):
        self.coefficients = _tuple(coefficients, "coefficients")
        if not self.coefficients:
            raise ValueError("coefficients must hold at least c_0")

    def __call__(self, x):
        c = self.coefficients
        h_prev, h = 0 * x + 1, x
        out = c[0] * h_prev
        if len(c) > 1:
            out = out + c[1] * h
        for k in range(1, len(c) - 1):
            h_prev, h = h, (x * h - math.sqrt(k) * h_prev) / math.sqrt(k + 1)
            out = out + c[k + 1] * h
        return out

    def __repr__(self):
        return f"HermitePolynomial(coefficients={self.coefficients!r})"

    def __eq__(self, other):
        return isinstance(other, HermitePolynomial) and other.coefficients == self.coefficients

    def __hash__(self):
        return hash(("HermitePolynomial", self.coefficients))

    @property
    def odd(self) -> bool:
        """True when every even coefficient is zero (σ odd: μ_0(s) = 0 at every s)."""
        return all(v == 0.0 for v in self.coefficients[0::2])

    def activation(self) -> Activation:
        """This σ as an :class:`~getheory.activations.Activation` (smooth, mpmath-ready)."""
        return Activation("hermite_polynomial", self, False, self)


class TanhMixture:
    r"""σ(x) = offset + Σ_j a_j tanh(b_j x + t_j): smooth and bounded, so E σ(sζ)² < ∞.

    Parameters
    ----------
    amplitudes, slopes, shifts : sequence of float, same length J
        a_j, b_j, t_j.  With every t_j = 0 and ``offset`` = 0 the mixture is odd.
    offset : float
        A constant added to σ; with an odd mixture μ_0(s) = offset at every scale s.
    """

    def __init__(self, amplitudes, slopes, shifts=None, offset=0.0):
        self.amplitudes = _tuple(amplitudes, "amplitudes")
        self.slopes = _tuple(slopes, "slopes")
        self.shifts = _tuple(shifts if shifts is not None else [0.0] * len(self.amplitudes), "shifts")
        self.offset = float(offset)
        if not (len(self.amplitudes) == len(self.slopes) == len(self.shifts)) or not self.amplitudes:
            raise ValueError(
                f"amplitudes, slopes and shifts must have the same non-zero length; got "
                f"{len(self.amplitudes)}, {len(self.slopes)}, {len(self.shifts)}")
        if not math.isfinite(self.offset):
            raise ValueError(f"offset must be finite, got {self.offset}")

    def __call__(self, x):
        xp = backend_of(x).xp
        x = xp.asarray(x)
        out = self.offset + 0 * x
        for a, b, t in zip(self.amplitudes, self.slopes, self.shifts):
            out = out + a * xp.tanh(b * x + t)
        return out

    def _mp(self, x):
        return self.offset + sum(a * mpmath.tanh(b * x + t)
                                 for a, b, t in zip(self.amplitudes, self.slopes, self.shifts))

    def __repr__(self):
        return (f"TanhMixture(amplitudes={self.amplitudes!r}, slopes={self.slopes!r}, shifts={self.shifts!r}, "
                f"offset={self.offset!r})")

    def __eq__(self, other):
        return isinstance(other, TanhMixture) and repr(other) == repr(self)

    def __hash__(self):
        return hash(repr(self))

    @property
    def odd(self) -> bool:
        """True when σ is odd (no shift, no offset): μ_0(s) = 0 at every s."""
        return self.offset == 0.0 and all(t == 0.0 for t in self.shifts)

    def activation(self) -> Activation:
        """This σ as an :class:`~getheory.activations.Activation` (smooth, mpmath-ready)."""
        return Activation("tanh_mixture", self, False, self._mp)
