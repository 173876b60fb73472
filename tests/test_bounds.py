"""Bound terms of docs/theory.md §5 against their definitions and closed forms."""

import math

import numpy as np
import pytest

from getheory import (
    SingleLayerGenerator,
    bound_term,
    bound_terms,
    default_bound_matrices,
    draw_weights,
    exact_moments,
    hermite_coefficients,
    random_single_layer,
    teacher_term,
)


def _unit_rows(N, D, seed):
    A = np.random.default_rng(seed).standard_normal((N, D))
    return A / np.linalg.norm(A, axis=1, keepdims=True) * math.sqrt(D)  # s_i = 1


def test_bound_term_of_identity_is_weight_gram_norm():
    W = np.random.default_rng(0).standard_normal((3, 20))
    assert bound_term(W, np.eye(20)) == pytest.approx(np.linalg.norm(W @ W.T, 2) / 20, rel=1e-12)


@pytest.mark.parametrize("activation", ["sign", "erf2", "relu", "tanh"])
def test_chaos_matrices_equal_exact_omega_minus_gaussian_equivalent(activation):
    # §5(b): with unit row scales, Ω − (μ1² ρ + μ*² I) = M1 + M2 exactly (Mehler).
    A = _unit_rows(15, 6, seed=1)
    gen = SingleLayerGenerator(A, activation)
    Om = exact_moments(gen).Omega
    _, mu1, mus = hermite_coefficients(activation, 1.0)
    rho = A @ A.T / 6
    ge = mu1**2 * rho + mus**2 * np.eye(15)
    M1, M2, info = default_bound_matrices(A, activation)
    assert np.allclose(Om - ge, M1 + M2, atol=1e-10), info


def test_parity_of_default_matrices():
    A = _unit_rows(10, 5, seed=2)
    M1, M2, _ = default_bound_matrices(A, "sign")
    assert np.all(M1 == 0) and np.abs(M2).max() > 0  # odd σ: even chaos vanishes
    M1, M2, _ = default_bound_matrices(A, "relu")
    assert np.abs(M1).max() > 0 and np.abs(M2).max() < 1e-14  # relu: μ_k = 0 for odd k ≥ 3


def test_streamed_bound_terms_equal_explicit_matrices():
    gen = SingleLayerGenerator(_unit_rows(25, 12, seed=3), "relu")
    Ws, Wt = draw_weights(25, 12, 2, 2, seed=4)
    M1, M2, _ = default_bound_matrices(gen.A, "relu")
    bt = bound_terms(gen, Ws, Wt)
    assert bt.M1_term == pytest.approx(bound_term(Ws, M1), rel=1e-9, abs=1e-14)
    assert bt.M2_term == pytest.approx(bound_term(Ws, M2), rel=1e-9, abs=1e-14)
    assert bt.n_term == pytest.approx(1 / 5)
    assert bt.truncation_error < 1e-10


def test_teacher_term_closed_form():
    A = np.eye(4)[:, :2] * 2.0  # N=4, D=2
    Wt = np.array([[1.0, 0.0]])
    # ‖W̃ Aᵀ‖_op² = 4, divided by D² = 4 and √N = 2
    assert teacher_term(Wt, A) == pytest.approx(0.5)


def test_bound_terms_invariant_under_permutation_and_rotation():
    gen = random_single_layer(20, 10, "sign", seed=5)
    Ws, Wt = draw_weights(20, 10, 2, 2, seed=6)
    a = bound_terms(gen, Ws, Wt)
    perm = np.random.default_rng(0).permutation(20)
    O, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((10, 10)))
    b = bound_terms(SingleLayerGenerator(gen.A[perm] @ O, "sign"), Ws[:, perm], Wt @ O)
    for k in ("M1_term", "M2_term", "teacher_term"):
        assert getattr(a, k) == pytest.approx(getattr(b, k), rel=1e-9, abs=1e-15)


def test_bound_terms_reject_bad_inputs():
    gen = random_single_layer(6, 3, "sign", seed=0)
    Ws, Wt = draw_weights(6, 3, 1, 1, seed=0)
    with pytest.raises(ValueError, match="W_student"):
        bound_terms(gen, Ws[:, :3], Wt)
    with pytest.raises(ValueError, match="symmetric"):
        bound_term(Ws, np.triu(np.ones((6, 6))))
    with pytest.raises(ValueError, match="M has shape"):
        bound_term(Ws, np.eye(5))
