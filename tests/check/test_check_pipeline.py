"""check_generator: the steps in order, one CheckOptions or the keywords it took before (docs/theory.md §6)."""

import pytest

from getheory import check_generator


def test_check_is_reproducible_with_a_seed():
    a = check_generator(activation="relu", N=12, D=6, samples=2000, seed=3).to_dict()
    b = check_generator(activation="relu", N=12, D=6, samples=2000, seed=3).to_dict()
    assert a["d_MS"]["plug_in"]["value"] == b["d_MS"]["plug_in"]["value"]


@pytest.mark.slow
def test_sign_excess_resolved_at_16_and_shrinks_at_64():
    # THEORY §4 Resolution: for sign, K = M = 1, δ = 1/2, the measured plug-in d_MS is
    # ≈ 0.026 at N = 16 and ≈ 1/N-like decay; with n = 4·10^5 the floor is ≈ 0.003,
    # so N = 16 is resolved by both estimators and N = 64 is smaller.
    r16 = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=400_000, seed=11).to_dict()
    r64 = check_generator(activation="sign", N=64, D=32, K=1, M=1, samples=400_000, seed=11).to_dict()
    assert r16["d_MS"]["resolved"] and r16["d_MS"]["cumulant"]["resolved"]
    assert r64["d_MS"]["excess"] < r16["d_MS"]["excess"]
    assert r64["d_MS"]["cumulant"]["edgeworth_w1"] < r16["d_MS"]["cumulant"]["edgeworth_w1"]
