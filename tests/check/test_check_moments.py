"""The moments step: (E x, Ω, Φ) and the Gaussian match P̂, exact or Monte Carlo (docs/theory.md §2)."""

import numpy as np
import pytest

from getheory import check_generator, random_deep
from getheory.check import CheckOptions, build_problem, compute_moments, start_run
from getheory.check._moments import MOMENT_GROUPS, moment_samples
from getheory.distances import MomentNoise
from getheory.moments import exact_moments, gaussian_match, monte_carlo_moments


def _step(generator, **options):
    options = CheckOptions(**options)
    run = start_run(options)
    problem = build_problem(generator, None, None, options, run.seeds)
    return problem, run, compute_moments(problem, options, run)


def test_single_layer_moments_are_the_closed_forms_with_no_moment_noise():
    problem, _, step = _step(None, activation="sign", N=10, D=5, K=1, M=1, samples=2048, seed=2)
    ex = exact_moments(problem.generator)
    np.testing.assert_array_equal(step.moments.Omega, ex.Omega)
    expected = gaussian_match(ex, problem.W_student, problem.W_teacher)
    np.testing.assert_array_equal(step.match.cov, expected.cov)
    np.testing.assert_array_equal(step.match.mean, expected.mean)
    assert step.noise is None and step.moments.exact


def test_other_generators_get_monte_carlo_moments_on_the_moments_stream():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    problem, run, step = _step(gen, K=2, M=1, samples=2048, moment_samples=1000, seed=4)
    seed = start_run(CheckOptions(samples=2048, seed=4)).seeds.moments
    mc = monte_carlo_moments(gen, 1000, seed=seed, n_groups=MOMENT_GROUPS, dtype=run.dtype,
                             weights=(problem.W_student, problem.W_teacher))
    np.testing.assert_array_equal(step.moments.Omega, mc.Omega)
    np.testing.assert_array_equal(step.match.stderr_cov, gaussian_match(mc, problem.W_student,
                                                                        problem.W_teacher).stderr_cov)
    assert step.noise == MomentNoise(n_samples=1000, n_groups=20, K=2)


@pytest.mark.parametrize("options, expected", [
    ({"samples": "auto"}, 100_000),
    ({"samples": 5000}, 20_000),
    ({"samples": 30_000}, 30_000),
    ({"samples": 30_000, "moment_samples": 4000}, 4000),
    ({"samples": "auto", "moment_samples": 4000}, 4000),
])
def test_monte_carlo_moment_samples_rule(options, expected):
    assert moment_samples(CheckOptions(**options)) == expected


def test_check_of_deep_generator_uses_monte_carlo_moments():
    gen = random_deep([6, 12, 10], "sign", seed=0)
    res = check_generator(gen, samples=3000, seed=1, moment_samples=4000)
    d = res.to_dict()
    assert "Monte Carlo" in d["moments_source"]
    assert d["bound_terms"] is None and "single-layer" in d["bound_terms_note"]
    assert "stderr_cov" in d["gaussian_match"]
