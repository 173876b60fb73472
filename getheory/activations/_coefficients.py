"""Hermite coefficients and one-point moments of an activation σ (THEORY §2, §3, §5(b)).

He_k are the probabilists' Hermite polynomials, E[He_k(ζ) He_l(ζ)] = k! δ_kl.
Internally the coefficients are carried *normalised*, ĉ_k = μ_k/√k!, which
never overflow and make Parseval and the Mehler series plain sums:
E σ(sζ)² = Σ_k ĉ_k(s)², Cov(σ(h_i), σ(h_j)) = Σ_{k≥1} ĉ_k(s_i) ĉ_k(s_j) ρ^k.
Each function takes the closed forms of the activation object where it has them
(:meth:`~getheory.activations.Activation.closed`), and otherwise the panel quadrature
(:mod:`getheory.activations._quadrature`) or mpmath.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._base import _REGISTRY, Activation, get_activation
from ._checks import _check_order, _check_scale, _check_scales, _check_tol
from ._quadrature import _eval, _mp, _quad_normalized, _quad_second, _sqrt_factorials

_METHODS = ("auto", "closed", "quad", "mpmath")


def _closed_moments(forms: Activation, s: np.ndarray) -> dict:
    """E σ(sζ), E σ(sζ)², E σ'(sζ) from the closed forms of ``forms`` (THEORY §2, §3)."""
    with np.errstate(divide="ignore"):
        return forms.moments_closed(s)


def _normalized_table(act: Activation, s: np.ndarray, order: int, method: str = "auto") -> np.ndarray:
    forms = act.closed()
    if method in ("auto", "closed") and forms is not None:
        return forms.normalized_closed(s, order)
    if method == "closed":
        closed = ", ".join(a.name for a in _REGISTRY.values() if a.has_closed_forms)
        raise ValueError(
            f"activation {act.name!r} has no closed-form Hermite coefficients "
            f"(closed forms exist for {closed}); use method='quad' or 'mpmath'"
        )
    return _quad_normalized(act, s, order)


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

        L = math.ceil(math.sqrt(4 * order + 2)) + 10
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
    return float(_mp_second(_REGISTRY[name], s, dps))


# ---------------------------------------------------------------------------
# Public coefficient functions
# ---------------------------------------------------------------------------
def hermite_mu_normalized(
    activation, order: int, scale: float = 1.0, *, method: str = "auto", dps: int = 30
) -> np.ndarray:
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


def hermite_mu(
    activation, order: int, scale: float = 1.0, *, method: str = "auto", dps: int = 30
) -> np.ndarray:
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
        ``"closed"``: the closed forms of the built-ins that have them (sign, erf2,
        erf, relu, linear; all k; see their classes in
        :mod:`getheory.activations._builtins`) — ValueError for the others and user callables.
        ``"quad"``: composite Gauss–Legendre with the Gaussian weight, split
        at 0 (:mod:`getheory.activations._quadrature`); ≈ 1e-15 absolute on
        ĉ_k = μ_k/√k! for s ≤ 4.
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
    (μ* collects all chaoses k ≥ 2).  Closed forms for the built-ins that have
    them; quadrature otherwise.

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

    Closed forms for the built-ins that have them (sign, erf2, erf, relu, linear;
    e.g. E erf(sζ/√2)² = (2/π) arcsin(s²/(1+s²))); quadrature vectorised over all
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
    forms = act.closed()
    if forms is not None:
        out = _closed_moments(forms, s)
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
    (the other built-ins, e.g. tanh) or from the panel quadrature (user callables).  For sign the tail
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
    forms = act.closed()
    if forms is not None:
        second = float(_closed_moments(forms, np.array([1.0]))["second"][0])
    elif act.builtin:
        second = _builtin_second_mp(act.name, 1.0)
    else:
        second = float(_quad_second(act, np.array([1.0]), max_order)[0])
    tail = second - np.cumsum(c)
    ok = np.nonzero(tail <= tol * second)[0]
    K = int(ok[0]) if ok.size else max_order
    return c[: K + 1].copy(), float(max(tail[K], 0.0))
