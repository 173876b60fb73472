"""Independent references for the property tests (quadratures written here, not in getheory).

``bivariate_reference``, ``wrapped`` and ``kernel_1x1`` come from tests/test_activations.py,
``quad_w1`` and ``quad_w2`` from tests/distances/test_distances.py, with the @given tests that use
them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import integrate, stats
from scipy.special import roots_legendre

from getheory.activations import Activation, get_activation, omega_kernel

SQ2PI = math.sqrt(2 * math.pi)


def wrapped(name: str) -> Activation:
    """The built-in σ as a *user* activation: same function, no closed forms."""
    act = get_activation(name)
    return Activation("user_" + name, lambda x, f=act.fn: f(x), act.kink)


def kernel_1x1(act, rho, si, sj, **kw):
    """Ω_ij of one pair (ρ, s_i, s_j) through getheory's omega_kernel."""
    C = np.array([[rho * si * sj]])
    return float(omega_kernel(act, C, np.array([si]), np.array([sj]), **kw)[0, 0])


def bivariate_reference(act: Activation, rho: float, si: float, sj: float) -> float:
    """Cov(σ(h_i), σ(h_j)) by an independent 2-D Gauss–Legendre quadrature.

    h_i = s_i ζ, h_j = s_j (ρ ζ + r η), r = √(1−ρ²).  ζ on [−14, 0] ∪ [0, 14]
    and, for each ζ node, η on [−14, η*] ∪ [η*, 14] with η* = −ρζ/r the kink
    of σ(h_j) at 0; 200 nodes per piece, so every piece is a smooth integrand
    even for sign and relu.  Accuracy (200 vs 300 nodes, L = 14 vs 16): 5e-14.
    """
    r = math.sqrt(1 - rho * rho)
    t, wt = roots_legendre(200)

    def pieces(a, b):
        # nodes/weights of GL on [a, b] (broadcast over rows of a, b)
        a, b = np.asarray(a)[..., None], np.asarray(b)[..., None]
        return (b - a) / 2 * t + (a + b) / 2, (b - a) / 2 * wt

    z1, wz1 = pieces(-14.0, 0.0)
    z2, wz2 = pieces(0.0, 14.0)
    z = np.concatenate([z1, z2])
    wz = np.concatenate([wz1, wz2]) * np.exp(-z * z / 2) / SQ2PI
    eta_star = np.clip(-rho * z / r, -14, 14)
    e1, we1 = pieces(np.full_like(z, -14.0), eta_star)
    e2, we2 = pieces(eta_star, np.full_like(z, 14.0))
    e = np.concatenate([e1, e2], axis=1)
    we = np.concatenate([we1, we2], axis=1) * np.exp(-e * e / 2) / SQ2PI
    g = np.sum(we * act(sj * (rho * z[:, None] + r * e)), axis=1)  # E[σ(h_j) | ζ]
    fi = act(si * z)
    return float(np.sum(wz * fi * g) - np.sum(wz * fi) * np.sum(wz * g))


def quad_w1(y, mu, sigma):
    """∫|F_n - Φ| by adaptive quadrature, split at the breakpoints: the sample points (jumps of
    F_n) and the normal quantiles μ + σΦ^{-1}(j/n) (kinks of |F_n - Φ|)."""
    ys = np.sort(np.asarray(y, float))
    n = ys.size

    def f(t):
        return abs(np.searchsorted(ys, t, side="right") / n - stats.norm.cdf(t, mu, sigma))

    qs = mu + sigma * stats.norm.ppf(np.arange(1, n) / n)
    pts = np.concatenate([[-np.inf], np.unique(np.concatenate([ys, qs])), [np.inf]])
    return sum(integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0] for a, b in itertools.pairwise(pts) if b > a)


def quad_w2(y, mu, sigma):
    """(∫_0^1 (F_n^{-1}(q) - Φ^{-1}(q))² dq)^{1/2} by quadrature on the cells of F_n^{-1}."""
    ys = np.sort(np.asarray(y, float))
    n = ys.size
    tot = 0.0
    for j in range(n):
        tot += integrate.quad(lambda q, yj=ys[j]: (yj - stats.norm.ppf(q, mu, sigma)) ** 2, j / n, (j + 1) / n,
                              epsabs=1e-14, epsrel=1e-12, limit=200)[0]
    return math.sqrt(tot)
