"""The problem step: the generator and the weights a check measures (docs/theory.md §1)."""

import numpy as np
import pytest

from getheory import random_deep, random_single_layer
from getheory._seeds import CHECK
from getheory.check import CheckOptions, build_problem, draw_weights


def test_draw_weights_are_standard_normal_student_then_teacher_from_one_generator():
    Ws, Wt = draw_weights(5, 3, 2, 1, seed=4)
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(Ws, rng.standard_normal((2, 5)))
    np.testing.assert_array_equal(Wt, rng.standard_normal((1, 3)))
    Wa, Wta = draw_weights(5, 3, 2, 1, seed=4, ensemble="abs_gaussian")
    np.testing.assert_array_equal(Wa, np.abs(Ws))
    np.testing.assert_array_equal(Wta, Wt)


def test_an_unknown_weight_ensemble_is_refused():
    with pytest.raises(ValueError, match="unknown weight ensemble 'uniform'"):
        draw_weights(5, 3, 1, 1, seed=0, ensemble="uniform")


def test_the_default_problem_is_drawn_from_the_generator_and_weights_streams():
    options = CheckOptions(activation="erf", N=12, D=6, K=1, M=2, samples=2048, seed=9, weights="abs_gaussian")
    p = build_problem(None, None, None, options, CHECK.streams(9))
    seeds = CHECK.streams(9)
    np.testing.assert_array_equal(p.generator.A, random_single_layer(12, 6, "erf", seed=seeds.generator).A)
    Ws, Wt = draw_weights(12, 6, 1, 2, seeds.weights, ensemble="abs_gaussian")
    np.testing.assert_array_equal(p.W_student, Ws)
    np.testing.assert_array_equal(p.W_teacher, Wt)
    assert (p.N, p.D, p.K, p.M, p.single_layer) == (12, 6, 1, 2, True)


def test_given_weights_are_kept_and_a_missing_one_is_drawn():
    gen = random_single_layer(8, 4, "sign", seed=0)
    Ws = np.ones((3, 8))
    p = build_problem(gen, Ws, None, CheckOptions(M=1, samples=2048), CHECK.streams(0))
    np.testing.assert_array_equal(p.W_student, Ws)
    np.testing.assert_array_equal(p.W_teacher, draw_weights(8, 4, 2, 1, CHECK.streams(0).weights)[1])
    assert (p.K, p.M) == (3, 1)


def test_a_given_generator_brings_its_own_sizes_under_the_default_options():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    p = build_problem(gen, None, None, CheckOptions(samples=2048), CHECK.streams(0))
    assert p.generator is gen and (p.N, p.D) == (5, 4) and not p.single_layer


@pytest.mark.parametrize("options, given, message", [
    ({"N": 64}, (), "N = 64 was given, but the generator given has N = 32"),
    ({"D": 8}, (), "D = 8 was given, but the generator given has D = 16"),
    ({"N": 2000}, ("N",), "N = 2000 was given, but the generator given has N = 32"),
    ({"activation": "erf"}, (), "activation 'erf' was given, but it only makes the default generator"),
])
def test_a_size_or_activation_that_a_given_generator_would_override_is_refused(options, given, message):
    gen = random_single_layer(32, 16, "sign", seed=0)
    with pytest.raises(ValueError, match=message):
        build_problem(gen, None, None, CheckOptions(samples=2048, **options), CHECK.streams(0), given=given)


def test_options_that_agree_with_the_given_generator_and_weights_are_accepted():
    gen = random_single_layer(32, 16, "erf", seed=0)
    options = CheckOptions(N=32, D=16, K=3, activation="erf", samples=2048)
    p = build_problem(gen, np.ones((3, 32)), None, options, CHECK.streams(0), given=("N", "D", "K", "activation"))
    assert (p.N, p.D, p.K, p.M) == (32, 16, 3, 2)


def test_a_field_count_that_given_weights_would_override_is_refused():
    gen = random_single_layer(8, 4, "sign", seed=0)
    with pytest.raises(ValueError, match="K = 1 was given, but the W_student given has 3 rows"):
        build_problem(gen, np.ones((3, 8)), None, CheckOptions(K=1, samples=2048), CHECK.streams(0))
    with pytest.raises(ValueError, match="M = 2 was given, but the W_teacher given has 1 rows"):
        build_problem(gen, None, np.ones((1, 4)), CheckOptions(samples=2048), CHECK.streams(0), given=("M",))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"N": 0}, ValueError, "N must be an integer >= 1"),
    ({"activation": "softplus"}, ValueError, "softplus"),
    ({"K": 0}, ValueError, "K must be an integer >= 1"),
    ({"K": 5, "M": 4}, ValueError, "K \\+ M = 9 fields; the streaming estimator takes at most 8"),
])
def test_bad_sizes_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        build_problem(None, None, None, CheckOptions(**{"N": 8, "D": 4, "samples": 2048, **kwargs}), CHECK.streams(0))


def test_misshaped_weights_and_foreign_generators_are_refused():
    gen = random_single_layer(8, 4, "sign", seed=0)
    with pytest.raises(ValueError, match="W_student"):
        build_problem(gen, np.ones((1, 7)), np.ones((1, 4)), CheckOptions(samples=2048), CHECK.streams(0))
    with pytest.raises(TypeError, match="generator must be a getheory Generator, got function"):
        build_problem(lambda c: c, None, None, CheckOptions(samples=2048), CHECK.streams(0))
