"""The terms of the Gaussian Equivalence Theorem's bound (docs/theory.md §5).

For a single-layer generator the theorem bounds d_MS(P, P̂) by a constant
times the sum of

* B(W, M1) and B(W, M2), with the general term B(W, M) = ‖W M Wᵀ‖_op / N
  (= ‖W M^{1/2}/√N‖²_op for M ⪰ 0), and getheory's default M1 (even Hermite
  chaos k ≥ 2 of the row correlations) and M2 (odd chaos k ≥ 3), §5(b);
* the teacher–generator term N^{-1/2} ‖W̃ Aᵀ‖²_op / D², §5(c);
* the weight-spread term N^{-1/2}, §5(c).

Each term is reported separately, never only as a sum (the constant of the
theorem is not known, so the sum has no absolute meaning).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ._validation import finite_matrix
from .activations import chaos_coefficients
from .backend import backend_of, get_backend
from .generators import SingleLayerGenerator

__all__ = ["bound_term", "BoundTerms", "bound_terms", "default_bound_matrices", "teacher_term", "row_correlations"]


def bound_term(W, M) -> float:
    """General bound term B(W, M) = ‖W M Wᵀ‖_op / N  (§5(a)).

    Parameters
    ----------
    W : array, shape (K, N)
        Student weights.
    M : array, shape (N, N)
        Symmetric matrix (e.g. one of the default M1, M2, or a user's).
    """
    W = finite_matrix(W, "W")
    N = W.shape[1]
    M = finite_matrix(M, "M", (N, N))
    if not np.allclose(M, M.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(M).max()))):
        raise ValueError("M must be symmetric")
    B = W @ M @ W.T
    return float(np.max(np.abs(np.linalg.eigvalsh((B + B.T) / 2)))) / N


def row_correlations(A) -> np.ndarray:
    """ρ_ij = a_i·a_j / (‖a_i‖ ‖a_j‖), the row correlations of A (ρ_ii = 1)  (§2)."""
    A = finite_matrix(A, "A")
    norms = np.linalg.norm(A, axis=1)
    if np.any(norms == 0):
        raise ValueError("A has an all-zero row; its correlation is undefined")
    U = A / norms[:, None]
    rho = U @ U.T
    np.fill_diagonal(rho, 1.0)
    return np.clip(rho, -1.0, 1.0)


def _chaos_terms(bk, rho, W, chaos, tol, need_matrices):
    """Accumulate Σ_k c_k offdiag(ρ^∘k) split by parity, k ≥ 2 (§5(b)).

    ``rho`` and ``W`` live on backend ``bk``; ``chaos`` is (the coefficients c_k, the bound on
    the sum of those not listed); the K×K results come back to the host.  Returns WM1Wᵀ,
    WM2Wᵀ (K×K), the matrices when asked, the last order used and a rigorous bound on the
    operator norm of the omitted tail of W M Wᵀ/N.
    """
    coeffs, tail = chaos
    xp = bk.xp
    N = rho.shape[0]
    K = W.shape[0]
    eye = xp.eye(N, dtype=rho.dtype)
    r = bk.scalar(xp.max(xp.abs(rho - eye))) if N > 1 else 0.0
    WWt = W @ W.T
    w_op2 = float(np.max(np.linalg.eigvalsh(bk.to_numpy(WWt))))  # ‖W‖²_op = λ_max(W Wᵀ), K × K on the host
    acc = {0: xp.zeros((K, K), dtype=rho.dtype), 1: xp.zeros((K, K), dtype=rho.dtype)}
    mats = {0: xp.zeros((N, N), dtype=rho.dtype), 1: xp.zeros((N, N), dtype=rho.dtype)} if need_matrices else None
    P = xp.asarray(rho, copy=True)  # ρ^∘1
    kmax = len(coeffs) - 1
    used = 1
    tail_bound = 0.0
    for k in range(2, kmax + 1):
        P *= rho  # ρ^∘k
        used = k
        ck = float(coeffs[k])
        if ck != 0.0:
            acc[k % 2] += ck * (W @ P @ W.T - WWt)  # W offdiag(P) Wᵀ, since diag(P) = 1
            if need_matrices:
                mats[k % 2] += ck * P
        # the remaining coefficients times r^(k+1) bound every entry of the omitted tail E;
        # ‖W E Wᵀ‖_op / N ≤ ‖W‖²_op · N · max|E_ij| / N
        rest = float(np.sum(coeffs[k + 1 :])) + tail
        tail_bound = w_op2 * rest * r ** (k + 1)
        scale = max(bk.scalar(xp.max(xp.abs(acc[0]))), bk.scalar(xp.max(xp.abs(acc[1]))), 1e-300) / N
        if tail_bound <= tol * scale or r == 0.0:
            break
    out = [bk.to_numpy(acc[0]), bk.to_numpy(acc[1])]
    if need_matrices:
        mats = {key: bk.to_numpy(m).copy() for key, m in mats.items()}
        for m in mats.values():
            np.fill_diagonal(m, 0.0)
    return out[0], out[1], mats, used, tail_bound, r


def default_bound_matrices(A, activation, *, tol=1e-12):
    """getheory's default M1, M2 (N×N) for a single-layer generator  (§5(b)).

    .. math::
        M_1 = \\sum_{k\\,\\mathrm{even} \\ge 2} \\frac{μ_k^2}{k!}\\, \\mathrm{offdiag}(ρ^{∘k}),\\qquad
        M_2 = \\sum_{k\\,\\mathrm{odd} \\ge 3} \\frac{μ_k^2}{k!}\\, \\mathrm{offdiag}(ρ^{∘k})

    with μ_k the Hermite coefficients at unit scale and ρ the row
    correlations of A.  Memory: three N×N float64 matrices.

    Returns
    -------
    M1, M2 : ndarray, shape (N, N)
    info : dict
        ``order`` (last k used), ``max_offdiag_rho``.
    """
    rho = row_correlations(A)
    coeffs, tail = chaos_coefficients(activation, tol=tol)
    W = np.zeros((1, rho.shape[0]))
    chaos = (np.asarray(coeffs, float), float(tail))
    _, _, mats, used, _, r = _chaos_terms(backend_of(rho), rho, W + 1.0, chaos, tol, True)
    return mats[0], mats[1], {"order": used, "max_offdiag_rho": r}


def teacher_term(W_teacher, A) -> float:
    """Teacher–generator term N^{-1/2} ‖W̃ Aᵀ‖²_op / D²  (§5(c)).

    Parameters
    ----------
    W_teacher : array, shape (M, D)
    A : array, shape (N, D)
    """
    A = finite_matrix(A, "A")
    N, D = A.shape
    Wt = finite_matrix(W_teacher, "W_teacher", (None, D))
    return float(np.linalg.norm(Wt @ A.T, 2) ** 2) / D**2 / math.sqrt(N)


@dataclass
class BoundTerms:
    """Every term of the bound (§5), reported separately.

    Attributes
    ----------
    M1_term, M2_term : float
        B(W, M1) and B(W, M2) with getheory's default matrices (§5(b)).
    teacher_term : float
        N^{-1/2} ‖W̃ Aᵀ‖²_op / D² (§5(c)).
    n_term : float
        N^{-1/2} (§5(c)).
    chaos_order : int
        Last Hermite order k kept in M1, M2.
    truncation_error : float
        Rigorous bound on the omitted chaos tail of each of M1_term, M2_term.
    max_offdiag_rho : float
        Coherence max_{i≠j} |ρ_ij| (§6).
    """

    M1_term: float
    M2_term: float
    teacher_term: float
    n_term: float
    chaos_order: int
    truncation_error: float
    max_offdiag_rho: float

    @property
    def total(self) -> float:
        """Sum of the terms (the theorem's constant is unknown: compare rates, not values)."""
        return self.M1_term + self.M2_term + self.teacher_term + self.n_term

    def to_dict(self) -> dict:
        d = asdict(self)
        d["total"] = self.total
        return d


def bound_terms(generator: SingleLayerGenerator, W_student, W_teacher, *, tol=1e-12, backend="numpy") -> BoundTerms:
    """All bound terms of §5 for a single-layer generator and given weights.

    Cost O(N² D) for ρ plus O(k_max K N²) for the chaos sums, on ``backend``;
    memory three N×N float64 matrices there (no M is stored).

    Parameters
    ----------
    generator : SingleLayerGenerator
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    tol : float
        Relative tolerance of the Hermite-chaos truncation.
    """
    if not isinstance(generator, SingleLayerGenerator):
        raise TypeError(
            "the default bound terms are defined for single-layer generators only; "
            "for other generators use bound_term(W, M) with your own M"
        )
    bk = get_backend(backend)
    N, D = generator.N, generator.D
    W = finite_matrix(W_student, "W_student", (None, N))
    Wt = finite_matrix(W_teacher, "W_teacher", (None, D))
    norms = np.linalg.norm(generator.A, axis=1)
    if np.any(norms == 0):
        raise ValueError("A has an all-zero row; its correlation is undefined")
    U = bk.asarray(generator.A / norms[:, None])
    rho = U @ U.T  # §2: row correlations, computed on the backend (O(N² D))
    rho = bk.xp.where(bk.xp.eye(N, dtype=bk.xp.bool), 1.0, bk.xp.clip(rho, -1.0, 1.0))
    coeffs, tail = chaos_coefficients(generator.activation, tol=tol)
    chaos = (np.asarray(coeffs, float), float(tail))
    B1, B2, _, used, tail_bound, r = _chaos_terms(bk, rho, bk.asarray(W), chaos, tol, False)

    def opnorm(B):
        return float(np.max(np.abs(np.linalg.eigvalsh((B + B.T) / 2)))) / N

    return BoundTerms(
        M1_term=opnorm(B1),
        M2_term=opnorm(B2),
        teacher_term=teacher_term(Wt, generator.A),
        n_term=1.0 / math.sqrt(N),
        chaos_order=used,
        truncation_error=tail_bound,
        max_offdiag_rho=r,
    )
