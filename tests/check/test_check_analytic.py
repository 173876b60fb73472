"""The analytic step: leading-order κ3, κ4 without sampling beside the sampled ones (docs/theory.md §4.2)."""

import math

import numpy as np

from getheory import check_generator, random_deep


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
