"""check_generator: the steps in order, one CheckOptions or the keywords it took before (docs/theory.md §6)."""

import pytest

from getheory import check_generator, random_single_layer
from getheory._seeds import CHECK
from getheory.check import CheckOptions, ShardOptions, draw_weights


def _numbers(result) -> dict:
    d = result.to_dict()
    d.pop("timings_s")
    d["analytic"]["analytic"].pop("seconds")
    return d


SMALL = dict(activation="sign", N=12, D=6, K=1, M=1, samples=2048, seed=3)


def test_keywords_options_and_options_with_keywords_are_the_same_check():
    by_keywords = check_generator(**SMALL)
    by_options = check_generator(options=CheckOptions(**SMALL))
    by_both = check_generator(None, CheckOptions(**{**SMALL, "seed": 99}), seed=3)
    assert _numbers(by_keywords) == _numbers(by_options) == _numbers(by_both)
    assert by_keywords.settings["samples"] == 2048 and by_keywords.settings["plan"] is None
    assert list(by_keywords.timings) == ["moments", "sampling", "d_MS", "bounds", "analytic"]


def test_given_weights_equal_to_the_drawn_ones_give_the_same_numbers():
    """The weights come from their own stream: giving them changes no other stream."""
    gen = random_single_layer(12, 6, "sign", seed=0)
    Ws, Wt = draw_weights(12, 6, 1, 1, CHECK.streams(3).weights)
    drawn = check_generator(gen, K=1, M=1, samples=2048, seed=3)
    given = check_generator(gen, W_student=Ws, W_teacher=Wt, samples=2048, seed=3)
    assert _numbers(drawn) == _numbers(given)


def test_an_unknown_keyword_is_refused_before_any_work():
    with pytest.raises(TypeError, match="unexpected keyword argument.*'n_samples'.*samples"):
        check_generator(N=12, D=6, n_samples=2048)


def test_a_size_that_the_given_generator_would_override_is_refused_not_dropped():
    gen = random_single_layer(32, 16, "sign", seed=0)
    with pytest.raises(ValueError, match="N = 64 was given, but the generator given has N = 32"):
        check_generator(gen, N=64, samples=2048)
    with pytest.raises(ValueError, match="N = 2000 was given, but the generator given has N = 32"):
        check_generator(gen, N=2000, samples=2048)  # the default's value, but named: still refused


@pytest.mark.parametrize("shards, message", [
    (ShardOptions(size=1024, scheduler="tcp://127.0.0.1:1"), "both a Dask client and a scheduler address"),
    (ShardOptions(size=1024, workers=2), "both a Dask client and 2 local workers"),
])
def test_a_client_and_another_place_for_the_shards_are_refused_before_any_work(shards, message):
    client = object()  # refused before the client is used
    with pytest.raises(ValueError, match=message):
        check_generator(**SMALL, shards=shards, client=client)


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
