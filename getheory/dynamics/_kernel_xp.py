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

from ..activations import network_activation_of_code

__all__ = ["sgd_segment_xp"]


def sgd_segment_xp(bk, W, v, X, y, eta, code, train_v, start, stop):
    """Run SGD steps on rows ``start:stop`` of ``X`` in place on ``W`` (K, N) and ``v`` (K,).

    Same contract as :func:`getheory.dynamics._kernel_cpu.sgd_segment`: returns the
    number of steps done, smaller than ``stop − start`` only when Δ became non-finite.
    (g, g') are those of the network activation whose ``kernel_code`` is ``code``
    (:meth:`getheory.activations.NetworkActivation.g_and_gprime`).
    """
    g_and_gprime = network_activation_of_code(code).g_and_gprime
    xp = bk.xp
    N = int(W.shape[1])
    sqN = math.sqrt(N)
    lr_w, lr_v = eta / sqN, eta / N
    for s in range(start, stop):
        x = X[s, :]
        lam = (W @ x) / sqN
        gl, gp = g_and_gprime(bk, lam)
        delta = xp.sum(v * gl) - y[s]
        if not bk.to_bool(xp.isfinite(delta)):
            return s - start
        coef = lr_w * v * gp * delta
        W -= coef[:, None] * x[None, :]
        if train_v:
            v -= lr_v * gl * delta
    return stop - start
