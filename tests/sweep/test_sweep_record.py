"""The typed, versioned task record (getheory.sweep.TaskRecord)."""

import json

import pytest

from getheory.sweep import LEGACY, RECORD_VERSION, TaskRecord

TASK = {"task_id": "sign|gaussian|N=32|D=16|seed=0", "generator": {"name": "sign"}, "weights": "gaussian",
        "N": 32, "D": 16, "delta": 0.5, "K": 1, "M": 1, "seed_index": 0}


def v2_dict():
    return {"task": TASK, "odd_activation": True, "plan": {"mode": "fixed"}, "samples": 4096,
            "d_MS": {"estimator": "edgeworth", "value": 0.01, "se": 0.002, "choice_rule": "rule", "resolved": False,
                     "plug_in": {"value": 0.02}, "floor": {"mean": 0.015}, "excess": 0.005,
                     "cumulant": {"edgeworth_w1": 0.01, "resolved": True, "kappa3": 0.0, "kappa4": -0.3}},
            "bound_terms": {"M1_term": 0.0, "M2_term": 0.1, "teacher_term": 0.2, "n_term": 0.3, "total": 0.6},
            "moment_errors": {"max_abs_err_Q": 0.01}, "timings_s": {"total": 1.5}, "getheory_version": "0.1.0"}


def test_record_round_trips_through_json_and_keeps_its_version():
    rec = TaskRecord.from_dict(v2_dict())
    assert rec.record_version == 2  # stored without a version, and with a recorded choice
    again = TaskRecord.from_json(rec.to_json())
    assert again == rec or again.to_dict() == rec.to_dict()
    new = TaskRecord(**{**v2_dict()})
    assert new.record_version == RECORD_VERSION
    assert json.loads(new.to_json())["record_version"] == RECORD_VERSION


def test_accessors_read_the_reported_dms_and_its_evidence():
    rec = TaskRecord.from_dict(v2_dict())
    assert (rec.N, rec.D, rec.delta, rec.generator_name, rec.weights) == (32, 16, 0.5, "sign", "gaussian")
    rep = rec.reported_dms()
    assert rep["estimator"] == "edgeworth" and rep["value"] == 0.01 and rep["resolved"] is True
    assert rec.estimator_value("plug_in") == (0.02, False)
    assert rec.estimator_value("edgeworth") == (0.01, True)
    assert rec.dms_for_ratio() == (0.01, "edgeworth", True)
    assert rec.bound("total") == 0.6 and rec.kappa(4) == -0.3 and rec.floor_mean() == 0.015
    assert rec.seconds == 1.5 and rec.moment_error("max_abs_err_Q") == 0.01
    assert rec.group_key() == ("sign", "gaussian", 1, 1, 0.5)
    with pytest.raises(KeyError, match="unknown d_MS series"):
        rec.estimator_value("median")
    with pytest.raises(KeyError, match="unknown bound term"):
        rec.bound("M3_term")


def test_version_one_records_load_as_legacy_with_the_earlier_ratio_rule():
    d = v2_dict()
    for k in ("estimator", "value", "se", "choice_rule"):
        d["d_MS"].pop(k)
    d["d_MS"]["certified"] = {"value": 0.5}
    rec = TaskRecord.from_dict(d)
    assert rec.record_version == 1 and rec.legacy
    assert rec.reported_dms()["estimator"] == LEGACY and rec.reported_dms()["value"] is None
    assert rec.dms_for_ratio() == (0.5, "certified", False)  # plug-in unresolved: the certified bound


def test_record_reads_as_its_json_mapping():
    rec = TaskRecord.from_dict(v2_dict())
    assert rec["d_MS"]["estimator"] == "edgeworth" and rec["samples"] == 4096
    assert set(rec) >= {"task", "d_MS", "bound_terms", "record_version"}
    with pytest.raises(KeyError):
        rec["nonexistent"]


def test_a_dict_without_task_or_dms_is_refused():
    with pytest.raises(ValueError, match="needs at least 'task' and 'd_MS'"):
        TaskRecord.from_dict({"task": TASK})
