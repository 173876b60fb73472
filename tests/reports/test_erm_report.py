"""The ERM report (getheory.reports._erm): files written whole, verdicts stated, nothing claimed without support."""

import json

import getheory as gt
from getheory.reports import erm_verdicts, write_erm_report


def _run(seeds, sources=("generator", "gaussian")):
    opts = gt.ErmOptions(loss="hinge", alphas=(0.5, 2.0), lambdas=(0.1,), seeds=seeds, n_test=1000, sources=sources)
    return gt.erm_curves(options=opts, N=40, seed=3)


def test_the_report_writes_its_files_and_states_both_verdicts(tmp_path):
    r = _run(seeds=2)
    files = write_erm_report(r, tmp_path, command="getheory erm --loss hinge")
    names = sorted(p.split("/")[-1] for p in files)
    assert names == ["gaps.png", "learning_curves.png", "report.json", "report.md"]
    md = (tmp_path / "report.md").read_text()
    assert "getheory erm --loss hinge" in md and "Gaussian data" in md and "Generator against Gaussian" in md
    d = json.loads((tmp_path / "report.json").read_text())
    assert set(d["verdicts"]) == {"validation", "paired_gap"} and d["command"] == "getheory erm --loss hinge"


def test_one_seed_or_one_source_gives_no_verdict_and_says_why(tmp_path):
    v = erm_verdicts(_run(seeds=1))
    assert v == {"validation": None, "paired_gap": None}
    write_erm_report(_run(seeds=2, sources=("gaussian",)), tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "no verdict (it needs both sources" in md and not (tmp_path / "gaps.png").exists()
