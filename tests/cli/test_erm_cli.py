"""`getheory erm` (getheory.cli.erm): a report from the command line, bad input refused before any work."""

import json

import pytest

from getheory.cli import main

SMALL = ["--N", "40", "--alphas", "0.5,2", "--lambdas", "0.1", "--seeds", "2", "--n-test", "500", "--quiet"]


def test_erm_writes_a_report_and_prints_its_verdicts(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["erm", "--loss", "hinge", *SMALL, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Gaussian data vs theory" in text and "generator − Gaussian gap" in text and "wrote" in text
    d = json.loads((out / "report.json").read_text())
    assert d["settings"]["options"]["loss"] == "hinge" and (out / "learning_curves.png").exists()


@pytest.mark.parametrize("argv, msg", [
    (["erm", "--loss", "absolute"], "invalid choice: 'absolute'"),
    (["erm", "--loss", "hinge", "--teacher", "linear"], "takes teacher='sign'"),
    (["erm", "--loss", "hinge", "--lambdas", "0"], "every value must be > 0"),
    (["erm", "--loss", "hinge", "--no-generator", "--no-gaussian"], "leave nothing to fit"),
    (["erm"], "--loss"),
])
def test_bad_arguments_are_refused_with_the_reason(argv, msg, capsys, tmp_path):
    try:
        code = main([*argv, "--out", str(tmp_path / "x")])
    except SystemExit as exc:  # argparse's own refusals exit at parsing
        code = exc.code
    assert code == 2
    assert msg in capsys.readouterr().err
