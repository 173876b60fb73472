"""The `getheory check` command line (docs/theory.md §6); check_generator's own tests are in tests/check/."""

import json
import subprocess
import sys
import textwrap

import pytest

from getheory.check import OMEGA_SAMPLES
from getheory.cli import main


def test_cli_flags_become_check_options():
    from getheory.check import CheckOptions
    from getheory.cli._main import build_parser
    from getheory.cli.check import _options
    from getheory.distances import DmsOptions, StreamOptions
    from getheory.plan import PlanOptions

    args = build_parser().parse_args(["check", "--activation", "relu", "--N", "64", "--K", "1", "--time-budget", "30",
                                      "--seed", "7", "--student-weights", "abs_gaussian",
                                      "--p", "2", "--floor-replicates", "39", "--n-plugin", "0", "--certify",
                                      "--moment-samples", "5000", "--omega-samples", "0", "--dtype", "float32"])
    assert _options(args, 1000) == CheckOptions(
        activation="relu", N=64, D=1000, K=1, M=2, samples="auto", plan=PlanOptions(time_budget=30.0), seed=7,
        weights="abs_gaussian", moment_samples=5000, omega_samples=0,
        dms=DmsOptions(p=2, floor_replicates=39, certify=True),
        stream=StreamOptions(n_plugin=0), backend="numpy", dtype="float32")
    assert _options(build_parser().parse_args(["check", "--samples", "4096"]), 1000).samples == 4096
    defaults = _options(build_parser().parse_args(["check"]), CheckOptions.D)
    assert (defaults.N, defaults.D, defaults.samples, defaults.plan) == (2000, 1000, "auto", PlanOptions())


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
    out = capsys.readouterr().out
    assert "CallableGenerator" in out and f"Ω, Φ for the linearised condition: Monte Carlo, n={OMEGA_SAMPLES}" in out
    rc = main(["check", "--generator", "usergen_cli:make", "--D", "5", "--samples", "2000",
               "--moment-samples", "2000", "--omega-samples", "0", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Ω, Φ not formed (omega_samples = 0)" in out
    assert "[INFO] linearised Gaussian-equivalent covariance: not measured: Ω, Φ were not formed" in out
    assert main(["check", "--generator", "usergen_cli:make", "--D", "5", "--omega-samples", "10", "--quiet"]) == 2
    assert "must be 0 (do not form Ω, Φ: the linearised condition is skipped) or an integer >= 40" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["check", "--N", "-4"], "positive"),
    (["check", "--activation", "softplus"], "invalid choice"),
    (["check", "--samples", "ten"], "expected an integer or 'auto'"),
    (["check", "--samples", "100"], "must be an integer >= 1024"),
    (["check", "--time-budget", "0"], "positive"),
    (["check", "--shard-size", "0"], "positive"),
    (["check", "--omega-samples", "-1"], "must be at least 0"),
    (["check", "--dtype", "float16"], "invalid choice: 'float16' (choose from 'float32', 'float64')"),
    (["check", "--dtype", "double"], "invalid choice: 'double' (choose from 'float32', 'float64')"),
    (["check", "--shard-size", "4096", "--workers", "2", "--scheduler", "tcp://h:1"], "not allowed with"),
])
def test_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err


def test_cli_user_generator_needs_d_and_refuses_an_n_it_does_not_return(tmp_path, monkeypatch, capsys):
    (tmp_path / "usergen_n64.py").write_text("import numpy as np\n\n"
                                             "B = np.random.default_rng(0).standard_normal((64, 32))\n\n"
                                             "def make(c):\n    return np.tanh(c @ B.T / np.sqrt(32))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["check", "--generator", "usergen_n64:make", "--samples", "2000", "--quiet"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "--generator usergen_n64:make needs --D, the latent dimension" in err and "1000" not in err
    for n in ("100", "2000"):
        assert main(base + ["--D", "32", "--N", n]) == 2
        assert f"--N {n} was given, but the generator usergen_n64:make returns N = 64 columns" in \
            capsys.readouterr().err


def test_cli_reports_user_generator_errors(tmp_path, monkeypatch, capsys):
    (tmp_path / "badgen_cli.py").write_text("def g(c):\n    return c[:, 0]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["check", "--generator", "badgen_cli:g", "--D", "3", "--samples", "2000", "--quiet"])
    assert rc == 2
    assert "shape" in capsys.readouterr().err


def test_cli_refuses_a_float32_check_whose_generator_overflows_it_naming_float64(tmp_path, monkeypatch, capsys):
    (tmp_path / "hugegen_cli.py").write_text("import numpy as np\n\ndef g(c):\n"
                                              "    return np.repeat(c[:, :1], 8, axis=1) * 1e37\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["check", "--generator", "hugegen_cli:g", "--D", "3", "--samples", "2000", "--dtype", "float32",
               "--quiet"])
    assert rc == 2
    assert "overflow float32" in (err := capsys.readouterr().err) and "--dtype float64" in err


def test_cli_shard_flags_become_shard_options():
    from getheory.check import ShardOptions
    from getheory.cli._main import build_parser
    from getheory.cli.check import _options

    parse = build_parser().parse_args
    assert _options(parse(["check", "--shard-size", "4096", "--workers", "3"]), 8).shards == \
        ShardOptions(size=4096, workers=3)
    assert _options(parse(["check", "--shard-size", "4096", "--scheduler", "tcp://h:8786"]), 8).shards == \
        ShardOptions(size=4096, scheduler="tcp://h:8786")
    assert _options(parse(["check"]), 8).shards == ShardOptions()


def test_cli_sharded_check_prints_its_shards_and_stores_them(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["check", "--N", "32", "--D", "16", "--samples", "9000", "--n-plugin", "3000", "--shard-size", "2048",
               "--json", str(out), "--quiet"])
    assert rc == 0
    assert "shards: 5 of 2,048 rows" in capsys.readouterr().out
    d = json.loads(out.read_text())
    assert d["settings"]["shards"] == {"size": 2048, "count": 5} and d["sizes"]["samples"] == 9000


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "no shard size was given"),
    (["--shard-size", "32"], "shard size 32 is below the 64 groups"),
])
def test_cli_refuses_shards_it_cannot_run_with_exit_2(argv, message, capsys):
    assert main(["check", "--N", "16", "--D", "8", "--samples", "2000", "--quiet"] + argv) == 2
    assert message in capsys.readouterr().err


def test_cli_scheduler_where_nothing_listens_exits_2_within_seconds_naming_it(capsys):
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.perf_counter()
    rc = main(["check", "--N", "16", "--D", "8", "--samples", "2000", "--shard-size", "1024", "--scheduler", address,
               "--quiet"])
    assert rc == 2 and time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert address in err and "nothing is listening" in err and err.count("\n") == 1


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "getheory", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "getheory" in r.stdout
