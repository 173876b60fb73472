"""The analytic Edgeworth d_MS: its maximising direction and truncation error (docs/theory.md §4.2).

d_MS ≈ max_u σ_u W_E(κ3(u), κ4(u)), W_E the Edgeworth W1 of §4 (b) evaluated exactly
(:func:`getheory.distances.edgeworth_exact`), κ3, κ4 the leading-order values of
:mod:`._kappa`.  The search is the engine's: quasi-uniform directions on the half-sphere,
then the engine's derivative-free ascent (:func:`getheory.distances.es_refine`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import hermite_e as H

from .._json import to_plain
from .._seeds import seedseq
from ..backend import host_backend
from ..distances import (
    EdgeworthGrid,
    canonical_sign,
    edgeworth_exact,
    es_refine,
    half_sphere_spacing,
    quasi_uniform_directions,
)
from ._kappa import LeadingCumulants, leading_cumulants

__all__ = ["AnalyticDms", "analytic_dms", "edgeworth_search"]

#: E|He_k(Z)| for the truncation estimate of the Edgeworth series (k = 3, 5, 7)
_E_ABS_HE = {3: 1.5100, 5: 7.409, 7: 64.79}


def _e_abs_he(k: int) -> float:
    x, w = H.hermegauss(200)
    c = np.zeros(k + 1)
    c[k] = 1.0
    return float(np.sum(w * np.abs(H.hermeval(x, c))) / math.sqrt(2 * math.pi))


@dataclass
class AnalyticDms:
    """The leading-order κ3, κ4 and Edgeworth d_MS of a single-layer generator (§4.2).

    Attributes
    ----------
    kappa3, kappa4 : float   standardised cumulants along ``direction`` (leading order)
    direction : ndarray (d,)   maximiser of σ_u W_E(κ3(u), κ4(u)) (units of z; ‖u‖ = 1)
    sigma_u : float   √(uᵀΣu)
    edgeworth_w1 : float   the analytic d_MS, σ_u W_E(κ3, κ4)
    truncation_error : float   estimate of |true Edgeworth value − edgeworth_w1| from what
        the expansion neglects (κ3/κ4 patterns and the next Edgeworth terms)
    kappa3_truncation, kappa4_truncation : float   the same for κ3, κ4
    kappa4_complete : bool   κ4 closes at O(1/N) (odd σ); for other σ only κ3 is leading
    parts : dict   each pattern class's share of κ3, κ4
    seconds : float
    """

    kappa3: float
    kappa4: float
    direction: np.ndarray
    sigma_u: float
    edgeworth_w1: float
    truncation_error: float
    kappa3_truncation: float
    kappa4_truncation: float
    kappa4_complete: bool
    N: int
    D: int
    activation: str
    parts: dict = field(default_factory=dict)
    seconds: float = 0.0
    cumulants: LeadingCumulants | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("kappa3", "kappa4", "direction", "sigma_u", "edgeworth_w1",
                                           "truncation_error", "kappa3_truncation", "kappa4_truncation",
                                           "kappa4_complete", "N", "D", "activation", "parts", "seconds")}
        d["method"] = "leading-order pattern sums (docs/theory.md §4.2)"
        return to_plain(d)


class _Objective:
    def __init__(self, lc: LeadingCumulants):
        self.lc = lc
        self.grid = EdgeworthGrid(host_backend(), 2001, 10.0)  # the finer grid: one search a check, values kept

    def __call__(self, U):
        k3, k4, s = self.lc.kappas(U)
        return s * self.grid(k3, k4)


def edgeworth_search(lc: LeadingCumulants, *, n_directions=None, n_starts=8, iterations=60, seed=0):
    """Maximise σ_u W_E(κ3(u), κ4(u)) over the half-sphere; returns (u, value).

    d = 2: 4096 equispaced angles; d ≥ 3: quasi-uniform design; then the ascent of
    :func:`getheory.distances.es_refine` from the best ``n_starts``, and the exact
    W_E at the winner.
    """
    d = lc.Sigma.shape[0]
    bk = host_backend()
    obj = _Objective(lc)
    if d == 1:
        U = np.ones((1, 1))
    else:
        nd = n_directions or (4096 if d == 2 else 2048 * (d - 1))
        s_dir, s_rng = seedseq(seed).spawn(2)
        U0 = quasi_uniform_directions(d, nd, s_dir)
        f0 = obj(U0)
        top = np.argsort(-f0)[:n_starts]
        U, f = U0[top], f0[top]
        th = half_sphere_spacing(d, U0.shape[0])
        U, f, _, _ = es_refine(bk, bk.rng(s_rng), obj, U, f, np.full(len(f), 0.5 * th), iterations, 2 * th, 1e-9)
    k3, k4, s = lc.kappas(U)
    vals = np.array([s[i] * edgeworth_exact(k3[i], k4[i])[0] for i in range(len(s))])
    best = int(np.argmax(vals))
    return canonical_sign(U[best]), float(vals[best])


def analytic_dms(generator, W_student, W_teacher, *, backend="numpy", block=None, seed=0) -> AnalyticDms:
    """Leading-order κ3, κ4 and the Edgeworth d_MS of a single-layer generator, without sampling.

    Parameters
    ----------
    generator : SingleLayerGenerator
    W_student : (K, N), W_teacher : (M, D)
    backend : "numpy" or "cupy" (the O(N²·D) pattern sums); block : rows of A per block

    Returns
    -------
    AnalyticDms

    Cost O(N²·D) flops, memory O(N·D + block·N): Ω and ρ are never formed whole.

    Examples
    --------
    >>> import getheory as gt
    >>> gen = gt.random_single_layer(64, 32, "sign", seed=0)
    >>> W_student, W_teacher = gt.draw_weights(64, 32, K=1, M=1, seed=1)
    >>> a = gt.analytic_dms(gen, W_student, W_teacher)
    >>> a.kappa3, a.kappa4_complete  # odd σ: κ3 = 0 and κ4 = O(1/N) is complete (§4.2)
    (0.0, True)
    >>> round(a.kappa4, 2), round(a.edgeworth_w1, 3)
    (-0.18, 0.011)
    """
    t0 = time.perf_counter()
    lc = leading_cumulants(generator, W_student, W_teacher, backend=backend, block=block)
    u, w = edgeworth_search(lc, seed=seed)
    k3, k4, s = (float(v[0]) for v in lc.kappas(u))
    t3 = float(lc.truncation_kappa3(u)[0])
    t4 = float(lc.truncation_kappa4(u)[0])
    # Edgeworth truncation: ∂W_E/∂κ times the cumulant errors, plus the next Edgeworth
    # terms (κ5/120 He4, κ6/720 He5 + κ4²/1152 He7, κ3κ4/144 He6 ...) bounded by their size
    _, g3, g4 = edgeworth_exact(k3, k4)
    nxt = (k4 * k4) * (_e_abs_he(7) / 1152.0 + _e_abs_he(5) / 720.0) + abs(k3 * k4) * _e_abs_he(6) / 144.0 \
        + abs(k3) ** 3 * _e_abs_he(7) / 1296.0
    trunc = s * (abs(g3) * t3 + abs(g4) * t4 + nxt)
    return AnalyticDms(
        kappa3=k3, kappa4=k4, direction=u, sigma_u=s, edgeworth_w1=w, truncation_error=float(trunc),
        kappa3_truncation=t3, kappa4_truncation=t4, kappa4_complete=lc.kappa4_complete,
        N=lc.N, D=lc.D, activation=lc.activation, parts=lc.parts(u), seconds=time.perf_counter() - t0,
        cumulants=lc,
    )
