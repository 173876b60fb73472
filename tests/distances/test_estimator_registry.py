"""The d_MS estimator registry (getheory.distances): one entry per estimator, read from a record's d_MS."""

import math

import numpy as np
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


# ---- a computing estimator: its module (the code below) and one registry entry reach every workflow ----------

def _mean_gap(inp):
    """The throwaway estimator's computation: the gap between the streamed mean of the fields and the
    match's mean along a random direction of its own seed, with its standard error."""
    st = inp.stats
    m_hat = st.mean + st.scale * st.S1.sum(axis=0) / st.n
    u = np.random.default_rng(inp.seed).standard_normal(st.d)
    u /= np.linalg.norm(u)
    gap, se = abs(float(u @ (m_hat - inp.mean))), math.sqrt(float(u @ inp.cov @ u) / st.n)
    return {"mean_gap": {"value": gap, "se": se, "resolved": gap > inp.options.setting("mean_gap_z") * se}}


def _mean_gap_reading(d):
    part = d.get("mean_gap") or {}
    return ds.Reading(part.get("value"), part.get("se"), bool(part.get("resolved")))


MEAN_GAP = ds.Estimator(
    "mean_gap", "mean gap", "mean gap", "streamed mean minus the match's mean along a random direction",
    _mean_gap_reading, ds.PlotStyle("C7", "x"), record_keys=("mean_gap",), compute=_mean_gap,
    settings=(ds.Setting("mean_gap_z", 3.0, "z at which the mean gap counts as resolved", float),),
    columns=(ds.Column("mean_gap", "REAL", lambda d: (d.get("mean_gap") or {}).get("value")),),
    table_rows=lambda d: [("mean gap along a random direction",
                           f"{d['mean_gap']['value']:.3g} ± {d['mean_gap']['se']:.2g}")])

SWEEP = """
name = "mean-gap"
seed = 4
[grid]
N = [8, 16, 32]
delta = [0.5]
K = 1
M = 1
seeds = 1
[[generator]]
activation = "sign"
[samples]
mode = "fixed"
n = 2048
moment_samples = 0
[estimator]
mean_gap_z = 0.0   # every point resolved, so that the rate is fitted over all three N
"""


@pytest.fixture
def mean_gap():
    """The throwaway computing estimator, registered for one test and removed afterwards."""
    ds.register_estimator(MEAN_GAP)
    yield MEAN_GAP
    ds.unregister_estimator(MEAN_GAP.name)


def test_a_registered_computing_estimator_reaches_check_flags_sweep_database_rates_and_reports(mean_gap, tmp_path):
    import tomllib

    from getheory import sweep as sw
    from getheory.check import check_generator
    from getheory.cli._main import build_parser
    from getheory.cli.check import _options
    from getheory.rates import fit_rates
    from getheory.reports import format_check, write_report

    # the check computes its part (the built-in estimates keep their numbers) and the check report shows its row
    kw = {"N": 16, "D": 8, "K": 1, "M": 1, "samples": 2048, "seed": 3}
    res = check_generator(**kw, dms=ds.DmsOptions(settings={"mean_gap_z": 2.0})).to_dict()["d_MS"]
    assert res["mean_gap"]["value"] >= 0 and res["mean_gap"]["se"] > 0
    assert "mean gap along a random direction" in format_check(check_generator(**kw))
    ds.unregister_estimator("mean_gap")
    try:
        plain = check_generator(**kw).to_dict()["d_MS"]
    finally:
        ds.register_estimator(MEAN_GAP)
    assert "mean_gap" not in plain
    assert {k: v for k, v in res.items() if k != "mean_gap"} == plain
    # its setting is a flag of `getheory check`
    args = build_parser().parse_args(["check", "--mean-gap-z", "2.5"])
    assert _options(args, 8).dms.setting("mean_gap_z") == 2.5
    assert _options(build_parser().parse_args(["check"]), 8).dms.setting("mean_gap_z") == 3.0
    # ... and a key of a sweep spec; each task's record holds its part, the database its column
    spec = sw.spec_from_dict(tomllib.loads(SWEEP))
    assert spec.tasks()[0].dms_settings == {"mean_gap_z": 0.0}
    db = tmp_path / "mean_gap.db"
    sw.run_sweep(spec, db, sw.SweepOptions(workers=1, progress=False))  # in this process, where it is registered
    with sw.ResultsDB(db) as d:
        records, rows = d.records(), d.rows()
        assert "mean_gap" in {r[1] for r in d.conn.execute("PRAGMA table_info(tasks)")}
    assert len(records) == 3 and all(r.reading("mean_gap").value is not None for r in records)
    assert [row["mean_gap"] for row in rows] == [r["d_MS"]["mean_gap"]["value"] for r in records]
    with sw.ResultsDB(db) as d:  # a database written before the estimator existed reads its column from the records
        with d.conn:
            d.conn.execute("ALTER TABLE tasks DROP COLUMN mean_gap")
        assert [row["mean_gap"] for row in d.rows()] == [row["mean_gap"] for row in rows]
    # the rates fit it as a series of its own, and the rate report tabulates it
    (group,) = fit_rates(records, n_boot=50)
    assert group.fits["mean_gap"].n_points == 3
    write_report(db, tmp_path / "report", n_boot=50)
    md = (tmp_path / "report" / "report.md").read_text()
    assert "mean gap" in md
