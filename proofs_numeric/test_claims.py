"""Every numerical claim of the registry (docs/theory.md §2-§5, §4.2, §8), one parametrised test.

Each case calls its claim's ``check(full)`` from :mod:`getheory._claims` -- the same function
``getheory proofs`` calls -- and fails listing every ``fail`` result.  ``--full`` (or
``GETHEORY_PROOFS_FULL=1``) runs the full sizes.  A claim added to
:data:`getheory._claims.CLAIM_MODULES` is tested here without a new file.  The claims of
:data:`SLOW` run whole in the slow tier; the default run checks a quick part of each.
"""

import math

import numpy as np
import pytest

from getheory._claims import CLAIM_MODULES, assert_no_failure, load_claim

#: claims whose reduced size takes more than 10 s on 2 busy cores (measured with --durations): the slow tier runs
#: them whole (``python -m pytest -m slow``), the default run one quick part of each (:data:`QUICK_PARTS`)
SLOW = {"theorem", "floor", "kernels", "ridge", "analytic", "hermite", "chaos", "stein"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CLAIM_MODULES])
def test_claim_holds(name, full):
    assert_no_failure(load_claim(name).check(full=full))


def _kernels_in_float64_equal_the_closed_forms(m):
    """Claim 3(e) against the closed forms of 3(a)-(c), which the whole claim checks against quadrature to 1e-25."""
    from getheory.activations import omega_kernel

    rhos, scales = m._grid(False)
    worst = 0.0
    with m.mp.workdps(m.DPS + 10):
        for name in ("sign", "erf2", "relu"):
            for si, sj in scales:
                for r in rhos:
                    ref = float(m._closed(name, m.mp.mpf(r), m.mp.mpf(si), m.mp.mpf(sj)))
                    s_i, s_j = float(si), float(sj)
                    got = float(omega_kernel(name, np.array([[float(r) * s_i * s_j]]), np.array([s_i]),
                                             np.array([s_j]))[0, 0])
                    worst = max(worst, abs(got - ref) / (max(s_i * s_j, 1.0) if name == "relu" else 1.0))
    assert worst <= 1e-14, worst


def _floor_fit_recovers_an_exact_power_law(m):
    """The weighted fit of claim 6 on an exact n^{-1/2} law: the slope, inside its interval."""
    ns = [1000, 4000, 16000]
    s, lo, hi, _se, _chi2 = m.wls_slope(ns, [3.0 / math.sqrt(n) for n in ns], [1e-3] * 3)
    assert s == pytest.approx(-0.5, abs=1e-12) and lo < -0.5 < hi, (s, lo, hi)


def _theorem_at_its_first_point(m):
    """Claim 8's first point (sign, N = 16, its seed): resolved, and its certified d_MS under the theorem's bound."""
    cfg = m._settings(False)
    p = m.measure_point(m.Point("sign", 16, cfg["n"](16), [8, 0, 16]), cfg)
    assert p["resolved"] and p["certified"] < p["bound_total"], p
    return [m._ratio_result("sign", [p], cfg, "gaussian", 0.0)]


#: for each claim of SLOW, a part that takes a second or two, so that the default run still runs every claim
#: module: the claim's own checks (their results must not fail) or, where none is quick, a check written here
QUICK_PARTS = {
    "hermite": lambda m: m._table()[0],
    "stein": lambda m: [m._stein_1d(False)],
    "kernels": _kernels_in_float64_equal_the_closed_forms,
    "chaos": lambda m: [m._bound_term_identity()],
    "floor": _floor_fit_recovers_an_exact_power_law,
    "theorem": _theorem_at_its_first_point,
    "ridge": lambda m: m._decomposition_checks(False),
    "analytic": lambda m: m.check_exact(),
}


@pytest.mark.parametrize("name", sorted(SLOW))
def test_a_quick_part_of_a_slow_claim_holds(name):
    assert QUICK_PARTS.keys() == SLOW
    results = QUICK_PARTS[name](load_claim(name))
    if results is not None:
        assert_no_failure(results)
