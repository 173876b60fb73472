"""The toolkit's statistical assertions on getheory's own generators and bound terms:
they pass where the theory says so and fail, with a message, where it does not.

(Their false-positive rates are measured in test_false_positive_rates.py.)
"""

import numpy as np
import pytest
from _profiles import examples
from hypothesis import given, settings

import getheory as gt
import getheory.testing as gtt
from getheory.distances import SearchOptions

CHEAP = SearchOptions(mode="full", n_directions=16, refine=False, guide=False)


@settings(max_examples=examples(8))
@given(gen=gtt.single_layer_generators(N=(6, 10), delta=(0.7, 1.0)))
def test_exact_moments_match_monte_carlo_for_drawn_generators(gen):
    # closed forms of §2 (built-in σ) and the Mehler series (random smooth σ) against
    # 20 000 Monte Carlo samples, family-wise level 0.01 over all entries
    gtt.assert_moments_match(gen, n=20_000, level=0.01, seed=1)


def test_moments_assertion_fails_on_wrong_moments_and_names_the_entry():
    gen = gt.random_single_layer(4, 3, "sign", seed=0)
    wrong = gt.exact_moments(gt.SingleLayerGenerator(gen.A, "erf2"))  # E σ' and Ω of another σ
    with pytest.raises(AssertionError, match=r"disagree with the expected ones: (Omega|Phi)\["):
        gtt.assert_moments_match(gen, wrong, n=20_000, level=0.01, seed=1)
    with pytest.raises(TypeError, match="expected=Moments"):
        gtt.assert_moments_match(gt.random_deep([3, 4, 4], "sign", seed=0), n=1_000)
    with pytest.raises(ValueError, match="expected Omega has shape"):
        gtt.assert_moments_match(gen, (np.zeros(4), np.eye(3), np.zeros((4, 3))), n=1_000)


def test_dms_bound_assertion_fails_on_a_far_from_gaussian_generator():
    # x = sign(c), N = D = 1: along λ the law is ±|w|, d_MS ≈ 0.535 |w| (§4 step 1)
    gen = gt.SingleLayerGenerator(np.ones((1, 1)), "sign")
    Ws, Wt = np.array([[1.0]]), np.array([[1.0]])
    with pytest.raises(AssertionError, match="d_MS exceeds the bound 0.1"):
        gtt.assert_dms_within_bound(gen, Ws, Wt, bound=0.1, n=2_000, seed=0, search=CHEAP)
    ev = gtt.assert_dms_within_bound(gen, Ws, Wt, bound=1.0, n=2_000, seed=0, search=CHEAP)
    assert ev.details["lower"] <= 0.5354 <= ev.details["calibrated_upper_bound"]
    with pytest.raises(AssertionError, match="exceeds its calibrated upper bound"):
        gtt.assert_dms_within_bound(gen, Ws, Wt, known_dms=0.9, n=2_000, seed=0, search=CHEAP)
    with pytest.raises(ValueError, match="not both"):
        gtt.assert_dms_within_bound(gen, Ws, Wt, bound=1.0, known_dms=0.5)


def test_dms_bound_assertion_accepts_a_deep_generator_with_monte_carlo_moments():
    # deep generators have no closed-form match: the replicates re-estimate theirs (§4.1)
    gen = gt.random_deep([6, 12, 12], "erf2", seed=0)
    Ws, Wt = gt.draw_weights(12, 6, 1, 1, seed=1)
    ev = gtt.assert_dms_within_bound(gen, Ws, Wt, bound=0.2, n=2_000, seed=0, search=CHEAP)
    assert ev.false_positive_rate == pytest.approx(0.05) and ev.details["replicates"] == 19


@pytest.mark.parametrize(
    "term, activation, exponent",
    [
        ("teacher_term", "sign", -0.5),  # δ^{-1} N^{-1/2}, §5 and proofs claim 7
        ("M2_term", "sign", -1.5),  # offdiag(ρ^∘3) entries D^{-3/2}
        ("M1_term", "relu", -1.0),  # offdiag(ρ^∘2) entries and mean 1/D
        ("n_term", "sign", -0.5),  # exactly N^{-1/2}
    ],
)
def test_bound_terms_fall_at_their_derived_rates(term, activation, exponent):
    # N = 64 … 512, 4 draws, 99 % t-interval of the fitted exponent (§5)
    fit = gtt.assert_bound_scaling(term, exponent, sizes=(64, 128, 256, 512), draws=4, level=0.01,
                                   activation=activation, seed=2)
    assert fit.values.shape == (4, 4) and fit.ci[0] <= fit.slope <= fit.ci[1]


def test_bound_scaling_assertion_fails_on_a_wrong_exponent_and_on_vanishing_terms():
    with pytest.raises(AssertionError, match="misses the expected exponent -1"):
        gtt.assert_bound_scaling("teacher_term", -1.0, sizes=(64, 128, 256, 512), draws=4, level=0.01, seed=2)
    with pytest.raises(ValueError, match="M1 ≡ 0 for odd σ"):
        gtt.assert_bound_scaling("M1_term", -1.0, sizes=(16, 32), draws=2, activation="sign")
    with pytest.raises(ValueError, match="term must be one of"):
        gtt.assert_bound_scaling("M3_term", -1.0)
    with pytest.raises(ValueError, match="two distinct N"):
        gtt.assert_bound_scaling("n_term", -0.5, sizes=(16, 16), draws=3)
