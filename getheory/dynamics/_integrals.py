"""Gaussian integrals I2, I3, I4 and the generalisation error (docs/theory.md §7.1, §7.4).

The closed forms belong to the network activation g (:class:`getheory.activations.NetworkActivation`:
erf(z/√2) and linear have them); these functions check the covariance, look g up in the
activation registry and ask it.  ε_g of a g without a closed form is a Monte Carlo estimate.
"""

from __future__ import annotations

import numpy as np

from ..activations import get_network_activation


def _small_cov(C, n, name):
    C = np.asarray(C, dtype=np.float64)
    if C.shape != (n, n):
        raise ValueError(f"{name} needs the {n}×{n} covariance of its {n} fields, got shape {C.shape}")
    return C


def gauss_I2(C, g="erf2"):
    """I2 = E g(u1) g(u2) for u ~ N(0, C), C 2×2 (docs/theory.md §7.4).

    erf2: (2/π) arcsin(C12/√((1+C11)(1+C22))); linear: C12.
    """
    C = _small_cov(C, 2, "I2")
    return get_network_activation(g, ode=True).gauss_I2(C)


def gauss_I3(C, g="erf2"):
    """I3 = E g'(u1) u2 g(u3) for u ~ N(0, C), C 3×3 (docs/theory.md §7.4).

    erf2: (2/π)(C23(1+C11) − C12 C13)/((1+C11)√Λ3), Λ3 = (1+C11)(1+C33) − C13²; linear: C23.
    """
    C = _small_cov(C, 3, "I3")
    return get_network_activation(g, ode=True).gauss_I3(C)


def gauss_I4(C, g="erf2"):
    """I4 = E g'(u1) g'(u2) g(u3) g(u4) for u ~ N(0, C), C 4×4 (docs/theory.md §7.4).

    erf2: (4/π²) Λ4^{-1/2} arcsin(Λ0/√(Λ1Λ2)) with the Λ's of §7.4; linear: C34.
    """
    C = _small_cov(C, 4, "I4")
    return get_network_activation(g, ode=True).gauss_I4(C)


def integral_tables(C, K, g="erf2"):
    """All integrals the ODEs need, for the full field covariance C (F×F, F = K+M).

    Returns (I2, I3, I4) with I2[a, b] over all fields, I3[a, b, c] over all
    fields and I4[k, l, c, d] with k, l students (docs/theory.md §7.4),
    vectorised; each entry equals gauss_I2/I3/I4 on the sub-covariance of the
    listed fields.
    """
    C = np.asarray(C, dtype=np.float64)
    return get_network_activation(g, ode=True).integral_tables(C, K)


def stein_terms(C, I3, u, K, g="erf2"):
    """(J, h) of the Stein form of the ODEs (docs/theory.md §7.5) for the field covariance C.

    J_ka = E[g'(λ_k) g'(u_a)] (K×F) and h_k = Σ_a u_a E[g''(λ_k) g(u_a)] (K,), with
    u = (v, −ṽ) and I3 from :func:`integral_tables`.
    """
    return get_network_activation(g, ode=True).stein_terms(C, I3, u, K)


def generalisation_error(Q, R, T, v, v_teacher, g="erf2", *, mc_samples=200_000, seed=0):
    """ε_g = ½ E(φ − y)² from the order parameters (docs/theory.md §7.1).

    Closed form for erf2 (the arcsine formula of §7.1) and linear g; for a g without
    one (relu) a fixed-seed Monte Carlo over (λ, ν) ~ N(0, [[Q, R], [Rᵀ, T]]).
    """
    net = get_network_activation(g)
    Q, R, T = (np.asarray(a, dtype=np.float64) for a in (Q, R, T))
    v = np.asarray(v, dtype=np.float64)
    vt = np.asarray(v_teacher, dtype=np.float64)
    closed = net.generalisation_error(Q, R, T, v, vt)
    if closed is not None:
        return closed
    K = Q.shape[0]
    C = np.block([[Q, R], [R.T, T]])
    w, U = np.linalg.eigh(C)
    L = U * np.sqrt(np.clip(w, 0, None))
    z = np.random.default_rng(seed).standard_normal((mc_samples, C.shape[0])) @ L.T
    z = net.g(z)
    return float(0.5 * np.mean((z[:, :K] @ v - z[:, K:] @ vt) ** 2))
