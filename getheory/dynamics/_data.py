"""Data sources of the SGD: generator data and its Gaussian equivalent (docs/theory.md §7.2).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._odes import _check_omega

class GeneratorData:
    """Centred generator inputs x − E x for SGD (docs/theory.md §7.1)."""

    name = "generator"

    def __init__(self, generator, mean):
        self.generator = generator
        self.N = generator.N
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        if self.mean.shape[0] != self.N:
            raise ValueError(f"mean has {self.mean.shape[0]} entries, the generator has N={self.N}")

    def inputs(self, c, rng):
        x = np.asarray(self.generator.sample(c), dtype=np.float64)
        x -= self.mean
        return x

    def to_data_basis(self, W):
        return W

    def from_data_basis(self, W):
        return W


class GaussianEquivalentData:
    """Gaussian-equivalent inputs x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ (docs/theory.md §7.2).

    ``basis="eigen"`` (default) generates the inputs in the orthonormal
    eigenbasis U of S² = Ω − ΦΦᵀ: x' = Uᵀx̂ = (UᵀΦ) c + diag(s) ξ', which costs
    one N×D product per sample instead of an N×N one.  SGD is equivariant
    under the rotation (λ = W x/√N = (W U)(Uᵀ x)/√N and the update is along
    x), so a run from W U on x' is the same run as from W on x̂ (tested);
    weights are rotated in and out with :meth:`to_data_basis` and
    :meth:`from_data_basis`.  ``basis="direct"`` forms x̂ itself.  Negative
    eigenvalues of Ω − ΦΦᵀ that are round-off or Monte Carlo noise are
    clipped to zero (``clipped`` counts them, ``clipped_mass`` their sum).
    """

    name = "gaussian"

    def __init__(self, Omega, Phi, *, basis="eigen", rtol=1e-6):
        Omega = _check_omega(Omega)
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[0] != Omega.shape[0]:
            raise ValueError(f"Phi must have shape (N, D) with N={Omega.shape[0]}, got {Phi.shape}")
        if basis not in ("eigen", "direct"):
            raise ValueError(f"basis must be 'eigen' or 'direct', got {basis!r}")
        self.N = Omega.shape[0]
        self.basis = basis
        S2 = Omega - Phi @ Phi.T
        w, U = np.linalg.eigh((S2 + S2.T) / 2)
        top = max(float(np.max(np.diag(Omega))), 1e-300)  # scale for the round-off tolerance
        neg = w < 0
        self.clipped = int(np.sum(neg))
        self.clipped_mass = float(-np.sum(w[neg]))
        if w[0] < -rtol * top:
            warnings.warn(
                f"Ω − ΦΦᵀ has {self.clipped} negative eigenvalue(s) down to {w[0]:.3g} (relative "
                f"{w[0] / top:.2g}); expected only from Monte Carlo error in (Ω, Φ); clipped to 0",
                RuntimeWarning,
                stacklevel=2,
            )
        self.s = np.sqrt(np.clip(w, 0, None))
        self.U = U
        if basis == "eigen":
            self.PhiT = np.ascontiguousarray((U.T @ Phi).T)  # (D, N): rows of c @ PhiT
        else:
            self.PhiT = np.ascontiguousarray(Phi.T)
            self.S = (U * self.s) @ U.T

    def inputs(self, c, rng, xi=None):
        if xi is None:
            xi = rng.standard_normal((c.shape[0], self.N))
        x = c @ self.PhiT
        if self.basis == "eigen":
            x += xi * self.s
        else:
            x += xi @ self.S
        return x

    def to_data_basis(self, W):
        return W @ self.U if self.basis == "eigen" else W

    def from_data_basis(self, W):
        return W @ self.U.T if self.basis == "eigen" else W



def _teacher_labels(c, W_teacher, v_teacher, g):
    nu = c @ W_teacher.T / math.sqrt(W_teacher.shape[1])
    return _g_np(nu, g) @ v_teacher


def _g_np(z, g):
    if g == "erf2":
        from scipy.special import erf

        return erf(z / math.sqrt(2))
    if g == "linear":
        return z
    return np.maximum(z, 0)
