"""Property tests of the Hermite coefficients and the two-point kernel Ω (docs/theory.md §2, §3).

The first two tests moved from tests/test_activations.py (same properties, same
tolerances, the same number of examples under the ``ci`` profile), now drawing
(ρ, s_i, s_j) with getheory.testing.kernel_arguments; the others run the same references
on the toolkit's random smooth activations.
"""

import math
import warnings

import numpy as np
import pytest
from _profiles import examples
from _references import bivariate_reference, kernel_1x1, wrapped
from hypothesis import given, settings

import getheory.testing as gtt
from getheory.activations import (
    ACTIVATIONS,
    MehlerTruncationWarning,
    get_activation,
    hermite_mu_normalized,
    moments_at_scales,
)

CLOSED = ("sign", "erf2", "erf", "relu", "linear")


@settings(max_examples=examples(25))
@given(args=gtt.kernel_arguments(rho=(-0.9, 0.9), scale=(0.2, 2.0)))
def test_kernel_matches_bivariate_quadrature(args):
    # Closed forms (sign, erf2, erf, relu, linear) and the Mehler series (tanh) against an
    # independent 2-D quadrature, unequal scales included.  The reference is accurate to
    # ~5e-14; the Mehler tail bound is 1e-12 relative: check 1e-11 absolute on O(1) values.
    rho, si, sj = args
    for name in ACTIVATIONS:
        act = get_activation(name)
        got = kernel_1x1(act, rho, si, sj, max_order=400)
        assert got == pytest.approx(bivariate_reference(act, rho, si, sj), abs=1e-11), name


@settings(max_examples=examples(10))
@given(args=gtt.kernel_arguments(rho=(-0.8, 0.8), scale=(0.1, 3.0)))
def test_mehler_series_matches_closed_forms(args):
    # The Mehler series of the same σ wrapped as a user callable vs the closed kernel.
    # |ρ| ≤ 0.8 lets the series meet its 1e-12 relative tail bound before order 400
    # (sign: 0.8^124 < 1e-12); the coefficients carry ~1e-15 each: 1e-11 absolute.
    rho, si, sj = args
    for name in CLOSED:
        closed = kernel_1x1(name, rho, si, sj)
        with warnings.catch_warnings():
            warnings.simplefilter("error", MehlerTruncationWarning)
            mehler = kernel_1x1(wrapped(name), rho, si, sj, max_order=400)
        assert mehler == pytest.approx(closed, abs=1e-11), name


@settings(max_examples=examples(20))
@given(act=gtt.smooth_activations(), args=gtt.kernel_arguments(rho=(-0.9, 0.9), scale=(0.2, 2.0)))
def test_kernel_of_random_smooth_activations_matches_bivariate_quadrature(act, args):
    # The Mehler series (§2) for random smooth σ of finite second moment against the same
    # independent quadrature.  Its tail bound is 1e-12 · √(V_i V_j) (V = Var σ(sζ)); the
    # reference is accurate to ~5e-14 of the integrand's size: 1e-11 · max(1, √(V_i V_j)).
    rho, si, sj = args
    V = moments_at_scales(act, np.array([si, sj]))["variance"]
    scale = max(1.0, math.sqrt(V[0] * V[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MehlerTruncationWarning)
        got = kernel_1x1(act, rho, si, sj, max_order=400)
    assert got == pytest.approx(bivariate_reference(act, rho, si, sj), abs=1e-11 * scale)


@given(act=gtt.smooth_activations(families="hermite"))
def test_hermite_coefficients_of_a_hermite_polynomial_are_its_coefficients(act):
    # σ = Σ c_k He_k/√k! has normalised coefficients ĉ_k(1) = μ_k(1)/√k! = c_k exactly (§3),
    # and zero beyond its degree; the panel quadrature is exact for polynomials up to its
    # ~1e-15 rounding per coefficient: 1e-13 absolute.
    c = np.asarray(act.fn.coefficients)
    got = hermite_mu_normalized(act, c.size + 2, 1.0)  # orders 0..K+3
    np.testing.assert_allclose(got, np.concatenate([c, np.zeros(3)]), rtol=0, atol=1e-13)


@given(act=gtt.activations(builtin=False, random=True))
def test_random_smooth_activations_have_finite_second_moment_and_stated_centring(act):
    # E σ(sζ)² < ∞ (§6) at several scales; at unit scale Var σ(ζ) = Σ_{k≥1} c_k² for a Hermite
    # polynomial (Parseval) and > 0 for a tanh mixture; odd σ are centred at every scale,
    # the others have |μ0(1)| ≥ 0.1 (the strategy's promise).  Closed form vs the panel
    # quadrature: 1e-13.
    m = moments_at_scales(act, np.array([0.5, 1.0, 2.0]))
    assert np.all(np.isfinite(m["second"]))
    if isinstance(act.fn, gtt.HermitePolynomial):
        c = np.asarray(act.fn.coefficients)
        assert m["variance"][1] == pytest.approx(float(np.sum(c[1:] ** 2)), abs=1e-13)
        assert m["mean"][1] == pytest.approx(c[0], abs=1e-13)
    assert m["variance"][1] > 0
    if act.fn.odd:
        np.testing.assert_allclose(m["mean"], 0.0, atol=1e-14)
    else:
        assert abs(m["mean"][1]) >= 0.1 - 1e-12
