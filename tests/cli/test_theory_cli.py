"""`getheory theory [SECTION]`: the theory the outputs cite, from the installed package."""

import subprocess
import sys

from getheory.cli import main


def test_theory_prints_the_section_asked_for(capsys):
    assert main(["theory", "4.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### 4.1 The streaming estimation engine") and "**Sharded runs.**" in out
    assert main(["theory", "§10.5"]) == 0
    assert capsys.readouterr().out.startswith("### 10.5 Measured curves")


def test_theory_without_a_section_lists_them(capsys):
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    assert "§1  Model and scalings" in out and "  §4.1  The streaming estimation engine" in out and "§10.7" in out


def test_an_unknown_section_is_one_line_and_exit_2(capsys):
    for bad in ("99.9", "abc"):
        assert main(["theory", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"getheory theory: error: no section '{bad}' in the theory") and "\n" not in err
        assert "§10.7" in err


def test_the_command_runs_from_python_m():
    run = subprocess.run([sys.executable, "-m", "getheory", "theory", "7.4"], capture_output=True, text=True, check=False,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("### 7.4 Gaussian integrals")
