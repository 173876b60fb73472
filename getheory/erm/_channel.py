"""The channel side of the ERM fixed point: Gaussian integrals of a loss's proximal map
(docs/theory.md §10.2).

The student's cavity field ω and the teacher's field ν are jointly Gaussian with E ω² = q,
E ων = m, E ν² = 1.  With f = (prox(ω; y, V) − ω)/V and ∂ω prox the prox's derivative,

    V̂/α = E[(1 − ∂ω prox)/V],   q̂/α = E[f²],   m̂/α = E[∂ν f(y(ν), ω)],
    training loss = E[ℓ(y, prox(ω; y, V))].

Binary labels y = sign(ν + √Δ ε) (any loss): given ω, P(y = ±1) = Φ(±a), a = (m/q)ω/s,
s² = 1 − m²/q + Δ, and m̂/α = E[φ(a)/s · (f(+1, ω) − f(−1, ω))] (the jump of f across
ν + √Δ ε = 0).  The ω integral is Gauss–Legendre on [−L√q, L√q], split at 0, at the loss's
kinks and where Φ(a) turns, so that every piece is smooth.  Real labels y = f(ν) + √Δ ε
(square loss only) have closed forms through μ₁ = E f'(ν) and E y².
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import ndtr

from ._losses import Loss

__all__ = ["ChannelMoments", "binary_channel", "square_channel"]

#: the ω integral runs over |ω| <= L √q (the Gaussian weight beyond is below 1e-22)
L_SPAN = 10.0
#: Gauss–Legendre nodes per smooth piece
NODES = 48
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class ChannelMoments:
    """V̂/α, q̂/α, m̂/α and the training loss at the minimiser (§10.2)."""

    Vhat: float
    qhat: float
    mhat: float
    train_loss: float


@lru_cache(maxsize=4)
def _legendre(n: int):
    return leggauss(n)


def _pieces(breaks) -> tuple:
    """Nodes and weights of Gauss–Legendre on each piece between sorted ``breaks``."""
    x, w = _legendre(NODES)
    t, wt = [], []
    for a, b in itertools.pairwise(breaks):
        if b - a <= 0:
            continue
        t.append(0.5 * (b - a) * x + 0.5 * (b + a))
        wt.append(0.5 * (b - a) * w)
    return np.concatenate(t), np.concatenate(wt)


def binary_channel(loss: Loss, m: float, q: float, V: float, noise: float = 0.0) -> ChannelMoments:
    """The channel moments for labels y = sign(ν + √Δ ε), Δ = ``noise`` (§10.2)."""
    sq = math.sqrt(q)
    s = math.sqrt(max(1.0 - m * m / q + noise, 1e-300))
    c = m / (sq * s)  # a = c t for ω = √q t
    breaks = {0.0, -L_SPAN, L_SPAN}
    for y in (-1.0, 1.0):
        breaks.update(k / sq for k in loss.kinks(y, V))
    if abs(c) > 0:
        breaks.update(k / abs(c) for k in (-6.0, -2.0, -0.5, 0.5, 2.0, 6.0))
    t, wt = _pieces(sorted(b for b in breaks if -L_SPAN <= b <= L_SPAN))
    wt = wt * np.exp(-0.5 * t * t) / _SQRT_2PI
    omega = sq * t
    a = c * t
    out = {"Vhat": 0.0, "qhat": 0.0, "train": 0.0}
    f = {}
    for y in (1.0, -1.0):
        p = ndtr(y * a)
        z, dz = loss.prox(y, omega, V)
        f[y] = (z - omega) / V
        out["Vhat"] += float(np.sum(wt * p * (1.0 - dz))) / V
        out["qhat"] += float(np.sum(wt * p * f[y] ** 2))
        out["train"] += float(np.sum(wt * p * loss.value(y, z)))
    mhat = float(np.sum(wt * np.exp(-0.5 * a * a) / (_SQRT_2PI * s) * (f[1.0] - f[-1.0])))
    return ChannelMoments(out["Vhat"], out["qhat"], mhat, out["train"])


def square_channel(mu1: float, second_moment: float, m: float, q: float, V: float) -> ChannelMoments:
    """The square loss's channel moments for real labels with μ₁ = E[y ν] and E y² = ``second_moment``
    (closed forms: prox = (ω + V y)/(1 + V), so f = (y − ω)/(1 + V); §10.2)."""
    err = second_moment - 2.0 * mu1 * m + q  # E(y − ω)²
    return ChannelMoments(Vhat=1.0 / (1.0 + V), qhat=err / (1.0 + V) ** 2, mhat=mu1 / (1.0 + V),
                          train_loss=0.5 * err / (1.0 + V) ** 2)
