"""Activation functions σ and their Gaussian statistics (THEORY §2, §3).

This module owns everything getheory knows about a scalar non-linearity σ
acting on a centred Gaussian pre-activation h = s ζ, ζ ~ N(0, 1):

* the :class:`Activation` record and the built-ins ``sign``, ``erf2``
  (= erf(x/√2)), ``erf`` (= erf(x), no 1/√2), ``tanh``, ``relu`` and
  ``linear`` (:data:`ACTIVATIONS`, :func:`get_activation`);
* the Hermite coefficients μ_k(s) = E[σ(sζ) He_k(ζ)] (THEORY §3), in closed
  form where one exists, otherwise by quadrature or by mpmath at any precision
  (:func:`hermite_mu`, :func:`hermite_mu_normalized`, :func:`hermite_mu_mp`,
  :func:`hermite_coefficients`);
* the one-point moments E σ(s_i ζ), E σ(s_i ζ)², E σ'(s_i ζ) over the row
  scales s_i of a generator (:func:`moments_at_scales`, THEORY §2);
* the two-point kernel Ω_ij = Cov(σ(h_i), σ(h_j)) of a bivariate normal pair
  (:func:`omega_kernel`, THEORY §2): closed forms for the built-ins, the
  Mehler series otherwise;
* the unit-scale chaos weights c_k = μ_k(1)²/k! from which the default bound
  matrices M1, M2 of THEORY §5(b) are built (:func:`chaos_coefficients`).

Conventions
-----------
He_k are the probabilists' Hermite polynomials, E[He_k(ζ) He_l(ζ)] = k! δ_kl.
Internally the coefficients are carried *normalised*, ĉ_k = μ_k/√k!, which
never overflow and make Parseval and the Mehler series plain sums:
E σ(sζ)² = Σ_k ĉ_k(s)², Cov(σ(h_i), σ(h_j)) = Σ_{k≥1} ĉ_k(s_i) ĉ_k(s_j) ρ^k.

Closed forms (all derived from E[f(ζ) He_k(ζ)] = E[f^{(k)}(ζ)], Gaussian
integration by parts, THEORY §3):

* sign: μ_k = √(2/π) He_{k-1}(0) for odd k, 0 for even k, independent of s > 0;
  He_{2m}(0) = (-1)^m (2m-1)!!.
* erf2(x) = erf(x/√2) = 2Φ(x) - 1: μ_k(s) = √(2/π) He_{k-1}(0) t^k (odd k),
  t = s/√(1+s²); erf(x) = erf2(√2 x), so its t = √2 s/√(1+2s²).
* relu: μ_0 = s/√(2π), μ_1 = s/2, μ_k = s φ(0) He_{k-2}(0) for k ≥ 2
  (zero for odd k ≥ 3, since relu(x) = x/2 + |x|/2).
* linear: μ_1 = s, all others 0.
* tanh and user callables: no closed form; quadrature.

Quadrature
----------
``method="quad"`` is a composite Gauss–Legendre rule with the Gaussian weight
folded in, on panels of width ≤ 0.5 covering [-L, 0] ∪ [0, L] with
L = √(4K+2) + 12 (K the highest order; beyond L the Hermite functions are
below 1e-30).  0 is always a panel edge, so σ with a kink at 0 (sign, relu,
any user σ with ``kink=True``) is integrated as two smooth pieces.  This rule
replaces the plain Gauss–Hermite rule (``scipy.special.roots_hermitenorm``)
suggested in THEORY §3: measured against mpmath at order 30, Gauss–Hermite
with 400 nodes errs by 9e-13 for tanh(2x) and 3e-7 for tanh(4x) (the poles of
tanh(sx) at ±iπ/(2s) approach the real axis), while the panel rule stays at
2e-16 for tanh(sx), s ≤ 4; against the closed forms of sign, relu, erf2 and
erf it stays below 2e-15 on ĉ_k = μ_k/√k! up to order 400.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .backend import backend_of

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "hermite_coefficients",
    "hermite_mu",
    "hermite_mu_normalized",
    "hermite_mu_mp",
    "moments_at_scales",
    "omega_kernel",
    "chaos_coefficients",
    "MehlerTruncationWarning",
]

_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# |ρ| at or above this is treated as exactly ±1 by omega_kernel: ρ_ii = C_ii/s_i² computed
# in float64 is 1 only up to rounding (≈ √D·eps), and the sign kernel (2/π) arcsin ρ turns a
# rounding error δ into an error (2/π)√(2δ) ≈ 1e-8.  Snapping a genuine |ρ| = 1 − 1e-13
# costs at most (2/π)√(2e-13) ≈ 3e-7 (kinked σ), far less for smooth σ.
_RHO_ONE = 1.0 - 1e-13


class MehlerTruncationWarning(RuntimeWarning):
    """The Mehler series of :func:`omega_kernel` hit ``max_order`` before its tail bound met ``tol``."""


# ---------------------------------------------------------------------------
# The Activation record and the built-ins
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Activation:
    """A scalar non-linearity σ applied elementwise.

    Attributes
    ----------
    name : str
        ``"sign"``, ``"erf2"``, ``"erf"``, ``"tanh"``, ``"relu"``, ``"linear"``
        for the built-ins, otherwise the wrapped callable's ``__name__``.
    fn : callable
        ``fn(x)`` elementwise.  The built-ins work on NumPy and CuPy arrays
        (they dispatch through :func:`getheory.backend.backend_of`); a user
        callable must at least accept NumPy arrays of any shape.
    kink : bool
        True when σ is not smooth at 0 (sign, relu): quadratures split there
        (THEORY §3).  Only a kink *at 0* is handled specially.
    mp_fn : callable or None
        Optional mpmath version of σ (``mp_fn(mpf) -> mpf``) used by
        :func:`hermite_mu_mp`; without it σ is evaluated in float64 there.
    inplace_fn : callable or None
        Optional in-place form ``inplace_fn(h, bk)`` (h ← σ(h) on backend ``bk``),
        the samplers' fast path: no b × N temporary per batch.

    Closed forms (THEORY §2, §3) are used only for the built-in objects
    themselves (same ``fn``), never for a user callable that happens to share
    a built-in's name.
    """

    name: str
    fn: Callable
    kink: bool = False
    mp_fn: Callable | None = field(default=None, compare=False, repr=False)
    inplace_fn: Callable | None = field(default=None, compare=False, repr=False)

    def __call__(self, x):
        return self.fn(x)

    def apply_(self, h, bk) -> bool:
        """Overwrite ``h`` (an array of backend ``bk``) with σ(h), if σ has an in-place form.

        Returns False, leaving ``h`` untouched, when it has none.
        """
        if self.inplace_fn is None:
            return False
        self.inplace_fn(h, bk)
        return True

    @property
    def builtin(self) -> bool:
        """True for the built-in activations (closed forms available)."""
        b = _BUILTINS.get(self.name)
        return b is not None and b.fn is self.fn


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


def _mp():
    import mpmath

    return mpmath


_BUILTINS: dict[str, Activation] = {
    "sign": Activation("sign", _sign, True, lambda x: _mp().sign(x), _sign_),
    "erf2": Activation("erf2", _erf2, False, lambda x: _mp().erf(x / _mp().sqrt(2)), _erf2_),
    "erf": Activation("erf", _erf, False, lambda x: _mp().erf(x), _erf_),
    "tanh": Activation("tanh", _tanh, False, lambda x: _mp().tanh(x), _tanh_),
    "relu": Activation("relu", _relu, True, lambda x: x if x > 0 else 0 * x, _relu_),
    "linear": Activation("linear", _linear, False, lambda x: x, _linear_),
}

ACTIVATIONS: tuple[str, ...] = tuple(_BUILTINS)
"""Names of the built-in activations."""


def get_activation(activation) -> Activation:
    """Return the :class:`Activation` for a name, an Activation, or a callable.

    Parameters
    ----------
    activation : str, Activation or callable
        A built-in name (case-insensitive, one of :data:`ACTIVATIONS`), an
        :class:`Activation` (returned unchanged), or any callable σ(x), which is
        wrapped with ``name = σ.__name__`` and ``kink=False`` (build an
        :class:`Activation` yourself to declare a kink at 0).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything that is neither a string nor callable.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in _BUILTINS:
            raise ValueError(
                f"unknown activation {activation!r}: choose one of {', '.join(ACTIVATIONS)}, "
                "or pass a callable"
            )
        return _BUILTINS[key]
    if callable(activation):
        name = getattr(activation, "__name__", None) or type(activation).__name__
        return Activation(str(name), activation, False)
    raise TypeError(
        f"activation must be a name ({', '.join(ACTIVATIONS)}), an Activation or a callable, "
        f"not {type(activation).__name__}"
    )


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# Closed forms (normalised coefficients ĉ_k = μ_k/√k!)
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


def _closed_normalized(name: str, s: np.ndarray, order: int) -> np.ndarray:
    """ĉ_k(s) for k = 0..order at the scales ``s`` (shape (M,)), shape (M, order+1)."""
    M = s.shape[0]
    k = np.arange(order + 1)
    if name == "sign":
        out = np.broadcast_to(_sign_base(order), (M, order + 1)).copy()
        out[s == 0] = 0.0  # sign(0·ζ) = 0
        return out
    if name in ("erf2", "erf"):
        u = s if name == "erf2" else _SQRT2 * s
        t = u / np.sqrt(1.0 + u * u)
        with np.errstate(under="ignore"):
            return _sign_base(order)[None, :] * t[:, None] ** k[None, :]
    if name == "relu":
        out = s[:, None] * _relu_base(order)[None, :]
        out[:, 0] = s * _INV_SQRT_2PI
        if order >= 1:
            out[:, 1] = s / 2.0
        return out
    if name == "linear":
        out = np.zeros((M, order + 1))
        if order >= 1:
            out[:, 1] = s
        return out
    raise KeyError(name)  # pragma: no cover - guarded by _has_closed


_CLOSED = ("sign", "erf2", "erf", "relu", "linear")


def _has_closed(act: Activation) -> bool:
    return act.builtin and act.name in _CLOSED


def _closed_moments(name: str, s: np.ndarray) -> dict:
    """E σ(sζ), E σ(sζ)², E σ'(sζ) in closed form (THEORY §2, §3)."""
    with np.errstate(divide="ignore"):
        if name == "sign":
            mean = np.zeros_like(s)
            second = np.where(s > 0, 1.0, 0.0)
            deriv = _SQRT_2_OVER_PI / s  # 2φ(0)/s, +inf at s = 0 (THEORY §2)
        elif name in ("erf2", "erf"):
            u = s if name == "erf2" else _SQRT2 * s
            mean = np.zeros_like(s)
            second = (2.0 / math.pi) * np.arcsin(u * u / (1.0 + u * u))
            # E σ'(sζ) = μ1(s)/s = √(2/π) (u/s)/√(1+u²), u/s = 1 (erf2) or √2 (erf)
            deriv = _SQRT_2_OVER_PI * (1.0 if name == "erf2" else _SQRT2) / np.sqrt(1.0 + u * u)
        elif name == "relu":
            mean = s * _INV_SQRT_2PI
            second = s * s / 2.0
            deriv = np.full_like(s, 0.5)
        elif name == "linear":
            mean = np.zeros_like(s)
            second = s * s
            deriv = np.ones_like(s)
        else:  # pragma: no cover
            raise KeyError(name)
    return {"mean": mean, "second": second, "mean_derivative": deriv}


# ---------------------------------------------------------------------------
# Quadrature: composite Gauss–Legendre with the Gaussian weight, split at 0
# ---------------------------------------------------------------------------
_GL_NODES = 16


def _rule_size(order: int) -> tuple[int, float]:
    """(number of panels per half-line, panel width) for orders up to ``order``."""
    L = math.sqrt(4 * order + 2) + 12.0
    # Hermite functions of order K oscillate with wavenumber ≤ √(K+1/2); 16 GL nodes per
    # panel resolve κh ≤ 8 to machine precision; h ≤ 0.5 also resolves tanh(sx), s ≤ 4.
    h = min(0.5, 8.0 / math.sqrt(order + 0.5))
    n_panels = int(math.ceil(L / h))
    return n_panels, h


@functools.lru_cache(maxsize=32)
def _panel_rule(n_panels: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w with Σ w f(x) ≈ E f(ζ) (φ folded into w); 0 is a panel edge."""
    from scipy.special import roots_legendre

    t, wt = roots_legendre(_GL_NODES)
    a = h * np.arange(n_panels)
    x = (a[:, None] + h * (t[None, :] + 1.0) / 2.0).ravel()
    w = np.broadcast_to(h / 2.0 * wt, (n_panels, _GL_NODES)).ravel()
    x = np.concatenate([-x[::-1], x])
    w = np.concatenate([w[::-1], w])
    with np.errstate(under="ignore"):
        w = w * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    keep = w > 0
    x, w = x[keep], w[keep]
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


@functools.lru_cache(maxsize=8)  # order 400 ≈ 7000 nodes × 401 rows ≈ 22 MB each
def _hermite_table(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and U[k, n] = w_n He_k(x_n)/√k! for k = 0..order (weights folded in).

    Built by the stable normalised recurrence
    h_{k+1} = (x h_k − √k h_{k−1})/√(k+1), started from the weights so that no
    intermediate value overflows.
    """
    x, w = _panel_rule(*_rule_size(order))
    U = np.empty((order + 1, x.size))
    U[0] = w
    if order >= 1:
        U[1] = x * w
    with np.errstate(under="ignore"):
        for k in range(1, order):
            U[k + 1] = (x * U[k] - math.sqrt(k) * U[k - 1]) / math.sqrt(k + 1)
    U.setflags(write=False)
    return x, U


def _eval(act: Activation, z: np.ndarray) -> np.ndarray:
    """σ(z) on a NumPy array, checked to be elementwise and finite."""
    try:
        v = act.fn(z)
    except Exception as exc:  # a user callable that cannot take arrays
        raise TypeError(
            f"activation {act.name!r} failed on a NumPy array ({type(exc).__name__}: {exc}); "
            "it must act elementwise on NumPy arrays"
        ) from exc
    v = np.asarray(backend_of(v).to_numpy(v), dtype=np.float64)
    if v.shape != z.shape:
        try:
            v = np.broadcast_to(v, z.shape)
        except ValueError:
            raise ValueError(
                f"activation {act.name!r} returned shape {v.shape} for input shape {z.shape}; "
                "it must act elementwise"
            ) from None
    if not np.all(np.isfinite(v)):
        raise ValueError(f"activation {act.name!r} returned NaN or infinite values at quadrature nodes")
    return v


def _chunks(M: int, n_nodes: int):
    step = max(1, (1 << 22) // max(n_nodes, 1))
    for a in range(0, M, step):
        yield slice(a, min(M, a + step))


def _quad_normalized(act: Activation, s: np.ndarray, order: int) -> np.ndarray:
    """ĉ_k(s) = Σ_n w_n σ(s x_n) He_k(x_n)/√k!, shape (M, order+1)."""
    x, U = _hermite_table(order)
    out = np.empty((s.shape[0], order + 1))
    for sl in _chunks(s.shape[0], x.size):
        F = _eval(act, s[sl, None] * x[None, :])
        out[sl] = F @ U.T
    return out


def _quad_second(act: Activation, s: np.ndarray, order: int = 2) -> np.ndarray:
    """E σ(sζ)² by the panel rule of ``order`` (shape (M,))."""
    x, U = _hermite_table(order)
    out = np.empty(s.shape[0])
    for sl in _chunks(s.shape[0], x.size):
        F = _eval(act, s[sl, None] * x[None, :])
        out[sl] = (F * F) @ U[0]
    return out


def _normalized_table(act: Activation, s: np.ndarray, order: int, method: str = "auto") -> np.ndarray:
    if method in ("auto", "closed") and _has_closed(act):
        return _closed_normalized(act.name, s, order)
    if method == "closed":
        raise ValueError(
            f"activation {act.name!r} has no closed-form Hermite coefficients "
            f"(closed forms exist for {', '.join(_CLOSED)}); use method='quad' or 'mpmath'"
        )
    return _quad_normalized(act, s, order)


_METHODS = ("auto", "closed", "quad", "mpmath")


def _sqrt_factorials(order: int) -> np.ndarray:
    k = np.arange(order + 1)
    from scipy.special import gammaln

    with np.errstate(over="ignore"):
        return np.exp(0.5 * gammaln(k + 1.0))


# ---------------------------------------------------------------------------
# mpmath reference
# ---------------------------------------------------------------------------
def hermite_mu_mp(activation, order: int, scale: float = 1.0, *, dps: int = 30) -> list:
    r"""μ_k(s) = E[σ(sζ) He_k(ζ)] for k = 0..order in mpmath at ``dps`` digits (THEORY §3).

    .. math::
        μ_k(s) = \int_{-∞}^{∞} σ(s x)\, He_k(x)\, \frac{e^{-x^2/2}}{\sqrt{2π}}\, dx

    computed with ``mpmath.quad`` (tanh–sinh) on the pieces between the
    breakpoints -∞, -L, -L/2, 0, L/2, L, ∞ (L = ⌈√(4·order+2)⌉ + 10), so a kink
    at 0 is always a breakpoint; σ(sx)φ(x) and He_0..He_order are evaluated
    once per node and shared by all k.  Checked against a 1-wide subdivision:
    agreement to 1e-40 for tanh(x) (order 30) and tanh(4x) (order 12).  σ is evaluated with ``Activation.mp_fn``;
    a user callable without one is evaluated in float64, which limits its
    coefficients to ≈ 1e-16 relative whatever ``dps`` is.

    Returns
    -------
    list of mpmath.mpf
        Length ``order + 1``.
    """
    act = get_activation(activation)
    order = _check_order(order)
    s_f = _check_scale(scale)
    dps = _check_order(dps, "dps")
    mp = _mp()
    if act.mp_fn is not None:
        sig = act.mp_fn
    else:

        def sig(x):
            return mp.mpf(float(np.asarray(act.fn(np.asarray([float(x)])), dtype=np.float64).ravel()[0]))

    with mp.workdps(dps + 5):
        s = mp.mpf(scale) if isinstance(scale, (int, str, mp.mpf)) else mp.mpf(s_f)
        norm = 1 / mp.sqrt(2 * mp.pi)
        cache: dict = {}

        def node(x):
            # σ(sx) φ(x) and He_0..He_order(x), computed once per quadrature node
            v = cache.get(x)
            if v is None:
                H = [mp.mpf(1)] * (order + 1)
                if order >= 1:
                    H[1] = x
                for j in range(1, order):
                    H[j + 1] = x * H[j] - j * H[j - 1]
                v = (sig(s * x) * mp.exp(-x * x / 2) * norm, H)
                cache[x] = v
            return v

        L = int(math.ceil(math.sqrt(4 * order + 2))) + 10
        pts = [-mp.inf, -L, mp.mpf(-L) / 2, 0, mp.mpf(L) / 2, L, mp.inf]
        out = []
        for k in range(order + 1):
            def f(x, k=k):
                g, H = node(x)
                return g * H[k]

            out.append(mp.quad(f, pts))
    with mp.workdps(dps):
        return [+v for v in out]


def _mp_second(act: Activation, s: float, dps: int = 30):
    mp = _mp()
    with mp.workdps(dps + 5):
        sm = mp.mpf(s)
        sig = act.mp_fn
        return mp.quad(lambda x: sig(sm * x) ** 2 * mp.npdf(x), [-mp.inf, -10, -2, 0, 2, 10, mp.inf])


@functools.lru_cache(maxsize=64)
def _builtin_second_mp(name: str, s: float, dps: int = 30) -> float:
    return float(_mp_second(_BUILTINS[name], s, dps))


# ---------------------------------------------------------------------------
# Public coefficient functions
# ---------------------------------------------------------------------------
def hermite_mu_normalized(activation, order: int, scale: float = 1.0, *, method: str = "auto", dps: int = 30) -> np.ndarray:
    r"""Normalised Hermite coefficients ĉ_k(s) = μ_k(s)/√k!, k = 0..order (THEORY §3).

    .. math::
        ĉ_k(s) = \frac{E[σ(sζ)\, He_k(ζ)]}{\sqrt{k!}},\qquad
        E σ(sζ)^2 = \sum_{k \ge 0} ĉ_k(s)^2 \ \text{(Parseval)}

    These never overflow; prefer them to :func:`hermite_mu` for orders above
    ≈ 150.  Parameters and methods as in :func:`hermite_mu`.
    """
    act = get_activation(activation)
    order = _check_order(order)
    s = _check_scale(scale)
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(_METHODS)}")
    if method == "mpmath":
        mu = hermite_mu_mp(act, order, s, dps=dps)
        mp = _mp()
        with mp.workdps(dps):
            return np.array([float(m / mp.sqrt(mp.factorial(k))) for k, m in enumerate(mu)])
    return _normalized_table(act, np.array([s]), order, method)[0]


def hermite_mu(activation, order: int, scale: float = 1.0, *, method: str = "auto", dps: int = 30) -> np.ndarray:
    r"""Hermite coefficients μ_k(s) = E[σ(sζ) He_k(ζ)] for k = 0..order (THEORY §3).

    .. math::
        μ_k(s) = E[σ(sζ)\, He_k(ζ)],\quad ζ ∼ N(0,1),\quad
        E[He_k He_l] = k!\, δ_{kl}

    Parameters
    ----------
    activation : str, Activation or callable
    order : int
        Highest order K >= 0; the result has K + 1 entries.
    scale : float
        Row scale s >= 0 (standard deviation of the pre-activation).
    method : {"auto", "closed", "quad", "mpmath"}
        ``"closed"``: closed forms (sign, erf2, erf, relu, linear; all k;
        see the module docstring) — ValueError for tanh and user callables.
        ``"quad"``: composite Gauss–Legendre with the Gaussian weight, split
        at 0 (module docstring); ≈ 1e-15 absolute on ĉ_k = μ_k/√k! for s ≤ 4.
        ``"mpmath"``: :func:`hermite_mu_mp` at ``dps`` digits, rounded to float64.
        ``"auto"``: closed if available, else quad.
    dps : int
        Decimal digits for ``method="mpmath"``.

    Returns
    -------
    numpy.ndarray, shape (order + 1,)
        μ_k; entries overflow to ±inf beyond k ≈ 300 (use
        :func:`hermite_mu_normalized` there).
    """
    c = hermite_mu_normalized(activation, order, scale, method=method, dps=dps)
    with np.errstate(over="ignore", invalid="ignore"):
        return c * _sqrt_factorials(c.shape[0] - 1)


def hermite_coefficients(activation, scale: float = 1.0) -> tuple[float, float, float]:
    r"""(μ0, μ1, μ*) of the Gaussian equivalent input model at row scale s (THEORY §3).

    .. math::
        μ_0 = E σ(sζ),\quad μ_1 = E[ζ σ(sζ)],\quad
        μ_*^2 = E σ(sζ)^2 - μ_0^2 - μ_1^2

    so that σ(sζ) ≈ μ0 + μ1 ζ + μ* ξ in the sense of the first two moments
    (μ* collects all chaoses k ≥ 2).  Closed forms for the built-ins except
    tanh; quadrature otherwise.

    Returns
    -------
    tuple of float
        ``(mu0, mu1, mu_star)`` with ``mu_star >= 0``.

    Examples
    --------
    >>> [round(v, 6) for v in hermite_coefficients("relu")]  # 1/√(2π), 1/2, √(1/4 − 1/(2π))
    [0.398942, 0.5, 0.301405]
    >>> round(hermite_coefficients("tanh")[1], 4)
    0.6057
    """
    act = get_activation(activation)
    s = _check_scale(scale)
    m = moments_at_scales(act, np.array([s]))
    mu0 = float(m["mean"][0])
    mu1 = float(_normalized_table(act, np.array([s]), 1)[0, 1])
    second = float(m["second"][0])
    mu_star = math.sqrt(max(second - mu0 * mu0 - mu1 * mu1, 0.0))
    return mu0, mu1, mu_star


def moments_at_scales(activation, scales) -> dict:
    r"""One-point moments of σ(s_i ζ) at the row scales s_i (THEORY §2, §3).

    .. math::
        \text{mean}_i = E σ(s_i ζ),\quad \text{second}_i = E σ(s_i ζ)^2,\quad
        \text{mean\_derivative}_i = E σ'(s_i ζ) = μ_1(s_i)/s_i,\quad
        \text{variance}_i = \text{second}_i - \text{mean}_i^2

    The derivative uses Stein's lemma E[ζ f(sζ)] = s E f'(sζ) (THEORY §2), so
    it is the distributional one: sign gives √(2/π)/s.  At s = 0 it is the
    limit σ'(0) (``+inf`` for sign; a central difference for user callables).

    Closed forms for sign, erf2, erf, relu and linear (module docstring;
    E erf(sζ/√2)² = (2/π) arcsin(s²/(1+s²))); quadrature vectorised over all
    scales (an outer product scales × nodes) otherwise.

    Parameters
    ----------
    activation : str, Activation or callable
    scales : array_like
        Row scales s_i >= 0, any shape (NumPy or CuPy; the result is NumPy).

    Returns
    -------
    dict of numpy.ndarray
        Keys ``"mean"``, ``"second"``, ``"mean_derivative"``, ``"variance"``,
        each with the shape of ``scales``.
    """
    act = get_activation(activation)
    s_in = _check_scales(scales)
    shape = s_in.shape
    s = s_in.ravel()
    if _has_closed(act):
        out = _closed_moments(act.name, s)
    else:
        c = _quad_normalized(act, s, 1)
        second = _quad_second(act, s)
        pos = s > 0
        deriv = np.empty_like(s)
        deriv[pos] = c[pos, 1] / s[pos]
        if not np.all(pos):
            eps = 1e-6
            z = np.array([-eps, eps])
            v = _eval(act, z)
            deriv[~pos] = (v[1] - v[0]) / (2 * eps)
        out = {"mean": c[:, 0], "second": second, "mean_derivative": deriv}
    out["variance"] = np.maximum(out["second"] - out["mean"] ** 2, 0.0)
    return {k: np.asarray(v, dtype=np.float64).reshape(shape) for k, v in out.items()}


# ---------------------------------------------------------------------------
# Two-point kernel Ω
# ---------------------------------------------------------------------------
def omega_kernel(activation, C, s_row, s_col, *, tol: float = 1e-12, max_order: int = 200):
    r"""Ω_ij = Cov(σ(h_i), σ(h_j)) for (h_i, h_j) bivariate normal (THEORY §2).

    Var h_i = s_i², Var h_j = s_j², Cov(h_i, h_j) = C_ij, ρ_ij = C_ij/(s_i s_j)
    (clipped to [-1, 1]; ρ := 0 where a scale is 0; |ρ| ≥ 1 − 1e-13 is set to
    ±1 exactly, since C_ii/s_i² is 1 only up to rounding).  Closed forms:

    .. math::
        \text{sign: } \tfrac{2}{π}\arcsin ρ_{ij};\qquad
        \text{erf2: } \tfrac{2}{π}\arcsin\frac{C_{ij}}{\sqrt{(1+s_i^2)(1+s_j^2)}};\qquad
        \text{erf: } \tfrac{2}{π}\arcsin\frac{2C_{ij}}{\sqrt{(1+2s_i^2)(1+2s_j^2)}};

    relu (arc-cosine kernel minus the product of means),
    :math:`\frac{s_i s_j}{2π}(\sin θ + (π-θ)\cos θ) - \frac{s_i s_j}{2π}`,
    θ = arccos ρ_ij; linear: C_ij.

    tanh and user callables use the Mehler series with normalised
    coefficients ĉ_k = μ_k/√k! (THEORY §2):

    .. math::
        Ω_{ij} = \sum_{k=1}^{K} ĉ_k(s_i)\, ĉ_k(s_j)\, ρ_{ij}^k ,

    truncated at the smallest K whose tail bound (Cauchy–Schwarz plus Parseval)

    .. math::
        |ρ|_{\max}^{K+1}\ \max_i \sqrt{T_i(K)/V_i}\ \max_j \sqrt{T_j(K)/V_j} \le \mathrm{tol},
        \quad T_i(K) = V_i - \sum_{k=1}^{K} ĉ_k(s_i)^2,\ V_i = \mathrm{Var}\, σ(s_i ζ)

    holds, i.e. each entry is within tol·√(V_i V_j) of the full series.  This
    is stricter than stopping when a term falls below tol.  |ρ|_max is taken
    over the entries with |ρ| < 1 − 1e-13; entries with |ρ| ≥ 1 − 1e-13 (the
    diagonal C_ii = s_i², duplicate rows) are treated as ρ = ±1 exactly and
    computed by 1-D quadrature, E[σ(s_i ζ) σ(±s_j ζ)] − E σ(s_i ζ) E σ(s_j ζ).
    If K would exceed ``max_order`` (|ρ| close to 1, slowly decaying ĉ_k as for
    a kinked σ) the series is cut at ``max_order`` and a
    :class:`MehlerTruncationWarning` gives the bound reached.

    Parameters
    ----------
    activation : str, Activation or callable
    C : array, shape (n_row, n_col)
        Covariances a_i·a_j/D (NumPy or CuPy; the result lives on its backend).
    s_row, s_col : array, shapes (n_row,), (n_col,)
        Standard deviations s_i >= 0 and s_j >= 0.
    tol : float
        Relative truncation tolerance of the Mehler series.
    max_order : int
        Largest order K of the Mehler series.

    Returns
    -------
    array, shape (n_row, n_col), on the backend of ``C``

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> s = np.ones(2)
    >>> np.round(omega_kernel("sign", C, s, s), 6)  # (2/π) arcsin(1/2) = 1/3
    array([[1.      , 0.333333],
           [0.333333, 1.      ]])
    >>> bool(np.allclose(omega_kernel(lambda x: np.sign(x), C[:1, 1:], s[:1], s[1:], max_order=400), 1 / 3))
    True
    """
    act = get_activation(activation)
    tol = _check_tol(tol)
    max_order = _check_order(max_order, "max_order")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1 for the Mehler series, got {max_order}")
    bk = backend_of(C, s_row, s_col)
    xp = bk.xp
    C = bk.asarray(C)
    if C.ndim != 2:
        raise ValueError(f"C must be a 2-D (n_row, n_col) array, got shape {tuple(C.shape)}")
    if not xp.isdtype(C.dtype, "real floating"):
        C = xp.astype(C, xp.float64)
    sr_h = _check_scales(s_row, "s_row").ravel()
    sc_h = _check_scales(s_col, "s_col").ravel()
    if sr_h.shape[0] != C.shape[0] or sc_h.shape[0] != C.shape[1]:
        raise ValueError(
            f"C has shape {tuple(C.shape)} but s_row has {sr_h.shape[0]} and s_col {sc_h.shape[0]} entries"
        )
    if not bool(xp.all(xp.isfinite(C))):
        raise ValueError("C contains NaN or infinite values")
    dt = C.dtype
    si = bk.asarray(sr_h, dtype=dt)[:, None]
    sj = bk.asarray(sc_h, dtype=dt)[None, :]
    den = si * sj
    pos = den > 0
    rho = xp.where(pos, C / xp.where(pos, den, xp.ones_like(den)), xp.zeros_like(C))
    if C.size and float(xp.max(xp.abs(rho))) > 1.0 + 1e-6:
        raise ValueError(
            f"|C_ij| exceeds s_i s_j (max |ρ| = {float(xp.max(xp.abs(rho))):.6g}): "
            "C is not a covariance block consistent with the scales"
        )
    rho = xp.clip(rho, -1.0, 1.0)
    rho = xp.where(xp.abs(rho) >= _RHO_ONE, xp.sign(rho), rho)
    two_over_pi = 2.0 / math.pi
    if act.builtin and act.name == "sign":
        return two_over_pi * xp.asin(rho)
    if act.builtin and act.name in ("erf2", "erf"):
        a = 1.0 if act.name == "erf2" else 2.0
        arg = a * C / xp.sqrt((1.0 + a * si * si) * (1.0 + a * sj * sj))
        return two_over_pi * xp.asin(xp.clip(arg, -1.0, 1.0))
    if act.builtin and act.name == "relu":
        theta = xp.acos(rho)
        ss = den / (2.0 * math.pi)
        return ss * (xp.sqrt(xp.clip(1.0 - rho * rho, 0.0, 1.0)) + (math.pi - theta) * rho) - ss
    if act.builtin and act.name == "linear":
        return C + xp.zeros_like(C)
    return _omega_mehler(act, rho, sr_h, sc_h, tol, max_order, bk)


def _omega_mehler(act, rho, sr_h, sc_h, tol, max_order, bk):
    """Mehler series for ``omega_kernel`` (see its docstring)."""
    xp = bk.xp
    dt = rho.dtype
    absr = xp.abs(rho)
    one = absr >= _RHO_ONE
    rest = xp.where(one, xp.zeros_like(rho), absr)
    rmax = float(xp.max(rest)) if rho.size else 0.0

    # ρ_max^K ≤ tol already meets the bound (T/V ≤ 1): no need to go beyond that K
    if rmax == 0.0:
        K0 = 1
    else:
        K0 = max(1, min(max_order, int(math.ceil(math.log(tol) / math.log(rmax)))))

    s_all, inv = np.unique(np.concatenate([sr_h, sc_h]), return_inverse=True)
    coef = _quad_normalized(act, s_all, K0)
    var = np.maximum(_quad_second(act, s_all, max(K0, 2)) - coef[:, 0] ** 2, 0.0)
    # tail ratios T(K)/V for K = 0..K0
    cum = np.cumsum(coef[:, 1:] ** 2, axis=1)
    T = np.maximum(var[:, None] - np.concatenate([np.zeros((s_all.size, 1)), cum], axis=1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(var[:, None] > 0, T / np.where(var > 0, var, 1.0)[:, None], 0.0)
    nr = sr_h.size
    idx_r, idx_c = inv[:nr], inv[nr:]
    rr = np.sqrt(ratio[idx_r].max(axis=0)) if nr else np.zeros(K0 + 1)
    rc = np.sqrt(ratio[idx_c].max(axis=0)) if idx_c.size else np.zeros(K0 + 1)
    Ks = np.arange(K0 + 1)
    with np.errstate(under="ignore"):
        bound = rmax ** (Ks + 1.0) * rr * rc
    ok = np.nonzero(bound <= tol)[0]
    if ok.size:
        K = int(ok[0])
    else:
        K = K0
        warnings.warn(
            f"Mehler series for {act.name!r} cut at max_order={max_order} with relative tail bound "
            f"{bound[-1]:.2g} > tol={tol:g} (max |ρ| = {rmax:.6g} off the ρ = ±1 entries); "
            "raise max_order or accept this error",
            MehlerTruncationWarning,
            stacklevel=3,
        )

    a = bk.asarray(coef[idx_r, : K + 1], dtype=dt)
    b = bk.asarray(coef[idx_c, : K + 1], dtype=dt)
    S = xp.zeros(rho.shape, dtype=dt)
    # Horner: Σ_{k=1}^K a_k b_k ρ^k = ρ(a_1 b_1 + ρ(a_2 b_2 + … ))
    for k in range(K, 0, -1):
        S = a[:, k : k + 1] * b[:, k][None, :] + rho * S
    S = rho * S

    # entries with |ρ| = 1 (up to rounding): 1-D quadrature of the perfectly correlated pair
    ii_d, jj_d = xp.nonzero(one)
    if ii_d.shape[0]:
        ii, jj = bk.to_numpy(ii_d), bk.to_numpy(jj_d)
        sgn = np.sign(bk.to_numpy(rho[ii_d, jj_d]))
        si, sj = sr_h[ii], sc_h[jj] * sgn
        x, U = _hermite_table(2)
        w = U[0]
        vals = np.empty(ii.size)
        for sl in _chunks(ii.size, x.size):
            Fi = _eval(act, si[sl, None] * x[None, :])
            Fj = _eval(act, sj[sl, None] * x[None, :])
            vals[sl] = (Fi * Fj) @ w - (Fi @ w) * (Fj @ w)
        S[ii_d, jj_d] = bk.asarray(vals, dtype=dt)
    return S


# ---------------------------------------------------------------------------
# Chaos weights at unit scale (THEORY §5(b))
# ---------------------------------------------------------------------------
def chaos_coefficients(activation, *, tol: float = 1e-12, max_order: int = 400) -> tuple[np.ndarray, float]:
    r"""Unit-scale chaos weights c_k = μ_k(1)²/k! and the tail mass (THEORY §5(b)).

    .. math::
        c_k = \frac{μ_k(1)^2}{k!},\qquad \sum_{k \ge 0} c_k = E σ(ζ)^2,\qquad
        \text{tail}(K) = E σ(ζ)^2 - \sum_{k=0}^{K} c_k

    The default bound matrices of THEORY §5(b) are
    M1 = Σ_{k even ≥ 2} c_k offdiag(ρ^{∘k}) and M2 = Σ_{k odd ≥ 3} c_k offdiag(ρ^{∘k}).
    The series is truncated at the smallest K with tail(K) ≤ tol · E σ(ζ)²,
    or at ``max_order``.  E σ(ζ)² comes from the closed form (sign 1, erf2
    1/3, erf (2/π) arcsin(2/3), relu 1/2, linear 1), from mpmath at 30 digits
    (tanh) or from the panel quadrature (user callables).  For sign the tail
    decays only like K^{-1/2} (c_k ∼ k^{-3/2}, odd k), for relu like K^{-3/2}:
    both stop at ``max_order`` with the tail returned.

    Returns
    -------
    coeffs : numpy.ndarray, shape (K + 1,)
        c_0, …, c_K.
    tail_mass : float
        E σ(ζ)² − Σ_{k ≤ K} c_k (≥ 0).

    Examples
    --------
    >>> c, tail = chaos_coefficients("erf2")
    >>> round(float(c[1]), 6), c.size, tail < 1e-12  # c_1 = μ1² = 1/π
    (0.31831, 34, True)
    """
    act = get_activation(activation)
    tol = _check_tol(tol)
    max_order = _check_order(max_order, "max_order")
    c = _normalized_table(act, np.array([1.0]), max_order)[0] ** 2
    if _has_closed(act):
        second = float(_closed_moments(act.name, np.array([1.0]))["second"][0])
    elif act.builtin:
        second = _builtin_second_mp(act.name, 1.0)
    else:
        second = float(_quad_second(act, np.array([1.0]), max_order)[0])
    tail = second - np.cumsum(c)
    ok = np.nonzero(tail <= tol * second)[0]
    K = int(ok[0]) if ok.size else max_order
    return c[: K + 1].copy(), float(max(tail[K], 0.0))
