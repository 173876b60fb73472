"""The paired generator − Gaussian verdict under its null (getheory.erm._null, paired_gap; docs/theory.md §10.7).

A Gaussian twin has the law of its Gaussian equivalent jointly with the labels but rows of its own,
so paired_gap's false-positive rate is measurable on it: over independent problems the family-wise
rate must not exceed the family level beyond binomial noise (Bonferroni is conservative), and each
grid point's own rate must be consistent with level/G.
"""

import numpy as np
import pytest
from scipy.stats import binom

from getheory.erm import ErmOptions, erm_curves, gaussian_twin, paired_gap

RUNS, LEVEL = 100, 0.2
TWIN = ErmOptions(loss="square", alphas=(0.5, 1.0, 2.0), lambdas=(0.1,), seeds=4, n_test=200, theory=False)


def test_a_gaussian_twin_has_the_exact_moments_it_claims():
    gen, mom = gaussian_twin(12, 5, seed=1)
    c = np.random.default_rng(2).standard_normal((200_000, 5))
    x = gen.sample(c)
    np.testing.assert_allclose(x.T @ c / len(c), mom.Phi, atol=0.01)
    np.testing.assert_allclose(x.T @ x / len(c), mom.Omega, atol=0.01)
    assert np.all(np.linalg.eigvalsh(mom.Omega - mom.Phi @ mom.Phi.T) > 0)


def test_a_gaussian_twin_is_not_its_gaussian_equivalent_row_by_row():
    gen, mom = gaussian_twin(40, 20, seed=0)
    res = erm_curves(gen, TWIN, seed=0, moments=mom)
    d = res.test_error["generator"] - res.test_error["gaussian"]
    assert np.count_nonzero(d) > d.size // 2


@pytest.fixture(scope="module")
def null_verdicts():
    """Per run, which grid points paired_gap resolved at family level LEVEL (runs x G)."""
    out = []
    for r in range(RUNS):
        gen, mom = gaussian_twin(40, 20, seed=r)
        out.append(paired_gap(erm_curves(gen, TWIN, seed=r, moments=mom), level=LEVEL).resolved.ravel())
    return np.array(out)


def test_the_paired_verdict_s_family_wise_rate_is_at_most_its_level_on_a_gaussian_twin(null_verdicts):
    rejected = int(null_verdicts.any(axis=1).sum())
    assert rejected <= binom.ppf(0.995, RUNS, LEVEL), f"{rejected} of {RUNS} runs rejected at family level {LEVEL}"


def test_each_grid_point_s_rate_is_its_nominal_level_over_g_on_a_gaussian_twin(null_verdicts):
    G = null_verdicts.shape[1]
    lo, hi = binom.ppf(0.005, RUNS, LEVEL / G), binom.ppf(0.995, RUNS, LEVEL / G)
    counts = null_verdicts.sum(axis=0)
    assert np.all((lo <= counts) & (counts <= hi)), f"per-point rejections {counts.tolist()}, 99 % range [{lo}, {hi}]"
