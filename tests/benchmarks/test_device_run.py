"""benchmarks/device_run.py, the prepared GPU script, run on the simulated device (``--backend strict --tiny``).

The GPU run itself needs a GPU; its logic -- stages in their own processes under their
budgets, a summary rewritten after every stage, failures and timeouts recorded while the
later stages run, few enough files for the device tool -- is checked here on the CPU.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "device_run.py"
STAGES = ("tests", "bench_backends", "largest_odd_n", "dynamics_paper", "odd_rates_sweep")


def _run(out, *args, timeout=300):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--backend", "strict", "--tiny", "--out", str(out), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)
    summary = json.loads((out / "summary.json").read_text())
    return proc, summary


def _files(out):
    return [p.relative_to(out) for p in out.rglob("*") if p.is_file()]


def _module():
    spec = importlib.util.spec_from_file_location("device_run", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_the_dry_run_on_the_strict_device_finishes_every_stage_with_its_figures(tmp_path):
    out = tmp_path / "out"
    proc, s = _run(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert s["complete"] and list(s["stages"]) == list(STAGES)
    for name, st in s["stages"].items():
        assert st["status"] == "ok" or (st["status"] == "skipped" and st.get("reason")), (name, st)
        assert st["wall_s"] <= st["budget_s"]

    tests = s["stages"]["tests"]["result"]
    assert tests["runs"][0]["counts"]["passed"] >= 1 and "passed" in tests["runs"][0]["summary"]
    assert "note" in tests  # says why the strict run is a strict-device subset

    bench = s["stages"]["bench_backends"]["result"]
    assert [row["N"] for row in bench["throughput"]] == [16, 32, 64]
    for row in bench["throughput"]:
        assert row["gemm_gflops"] > 0 and row["sampling_fraction_of_gemm"] > 0 and row["streamed_fraction_of_gemm"] > 0
        assert row["sampling_samples_per_s"] > 0 and row["streamed_samples_per_s"] > 0
    assert bench["estimation"]["seconds"] > 0 and bench["estimation"]["estimator"] in ("plug-in", "edgeworth")
    assert bench["readme_command"]["n"] >= 1024 and "resolved_5_sigma" in bench["readme_command"]
    assert [m["n"] for m in bench["memory"]] == [10_000, 100_000]
    assert all(m.get("peak_bytes", 0) > 0 or m.get("skipped") for m in bench["memory"])

    odd = s["stages"]["largest_odd_n"]["result"]
    assert odd["points"] and odd["points"][0]["N"] == 16
    assert all({"n", "z_max", "resolved_5_sigma", "budget_s"} <= set(p) for p in odd["points"])
    assert "largest_resolved_N" in odd and odd["stopped_because"]

    dyn = s["stages"]["dynamics_paper"]["result"]
    assert dyn["t_requested"] == 1.0 and 0 < dyn["t_reached"] <= 1.0 and dyn["sgd_budget_s"] > 0
    assert len(dyn["gaps"]) == 6 and all("verdict" in g for g in dyn["gaps"].values())

    sweep = s["stages"]["odd_rates_sweep"]["result"]
    assert sweep["tasks_total"] == 2 and sweep["tasks_done"] == 2 and sweep["tasks_failed"] == 0
    assert 'backend = "strict"' in sweep["spec_toml"]
    assert sorted(g["key"]["generator"] for g in sweep["rates"]) == ["erf2", "sign"]

    md = (out / "summary.md").read_text()
    assert all(f"## {name}: ok" in md for name in STAGES)
    files = _files(out)  # what the device tool brings back: at most 8 files, at most 2 folders down
    assert len(files) <= 8 and all(len(f.parts) <= 3 for f in files), files
    assert not (out / "tmp").exists()


def test_a_failed_and_a_hung_stage_are_recorded_and_the_later_stages_still_run(tmp_path):
    out = tmp_path / "out"
    proc, s = _run(out, "--stages", "bench_backends", "largest_odd_n", "dynamics_paper",
                   "--fail-stage", "bench_backends", "--hang-stage", "largest_odd_n", "--budget", "largest_odd_n=1")
    assert proc.returncode == 1 and not s["complete"]
    failed, hung, later = (s["stages"][k] for k in ("bench_backends", "largest_odd_n", "dynamics_paper"))
    assert failed["status"] == "failed" and "forced failure" in failed["error"]
    assert "Traceback" in failed["traceback"] and "RuntimeError" in failed["traceback"]
    assert hung["status"] == "timeout" and "budget of 1 s" in hung["error"] and hung["wall_s"] < 5
    assert later["status"] == "ok" and later["result"]["t_reached"] > 0
    md = (out / "summary.md").read_text()
    assert "## bench_backends: failed" in md and "## largest_odd_n: timeout" in md
    assert len(_files(out)) <= 8 and not (out / "tmp").exists()


def test_the_gpu_defaults_fit_in_nine_minutes_and_write_a_valid_sweep_spec(tmp_path):
    from getheory.sweep import load_spec

    mod = _module()
    settings = mod.resolve_settings(mod.build_parser().parse_args([]))
    assert settings["backend"] == "cupy" and settings["stages"] == list(STAGES)
    assert sum(settings["budgets_s"].values()) <= settings["total_budget_s"] <= 9 * 60
    assert settings["largest_odd_n"]["point_budget_s"] == 120
    dyn = settings["dynamics_paper"]
    assert (dyn["N"], dyn["D"], dyn["K"], dyn["M"], dyn["eta"], dyn["t_max"]) == (8000, 800, 2, 2, 0.2, 1000.0)
    assert dyn["sgd_seeds"] >= 2
    path = tmp_path / "spec.toml"
    path.write_text(mod.sweep_spec_toml(settings["odd_rates_sweep"], "cupy"))
    spec = load_spec(path)
    assert max(spec.N) == 8192 and spec.backend == "cupy"
    assert len(spec.tasks()) == 2 * 6 * 3  # sign and erf2, six N, three seeds
