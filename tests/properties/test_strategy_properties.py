"""The toolkit's strategies draw what they promise (docs/theory.md §6).

Generators and weights "within the conditions" pass every stated condition of the check
(getheory.check, through getheory.testing.check_conditions); each violating strategy
fails exactly the condition it names, with the check's verdict for it; impossible
requests raise InvalidStrategyArgument when the strategy is built; and getheory (with the
toolkit's assertions) imports without Hypothesis.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _profiles import examples
from hypothesis import given, settings
from hypothesis import strategies as st

import getheory.testing as gtt
from getheory import DeepGenerator, SingleLayerGenerator
from getheory.testing._ensembles import coherence_limit, spread_limit

STATED = ("second_moment", "row_scales", "coherence", "centred", "weight_spread")


def _verdicts(problem):
    return {k: c.verdict for k, c in gtt.check_conditions(*problem).items()}


@settings(max_examples=examples(30))
@given(problem=gtt.problems())
def test_single_layer_problems_pass_every_stated_condition(problem):
    # every §6 condition on σ, the rows of A and the student passes; "bound terms small" is
    # a consequence the theorem draws, not an assumption, and is not promised at N ≤ 48
    v = _verdicts(problem)
    assert {k: v[k] for k in STATED} == dict.fromkeys(STATED, "pass")
    gen, Ws, Wt = problem
    assert Ws.shape == (Ws.shape[0], gen.N) and Wt.shape == (Wt.shape[0], gen.D)
    assert Ws.shape[0] + Wt.shape[0] <= 4


@settings(max_examples=examples(15))
@given(gen=gtt.deep_generators(), data=st.data())
def test_every_layer_of_a_deep_generator_passes_the_stated_conditions(gen, data):
    # the layer-wise §6 conditions of each (A_l, σ_l), A_l of shape (N_l, N_{l-1})
    assert isinstance(gen, DeepGenerator) and 2 <= len(gen.layers) <= 3
    for A, act in gen.layers:
        layer = SingleLayerGenerator(A, act)
        Ws, Wt = data.draw(gtt.weights(layer.N, layer.D, K=1, M=1))
        v = _verdicts((layer, Ws, Wt))
        assert {k: v[k] for k in STATED} == dict.fromkeys(STATED, "pass")


@settings(max_examples=examples(20))
@given(gen=gtt.coherent_generators(), data=st.data())
def test_coherent_generators_fail_the_coherence_condition_only(gen, data):
    Ws, Wt = data.draw(gtt.weights(gen.N, gen.D))
    c = gtt.check_conditions(gen, Ws, Wt)
    assert c["coherence"].verdict == "fail" and c["coherence"].numbers["coherence"] >= 0.95 - 1e-12
    assert all(c[k].verdict == "pass" for k in STATED if k != "coherence")


@settings(max_examples=examples(20))
@given(gen=gtt.noncentred_generators(), data=st.data())
def test_noncentred_generators_fail_the_centring_condition_only(gen, data):
    Ws, Wt = data.draw(gtt.weights(gen.N, gen.D))
    c = gtt.check_conditions(gen, Ws, Wt)
    assert c["centred"].verdict == "info" and abs(c["centred"].numbers["mu0"]) >= 0.1 - 1e-12
    assert all(c[k].verdict == "pass" for k in STATED if k != "centred")


@settings(max_examples=examples(20))
@given(problem=gtt.problems(spiky=True))
def test_spiky_weights_fail_the_spread_condition_only(problem):
    c = gtt.check_conditions(*problem)
    assert c["weight_spread"].verdict == "warn" and c["weight_spread"].numbers["max_weight_fraction"] > 0.7
    assert all(c[k].verdict == "pass" for k in STATED if k != "weight_spread")


@given(s=gtt.sizes(N=(4, 40), delta=(0.25, 3.0), K=(1, 3), M=2))
def test_sizes_stay_in_their_ranges(s):
    assert 4 <= s.N <= 40 and 1 <= s.K <= 3 and s.M == 2
    assert max(1, round(0.25 * s.N)) <= s.D <= round(3.0 * s.N)


def test_construction_limits_lie_inside_the_checks_pass_regions():
    # the pass thresholds of getheory.check (§6): coherence ≤ 3√(log N/D) and < 0.9,
    # spread ≤ 2√(2 log N/N) and < 0.5
    for N, D in [(8, 4), (48, 24), (64, 512), (2, 1)]:
        ref = np.sqrt(max(np.log(N), 1.0) / D)
        assert coherence_limit(N, D) < min(3 * ref, 0.9)
        assert spread_limit(N) < min(2 * np.sqrt(2 * max(np.log(N), 1.0) / N), 0.5)


@pytest.mark.parametrize(
    "build, argument",
    [
        (lambda: gtt.sizes(N=(10, 5)), "N=(10, 5) has min 10 > max 5"),
        (lambda: gtt.sizes(N=0), "N must be >= 1"),
        (lambda: gtt.sizes(K=(0, 2)), "K must be >= 1"),
        (lambda: gtt.sizes(delta=(-1.0, 1.0)), "delta must lie in (0, inf]"),
        (lambda: gtt.sizes(K=5, M=4), "max K + max M = 9"),
        (lambda: gtt.sizes(N=2.5), "N must be an integer"),
        (lambda: gtt.deep_generators(depth=0), "depth must be >= 1"),
        (lambda: gtt.deep_generators(depth=(3, 2)), "depth=(3, 2) has min 3 > max 2"),
        (lambda: gtt.single_layer_generators(N=(4, 8), delta=0.5), "smallest latent dimension D"),
        (lambda: gtt.single_layer_generators(delta=0.1), "delta=0.1 < 0.25"),
        (lambda: gtt.deep_generators(N=(8, 40)), "exceeds 4 rows per input dimension"),
        (lambda: gtt.single_layer_generators(scale=0.0), "scale must lie in (0, inf]"),
        (lambda: gtt.single_layer_generators(activation="nonsense"), "unknown activation"),
        (lambda: gtt.coherent_generators(coherence=(0.5, 0.99)), "coherence must lie in (0.9, 1)"),
        (lambda: gtt.noncentred_generators(activation="sign"), "does not violate 'inputs centred'"),
        (lambda: gtt.weights(4, 3), "N=4: no weights of N < 5 entries are spread"),
        (lambda: gtt.weights(10, 0), "D must be a positive integer"),
        (lambda: gtt.weights(10, 5, ensemble="cauchy"), "ensemble must be one of"),
        (lambda: gtt.spiky_weights(10, 5, spike=0.3), "spike must lie in [0.6, inf]"),
        (lambda: gtt.problems(generators=SingleLayerGenerator(np.ones((6, 2)))), "generators must be a Hypothesis"),
        (lambda: gtt.activations(builtin=False, random=False), "nothing to draw"),
        (lambda: gtt.smooth_activations(families=("cubic",)), "families must be a non-empty subset"),
        (lambda: gtt.kernel_arguments(rho=(-1.5, 0.5)), "rho must lie in [-1, 1]"),
    ],
)
def test_impossible_requests_raise_when_the_strategy_is_built(build, argument):
    with pytest.raises(gtt.InvalidStrategyArgument) as info:
        build()  # built, never drawn from
    assert argument in str(info.value)
    assert isinstance(info.value, ValueError)


def test_getheory_and_the_assertions_import_without_hypothesis():
    code = textwrap.dedent("""
        import sys
        sys.modules["hypothesis"] = None  # as if hypothesis were not installed
        import getheory, getheory.testing as gtt
        gen = getheory.random_single_layer(3, 2, "sign", seed=0)
        gtt.assert_moments_match(gen, n=4000, level=0.01, seed=0)
        assert "hypothesis" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
        try:
            gtt.sizes
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("a strategy was available without hypothesis")
    """)
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'needs the hypothesis package' in out.stdout and 'pip install "getheory[test]"' in out.stdout
