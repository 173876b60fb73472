"""Directions on the sphere and the derivative-free ascent shared by every search (THEORY §4 step 2)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from .._seeds import seedseq
from .._validation import check_int

__all__ = ["canonical_sign", "es_refine", "half_sphere_spacing", "quasi_uniform_directions"]


def canonical_sign(u: np.ndarray) -> np.ndarray:
    """Flip ``u`` so that its largest-magnitude component is positive (u and -u are the
    same slice: W_p is invariant under y -> -y on both sides)."""
    u = np.asarray(u, dtype=np.float64)
    u = u / np.linalg.norm(u)
    k = int(np.argmax(np.abs(u)))
    return u if u[k] >= 0 else -u


def _default_n_directions(d: int) -> int:
    return {1: 1, 2: 128, 3: 512, 4: 1024}.get(d, 2048)


def half_sphere_spacing(d: int, k: int) -> float:
    """Typical angular spacing of k quasi-uniform points on a half of S^{d-1}."""
    if d <= 1:
        return 0.0
    if d == 2:
        return math.pi / max(k, 1)
    area = math.pi ** (d / 2) / math.gamma(d / 2)  # half of |S^{d-1}| = 2 π^{d/2} / Γ(d/2)
    return float((area / max(k, 1)) ** (1.0 / (d - 1)))


def quasi_uniform_directions(d: int, k: int, seed=None) -> np.ndarray:
    """Quasi-uniform unit directions on the half-sphere, coordinate axes included.

    d = 2: the equispaced angles πi/k (k rounded up to even, so both axes are in);
    d >= 3: a scrambled Sobol' sequence mapped through Φ^{-1} and normalised (an
    equal-area quasi-random design), plus the d coordinate axes.  u and -u are the same
    slice, so every direction is returned with its largest component positive.

    Returns
    -------
    ndarray, shape (k', d) with k' >= k (host array).
    """
    d = check_int(d, "d", 1)
    k = check_int(k, "n_directions", 1)
    if d == 1:
        return np.ones((1, 1))
    if d == 2:
        k = k + (k % 2)
        th = np.pi * np.arange(k) / k
        U = np.stack([np.cos(th), np.sin(th)], axis=1)
    else:
        ss = seedseq(seed)
        mbits = max(1, int(math.ceil(math.log2(max(k - d, 2)))))
        pts = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(ss)).random_base2(mbits)[: max(k - d, 1)]

        G = ndtri(np.clip(pts, 1e-12, 1 - 1e-12))
        G /= np.linalg.norm(G, axis=1, keepdims=True)
        U = np.concatenate([np.eye(d), G], axis=0)
    idx = np.argmax(np.abs(U), axis=1)
    sgn = np.sign(U[np.arange(U.shape[0]), idx])
    sgn[sgn == 0] = 1.0
    return U * sgn[:, None]


def es_refine(bk, rng, obj, U, f, step, iters, max_step, min_step):
    """Derivative-free local ascent on the sphere, vectorised over B starting points.

    Each iteration draws a random orthonormal frame of the tangent space at every current
    point, evaluates the 2(d-1) geodesic moves ±step along it (one batched call of ``obj``),
    moves to the best candidate if it improves, and adapts the step (x1.6 on success,
    x0.5 on failure).  No host synchronisation: all state stays on the device.
    Returns the final (U, f, step) and the number of evaluations.
    """
    xp = bk.xp
    B, d = int(U.shape[0]), int(U.shape[1])
    if d < 2 or iters <= 0:
        return U, f, step, 0
    nev = 0
    for _ in range(iters):
        G = rng.standard_normal((B, d - 1, d))
        G = xp.asarray(G, dtype=xp.float64)
        basis = [U]
        vecs = []
        for k in range(d - 1):
            g = G[:, k, :]
            for q in basis:
                g = g - xp.sum(g * q, axis=1, keepdims=True) * q
            g = g / xp.sqrt(xp.sum(g * g, axis=1, keepdims=True))
            basis.append(g)
            vecs.append(g)
        T = xp.stack(vecs + [-v for v in vecs], axis=1)  # (B, 2(d-1), d)
        c = xp.cos(step)[:, None, None]
        s = xp.sin(step)[:, None, None]
        C = c * U[:, None, :] + s * T
        C = C / xp.sqrt(xp.sum(C * C, axis=2, keepdims=True))
        lam = int(C.shape[1])
        Cf = xp.reshape(C, (B * lam, d))
        fc = xp.reshape(obj(Cf), (B, lam))
        nev += B * lam
        kbest = xp.argmax(fc, axis=1)
        fb = xp.max(fc, axis=1)
        Cb = xp.take(Cf, xp.arange(B, dtype=kbest.dtype) * lam + kbest, axis=0)
        imp = fb > f
        U = xp.where(imp[:, None], Cb, U)
        f = xp.where(imp, fb, f)
        step = xp.where(imp, xp.minimum(step * 1.6, max_step), xp.maximum(step * 0.5, min_step))
    return U, f, step, nev
