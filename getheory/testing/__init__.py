"""Property-testing toolkit: Hypothesis strategies and assertion helpers for the Gaussian
Equivalence Theorem (docs/theory.md §1-§6).

Strategies (need ``hypothesis``, a test dependency: ``pip install "getheory[test]"``;
without it ``import getheory.testing`` still works, and asking for a strategy says what to install):

* activations: :func:`activations` (built-in and random), :func:`smooth_activations`
  (random smooth σ with finite second moment: :class:`HermitePolynomial`,
  :class:`TanhMixture`), :func:`kernel_arguments` (ρ, s_i, s_j of the two-point kernel);
* sizes: :func:`sizes` (N, D = round(δ N), K, M);
* generators within the conditions of §6: :func:`single_layer_generators`,
  :func:`deep_generators`; outside one stated condition: :func:`coherent_generators`
  (coherent rows), :func:`noncentred_generators` (μ0 ≠ 0);
* weights: :func:`weights` (Gaussian, Rademacher, |Gaussian| students, spread out),
  :func:`spiky_weights` (a dominant student weight), :func:`problems` (generator + weights).

An impossible request (min > max, non-positive sizes, depth 0, a violating strategy asked
for values that do not violate) raises :class:`InvalidStrategyArgument` when the strategy
is built.

Assertions (no Hypothesis needed):

* :func:`assert_moments_match` -- exact moments against Monte Carlo within CLT error;
* :func:`assert_dms_within_bound` -- d_MS against a bound, a known d_MS against its
  calibrated upper bound;
* :func:`assert_bound_scaling` -- a bound term's exponent in N;
* :func:`assert_rotation_invariant`, :func:`assert_permutation_invariant` -- invariances
  under rotations of the latent space and relabellings of the generator's units;
* :func:`check_conditions` -- the §6 verdicts of a single-layer problem, without sampling.

Each statistical assertion takes a ``level`` and states its false-positive rate;
``tests/properties/test_false_positive_rates.py`` measures them.

Example
-------
>>> import getheory as gt
>>> from getheory.testing import assert_moments_match
>>> gen = gt.random_single_layer(4, 3, "sign", seed=0)
>>> assert_moments_match(gen, n=20_000, level=0.01, seed=1).threshold > 0
True
"""

from ._activations import HermitePolynomial, TanhMixture
from ._assertions import (
    Evidence,
    ScalingFit,
    assert_bound_scaling,
    assert_dms_within_bound,
    assert_moments_match,
    assert_permutation_invariant,
    assert_rotation_invariant,
    match_covariance,
    permute_units,
    rotate_latents,
)
from ._conditions import CONDITIONS, check_conditions
from ._ensembles import ENSEMBLES

try:
    from . import _strategies
except ModuleNotFoundError as _exc:  # hypothesis (the test extra) is optional: the strategies need it
    if _exc.name != "hypothesis":
        raise
    _strategies = None

_STRATEGIES = (  # the names of __all__ that need hypothesis
    "InvalidStrategyArgument",
    "Sizes",
    "GeneratorProblem",
    "activations",
    "smooth_activations",
    "kernel_arguments",
    "sizes",
    "single_layer_generators",
    "deep_generators",
    "coherent_generators",
    "noncentred_generators",
    "weights",
    "spiky_weights",
    "problems",
)

__all__ = [  # strategies (names in _STRATEGIES) need hypothesis
    "CONDITIONS",
    "ENSEMBLES",
    "Evidence",
    "GeneratorProblem",
    "HermitePolynomial",
    "InvalidStrategyArgument",
    "ScalingFit",
    "Sizes",
    "TanhMixture",
    "activations",
    "assert_bound_scaling",
    "assert_dms_within_bound",
    "assert_moments_match",
    "assert_permutation_invariant",
    "assert_rotation_invariant",
    "check_conditions",
    "coherent_generators",
    "deep_generators",
    "kernel_arguments",
    "match_covariance",
    "noncentred_generators",
    "permute_units",
    "problems",
    "rotate_latents",
    "single_layer_generators",
    "sizes",
    "smooth_activations",
    "spiky_weights",
    "weights",
]


def __getattr__(name):
    if name in _STRATEGIES:
        if _strategies is None:
            raise ImportError(
                f"getheory.testing.{name} is a Hypothesis strategy and needs the hypothesis package, a test "
                'dependency of getheory: pip install "getheory[test]" (or pip install hypothesis). The '
                "assertions (assert_moments_match, ...) work without it.") from None
        return getattr(_strategies, name)
    raise AttributeError(f"module 'getheory.testing' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_STRATEGIES))
