"""The check's report (getheory.reports: format_check, check_markdown, write_check_report, write_check_json)."""

import json
import re

from getheory import __version__, check_generator
from getheory.bounds import BoundTerms
from getheory.check import CheckOptions, CheckResult, Condition
from getheory.cli import main
from getheory.distances import StreamOptions
from getheory.reports import check_markdown, format_check, write_check_json, write_check_report


class _Dms:
    """A d_MS estimate with only the reported value (no plug-in, certificate or cumulants)."""

    def to_dict(self):
        return {"estimator": "edgeworth", "value": 0.0123456, "se": 0.00123, "plug_in": None, "certified": None,
                "cumulant": None, "statement": "d_MS = 0.01235"}


def _result(bounds=None):
    return CheckResult(generator={"kind": "CallableGenerator", "name": "mine"},
                       sizes={"N": 4, "D": 2, "K": 1, "M": 1, "samples": 2048}, moments_source="exact", match={},
                       dms=_Dms(), bounds=bounds, bounds_note="no terms here", conditions=[
                           Condition("c1", "pass", "fine"), Condition("c2", "warn", "look")],
                       timings={"moments": 0.5, "d_MS": 1.25}, settings={})


def test_the_table_of_a_hand_made_result():
    assert format_check(_result()) == f"""getheory {__version__} check: CallableGenerator mine
  sizes: N=4, D=2, K=1, M=1, samples=2048
  moments: exact

d_MS(P, P̂)  (docs/theory.md §4)
  d_MS (edgeworth)  0.012346 ± 0.0012
  → d_MS = 0.01235

bound terms  (docs/theory.md §5)
  no terms here

conditions  (docs/theory.md §6)
  [PASS] c1: fine
  [WARN] c2: look

timings: moments 0.50 s, d_MS 1.25 s"""


def test_bound_terms_take_the_width_of_the_d_ms_rows():
    b = BoundTerms(M1_term=0.0, M2_term=0.5, teacher_term=0.25, n_term=0.125, chaos_order=7, truncation_error=1e-3,
                   max_offdiag_rho=0.1)
    lines = format_check(_result(b)).splitlines()
    i = lines.index("bound terms  (docs/theory.md §5)")
    assert lines[i + 1:i + 7] == [
        "  B(W, M1)  (even chaos)  0",
        "  B(W, M2)  (odd chaos)  0.5",
        "  teacher  N^-1/2 ‖W̃Aᵀ‖²/D²  0.25",
        "  N^-1/2            0.125",
        "  chaos order kept / tail bound  7 / 0.001",
        "",
    ]


def test_a_notebook_shows_markdown_tables_and_check_md_ends_with_them():
    r = _result()
    md = r._repr_markdown_()
    assert "```" not in md  # real tables, not a code block holding the plain-text one
    assert check_markdown(r) == md == r.to_markdown()
    assert "| quantity | value |\n|---|---|\n| d_MS (edgeworth) | 0.012346 ± 0.0012 |\n" in md
    assert "\nd_MS = 0.01235\n" in md  # the statement: a paragraph, which wraps
    assert "no terms here" in md and "| PASS | c1 | fine |\n| WARN | c2 | look |\n" in md
    full = check_markdown(r, "getheory check --seed 1")
    assert full.startswith("# getheory check\n\nRegenerate with:\n\n```\ngetheory check --seed 1\n```\n\n")
    assert full.endswith("\n\n" + md)


def test_a_real_check_displays_in_one_notation_with_no_overlong_line():
    res = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4096, seed=2)
    text, md = format_check(res), res._repr_markdown_()
    for shown in (text, md, res.dms.to_dict()["statement"]):
        assert "kappa" not in shown and "+/-" not in shown and "epsilon" not in shown
    assert "κ3" in text and "κ3" in md
    statement = [ln for ln in text.splitlines() if ln.startswith(("  → ", "    "))]
    assert len(statement) > 1 and max(map(len, statement)) <= 100  # the statement wraps in the terminal
    assert md.count("\n| ") > 10 and "```" not in md


def test_a_result_in_a_notebook_shows_the_table_of_the_command_lines_check_md(tmp_path, capsys):
    argv = ["check", "--activation", "erf2", "--N", "12", "--D", "6", "--K", "1", "--M", "1", "--samples", "2048",
            "--seed", "4", "--n-plugin", "2048", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    md = (tmp_path / "check.md").read_text()
    res = check_generator(options=CheckOptions(activation="erf2", N=12, D=6, K=1, M=1, samples=2048, seed=4,
                                               stream=StreamOptions(n_plugin=2048)))

    def untimed(text):
        return re.sub(r"timings: .*", "timings: T", text)

    assert untimed(md).endswith(untimed(res._repr_markdown_()))
    assert untimed(format_check(res)) in untimed(printed)


def test_the_report_files_hold_every_number(tmp_path):
    res = check_generator(activation="sign", N=8, D=4, K=1, M=1, samples=2048, seed=0)
    paths = write_check_report(res, str(tmp_path / "out"), "getheory check")
    assert paths == [str(tmp_path / "out" / "check.md"), str(tmp_path / "out" / "check.json")]
    text = (tmp_path / "out" / "check.json").read_text()
    assert text == json.dumps(res.to_dict(), indent=2) + "\n"
    assert write_check_json(res, str(tmp_path / "r.json")) == str(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text() == json.dumps(res.to_dict(), indent=2)
    assert not list(tmp_path.rglob("*.tmp"))
