"""Leading-order κ3(u), κ4(u) of the fields of a single-layer generator (docs/theory.md §4.2).

With the notation of :mod:`._patterns` (P_i = w_i(·), G_i = γ_i(·), per-site constants of
φ_i), the raw (unstandardised) cumulants of y(u) = u·(λ, ν) are, to leading order,

.. math::

    κ_4^{raw}(u) &= \\sum_i κ_4\\big(w_i φ_i(g) + γ_i g\\big)
                  + \\tfrac32 \\sum_{i≠j} ρ_{ij}^2\\, r_i r_j ,
                  \\qquad r_i = w_i^2\\, E[(g^2-1)φ_i^2] + 2 γ_i w_i μ_3(s_i),\\\\
    κ_3^{raw}(u) &= \\sum_i κ_3\\big(w_i φ_i(g) + γ_i g\\big)
                  + \\tfrac32 \\sum_{i≠j} ρ_{ij}^2\\, r_i\\, w_j μ_2(s_j)
                  + \\sum_{i,j,k\\ \\mathrm{distinct}} v_i ρ_{ij} v_j ρ_{jk} v_k ρ_{ki}
                  + \\tfrac34 \\sum_i μ_4(s_i) w_i \\Big(\\sum_{j≠i} ρ_{ij}^2 v_j\\Big)^2,
                  \\quad v_i = w_i μ_2(s_i),

each a form in u (quartic, cubic) held as a tensor; κ_r(u) = κ_r^{raw}(u)/σ_u^r with the
exact σ_u² = uᵀΣu.  κ4 is complete at O(1/N) for odd σ; κ3 at O(N^{-1/2}) for any σ.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..generators import SingleLayerGenerator
from ._patterns import PatternSums

__all__ = ["LeadingCumulants", "leading_cumulants"]


def _sym(T: np.ndarray) -> np.ndarray:
    r = T.ndim
    return sum(np.transpose(T, p) for p in itertools.permutations(range(r))) / math.factorial(r)


def _form(T: np.ndarray, u: np.ndarray) -> np.ndarray:
    """T·u^{⊗r} for a batch of directions u (n, d) -> (n,)."""
    u = np.atleast_2d(u)
    out = T
    # contract the last axis repeatedly
    if T.ndim == 3:
        return np.einsum("abc,na,nb,nc->n", T, u, u, u)
    if T.ndim == 4:
        return np.einsum("abce,na,nb,nc,ne->n", T, u, u, u, u)
    raise ValueError(out.ndim)


@dataclass
class LeadingCumulants:
    """Leading-order cumulant tensors of z = (λ, ν) (docs/theory.md §4.2).

    Attributes
    ----------
    Sigma : (d, d)   exact covariance (§2)
    K3, K4 : (d,)*3, (d,)*4   symmetric raw cumulant tensors (sum of the parts below)
    K3_ring : the three-site patterns (ring and star)
    K3_local, K3_two, K4_local, K4_two : the pattern classes separately
    K4_next : (d,)*4   the two-site form at the next even order in ρ (size of what is neglected)
    kappa4_complete : bool   True for odd σ (κ4 closes at O(1/N)); False otherwise
    N, D, K, M : sizes; rho2_row_mean : mean_i Σ_{j≠i} ρ_ij²
    """

    Sigma: np.ndarray
    K3: np.ndarray
    K4: np.ndarray
    K3_local: np.ndarray
    K3_two: np.ndarray
    K3_ring: np.ndarray
    K4_local: np.ndarray
    K4_two: np.ndarray
    K4_next: np.ndarray
    kappa4_complete: bool
    N: int
    D: int
    K: int
    M: int
    rho2_row_mean: float
    activation: str

    def sigma(self, u) -> np.ndarray:
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        return np.sqrt(np.einsum("na,ab,nb->n", u, self.Sigma, u))

    def kappas(self, u):
        """Standardised (κ3(u), κ4(u), σ_u) for directions u, shape (n, d) or (d,)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        s = self.sigma(u)
        return _form(self.K3, u) / s**3, _form(self.K4, u) / s**4, s

    def parts(self, u) -> dict:
        """Each pattern class's contribution to the standardised κ3(u), κ4(u) (one direction)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        s = float(self.sigma(u)[0])
        f3 = lambda T: float(_form(T, u)[0]) / s**3
        f4 = lambda T: float(_form(T, u)[0]) / s**4
        return {"kappa3_local": f3(self.K3_local), "kappa3_two_site": f3(self.K3_two),
                "kappa3_ring": f3(self.K3_ring), "kappa4_local": f4(self.K4_local),
                "kappa4_two_site": f4(self.K4_two), "kappa4_next_order_two_site": f4(self.K4_next)}

    def truncation_kappa4(self, u) -> np.ndarray:
        """Size of the neglected part of κ4(u) (docs/theory.md §4.2, "What is neglected").

        τ4 = |two-site form at order ρ⁴| + (|local| + |two-site|)·(2/N) : the ρ⁴ two-site
        patterns (computed with the ρ² constants, a proxy of their size) and the three- and
        four-site patterns and cross-corrections, which are O(1/N) relative to the kept terms.
        """
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        s = self.sigma(u)
        loc = np.abs(_form(self.K4_local, u))
        two = np.abs(_form(self.K4_two, u))
        nxt = np.abs(_form(self.K4_next, u))
        return (nxt + (loc + two) * 2.0 / self.N) / s**4

    def truncation_kappa3(self, u) -> np.ndarray:
        """Size of the neglected part of κ3(u): (|local| + |two-site| + |ring|)·(2/N)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        s = self.sigma(u)
        tot = np.abs(_form(self.K3_local, u)) + np.abs(_form(self.K3_two, u)) + np.abs(_form(self.K3_ring, u))
        return tot * 2.0 / self.N / s**3


def leading_cumulants(generator, W_student, W_teacher, *, backend="numpy", block=None) -> LeadingCumulants:
    """Leading-order κ3, κ4 tensors of (λ, ν) for a single-layer generator (§4.2).

    Cost O(N²·D) time (the ρ blocks Â_b Âᵀ), O(b·N + N·D) memory with b rows per block;
    plus O(N·D²) for the three-site ring when σ has a second Hermite coefficient.
    """
    if not isinstance(generator, SingleLayerGenerator):
        raise TypeError(f"analytic cumulants exist only for SingleLayerGenerator, not {type(generator).__name__}")
    ps = PatternSums(generator, W_student, W_teacher, backend=backend, block=block)
    c, P, G = ps.consts, ps.P, ps.G
    d, K = ps.d, ps.K
    E = np.einsum
    K4_local = (E("i,ia,ib,ic,ie->abce", c["k4"], P, P, P, P)
                + 4 * E("i,ia,ib,ic,ie->abce", c["t31"], P, P, P, G)
                + 6 * E("i,ia,ib,ic,ie->abce", c["t22"], P, P, G, G)
                + 4 * E("i,ia,ib,ic,ie->abce", c["mu3"], P, G, G, G))
    K3_local = (E("i,ia,ib,ic->abc", c["k3"], P, P, P)
                + 3 * E("i,ia,ib,ic->abc", c["t21"], P, P, G)
                + 3 * E("i,ia,ib,ic->abc", c["mu2"], P, G, G))
    dd = d * d
    H, H4 = ps.H, ps.rho4_form
    K4_two = 1.5 * H[:dd, :dd].reshape(d, d, d, d)
    K4_next = 1.5 * H4[:dd, :dd].reshape(d, d, d, d)
    K3_two = 1.5 * H[:dd, dd:].reshape(d, d, d)
    K3_ring = np.zeros((d, d, d))
    if ps.ring is not None:
        K3_ring[:K, :K, :K] = ps.ring
    # the star: a centre i (fourth chaos) with two arms j ≠ k, each a double edge ρ²
    K3_star = 0.75 * E("i,ia,ib,ic->abc", c["mu4"], P, ps.Y, ps.Y)
    odd = not ps.has_even and float(np.max(np.abs(c["mu0"]))) < 1e-10
    if odd:  # exact zeros, not quadrature rounding
        K3_local[:] = 0.0
        K3_two[:] = 0.0
        K3_star[:] = 0.0
    K3_ring = _sym(K3_ring) + _sym(K3_star)  # the three-site patterns
    K3_local, K3_two = _sym(K3_local), _sym(K3_two)
    K4_local, K4_two, K4_next = _sym(K4_local), _sym(K4_two), _sym(K4_next)
    return LeadingCumulants(
        Sigma=ps.Sigma, K3=K3_local + K3_two + K3_ring, K4=K4_local + K4_two,
        K3_local=K3_local, K3_two=K3_two, K3_ring=K3_ring, K4_local=K4_local, K4_two=K4_two,
        K4_next=K4_next, kappa4_complete=odd, N=ps.N, D=ps.D, K=ps.K, M=ps.M,
        rho2_row_mean=ps.rho2_row_mean, activation=ps.activation.name,
    )
