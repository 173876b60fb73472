"""Array-API reference step of one-pass SGD, for backends without a compiled kernel (docs/theory.md §7.1, §7.8).

The same update as the compiled kernels (:mod:`getheory.dynamics._kernel_cpu`,
:mod:`getheory.dynamics._kernel_cuda`), for a sample x (centred) with label y,
Δ = φ(x) − y, φ(x) = Σ_k v_k g(λ_k), λ = W x/√N:

    w_k ← w_k − (η/√N) v_k g'(λ_k) Δ x,     v_k ← v_k − (η/N) g(λ_k) Δ,

with the values of W and v before the step, written once in the array API and run
row by row from Python.  It is slow (a dozen small kernels a step) and exists so that
the SGD driver runs on any backend, the simulated device included, and so that the
compiled kernels have a readable reference to agree with.
"""

from __future__ import annotations

import math

__all__ = ["sgd_segment_xp"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def _g_and_gprime(bk, z, code):
    """(g(z), g'(z)) elementwise for the kernels' codes (0: erf(z/√2), 1: linear, 2: relu)."""
    xp = bk.xp
    if code == 0:
        return bk.erf(z * _INV_SQRT2), _SQRT_2_OVER_PI * xp.exp(-0.5 * z * z)
    if code == 1:
        return z, xp.ones_like(z)
    pos = z > 0.0
    return xp.where(pos, z, xp.zeros_like(z)), xp.astype(pos, z.dtype)


def sgd_segment_xp(bk, W, v, X, y, eta, code, train_v, start, stop):
    """Run SGD steps on rows ``start:stop`` of ``X`` in place on ``W`` (K, N) and ``v`` (K,).

    Same contract as :func:`getheory.dynamics._kernel_cpu.sgd_segment`: returns the
    number of steps done, smaller than ``stop − start`` only when Δ became non-finite.
    """
    xp = bk.xp
    N = int(W.shape[1])
    sqN = math.sqrt(N)
    lr_w, lr_v = eta / sqN, eta / N
    for s in range(start, stop):
        x = X[s, :]
        lam = (W @ x) / sqN
        gl, gp = _g_and_gprime(bk, lam, code)
        delta = xp.sum(v * gl) - y[s]
        if not bk.to_bool(xp.isfinite(delta)):
            return s - start
        coef = lr_w * v * gp * delta
        W -= coef[:, None] * x[None, :]
        if train_v:
            v -= lr_v * gl * delta
    return stop - start
