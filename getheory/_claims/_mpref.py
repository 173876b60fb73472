"""Independent high-precision references in mpmath (docs/theory.md §2, §3).

Nothing here imports getheory's numerical code: these are the references the
claims compare getheory's float64 implementation against.

* :func:`gauss_rule` -- a composite Gauss--Legendre rule on panels of width
  ``h`` covering [-L, L], with every breakpoint (0 by default, the kink of
  sign and relu) a panel edge, and the standard normal density folded into
  the weights, so that ``Σ w f(x) ≈ E f(ζ)``, ζ ~ N(0, 1).  Nodes come from
  ``mpmath``'s own Gauss--Legendre generator at the working precision.
  For an integrand analytic in a strip of half-width d around each panel, the
  error per panel falls like ϱ^{-2n} with ϱ = 2d/h + √((2d/h)² - 1) and n
  nodes per panel (48 by default); the truncation at ±L costs ~φ(L).
* :func:`hermite_values` -- probabilists' Hermite polynomials by the
  three-term recursion He_{k+1} = x He_k - k He_{k-1}.
* :func:`mu_mp` -- μ_k(s) = E[σ(sζ) He_k(ζ)] for k = 0..K on that rule.
* :func:`cov_mp` -- Cov(σ(h_i), σ(h_j)) of a bivariate normal pair by
  iterated quadrature (the inner 1-D Gaussian integral in closed form where a
  standard one exists: sign, erf2, relu; by the same panel rule otherwise).
"""

from __future__ import annotations

import functools
import math

import mpmath
from mpmath.calculus.quadrature import GaussLegendre

mp = mpmath.mp

__all__ = ["MP_ACTIVATIONS", "gauss_rule", "hermite_values", "mu_mp", "second_mp", "cov_mp", "workdps"]


def workdps(dps):
    return mp.workdps(dps)


def _sign(x):
    return mp.sign(x)


def _erf2(x):
    return mp.erf(x / mp.sqrt(2))


def _tanh(x):
    return mp.tanh(x)


def _relu(x):
    return x if x > 0 else mp.zero


#: the built-in activations written directly in mpmath (independent of getheory.activations)
MP_ACTIVATIONS = {"sign": _sign, "erf2": _erf2, "tanh": _tanh, "relu": _relu}
KINKED = {"sign", "relu"}


@functools.lru_cache(maxsize=16)
def _legendre(degree: int, prec: int):
    with mp.workprec(prec):
        return tuple(GaussLegendre(mp).calc_nodes(degree, prec))


@functools.lru_cache(maxsize=32)
def gauss_rule(dps: int, L: float, h: float = 1.0, breaks: tuple = (0.0,), degree: int = 5):
    """Nodes and weights (tuples of mpf) with Σ w f(x) ≈ E f(ζ) on [-L, L].

    ``degree`` follows mpmath (3·2^(degree-1) nodes per panel: 48 for 5).
    """
    with mp.workdps(dps + 10):
        n = int(math.ceil(2 * L / h))
        edges = {mp.mpf(-L) + j * mp.mpf(h) for j in range(n + 1)} | {mp.mpf(b) for b in breaks}
        edges = sorted(e for e in edges if -L <= e <= L)
        nodes = _legendre(degree, mp.prec)
        xs, ws = [], []
        c = 1 / mp.sqrt(2 * mp.pi)
        for a, b in zip(edges[:-1], edges[1:]):
            half = (b - a) / 2
            mid = (a + b) / 2
            for t, w in nodes:
                x = mid + half * t
                xs.append(x)
                ws.append(w * half * c * mp.exp(-x * x / 2))
        return tuple(xs), tuple(ws)


def default_L(order: int = 0) -> float:
    """Cut-off of the rule: beyond √(4K+2) + 14 the Hermite functions and φ are below 1e-40."""
    return math.ceil(math.sqrt(4 * order + 2)) + 14.0


def hermite_values(x, K: int) -> list:
    """[He_0(x), ..., He_K(x)] by the three-term recursion."""
    H = [mp.one, x]
    for k in range(1, K):
        H.append(x * H[k] - k * H[k - 1])
    return H[: K + 1]


def mu_mp(name_or_fn, K: int, s=1, dps: int = 40) -> list:
    """μ_k(s) = E[σ(sζ) He_k(ζ)], k = 0..K, as mpf at ``dps`` digits."""
    fn = MP_ACTIVATIONS[name_or_fn] if isinstance(name_or_fn, str) else name_or_fn
    with mp.workdps(dps + 10):
        s = mp.mpf(s)
        xs, ws = gauss_rule(dps, default_L(K))
        mu = [mp.zero] * (K + 1)
        for x, w in zip(xs, ws):
            f = w * fn(s * x)
            if f == 0:
                continue
            H = hermite_values(x, K)
            for k in range(K + 1):
                mu[k] += f * H[k]
        return mu


def second_mp(name_or_fn, s=1, dps: int = 40):
    """E σ(sζ)² at ``dps`` digits."""
    fn = MP_ACTIVATIONS[name_or_fn] if isinstance(name_or_fn, str) else name_or_fn
    with mp.workdps(dps + 10):
        s = mp.mpf(s)
        xs, ws = gauss_rule(dps, default_L(0))
        return mp.fsum(w * fn(s * x) ** 2 for x, w in zip(xs, ws))


def expect_mp(f, dps: int = 40, L: float | None = None, breaks=(0.0,)):
    """E f(ζ) on the panel rule (f takes an mpf)."""
    with mp.workdps(dps + 10):
        xs, ws = gauss_rule(dps, L or default_L(0), 1.0, tuple(breaks))
        return mp.fsum(w * f(x) for x, w in zip(xs, ws))


def _inner_closed(name, a, b):
    """E_z σ(a + b z), z ~ N(0,1), b > 0: standard 1-D Gaussian integrals."""
    if name == "sign":
        return mp.erf(a / (b * mp.sqrt(2)))  # 2Φ(a/b) − 1
    if name == "erf2":
        return mp.erf(a / mp.sqrt(2 * (1 + b * b)))  # P(ζ' − b z ≤ a)·2 − 1
    if name == "relu":
        t = a / b
        return a * mp.ncdf(t) + b * mp.npdf(t)
    return None


def cov_mp(name: str, rho, si, sj, dps: int = 30, inner_degree: int = 4):
    """Cov(σ(h_i), σ(h_j)) for (h_i, h_j) centred normal, Var s_i², s_j², correlation ρ.

    h_i = s_i z1, h_j = s_j(ρ z1 + √(1-ρ²) z2).  The outer integral over z1
    uses :func:`gauss_rule` split at 0; the inner one over z2 is closed form
    for sign, erf2, relu (:func:`_inner_closed`) and the same panel rule for
    any other σ (tanh), split where s_j(ρ z1 + r z2) = 0 is irrelevant as σ
    is smooth there.
    """
    fn = MP_ACTIVATIONS[name]
    with mp.workdps(dps + 10):
        rho, si, sj = mp.mpf(rho), mp.mpf(si), mp.mpf(sj)
        r = mp.sqrt(1 - rho * rho)
        m_i = expect_mp(lambda x: fn(si * x), dps)
        m_j = expect_mp(lambda x: fn(sj * x), dps)
        if name in ("sign", "erf2", "relu"):
            # the inner integral of sign/relu varies on the scale r/|ρ| around z1 = 0:
            # a graded mesh (breaks at ±(r/|ρ|)·2^j) keeps the outer rule at full precision
            brk = [0.0]
            if name in KINKED and rho != 0:
                w0 = float(r / abs(rho))
                while w0 < 1.0:
                    brk += [w0, -w0]
                    w0 *= 2
            xs, ws = gauss_rule(dps, default_L(0), 1.0, tuple(sorted(brk)))
            tot = mp.fsum(w * fn(si * x) * _inner_closed(name, sj * rho * x, sj * r) for x, w in zip(xs, ws))
        else:
            # tanh(s x) has poles at ±iπ/(2s): 24 nodes on unit panels give ~1e-21 for s ≤ 2
            xs, ws = gauss_rule(dps, 12.0, 1.0, (0.0,), inner_degree)
            ys, vs = xs, ws
            tot = mp.zero
            for x, w in zip(xs, ws):
                fx = fn(si * x)
                a = sj * rho * x
                b = sj * r
                tot += w * fx * mp.fsum(v * fn(a + b * y) for y, v in zip(ys, vs))
        return tot - m_i * m_j
