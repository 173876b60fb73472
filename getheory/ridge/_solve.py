"""Ridge solutions from the accumulated statistics XᵀX and Xᵀy (docs/theory.md §8.1).

In our scaling ŵ = argmin Σ (y − w·x/√N)² + λ‖w‖² solves (XᵀX/N + λ) ŵ = Xᵀy/√N.  We
return the predictor v = ŵ/√N (prediction ŷ = v·x), which solves (XᵀX + λN) v = Xᵀy.

Two solvers give the same v:

* ``"eigh"``: one eigendecomposition XᵀX = V diag(e) Vᵀ serves every λ at once,
  v_λ = V diag(1/(e + λN)) Vᵀ Xᵀy (≈ 9 N³ flops once, then O(N²) per λ);
* ``"cholesky"``: one Cholesky factorisation of XᵀX + λN per λ (N³/3 flops each),
  cheaper for up to about 8 values of λ, which is the usual case.

``"auto"`` takes Cholesky for up to :data:`CHOLESKY_MAX_LAMBDAS` values and eigh above.

``threads`` limits the BLAS/LAPACK threads of the solve (threadpoolctl).  OpenBLAS's
factorisations synchronise their threads many times per call; on a machine whose cores
are busy with other jobs, two threads made a 2000 × 2000 Cholesky 3× slower than one
(0.23 s vs 0.08 s, measured on the 2-core development machine under load).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, eigh
from threadpoolctl import threadpool_limits

__all__ = ["SOLVERS", "CHOLESKY_MAX_LAMBDAS", "ridge_predictors"]

SOLVERS = ("auto", "eigh", "cholesky")
#: up to this many λ, one Cholesky per λ is cheaper than one eigh (measured ratio ≈ 3 λ per eigh at N = 2000)
CHOLESKY_MAX_LAMBDAS = 8


def ridge_predictors(G, r, lambdas, N: int, *, solver: str = "auto", work=None, threads=None) -> np.ndarray:
    """Predictors v_λ (len(λ), N) with (G + λN) v = r, G = XᵀX (N, N), r = Xᵀy (N,).

    ``work`` is an optional (N, N) buffer reused for the Cholesky factor (G is not modified);
    ``threads`` caps the BLAS threads during the solve (None: leave them as they are).
    """
    if threads is None:
        return _predictors(G, r, lambdas, N, solver, work)
    with threadpool_limits(limits=int(threads), user_api="blas"):
        return _predictors(G, r, lambdas, N, solver, work)


def _predictors(G, r, lambdas, N, solver, work):
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    lambdas = np.asarray(lambdas, dtype=np.float64).reshape(-1)
    if solver == "auto":
        solver = "cholesky" if lambdas.size <= CHOLESKY_MAX_LAMBDAS else "eigh"
    out = np.empty((lambdas.size, G.shape[0]))
    if solver == "eigh":
        e, V = eigh(G, driver="evd")
        e = np.clip(e, 0.0, None)  # XᵀX is PSD; negative values are rounding
        Vr = V.T @ r
        for j, lam in enumerate(lambdas):
            out[j] = V @ (Vr / (e + lam * N))
        return out
    if work is None or work.shape != G.shape:
        work = np.empty_like(G)
    diag = np.einsum("ii->i", work)
    for j, lam in enumerate(lambdas):
        np.copyto(work, G)
        diag += lam * N
        c = cho_factor(work, lower=True, overwrite_a=True, check_finite=False)
        out[j] = cho_solve(c, r, check_finite=False)
    return out
