"""Invariances of the theorem's objects under relabellings that keep the law of (λ, ν) (§1).

A rotation of the latent space (c → O c with W_teacher → W_teacher O) and a permutation
of the generator's units (with the columns of W_student; for a deep generator every
hidden layer too) leave the law of (λ, ν) unchanged, hence the Gaussian match (§2), the
bound terms (§5) and the analytic d_MS (§4.2).  Tolerances are for rounding only.
"""

import numpy as np
import pytest
from _profiles import examples
from hypothesis import given, settings

import getheory as gt
import getheory.testing as gtt


@settings(max_examples=examples(20))
@given(problem=gtt.problems(gtt.single_layer_generators(activation=gtt.activations())))
def test_exact_gaussian_match_is_invariant_under_latent_rotations_and_unit_permutations(problem):
    # Σ = [[Q, R], [Rᵀ, T]] from the exact (E x, Ω, Φ), any built-in or random σ (§2)
    gtt.assert_rotation_invariant(*problem)
    gtt.assert_permutation_invariant(*problem)


@settings(max_examples=examples(20))
@given(problem=gtt.problems(gtt.single_layer_generators(activation=gtt.activations(random=False))))
def test_bound_terms_are_invariant_under_latent_rotations_and_unit_permutations(problem):
    # M1, M2 terms (functions of ρ and W), teacher term ‖W̃Aᵀ‖, N^{-1/2} (§5); the chaos order
    # and truncation bound depend on max |ρ| only
    gtt.assert_rotation_invariant(*problem, quantity=gt.bound_terms)
    gtt.assert_permutation_invariant(*problem, quantity=gt.bound_terms)


def _analytic_value(generator, W_student, W_teacher):
    a = gt.analytic_dms(generator, W_student, W_teacher)
    return {"edgeworth_w1": a.edgeworth_w1, "kappa3": abs(a.kappa3), "kappa4": a.kappa4}


@settings(max_examples=examples(2))
@given(problem=gtt.problems(gtt.single_layer_generators(N=(16, 32), activation=gtt.activations(random=False)),
                            K=1, M=1))
def test_analytic_dms_is_invariant_under_a_latent_rotation_and_a_unit_permutation(problem):
    # the leading-order cumulant tensors (§4.2) are invariant to rounding; their maximiser is
    # found by the same seeded search on equal tensors: 1e-7 relative.  One call per side
    # (the analytic search costs ~0.5 s): rotate the latents, then relabel the units.
    gen, Ws, Wt = problem
    rng = np.random.default_rng(0)
    g1, Wt1 = gtt.rotate_latents(gen, Wt, np.linalg.qr(rng.standard_normal((gen.D, gen.D)))[0])
    g2, Ws2 = gtt.permute_units(g1, Ws, rng.permutation(gen.N))
    a, b = _analytic_value(gen, Ws, Wt), _analytic_value(g2, Ws2, Wt1)
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-7, abs=1e-12), k


@settings(max_examples=examples(10))
@given(problem=gtt.problems(gtt.deep_generators(N=(8, 16), depth=(2, 3))))
def test_monte_carlo_match_of_a_deep_generator_is_invariant_under_permutations_of_every_layer(problem):
    # hidden layers relabelled with the next layer's columns: G itself is unchanged; the
    # input units with the columns of W_student: λ unchanged.  Same seed, same latents:
    # the Monte Carlo moments agree to rounding (sums in another order)
    def mc_match(generator, W_student, W_teacher):
        return gtt.match_covariance(generator, W_student, W_teacher, n=2_000, seed=7)

    gtt.assert_permutation_invariant(*problem, quantity=mc_match, rtol=1e-9, atol=1e-12)


@settings(max_examples=examples(10))
@given(problem=gtt.problems(K=1, M=1))
def test_wrapped_user_generator_rotates_and_permutes_like_the_single_layer_one(problem):
    # rotate_latents / permute_units on a CallableGenerator (the wrapper path) give the same
    # samples as the closed single-layer forms A O and A[π]
    gen, Ws, Wt = problem
    user = gt.CallableGenerator(gen.sample, D=gen.D, N=gen.N)
    rng = np.random.default_rng(0)
    O = np.linalg.qr(rng.standard_normal((gen.D, gen.D)))[0]
    perm = rng.permutation(gen.N)
    c = rng.standard_normal((64, gen.D))
    g1, Wt1 = gtt.rotate_latents(gen, Wt, O)
    u1, Wtu = gtt.rotate_latents(user, Wt, O)
    np.testing.assert_allclose(u1.sample(c), g1.sample(c), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Wtu, Wt1)
    g2, W2 = gtt.permute_units(gen, Ws, perm)
    u2, Wu2 = gtt.permute_units(user, Ws, perm)
    np.testing.assert_allclose(u2.sample(c), g2.sample(c), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(W2, Wu2)


def test_invariance_assertions_fail_on_quantities_that_are_not_invariant(small_sign):
    gen, Ws, Wt = small_sign
    with pytest.raises(AssertionError, match="rotation of the latent space"):
        gtt.assert_rotation_invariant(gen, Ws, Wt, quantity=lambda g, W, V: V)  # W̃ itself rotates
    with pytest.raises(AssertionError, match="permutation of the generator's units"):
        gtt.assert_permutation_invariant(gen, Ws, Wt, quantity=lambda g, W, V: g.A[:, 0])
    # a wrong transformation is caught too: rotating A without the teacher changes R
    O = np.linalg.qr(np.random.default_rng(3).standard_normal((gen.D, gen.D)))[0]
    a = gtt.match_covariance(gen, Ws, Wt)
    b = gtt.match_covariance(gt.SingleLayerGenerator(gen.A @ O, gen.activation), Ws, Wt)
    assert not np.allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match="orthogonal"):
        gtt.rotate_latents(gen, Wt, 2 * O)
    with pytest.raises(ValueError, match="permutation of range"):
        gtt.permute_units(gen, Ws, np.zeros(gen.N, dtype=int))
