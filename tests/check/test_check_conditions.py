"""The conditions step: each condition of docs/theory.md §6 on hand-made inputs with known verdicts."""

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from getheory import CallableGenerator, SingleLayerGenerator, draw_weights, random_deep, random_single_layer
from getheory.activations import get_activation, hermite_coefficients
from getheory.bounds import bound_terms
from getheory.check import (
    BoundsStep,
    CheckOptions,
    Condition,
    MomentsStep,
    build_problem,
    compute_moments,
    conditions_step,
    start_run,
)
from getheory.check._conditions import (
    _bound_terms_small,
    _centred,
    _coherence,
    _conditions_general,
    _linearised,
    _linearised_verdict,
    _op_norm,
    _resolution,
    _row_scales,
    _second_moment,
    _weight_spread,
)
from getheory.check._problem import CheckProblem


def _estimate(z, n=1000, resolved=False):
    return SimpleNamespace(cumulant=SimpleNamespace(z_max=z), n=n, resolved_any=resolved, estimator="edgeworth")


def test_a_condition_is_frozen_and_json_ready():
    c = Condition("x", "pass", "fine", {"a": np.float64(1.5)})
    assert c.to_dict() == {"name": "x", "verdict": "pass", "detail": "fine", "numbers": {"a": 1.5}}
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.verdict = "fail"


def test_evenly_spread_student_weights_pass():
    c = _weight_spread(np.ones((2, 100)))  # every |w_ki|/‖w_k‖ = 1/10
    assert c.verdict == "pass" and c.numbers["max_weight_fraction"] == pytest.approx(0.1, rel=1e-15)
    assert c.numbers["reference"] == pytest.approx(math.sqrt(2 * math.log(100) / 100), rel=1e-15)


def test_a_unit_dominated_by_one_weight_warns():
    c = _weight_spread(np.array([[3.0, 4.0, 0.0, 0.0]]))  # 4/5 = 0.8 ≤ 2·√(2 log 4/4) but not < 0.5
    assert c.verdict == "warn" and c.numbers["max_weight_fraction"] == pytest.approx(0.8, rel=1e-15)


@pytest.mark.parametrize("coherence, verdict", [(0.5, "pass"), (0.7, "warn"), (0.95, "fail")])
def test_coherence_against_three_times_root_log_n_over_d(coherence, verdict):
    c = _coherence(SimpleNamespace(max_offdiag_rho=coherence), 100, 100)  # 3 √(log 100/100) = 0.644
    assert c.verdict == verdict and c.numbers["sqrt_logN_over_D"] == pytest.approx(math.sqrt(math.log(100) / 100))


def test_centred_inputs_pass_and_a_mean_is_information():
    assert _centred(0.0).verdict == "pass" and _centred(0.0).detail == "μ0 = 0"
    c = _centred(0.4)
    assert c.verdict == "info" and c.detail == "μ0 = 0.4; non-zero mean is carried by m = W E x/√N in P̂"


def test_the_largest_bound_term_is_named():
    b = SimpleNamespace(M1_term=0.1, M2_term=0.6, teacher_term=0.2, n_term=0.1)
    c = _bound_terms_small(b)
    assert c.verdict == "warn" and c.detail.startswith("largest term M2 = 0.6 (pass if < 0.5")
    b.M2_term = 0.3
    assert _bound_terms_small(b).verdict == "pass"


@pytest.mark.parametrize("activation", ["sign", "linear"])
def test_a_unit_second_moment_passes(activation):
    act = get_activation(activation)
    c = _second_moment(*hermite_coefficients(act, 1.0), act)  # E σ(ζ)² = 1 for sign and linear
    assert c.verdict == "pass" and c.numbers["E_sigma2"] == pytest.approx(1.0, rel=1e-12)


def test_rows_of_equal_norm_have_concentrated_scales():
    c = _row_scales(SingleLayerGenerator(np.ones((4, 4)), "sign"))  # s_i = ‖a_i‖/√D = 1 for every row
    assert c.verdict == "pass" and c.numbers["spread"] == 0.0
    assert c.numbers["s_min"] == c.numbers["s_max"] == pytest.approx(1.0, rel=1e-15)


def _general(moments, stderr_cov=None, halves=None, n=1000):
    """The general conditions of a hand-made moments step (the match's n is ``n``)."""
    step = MomentsStep(moments, SimpleNamespace(stderr_cov=stderr_cov), SimpleNamespace(n_samples=n), "",
                       0.5 if halves else None, halves)
    return _conditions_general(step, np.ones((1, 2)))


def test_a_linearly_explained_covariance_passes_and_an_unexplained_one_warns():
    Phi = np.array([[1.0, 0.0], [0.5, 0.5]])
    good = SimpleNamespace(Omega=Phi @ Phi.T + np.eye(2), Phi=Phi, n_samples=20_000)
    c = _general(good)
    assert [x.name for x in c] == ["linearised Gaussian-equivalent covariance", "student weights spread"]
    assert c[0].verdict == "pass" and c[0].numbers["relative_offdiag_residual"] == 0.0
    assert c[0].numbers["omega_samples"] == 20_000 and "Ω, Φ from n_Ω = 20,000 Monte Carlo rows" in c[0].detail
    # Ω = [[1, .5], [.5, 1]], Φ = 0: ‖offdiag‖ = 0.5, ‖Ω‖ = 1.5, ratio 1/3
    bad = SimpleNamespace(Omega=np.array([[1.0, 0.5], [0.5, 1.0]]), Phi=np.zeros((2, 2)), n_samples=1000)
    c = _general(bad, np.array([[0.1, 0.2], [0.2, 0.05]]), n=3000)
    assert c[0].verdict == "warn" and c[0].numbers["relative_offdiag_residual"] == pytest.approx(1 / 3, rel=1e-14)
    assert c[1].name == "Monte Carlo moment error" and c[1].numbers["max_stderr_cov"] == 0.2
    assert c[1].detail == "largest standard error of Σ entries 0.2 (n = 3000)"  # the match's n, not Ω's


def test_the_noise_level_is_half_the_norm_of_the_halves_difference():
    """Halves whose off-diagonal residuals differ by ±0.1: noise level ‖[[0, .2], [.2, 0]]‖/2/‖Ω‖ = 0.1/1.5."""
    half = [SimpleNamespace(Omega=np.array([[1.0, r], [r, 1.0]]), Phi=np.zeros((2, 2)), n_samples=500)
            for r in (0.6, 0.4)]
    pooled = SimpleNamespace(Omega=np.array([[1.0, 0.5], [0.5, 1.0]]), Phi=np.zeros((2, 2)), n_samples=1000)
    c = _general(pooled, halves=tuple(half))[0]
    assert c.numbers["noise_level"] == pytest.approx(0.1 / 1.5, rel=1e-14) and c.numbers["seconds"] == 0.5
    assert c.detail.endswith("noise level 0.067 from two independent halves)")


def test_a_statistic_above_the_threshold_but_within_twice_its_noise_is_information():
    """Halves at ±0.3 around 0.5: noise level 0.3/1.5 = 0.2, statistic 1/3 < 2 × 0.2: not resolved."""
    half = [SimpleNamespace(Omega=np.array([[1.0, r], [r, 1.0]]), Phi=np.zeros((2, 2)), n_samples=500)
            for r in (0.8, 0.2)]
    pooled = SimpleNamespace(Omega=np.array([[1.0, 0.5], [0.5, 1.0]]), Phi=np.zeros((2, 2)), n_samples=1000)
    c = _general(pooled, halves=tuple(half))[0]
    assert c.verdict == "info" and c.numbers["noise_level"] == pytest.approx(0.2, rel=1e-14)
    assert c.detail.endswith("less than twice its noise level, so not resolved at this n_Ω: raise --omega-samples "
                             "(the noise level falls as n_Ω^-1/2)")


@pytest.mark.parametrize("rel, noise, verdict", [(0.05, 0.2, "pass"), (0.1, None, "warn"), (0.2, 0.1, "warn"),
                                                 (0.19, 0.1, "info"), (0.3, 0.01, "warn")])
def test_the_linearised_verdict_rule(rel, noise, verdict):
    assert _linearised_verdict(rel, noise)[0] == verdict


def test_the_linearised_condition_without_omega_is_information():
    c = _general(None)[0]
    assert (c.name, c.verdict, c.numbers) == ("linearised Gaussian-equivalent covariance", "info", {"omega_samples": 0})
    assert c.detail == "not measured: Ω, Φ were not formed (omega_samples = 0, --omega-samples 0)"


@pytest.mark.parametrize("N", [8, 200])
def test_the_operator_norm_is_the_largest_absolute_eigenvalue(N):
    S = np.random.default_rng(N).standard_normal((N, N))
    S = S + S.T
    assert _op_norm(S) == pytest.approx(np.linalg.norm(S, 2), rel=1e-10)
    assert _op_norm(np.zeros((N, N))) == 0.0


def test_resolution_at_5_sigma_passes():
    c = _resolution(_estimate(6.0, resolved=True), None)
    assert c.verdict == "pass" and c.detail == "edgeworth estimate resolved, held-out |z| = 6.00 >= 5 at n = 1,000"


def test_an_unresolved_estimate_says_the_n_that_5_sigma_needs():
    c = _resolution(_estimate(2.5), None)  # n (5/z)² = 1000 · 4
    assert c.verdict == "warn" and c.numbers["n_for_5_sigma"] == 4000.0
    assert c.detail == "held-out |z| = 2.50 at n = 1,000 (not resolved); |z| = 5 needs n ≈ 4,000"
    plan = SimpleNamespace(rate=1000.0, seconds_for=lambda n: n / 1000.0)
    assert _resolution(_estimate(2.5), plan).detail.endswith("needs n ≈ 4,000 (about 4 s of sampling at 1,000 rows/s)")
    assert _resolution(_estimate(4.0, resolved=True), None).verdict == "info"
    assert _resolution(_estimate(0.0), None).numbers["n_for_5_sigma"] == math.inf


def test_too_few_samples_for_cumulants_is_information():
    c = _resolution(SimpleNamespace(cumulant=None), None)
    assert (c.verdict, c.detail, c.numbers) == ("info", "too few samples for the cumulant estimator", {})


def test_the_step_lists_every_condition_of_the_generator_then_the_resolution():
    gen = random_single_layer(12, 6, "sign", seed=0)
    Ws, Wt = draw_weights(12, 6, 1, 1, seed=1)
    resolved = _estimate(6.0, resolved=True)
    step = conditions_step(CheckProblem(gen, Ws, Wt), None, BoundsStep(bound_terms(gen, Ws, Wt), ""), resolved, None)
    assert [c.name.split(" ")[0] for c in step] == ["finite", "row", "coherence", "inputs", "bound", "student", "d_MS"]
    deep = random_deep([6, 8, 12], "sign", seed=0)
    moments = SimpleNamespace(Omega=np.eye(12), Phi=np.zeros((12, 6)), n_samples=100)
    step = conditions_step(CheckProblem(deep, Ws, Wt), MomentsStep(moments, SimpleNamespace(stderr_cov=None), None),
                           BoundsStep(None, ""), resolved, None)
    assert step[0].verdict == "pass" and step[0].numbers["omega_samples"] == 100
    assert [c.name for c in step] == ["linearised Gaussian-equivalent covariance", "student weights spread",
                                      "d_MS resolved"]


@pytest.mark.slow
def test_a_linear_generator_never_warns_on_the_linearised_condition_from_noise_alone():
    """x = A c/6 is linear in c: Ω = ΦΦᵀ, the statistic is pure noise (about one noise level), so a warning is a
    false positive. Measured on seeds 1000–1299: statistic/noise level median 1.03, 99th percentile 1.59, largest
    1.87 at n_Ω = 400 (1.02, 1.44, 1.71 at n_Ω = 4000), no warning in 600 runs; here 100 runs at n_Ω = 400 (where
    the statistic itself, 0.54 on average, is far above the 0.1 threshold that warned before the noise level)."""
    A = np.random.default_rng(123).standard_normal((60, 30))
    gen = CallableGenerator(lambda c: c @ A.T / 6.0, D=30, N=60, name="linear user generator")
    verdicts, ratios = [], []
    for seed in range(100):
        options = CheckOptions(K=1, M=1, samples=4096, seed=seed, moment_samples=40, omega_samples=400)
        run = start_run(options)
        c = _linearised(compute_moments(build_problem(gen, None, None, options, run.seeds), options, run))
        verdicts.append(c.verdict)
        ratios.append(c.numbers["relative_offdiag_residual"] / c.numbers["noise_level"])
    assert verdicts.count("warn") == 0, max(ratios)
    assert 0.9 < float(np.median(ratios)) < 1.2  # the noise level is the statistic's own size under the null
