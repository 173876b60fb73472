"""Rate report (getheory.report and `getheory report`): every file from a small database."""

import json

import pytest

from getheory import sweep as sw
from getheory.cli import main

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
floor_replicates = 3
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
                 "left out", "certified"):
        assert text in md


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
