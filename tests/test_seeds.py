"""The one seed helper (getheory._seeds): named streams keep the numbers of the old spawn calls."""

import numpy as np
import pytest

from getheory._seeds import CHECK, DYNAMICS, RIDGE_SAMPLES, SWEEP_TASK, SeedLayout, child_seed, derive_seed, seedseq


@pytest.mark.parametrize("layout", [CHECK, DYNAMICS, RIDGE_SAMPLES], ids=lambda l: l.workflow)
def test_stream_i_is_child_i_of_the_master_seed(layout):
    streams = layout.streams(123)
    for i, name in enumerate(layout.names):
        old = np.random.SeedSequence(123).spawn(len(layout.names))[i]
        assert streams[name].generate_state(4).tolist() == old.generate_state(4).tolist()
        assert getattr(streams, name).spawn_key == (i,)


def test_a_child_does_not_depend_on_how_many_streams_are_spawned():
    # dynamics' test set was spawn(3)[2] and its SGD states spawn(4)[3]: one layout serves both
    a = np.random.SeedSequence(7).spawn(3)[2].generate_state(2)
    assert DYNAMICS.streams(7).test.generate_state(2).tolist() == a.tolist()


def test_streams_unpack_in_layout_order():
    gen, weights, *_ = CHECK.streams(5)
    assert gen.spawn_key == (0,) and weights.spawn_key == (1,)


def test_an_unknown_stream_names_the_layouts_streams():
    with pytest.raises(AttributeError, match="has no stream 'sampels'.*generator, weights, moments"):
        CHECK.streams(0).sampels


def test_derive_seed_is_a_fixed_63_bit_hash():
    s = derive_seed(2022, "sign", "gaussian", 64, 32, 0)
    assert s == derive_seed(2022, "sign", "gaussian", 64, 32, 0) and 0 <= s < 2**63
    assert s != derive_seed(2022, "sign", "gaussian", 64, 32, 1)
    assert len({derive_seed(1, label) for label in SWEEP_TASK}) == len(SWEEP_TASK)


def test_seedseq_normalises_every_accepted_seed_and_refuses_others():
    ss = np.random.SeedSequence(3)
    assert seedseq(ss) is ss
    assert seedseq(4).entropy == 4
    rng = np.random.default_rng(0)
    assert seedseq(np.random.default_rng(0)).entropy == child_seed(rng)
    for bad in (1.5, "3", True):
        with pytest.raises(TypeError, match="seed must be an int"):
            seedseq(bad)


def test_a_layout_is_a_frozen_value():
    layout = SeedLayout("x", ("a", "b"))
    with pytest.raises(AttributeError):
        layout.names = ("b", "a")


def test_shard_i_is_child_i_of_the_fields_stream_whatever_the_number_of_shards():
    from getheory._seeds import shard_seed

    fields = CHECK.streams(11).fields
    for k in (3, 8):
        fresh = np.random.SeedSequence(fields.entropy, spawn_key=fields.spawn_key).spawn(k)
        for i in range(3):
            assert shard_seed(fields, i).generate_state(4).tolist() == fresh[i].generate_state(4).tolist()
    # the stream is not spawned from: the same index gives the same seed every time
    assert fields.n_children_spawned == 0
    assert shard_seed(fields, 2).spawn_key == fields.spawn_key + (2,) == shard_seed(fields, 2).spawn_key
    assert len({tuple(shard_seed(fields, i).generate_state(2)) for i in range(50)}) == 50
    with pytest.raises(ValueError, match="shard index"):
        shard_seed(fields, -1)
    with pytest.raises(TypeError, match="SeedSequence"):
        shard_seed(3, 0)
