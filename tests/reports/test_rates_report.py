"""Rate report (getheory.reports.write_report and `getheory report`): every file from a small database."""

import json

import numpy as np
import pytest

from getheory import sweep as sw
from getheory.cli import main
from getheory.sweep import _database  # the stored columns of earlier schemas

SPEC = """
name = "small"
seed = 3
[grid]
N = [12, 24, 48]
delta = [0.5]
seeds = 2
[[generator]]
activation = "sign"
[weights]
student = ["gaussian"]
[samples]
mode = "fixed"
n = 2000
moment_samples = 400
[estimator]
floor_replicates = 19
certify = true
"""


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    (d / "spec.toml").write_text(SPEC)
    spec = sw.load_spec(d / "spec.toml")
    s = sw.run_sweep(spec, d / "r.db", workers=1, progress=False)
    assert s.done == 6
    return d / "r.db"


def test_report_writes_every_file(small_db, tmp_path, capsys):
    out = tmp_path / "reports" / "small"
    before = small_db.read_bytes()
    assert main(["report", str(small_db), "--out", str(out), "--n-boot", "200",
                 "--regen-command", "getheory sweep spec.toml --db r.db"]) == 0
    assert "wrote 5 files" in capsys.readouterr().out
    assert small_db.read_bytes() == before  # the database is only read
    names = {p.name for p in out.iterdir()}
    slug = "sign_gaussian_delta0.5"
    assert names == {"report.md", "report.json", f"dms_{slug}.png", f"bounds_{slug}.png", f"ratio_{slug}.png"}
    for n in names:
        if n.endswith(".png"):
            data = (out / n).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    rep = json.loads((out / "report.json").read_text())
    assert rep["tasks_done"] == rep["tasks_total"] == 6 and len(rep["rows"]) == 6
    (g,) = rep["groups"]
    assert g["odd_activation"] is True and g["expected"]["d_MS"] == -1.0
    assert [r["N"] for r in g["table"]] == [12, 24, 48]
    assert g["fits"]["certified"]["N_used"] == [12, 24, 48]
    assert g["bound_fits"]["n_term"]["slope"] == pytest.approx(-0.5)
    assert g["bound_fits"]["M1_term"] is None  # sign is odd: M1 ≡ 0 (THEORY §5)
    md = (out / "report.md").read_text()
    for text in ("## Fitted slopes", "## Verdicts", "getheory sweep spec.toml --db r.db", f"dms_{slug}.png",
                 "left out", "certified", "reported d_MS"):
        assert text in md


def test_report_names_each_rows_estimator(small_db, tmp_path):
    from getheory.reports import write_report

    data = write_report(small_db, tmp_path / "o", n_boot=50)
    with sw.ResultsDB(small_db) as db:
        recs = db.records()
    used = {}
    for r in recs:
        used[r["d_MS"]["estimator"]] = used.get(r["d_MS"]["estimator"], 0) + 1
    assert set(used) <= {"plug-in", "edgeworth"}
    (g,) = data["groups"]
    assert g["estimators"]["counts"] == used and g["estimators"]["legacy"] == 0
    assert g["estimators"]["choice_rules"] == [recs[0]["d_MS"]["choice_rule"]]
    assert sorted(r["estimator"] for r in data["rows"]) == sorted(r["d_MS"]["estimator"] for r in recs)
    assert sum(sum(row["estimators"].values()) for row in g["table"]) == 6
    md = (tmp_path / "o" / "report.md").read_text()
    for est, k in used.items():
        assert f"{est} ×{k}" in md  # the group's estimator, per row counted
    assert "Choice rule: " + recs[0]["d_MS"]["choice_rule"] in md
    assert "legacy" not in md.split("## sign")[1]  # no legacy rows in this group


def _old_record(N, s):
    """A record as earlier versions wrote it: no d_MS value/estimator, a certificate always."""
    return {
        "task": {"task_id": f"sign|gaussian|N={N}|D={N // 2}|seed={s}",
                 "generator": {"name": "sign", "activation": "sign", "depth": 1, "factory": None},
                 "weights": "gaussian", "teacher_weights": "gaussian", "N": N, "D": N // 2, "delta": 0.5, "K": 1,
                 "M": 1, "seed_index": s, "seed": 5 + s, "samples": {"mode": "fixed", "n": 2000},
                 "floor_replicates": 6, "p": 1, "confidence": 0.95, "backend": "numpy", "dtype": "float64"},
        "odd_activation": True, "plan": {"n": 2000, "cap": None, "reason": "fixed n", "required": None, "pilot": None},
        "samples": 2000,
        "d_MS": {"plug_in": {"value": 0.4 / N * (1 + 0.05 * s)}, "floor": {"mean": 0.05 / N, "replicates": 6},
                 "excess": 0.3 / N, "resolved": True, "confidence": 0.95,
                 "certified": {"value": 0.6 / N + 0.01, "confidence": 0.95},
                 "cumulant": {"kappa3": 0.0, "kappa4": -1.0 / N, "edgeworth_w1": 0.3 / N * (1 + 0.05 * s),
                              "edgeworth_se": 0.01 / N, "resolved": True, "z_threshold": 3.0}},
        "bound_terms": {"M1_term": 0.0, "M2_term": 1.0 / N, "teacher_term": N**-0.5, "n_term": N**-0.5,
                        "total": 1.0 / N + 2 * N**-0.5},
        "moment_errors": {}, "timings_s": {"total": 1.0}, "getheory_version": "0.1.0",
    }


def test_report_of_a_version_1_database_names_rows_legacy(tmp_path):
    import sqlite3

    spec = {"name": "old", "description": "", "seed": 0,
            "grid": {"N": [16, 32, 64], "delta": [0.5], "K": 1, "M": 1, "seeds": 2},
            "generator": [{"name": "sign", "activation": "sign", "depth": 1}],
            "weights": {"student": ["gaussian"], "teacher": "gaussian"},
            "samples": {"mode": "plan", "n": 100000, "pilot": 20000, "min": 20000, "max": 2000000, "max_work": 2e11,
                        "moment_samples": 0, "moment_max_work": 2e10},
            "estimator": {"floor_replicates": 6, "p": 1, "confidence": 0.95},
            "run": {"backend": "numpy", "dtype": "float64"}}
    v1 = _database._columns()[:25]  # schema 1: no estimator, dms_value, dms_se columns
    db = tmp_path / "v1.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute(f"CREATE TABLE tasks (task_id TEXT PRIMARY KEY, {', '.join(f'{c} {t}' for c, t in v1)}, record TEXT)")
    con.execute("CREATE TABLE failures (task_id TEXT, error TEXT, traceback TEXT, time REAL)")
    con.executemany("INSERT INTO meta VALUES (?, ?)", [("format", "getheory-sweep"), ("schema_version", "1"),
                                                       ("spec_json", json.dumps(spec)), ("spec_hash", "x")])
    for N in (16, 32, 64):
        for s in range(2):
            rec = _old_record(N, s)
            flat = _database._flat(rec)  # the old record still flattens
            names = [c for c, _ in v1]
            con.execute(f"INSERT INTO tasks VALUES ({', '.join('?' * (len(names) + 2))})",
                        [rec["task"]["task_id"]] + [flat[c] for c in names] + [json.dumps(rec)])
    con.commit()
    con.close()
    out = tmp_path / "rep"
    assert main(["report", str(db), "--out", str(out), "--n-boot", "100"]) == 0
    rep = json.loads((out / "report.json").read_text())
    (g,) = rep["groups"]
    legacy = "legacy: plug-in and cumulants, no choice recorded"
    assert g["estimators"] == {"counts": {legacy: 6}, "choice_rules": [], "legacy": 6}
    assert [r["estimator"] for r in rep["rows"]] == ["legacy"] * 6
    assert rep["spec"]["estimator"] == spec["estimator"]  # the spec as stored
    # the previous logic: per-estimator fits, the rate from the estimator on the most N
    assert g["fits"]["reported"] is None and g["fits"]["certified"]["N_used"] == [16, 32, 64]
    assert g["fits"]["edgeworth"]["slope"] == pytest.approx(-1.0, abs=1e-9)
    assert g["verdicts"]["primary_estimator"] == "edgeworth"
    md = (out / "report.md").read_text()
    assert f"d_MS estimator per row: {legacy} ×6" in md
    assert "rules of thumb of an earlier getheory" in md


def test_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none.db"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.db"
    junk.write_text("not a database" * 40)
    assert main(["report", str(junk), "--out", str(tmp_path / "o")]) == 2
    assert "not a readable SQLite database" in capsys.readouterr().err
    empty = tmp_path / "empty.db"
    (tmp_path / "s.toml").write_text(SPEC)
    with sw.ResultsDB(empty, create=True) as db:
        db.init(sw.load_spec(tmp_path / "s.toml"))
    assert main(["report", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no finished task" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _read_median(d):
    """The throwaway estimator's reading: d_MS["median"] = {"value", "resolved"}."""
    from getheory.distances import Reading

    m = d.get("median") or {}
    return Reading(m.get("value"), None, bool(m.get("resolved")))


@pytest.fixture
def median_estimator():
    """A throwaway d_MS estimator, registered for one test and removed after it: no other edit."""
    from getheory import distances as ds

    entry = ds.register_estimator(ds.Estimator(
        "median", "median slice (test)", "median", "a throwaway estimator of the registry test", _read_median,
        ds.PlotStyle("C6", "P"), record_keys=("median",), resolved_column=True))
    yield entry
    ds.unregister_estimator("median")


def _record_with_median(N, s):
    rec = _old_record(N, s)
    rec["d_MS"].update(estimator="edgeworth", value=0.3 / N, se=0.01 / N, choice_rule="rule",
                       median={"value": 0.5 * N**-0.75, "resolved": N <= 64})
    return rec


def test_a_registered_estimator_reaches_records_rates_and_the_report(tmp_path, request):
    from getheory.rates import fit_rates
    from getheory.reports import write_report
    from getheory.reports._rates import _dms_figure

    recs = [_record_with_median(N, s) for N in (16, 32, 64, 128) for s in range(2)]
    before = fit_rates(recs, n_boot=100)
    request.getfixturevalue("median_estimator")
    # records: its value and resolution
    rec = sw.TaskRecord.from_dict(recs[0])
    assert rec.estimator_value("median") == (0.5 * 16**-0.75, True)
    # rates: its per-N columns and its fit over the resolved N; the other fits keep their numbers
    (g,) = fit_rates(recs, n_boot=100)
    assert g.table[0]["median"] == pytest.approx(0.5 * 16**-0.75) and g.table[3]["median_resolved"] == 0
    f = g.fits["median"]
    assert f.slope == pytest.approx(-0.75) and f.N_used == [16, 32, 64]
    assert f.left_out == [{"N": 128, "reason": "unresolved (0 of 2 seeds resolved)"}]
    (g0,) = before
    assert {k: v.to_dict() for k, v in g0.fits.items() if v} == {k: v.to_dict() for k, v in g.fits.items()
                                                                   if v and k != "median"}
    # the report: its column in every table, its fit in report.json, its points and line in the d_MS plot
    spec = SPEC.replace("N = [12, 24, 48]", "N = [16, 32, 64, 128]")
    (tmp_path / "spec.toml").write_text(spec)
    db = tmp_path / "m.db"
    with sw.ResultsDB(db, create=True) as rdb:
        rdb.init(sw.load_spec(tmp_path / "spec.toml"))
        for r in recs:
            rdb.insert(r)
    data = write_report(db, tmp_path / "rep", n_boot=100)
    assert data["groups"][0]["fits"]["median"]["N_used"] == [16, 32, 64]
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| excess | certified | median | expected |" in md  # the fitted-slopes table
    assert "| certified | median | res. | \\|κ3\\| |" in md  # the per-N table
    assert "| median | -0.750 [-0.750, -0.750] | [16, 32, 64] | 6 | N=128: unresolved" in md  # the fit table
    with sw.ResultsDB(db) as rdb:
        stored = rdb.records()
    (gr,) = fit_rates(stored, n_boot=100)
    fig = _dms_figure(gr, stored, np.geomspace(16, 128, 50))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "median slice (test) (resolved)" in labels and "median slice (test) (unresolved)" in labels
    assert "fit median slice (test): slope -0.75 [-0.75, -0.75]" in labels


def _modern_record(N, s):
    """A record with a reported d_MS (the Edgeworth value, resolved), slope -1.56 in N."""
    rec = _old_record(N, s)
    v = 0.3 * N**-1.562 * (1 + 0.05 * s)
    rec["d_MS"].update({"estimator": "edgeworth", "value": v, "se": 0.01 * v,
                        "choice_rule": "the Edgeworth value always (test)"})
    rec["d_MS"]["cumulant"]["edgeworth_w1"] = v
    return rec


def test_a_one_seed_report_gives_no_interval_and_no_verdict(tmp_path):
    from getheory.rates import fit_rates
    from getheory.reports import write_report

    (g,) = fit_rates([_modern_record(N, 0) for N in (16, 32, 64)], n_boot=100)
    assert g.verdicts["primary_estimator"] == "reported" and "faster_than_bound" not in g.verdicts
    assert "no verdict" in g.verdicts["rate"] and "differs" not in g.verdicts["rate"]
    assert g.verdicts["ratio_bounded"] is None and "GROWS" not in g.verdicts["ratio"]
    f = g.fits["reported"]
    assert f.slope == pytest.approx(-1.562) and not f.has_interval and not f.contains(-1.562)
    (tmp_path / "spec.toml").write_text(SPEC.replace("seeds = 2", "seeds = 1").replace("[12, 24, 48]", "[16, 32, 64]"))
    db = tmp_path / "one.db"
    with sw.ResultsDB(db, create=True) as rdb:
        rdb.init(sw.load_spec(tmp_path / "spec.toml"))
        for N in (16, 32, 64):
            rdb.insert(_modern_record(N, 0))
    write_report(db, tmp_path / "rep", n_boot=100)
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "1 seeds" not in md and "1 seed (" in md and "no intervals and no verdicts" in md
    assert "[-1.562, -1.562]" not in md and "-1.562 (no interval: 1 seed)" in md
    for wrong in ("differs from the expected", "consistent with the expected", "GROWS", "stays bounded",
                  "faster than the bound"):
        assert wrong not in md
    fit = json.loads((tmp_path / "rep" / "report.json").read_text())["groups"][0]["fits"]["reported"]
    assert fit["ci_low"] is fit["ci_high"] is fit["se"] is None  # report.json: no interval, not a zero-width one


def test_rate_plots_tick_at_the_data_N_and_keep_the_legend_off_the_data():
    import matplotlib.pyplot as plt

    from getheory.rates import fit_rates
    from getheory.reports._rates import _bounds_figure, _dms_figure, _ratio_figure

    Ns = (16, 32, 64, 128, 256)
    recs = [_modern_record(N, s) for N in Ns for s in range(2)]
    (g,) = fit_rates(recs, n_boot=50)
    recs = [sw.TaskRecord.from_dict(r) for r in recs]
    for figure in (_dms_figure, _bounds_figure, _ratio_figure):
        fig = figure(g, recs, np.geomspace(16, 256, 50))
        (ax,) = fig.axes
        fig.canvas.draw()
        assert [t.get_text() for t in ax.get_xticklabels()] == [str(n) for n in Ns], figure.__name__
        assert list(ax.get_xticks()) == list(Ns) and len(ax.get_xticks(minor=True)) == 0
        legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert legend.x0 >= frame.x1, f"{figure.__name__}: the legend overlaps the axes"
        plt.close(fig)


def test_a_group_unresolved_at_its_sample_cap_says_so_in_its_verdict():
    from getheory._rate_tables import verdict_lines
    from getheory.rates import fit_rates

    def rec(N, s, capped):
        r = _modern_record(N, s)
        r["d_MS"]["cumulant"]["resolved"] = N <= 32
        r["plan"] = {"n": 2000, "limited_by": "budget" if capped else None, "n_needed": 50_000.4 if N == 64 else None,
                     "options": {"max_samples": 2000 if capped else 10**6}}
        return r

    for capped in (True, False):
        (g,) = fit_rates([rec(N, s, capped) for N in (16, 32, 64, 128) for s in range(2)], n_boot=50)
        assert g.verdicts["primary_estimator"] is None and "not enough resolved points" in g.verdicts["rate"]
        said = "every unresolved point (N = 64..128) ran at the spec's sample cap ([samples] max_samples"
        assert (said in g.verdicts["rate"]) is capped and g.verdicts.get("limited_by_samples", False) is capped
        if capped:
            assert "n = 2,000: n, not N, limits them" in g.verdicts["rate"]
            assert "the planner asked for n up to 50,000)" in g.verdicts["rate"]
            assert said in "\n".join(verdict_lines([g]))  # report.md's verdicts, and a notebook's


def test_a_group_without_bound_terms_gets_only_its_dms_plot(tmp_path):
    """Deep and trained generators have no bound terms (docs/theory.md §5): no empty bound or ratio plot
    (and no matplotlib warning about an empty legend, an error under the tests' warning filter)."""
    from getheory.reports import write_report

    (tmp_path / "spec.toml").write_text(SPEC.replace("[12, 24, 48]", "[16, 32, 64]"))
    db = tmp_path / "deep.db"
    with sw.ResultsDB(db, create=True) as rdb:
        rdb.init(sw.load_spec(tmp_path / "spec.toml"))
        for N in (16, 32, 64):
            for s in range(2):
                rec = _modern_record(N, s)
                rec["bound_terms"] = None
                rdb.insert(rec)
    write_report(db, tmp_path / "rep", n_boot=100)
    slug = "sign_gaussian_delta0.5"
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.md", "report.json", f"dms_{slug}.png"}
    md = (tmp_path / "rep" / "report.md").read_text()
    assert f"(dms_{slug}.png)" in md and "bounds_" not in md and "ratio_" not in md
    assert md.count("![") == 1  # one image: the d_MS plot (an image link is written for each plot, nothing else)
