"""Compiled per-step kernel of one-pass SGD on the CPU (docs/theory.md §7.1, §7.8).

The samples of a batch are produced elsewhere with BLAS-3 products; this
kernel runs the strictly sequential part -- one update per row -- in a
numba-compiled loop, so there is no Python loop over steps.

Update for one sample x (already centred) with label y, Δ = φ(x) − y,
φ(x) = Σ_k v_k g(λ_k), λ = W x/√N (docs/theory.md §7.1):

    w_k ← w_k − (η/√N) v_k g'(λ_k) Δ x,     v_k ← v_k − (η/N) g(λ_k) Δ,

both with the values of W and v *before* the step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..activations import NETWORK_ACTIVATIONS, get_network_activation

__all__ = ["G_CODES", "sgd_segment"]

#: network activation name -> its ``kernel_code`` (read from the activation objects), the branch of
#: ``_g`` and ``_gprime`` below: 0 erf(z/√2), 1 linear, 2 relu
G_CODES = {g: get_network_activation(g).kernel_code for g in NETWORK_ACTIVATIONS}

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


# One branch per NetworkActivation.kernel_code (getheory.activations._network), the same formulas as
# the objects' cuda_g/cuda_gprime and g_and_gprime (tests/backend/test_strict_device.py compares them).
@numba.njit(cache=True, inline="always")
def _g(z, code):
    if code == 0:
        return math.erf(z * _INV_SQRT2)
    if code == 1:
        return z
    return max(0.0, z)


@numba.njit(cache=True, inline="always")
def _gprime(z, code):
    if code == 0:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * z * z)
    if code == 1:
        return 1.0
    return 1.0 if z > 0.0 else 0.0


# fastmath only allows reassociation (vectorised dot products) and fused
# multiply-add; no approximations of erf/exp, no NaN/inf assumptions.  nogil: the sources of a
# run step side by side in threads (getheory.dynamics._batches.run_kernels).
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def sgd_segment(W, v, X, y, eta, code, train_v, start, stop):
    """Run SGD steps on rows ``start:stop`` of ``X`` in place on ``W`` (K, N) and ``v`` (K,).

    Returns the number of steps done; it is smaller than ``stop − start``
    only when the weights became non-finite (divergence), in which case the
    loop stops at that step.
    """
    K, N = W.shape
    sqN = math.sqrt(N)
    lr_w = eta / sqN
    lr_v = eta / N
    lam = np.empty(K)
    gl = np.empty(K)
    coef = np.empty(K)
    for s in range(start, stop):
        x = X[s]
        for k in range(K):
            acc = 0.0
            wk = W[k]
            for i in range(N):
                acc += wk[i] * x[i]
            lam[k] = acc / sqN
        phi = 0.0
        for k in range(K):
            gl[k] = _g(lam[k], code)
            phi += v[k] * gl[k]
        delta = phi - y[s]
        if not math.isfinite(delta):
            return s - start
        for k in range(K):
            coef[k] = lr_w * v[k] * _gprime(lam[k], code) * delta
        for k in range(K):
            ck = coef[k]
            wk = W[k]
            for i in range(N):
                wk[i] -= ck * x[i]
        if train_v:
            for k in range(K):
                v[k] -= lr_v * gl[k] * delta
    return stop - start
