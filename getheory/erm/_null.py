"""A null problem for the paired generator − Gaussian verdict (docs/theory.md §10.7).

:func:`gaussian_twin` builds a user generator whose inputs have exactly the law of their Gaussian
equivalent, jointly with the latents (and so with the labels), without being that equivalent:

    x = Φ c + S ξ,    S = (Ω − ΦΦᵀ)^{1/2} (the symmetric square root),

with ξ ~ N(0, I_N) drawn by the generator from its own random stream, and (E x = 0, Ω, Φ) exact.
Given these moments (``moments=``), :func:`getheory.erm_curves` builds the Gaussian source x̂ =
Φ c + (Ω − ΦΦᵀ)^{1/2} ξ̂ (in the eigenbasis of Ω − ΦΦᵀ, a rotation) from the same c with its own ξ̂:
the two sources have the same joint law with the labels, but their rows differ, so the paired
differences d_s are centred and not 0.  The fraction of such problems in which
:func:`getheory.erm.paired_gap` resolves a gap is the verdict's false-positive rate.  (A linear σ
is no null here: its Gaussian equivalent is the generator row by row, and every d_s is 0.)

Φ has N(0, 1/(2D)) entries and Ω − ΦΦᵀ = R Rᵀ with R of N(0, 1/(2N)) entries, drawn from ``seed``;
the generator's ξ comes from its own stream of ``seed``.  NumPy backend only (the generator works on
host arrays).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigh

from ..generators import CallableGenerator
from ..moments import Moments

__all__ = ["gaussian_twin"]


def gaussian_twin(N: int, D: int, seed=0) -> tuple:
    """(generator, moments): a generator with the exact law of its Gaussian equivalent (module docstring).

    Parameters
    ----------
    N, D : int
        Input and latent dimensions.
    seed : int or SeedSequence
        Draws Φ, Ω and the generator's own noise stream.

    Returns
    -------
    generator : CallableGenerator
        c (n, D) -> x (n, N) = c Φᵀ + ξ S, ξ from the generator's own stream (NumPy arrays).
    moments : Moments
        The exact (E x = 0, Ω, Φ), to pass as ``erm_curves(..., moments=moments)``.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    ss_phi, ss_r, ss_xi = ss.spawn(3)
    Phi = np.random.default_rng(ss_phi).standard_normal((N, D)) / np.sqrt(2 * D)
    R = np.random.default_rng(ss_r).standard_normal((N, N)) / np.sqrt(2 * N)
    S2 = R @ R.T
    w, U = eigh(S2)
    S = (U * np.sqrt(np.clip(w, 0.0, None))) @ U.T  # symmetric: ξ S has covariance S² = R Rᵀ
    noise = np.random.default_rng(ss_xi)

    def gaussian_twin_inputs(c):
        c = np.asarray(c)
        return c @ Phi.T + noise.standard_normal((c.shape[0], N)) @ S

    generator = CallableGenerator(gaussian_twin_inputs, D, N=N, name="gaussian twin")
    moments = Moments(np.zeros(N), Phi @ Phi.T + S2, Phi, exact=True,
                      source="exact (a Gaussian twin: x = Φc + (Ω − ΦΦᵀ)^{1/2} ξ)")
    return generator, moments
