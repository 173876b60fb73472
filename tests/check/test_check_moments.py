"""The moments step: (E x, Ω, Φ) and the Gaussian match P̂, exact or Monte Carlo (docs/theory.md §2)."""

import time

import numpy as np
import pytest

from getheory import CallableGenerator, check_generator, random_deep
from getheory._deadline import TimeBudgetExceeded
from getheory._seeds import shard_seed
from getheory.check import OMEGA_SAMPLES, CheckOptions, build_problem, compute_moments, start_run
from getheory.check._moments import MOMENT_GROUPS, moment_samples
from getheory.distances import MomentNoise
from getheory.moments import exact_moments, gaussian_match, monte_carlo_match, monte_carlo_moments
from getheory.plan import PlanOptions


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
    assert step.noise is None and step.moments.exact and step.source == ex.source


def test_other_generators_get_the_match_from_the_fields_on_the_moments_stream():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    problem, run, step = _step(gen, K=2, M=1, samples=2048, moment_samples=1000, seed=4)
    seed = start_run(CheckOptions(samples=2048, seed=4)).seeds.moments
    mc = monte_carlo_match(gen, problem.W_student, problem.W_teacher, 1000, seed=seed, n_groups=MOMENT_GROUPS,
                           dtype=run.dtype)
    for name in ("mean", "cov", "stderr_cov"):
        np.testing.assert_array_equal(getattr(step.match, name), getattr(mc, name), err_msg=name)
    assert step.noise == MomentNoise(n_samples=1000, n_groups=20, K=2)
    assert step.source.startswith("Monte Carlo match from the fields, n=1000 in 20 groups")


def test_the_match_from_the_fields_equals_the_match_from_omega_it_replaces():
    """The check's match is, to rounding, what the Ω route gave on the same stream (groups: children 0 … 19)."""
    gen = random_deep([4, 6, 5], "tanh", seed=0)
    # float64: the two routes' float32 products round differently (tests/test_moments.py compares them in float32)
    problem, _, step = _step(gen, K=1, M=2, samples=2048, moment_samples=2000, seed=3, dtype="float64")
    seed = start_run(CheckOptions(samples=2048, seed=3)).seeds.moments
    weights = (problem.W_student, problem.W_teacher)
    old = gaussian_match(monte_carlo_moments(gen, 2000, seed=seed, n_groups=MOMENT_GROUPS, weights=weights), *weights)
    for name in ("mean", "cov", "stderr_cov"):
        np.testing.assert_allclose(getattr(step.match, name), getattr(old, name), rtol=0, atol=1e-13, err_msg=name)


def test_omega_and_phi_come_from_their_own_rows_in_two_halves_independent_of_the_match():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    _, run, step = _step(gen, K=1, M=1, samples=2048, moment_samples=1000, omega_samples=3001, seed=4)
    seeds = start_run(CheckOptions(samples=2048, seed=4)).seeds.moments
    a = monte_carlo_moments(gen, 1501, seed=shard_seed(seeds, MOMENT_GROUPS), n_groups=MOMENT_GROUPS // 2,
                            dtype=run.dtype)
    b = monte_carlo_moments(gen, 1500, seed=shard_seed(seeds, MOMENT_GROUPS + 1), n_groups=MOMENT_GROUPS // 2,
                            dtype=run.dtype)
    np.testing.assert_array_equal(step.omega_halves[0].Omega, a.Omega)
    np.testing.assert_array_equal(step.omega_halves[1].Phi, b.Phi)
    np.testing.assert_allclose(step.moments.Omega, (1501 * a.Omega + 1500 * b.Omega) / 3001, rtol=1e-14, atol=1e-15)
    assert step.moments.n_samples == 3001 and step.omega_seconds > 0
    assert step.source.endswith("Ω, Φ for the linearised condition: Monte Carlo, n=3001 in 20 groups "
                                "(two independent halves)")


def test_omega_samples_zero_forms_no_omega_and_says_so():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    _, _, step = _step(gen, K=1, M=1, samples=2048, moment_samples=1000, omega_samples=0, seed=4)
    assert step.moments is None and step.omega_halves is None and step.omega_seconds is None
    assert step.source.endswith("; Ω, Φ not formed (omega_samples = 0)")
    assert step.match.stderr_cov is not None


@pytest.mark.parametrize("bad", [-1, 1, 39, 2.5, True, "20000"])
def test_omega_samples_must_be_zero_or_two_rows_per_group(bad):
    with pytest.raises(ValueError, match=r"omega_samples \(--omega-samples\) must be 0 .* or an integer >= 40"):
        CheckOptions(omega_samples=bad)
    assert CheckOptions(omega_samples=40).omega_samples == 40 and CheckOptions().omega_samples == OMEGA_SAMPLES


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
    assert d["moments_source"].startswith("Monte Carlo match from the fields, n=4000 in 20 groups")
    linear = next(c for c in d["conditions"] if c["name"] == "linearised Gaussian-equivalent covariance")
    assert linear["numbers"]["omega_samples"] == OMEGA_SAMPLES and linear["numbers"]["noise_level"] > 0
    assert f"Ω, Φ from n_Ω = {OMEGA_SAMPLES:,} Monte Carlo rows" in linear["detail"]
    assert f"Ω, Φ for the linearised condition: Monte Carlo, n={OMEGA_SAMPLES}" in res.to_table()
    assert d["bound_terms"] is None and "single-layer" in d["bound_terms_note"]
    assert "stderr_cov" in d["gaussian_match"]


def test_an_omega_that_does_not_fit_the_budget_is_refused_naming_its_own_flag():
    A = np.random.default_rng(0).standard_normal((8, 4))

    def slow(c):  # 2e-4 s a row: the match's 1000 rows 0.2 s, Ω's 40,000 rows 8 s
        time.sleep(2e-4 * c.shape[0])
        return np.tanh(c @ A.T / 2)

    gen = CallableGenerator(slow, D=4, name="slow")
    with pytest.raises(TimeBudgetExceeded, match=r"Monte Carlo Ω, Φ \(the linearised condition\) \(n = 20,000 in 10 "
                       r"groups\) needs .* or lower --omega-samples \(omega_samples=\), 0 to skip"):
        check_generator(gen, K=1, M=1, samples="auto", plan=PlanOptions(time_budget=4.0), moment_samples=1000,
                        omega_samples=40_000, seed=0)
