"""`check_generator` and the `getheory check` command line (docs/theory.md §6)."""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from getheory import check_generator, random_deep
from getheory.cli import main


def test_check_returns_every_section_json_ready():
    res = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4000, seed=0)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["sizes"] == {"N": 16, "D": 8, "K": 1, "M": 1, "samples": 4000}
    for key in ("value", "se", "estimator", "choice_rule", "plug_in", "floor", "excess", "certified", "cumulant",
                "resolved"):
        assert key in d["d_MS"]
    assert d["d_MS"]["estimator"] in ("plug-in", "edgeworth")
    for key in ("M1_term", "M2_term", "teacher_term", "n_term"):
        assert d["bound_terms"][key] >= 0
    assert {c["verdict"] for c in d["conditions"]} <= {"pass", "warn", "fail", "info"}
    assert "exact" in d["moments_source"]
    text = res.format()
    assert "plug-in + ε_n" in text and "teacher" in text and "d_MS resolved" in text


def test_check_is_reproducible_with_a_seed():
    a = check_generator(activation="relu", N=12, D=6, samples=2000, seed=3).to_dict()
    b = check_generator(activation="relu", N=12, D=6, samples=2000, seed=3).to_dict()
    assert a["d_MS"]["plug_in"]["value"] == b["d_MS"]["plug_in"]["value"]


def test_check_of_deep_generator_uses_monte_carlo_moments():
    gen = random_deep([6, 12, 10], "sign", seed=0)
    res = check_generator(gen, samples=3000, seed=1, moment_samples=4000)
    d = res.to_dict()
    assert "Monte Carlo" in d["moments_source"]
    assert d["bound_terms"] is None and "single-layer" in d["bound_terms_note"]
    assert "stderr_cov" in d["gaussian_match"]


def test_check_certified_bound_on_request():
    from getheory.distances import DmsOptions

    d = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4000, seed=0,
                        dms=DmsOptions(certify=True, max_evaluations=200)).to_dict()
    ce = d["d_MS"]["certified"]
    assert ce["value"] >= d["d_MS"]["plug_in"]["value"] + ce["epsilon_n"] - 1e-12


def test_check_auto_samples_plans_from_an_independent_pilot():
    from getheory.plan import PlanOptions

    res = check_generator(activation="sign", N=16, D=8, K=1, M=1, seed=0, plan=PlanOptions(time_budget=10.0))
    d = res.to_dict()
    plan = d["plan"]
    assert plan["n"] == d["sizes"]["samples"] >= plan["n_pilot"] >= 20_000
    assert plan["limited_by"] in ("target", "budget") and plan["rate"] > 0
    # the strongly non-Gaussian N = 16 point is resolved at 5 sigma by the planned run
    assert d["d_MS"]["cumulant"]["z_max"] >= 5
    assert "pilot" in res.format()


def test_check_refuses_a_budget_too_small_for_the_pilot():
    from getheory.plan import PlanOptions

    with pytest.raises(ValueError, match="too small even for the pilot.*at least"):
        check_generator(activation="sign", N=400, D=200, K=1, M=1, seed=0,
                        plan=PlanOptions(time_budget=0.2, min_pilot=200_000))


def test_cli_check_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["check", "--activation", "erf2", "--N", "16", "--D", "8", "--samples", "3000",
               "--json", str(out), "--quiet"])
    assert rc == 0
    d = json.loads(out.read_text())
    assert d["generator"]["activation"] == "erf2"
    assert "d_MS" in capsys.readouterr().out


def test_cli_user_generator(tmp_path, monkeypatch, capsys):
    (tmp_path / "usergen_cli.py").write_text(textwrap.dedent("""
        import numpy as np
        B = np.random.default_rng(0).standard_normal((10, 5))
        def make(c):
            return np.tanh(c @ B.T / np.sqrt(5))
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["check", "--generator", "usergen_cli:make", "--D", "5", "--samples", "2000",
               "--moment-samples", "2000", "--quiet"])
    assert rc == 0
    assert "CallableGenerator" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["check", "--N", "-4"], "positive"),
    (["check", "--activation", "softplus"], "invalid choice"),
    (["check", "--samples", "ten"], "expected an integer or 'auto'"),
    (["check", "--samples", "100"], "must be an integer >= 1024"),
    (["check", "--time-budget", "0"], "positive"),
])
def test_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_cli_reports_user_generator_errors(tmp_path, monkeypatch, capsys):
    (tmp_path / "badgen_cli.py").write_text("def g(c):\n    return c[:, 0]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["check", "--generator", "badgen_cli:g", "--D", "3", "--samples", "2000", "--quiet"])
    assert rc == 2
    assert "shape" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "getheory", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "getheory" in r.stdout


@pytest.mark.slow
def test_sign_excess_resolved_at_16_and_shrinks_at_64():
    # THEORY §4 Resolution: for sign, K = M = 1, δ = 1/2, the measured plug-in d_MS is
    # ≈ 0.026 at N = 16 and ≈ 1/N-like decay; with n = 4·10^5 the floor is ≈ 0.003,
    # so N = 16 is resolved by both estimators and N = 64 is smaller.
    r16 = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=400_000, seed=11).to_dict()
    r64 = check_generator(activation="sign", N=64, D=32, K=1, M=1, samples=400_000, seed=11).to_dict()
    assert r16["d_MS"]["resolved"] and r16["d_MS"]["cumulant"]["resolved"]
    assert r64["d_MS"]["excess"] < r16["d_MS"]["excess"]
    assert r64["d_MS"]["cumulant"]["edgeworth_w1"] < r16["d_MS"]["cumulant"]["edgeworth_w1"]


def test_check_reports_analytic_cumulants_beside_the_sampled_ones():
    res = check_generator(activation="sign", N=32, D=16, K=1, M=1, samples=200_000, seed=2)
    a = res.to_dict()["analytic"]
    smp = a["sampled_along_analytic_direction"]
    assert smp["groups"] == 64 and smp["n"] == 200_000
    assert np.allclose(np.linalg.norm(smp["direction"]), 1.0)
    assert a["analytic"]["kappa4"] < 0  # sign: negative excess kurtosis at leading order
    assert math.isfinite(a["z_kappa4_sampled_minus_analytic"])
    assert "without sampling" in res.format()
    deep = check_generator(random_deep([6, 12, 10], "sign", seed=0), samples=3000, seed=1, moment_samples=4000)
    assert deep.to_dict()["analytic"] is None
