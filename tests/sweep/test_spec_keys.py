"""The table of sweep-file keys (SPEC_KEYS) is the validator's: its keys are exactly those accepted,
and each default it states is the value a spec without the key gets."""

import tomllib

import pytest

from getheory.sweep import SPEC_KEYS, SpecError, spec_from_dict

MINIMAL = {"name": "t", "grid": {"N": [64]}, "generator": [{"activation": "sign"}]}


def test_every_key_of_the_table_is_accepted_and_no_other():
    with pytest.raises(SpecError, match="unknown spec key 'samples.not_a_key'"):
        spec_from_dict(MINIMAL | {"samples": {"not_a_key": 1}})
    keys = {(k.table, k.key) for k in SPEC_KEYS}
    assert len(keys) == len(SPEC_KEYS), "a key is listed twice"
    for table in ("grid", "samples", "estimator", "run", "weights"):
        listed = sorted(k.key for k in SPEC_KEYS if k.table == table)
        with pytest.raises(SpecError) as err:
            spec_from_dict(MINIMAL | {table: {"not_a_key": 1}})
        allowed = str(err.value).split(": ", 1)[1].rstrip(")").split(", ")
        assert sorted(allowed) == listed, table


def _value(spec: dict, table: str, key: str):
    if table == "generator":
        return spec["generator"][0].get(key)
    return spec[key] if table == "" else spec[table].get(key)


@pytest.mark.parametrize("entry", [k for k in SPEC_KEYS if k.default not in ("required", "unset")
                                   and k.type not in ("table",) and k.table != "generator"
                                   or (k.table, k.key) == ("generator", "depth")],
                         ids=lambda k: f"{k.table}.{k.key}")
def test_each_stated_default_is_what_a_spec_without_the_key_gets(entry):
    spec = spec_from_dict(MINIMAL).to_dict()
    got = _value(spec, entry.table, entry.key)
    stated = tomllib.loads(f"x = {entry.default}")["x"]
    assert got == stated, f"{entry.table}.{entry.key}: SPEC_KEYS says {entry.default}, the validator gives {got!r}"


def test_an_unset_key_is_absent_from_a_spec_without_it():
    spec = spec_from_dict(MINIMAL).to_dict()
    for k in SPEC_KEYS:
        if k.default == "unset" and k.table in ("grid", "samples"):
            assert k.key not in spec[k.table], f"{k.table}.{k.key}"
