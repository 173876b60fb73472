"""The d_MS estimator registry (getheory.distances): one entry per estimator, read from a record's d_MS."""

import math

import pytest

from getheory import distances as ds

D_MS = {"estimator": "edgeworth", "value": 0.01, "se": 0.002, "choice_rule": "rule", "resolved": False,
        "plug_in": {"value": 0.02}, "floor": {"mean": 0.015, "sd": 0.003}, "excess": 0.005,
        "certified": {"value": 0.04},
        "cumulant": {"edgeworth_w1": 0.01, "edgeworth_se": 0.002, "resolved": True, "kappa4": -0.3}}


def test_the_built_in_series_keep_their_fit_order():
    # the index of a series seeds its bootstrap: the built-in ones keep the order of earlier versions
    assert [e.name for e in ds.estimator_series()] == ["plug_in", "excess", "edgeworth", "certified", "reported"]
    assert ds.REPORTED == "reported"
    assert [e.name for e in ds.estimators() if not e.series] == ["analytic"]


def test_each_estimator_reads_its_value_se_and_resolution_from_d_ms():
    read = {e.name: e.read(D_MS) for e in ds.estimators()}
    assert read["plug_in"] == ds.Reading(0.02, 0.003, False)
    assert read["excess"] == ds.Reading(0.005, None, False)
    assert read["edgeworth"] == ds.Reading(0.01, 0.002, True)
    assert read["certified"] == ds.Reading(0.04, None, True)  # an upper bound: every point counts
    assert read["reported"] == ds.Reading(0.01, 0.002, True)  # resolved by the chosen estimator's own test
    assert read["analytic"] == ds.Reading(None, None, False)
    assert ds.chosen_estimator("edgeworth").name == "edgeworth" and ds.chosen_estimator("none") is None


def test_missing_or_non_finite_parts_read_as_none():
    d = {"plug_in": None, "floor": None, "excess": math.nan, "cumulant": None, "certified": None}
    assert all(e.read(d).value is None for e in ds.estimators())
    legacy = {k: v for k, v in D_MS.items() if k not in ("estimator", "value", "se", "choice_rule")}
    assert ds.get_estimator("reported").read(legacy) == ds.Reading(None, None, False)  # no recorded choice


def test_absent_parts_of_a_task_that_ran_one_estimator():
    assert ds.absent_parts("analytic") == {"plug_in": None, "floor": None, "excess": None, "cumulant": None,
                                           "certified": None}


def test_register_and_unregister():
    entry = ds.Estimator("throwaway", "throwaway", "throwaway", "a test entry", lambda d: ds.Reading(1.0, None, True),
                         ds.PlotStyle("C7", "x"))
    ds.register_estimator(entry)
    try:
        assert ds.estimator_series()[-1] is entry and ds.get_estimator("throwaway") is entry
        with pytest.raises(ValueError, match="already registered"):
            ds.register_estimator(entry)
    finally:
        assert ds.unregister_estimator("throwaway") is entry
    with pytest.raises(KeyError, match="unknown d_MS series 'throwaway'"):
        ds.get_estimator("throwaway")
    with pytest.raises(TypeError):
        ds.register_estimator({"name": "x"})
