"""The analytic step: leading-order κ3, κ4 without sampling beside the sampled ones (docs/theory.md §4.2)."""

import math

import numpy as np
import pytest

from getheory import check_generator, draw_weights, random_deep, random_single_layer
from getheory.check import AnalyticComparison, CheckOptions, analytic_step
from getheory.check._analytic import wants_analytic, z_difference
from getheory.check._problem import CheckProblem


def test_z_of_the_difference_in_combined_standard_errors():
    assert z_difference(3.0, 0.6, 1.0, 0.8) == pytest.approx(2.0, rel=1e-15)  # 2 / √(0.36 + 0.64)
    assert z_difference(1.0, 0.0, 4.0, 3.0) == pytest.approx(-1.0, rel=1e-15)
    assert z_difference(1.0, 0.0, 2.0, 0.0) is None  # no error on either side: no z


def test_the_step_runs_for_single_layer_generators_unless_switched_off():
    Ws, Wt = draw_weights(6, 4, 1, 1, seed=0)
    single = CheckProblem(random_single_layer(6, 4, "sign", seed=0), Ws, Wt)
    deep = CheckProblem(random_deep([4, 5, 6], "sign", seed=0), Ws, Wt)
    assert wants_analytic(single, CheckOptions())
    assert not wants_analytic(single, CheckOptions(analytic=False))
    assert not wants_analytic(deep, CheckOptions())
    assert analytic_step(deep, None, None, CheckOptions(), None) is None


def test_the_comparison_keeps_the_keys_of_the_check_json():
    a = type("A", (), {"to_dict": lambda self: {"kappa4": -0.2}})()
    d = AnalyticComparison(a, {"kappa4": -0.25}, None, 1.5).to_dict()
    assert list(d) == ["analytic", "sampled_along_analytic_direction", "z_kappa3_sampled_minus_analytic",
                       "z_kappa4_sampled_minus_analytic"]
    assert d["analytic"] == {"kappa4": -0.2} and d["z_kappa4_sampled_minus_analytic"] == 1.5


def test_check_reports_analytic_cumulants_beside_the_sampled_ones():
    from getheory.reports import format_check

    res = check_generator(activation="sign", N=32, D=16, K=1, M=1, samples=200_000, seed=2)
    a = res.to_dict()["analytic"]
    smp = a["sampled_along_analytic_direction"]
    assert smp["groups"] == 64 and smp["n"] == 200_000
    assert np.allclose(np.linalg.norm(smp["direction"]), 1.0)
    assert a["analytic"]["kappa4"] < 0  # sign: negative excess kurtosis at leading order
    assert math.isfinite(a["z_kappa4_sampled_minus_analytic"])
    assert "without sampling" in format_check(res)
    deep = check_generator(random_deep([6, 12, 10], "sign", seed=0), samples=3000, seed=1, moment_samples=4000)
    assert deep.to_dict()["analytic"] is None and "analytic" not in deep.timings
