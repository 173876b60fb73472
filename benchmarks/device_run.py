"""The prepared GPU run: every GPU check and figure of getheory in one script of at most 9 minutes.

GPU time comes as one window (15 minutes, the machine's start-up included), so all GPU
work is this one script.  It runs five stages in order, each in its own process under
its own time budget (seconds), and rewrites ``summary.json`` and ``summary.md`` in the
output folder after every stage, so that a timeout or a crash loses one stage, not the
run:

1. ``tests``: ``pytest -m gpu`` and every CuPy-parametrised test (``-k cupy -m "not gpu"``,
   tests/backend/test_cupy_agreement.py included), with pytest's summary lines;
2. ``bench_backends``: float64 GEMM of the sampler's batch shape, sampling and sampling
   into the streamed statistics as fractions of it, samples/s, at N = 1024, 4096, 16384
   (δ = 1/2, K = M = 2); d_MS estimation on the streamed statistics; the README's main
   command (``getheory check --activation sign --N 256 --D 128``, through the API); peak
   device memory of sampling + streaming at N = 256, K = M = 1, n = 10^6 and 10^8;
3. ``largest_odd_n``: the largest sign N (δ = 1/2, K = M = 1, doubling from 1024) whose
   d_MS is resolved at 5σ (the check's resolution condition: resolved, held-out |z| ≥ 5)
   with ``samples="auto"`` and 2 minutes per point (``PlanOptions(time_budget=120)``);
4. ``dynamics_paper``: the paper's dynamics setting (sign single-layer generator,
   N = 8000, D = 800, K = M = 2, η = 0.2, t = 1000, 2 SGD seeds per source), SGD within a
   stated time budget (``DynamicsOptions.time_budget``); records the t reached;
5. ``odd_rates_sweep``: the odd-rates sweep (sign and erf2, K = M = 1, δ = 1/2,
   N = 256 … 8192, 3 seeds, planned n per point) written as a TOML spec into the output
   folder's temporary area, run task by task (cheapest first) while the stage's budget
   lasts, then the rates fitted (``getheory.rates.fit_rates``) on the tasks done.

Default budgets: tests 60 s, bench_backends 80 s, largest_odd_n 150 s, dynamics_paper
120 s, odd_rates_sweep 110 s; the whole run is capped at 530 s (``--total-budget``), so
it ends inside 9 minutes.  A stage's budget is a hard limit: its process (group) is
killed when it is spent, and the stage is recorded as ``timeout`` with what it had
reported so far.  Inside, each stage passes what is left of its budget to getheory's own
budgets (the planner's ``time_budget``, ``DynamicsOptions.time_budget``, one sweep task
at a time).  A stage that raises is recorded as ``failed`` with its error and traceback,
and the next stage starts.  Statuses: ok, failed, timeout, skipped (with a reason).

Output (at most 8 files, no sub-folders once finished): ``summary.json`` (every figure,
per stage: status, budget, wall time, result, error), ``summary.md`` (the same, readable)
and ``device_run.log`` (every stage's output, one after the other).  While a stage runs,
its scratch files (the stage's partial result; the sweep's spec and database) live in
``OUT/tmp/`` and are removed when the stage ends.

On the GPU machine (the device tool; nvidia-h200: Python 3.12, CuPy 14, NumPy, SciPy,
mpmath, hypothesis, matplotlib, pytest, numba, threadpoolctl and safetensors are there;
the rest travels as wheels).  Once, here, in the repository's root (``/.whl/`` is in
.gitignore)::

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \\
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
        --platform manylinux1_x86_64 -d .whl \\
        POT==0.9.7.post1 array-api-compat==1.16.0 array-api-strict==2.6.1 \\
        dask==2026.8.0 distributed==2026.8.0 partd==1.4.2 locket==1.0.0 tblib==3.2.2 \\
        tornado==6.6.1 zict==3.0.0

(35 MiB, 33 of them POT's wheel; the other needs of dask and distributed -- click,
cloudpickle, fsspec, packaging, pyyaml, toolz, jinja2, msgpack, psutil,
sortedcontainers, urllib3 -- are in the image).  numba, threadpoolctl and safetensors are
in the image too: do not carry them (a carried numba and llvmlite would shadow the
image's, which match its NumPy); add ``numba==0.68.1 llvmlite==0.50.0 threadpoolctl==3.8.0
safetensors==0.8.0`` to the download only if ``python3 -m pip show`` says one is missing
there.  Then one call of the device tool, with ``carry: [".whl"]`` and ``timeout_s: 570``::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit; \\
    PYTHONUNBUFFERED=1 python3 benchmarks/device_run.py --out $OUT

(``PYTHONPATH=$PWD`` serves getheory from the checkout; ``pip install --no-deps
--no-build-isolation -e .`` does too -- without network, build isolation cannot fetch
setuptools).  570 s leaves about 3 minutes of the 15 for the machine's start and one
rerun of what failed, e.g. ``... device_run.py --out $OUT --stages dynamics_paper
--budget dynamics_paper=150`` with ``timeout_s: 180``.

On a CPU (the logic, in CI: tests/benchmarks/test_device_run.py)::

    python benchmarks/device_run.py --backend strict --tiny --out /tmp/dry

``--backend strict`` runs everything on the simulated device (a stand-in GPU that fails
loudly on host copies, with NumPy's numbers); its ``tests`` stage runs a small
strict-device subset instead of the CuPy tests.  ``--tiny`` takes tiny sizes (N = 16 … 64,
few samples, t_max = 1, 2 SGD seeds, one sweep N): the whole run takes well under a minute.
``--fail-stage NAME`` makes a stage raise and ``--hang-stage NAME`` makes it hang (to test
that a failure or a timeout is recorded and the next stage still runs).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

STAGES = ("tests", "bench_backends", "largest_odd_n", "dynamics_paper", "odd_rates_sweep")
BUDGETS = {"tests": 60.0, "bench_backends": 80.0, "largest_odd_n": 150.0, "dynamics_paper": 120.0,
           "odd_rates_sweep": 110.0}
TOTAL_BUDGET = 530.0
#: --tiny: caps only (a dry run takes about 30 s on 2 cores), generous for slow CI machines
TINY_BUDGETS = {"tests": 40.0, "bench_backends": 60.0, "largest_odd_n": 40.0, "dynamics_paper": 40.0,
                "odd_rates_sweep": 60.0}
TINY_TOTAL_BUDGET = 240.0
#: files the device tool returns at most, and how deep
MAX_FILES, MAX_DEPTH = 8, 2
SUMMARY_JSON, SUMMARY_MD, LOG = "summary.json", "summary.md", "device_run.log"
TMP = "tmp"


# ---------------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------------

def _budget_arg(text):
    name, sep, value = text.partition("=")
    if not sep or name not in STAGES:
        raise argparse.ArgumentTypeError(f"expected STAGE=SECONDS with STAGE one of {', '.join(STAGES)}; got {text!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"a budget must be positive; got {seconds}")
    return name, seconds


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="See the module docstring for how to run it on a GPU machine.")
    ap.add_argument("--backend", default="cupy", choices=("cupy", "strict", "numpy"),
                    help="cupy on the GPU (default); strict for the CPU dry run (the simulated device)")
    ap.add_argument("--out", default="device_run_out", help="output folder (default device_run_out/)")
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), metavar="STAGE",
                    help=f"stages to run, in the fixed order (default all: {' '.join(STAGES)})")
    ap.add_argument("--tiny", action="store_true", help="tiny sizes: the whole run in well under a minute on a CPU")
    ap.add_argument("--budget", type=_budget_arg, action="append", default=[], metavar="STAGE=SECONDS",
                    help="a stage's time budget (repeatable)")
    ap.add_argument("--total-budget", type=float, default=None,
                    help=f"cap on the whole run, seconds (default {TOTAL_BUDGET:g}; --tiny {TINY_TOTAL_BUDGET:g})")
    ap.add_argument("--fail-stage", action="append", default=[], choices=STAGES, metavar="STAGE",
                    help="make this stage raise at its start (tests the failure path; repeatable)")
    ap.add_argument("--hang-stage", action="append", default=[], choices=STAGES, metavar="STAGE",
                    help="make this stage hang at its start, as a stuck stage would (tests the timeout path)")
    g = ap.add_argument_group("stage sizes (defaults depend on --tiny)")
    g.add_argument("--odd-n0", type=int, help="largest_odd_n: first N (default 1024; tiny 16)")
    g.add_argument("--odd-n-max", type=int, help="largest_odd_n: last N tried (default 65536; tiny 32)")
    g.add_argument("--odd-point-budget", type=float, help="largest_odd_n: seconds per point (default 120; tiny 2)")
    g.add_argument("--dyn-sgd-budget", type=float,
                   help="dynamics_paper: SGD seconds, shared by the seeds (default: the stage's budget less a "
                        "reserve for moments, eigendecompositions, ODE and evaluation: 55 s; tiny 2 s)")
    g.add_argument("--dyn-seeds", type=int, help="dynamics_paper: SGD seeds per source (default 2)")
    g.add_argument("--dyn-t-max", type=float, help="dynamics_paper: t_max (default 1000; tiny 1)")
    g.add_argument("--sweep-n", type=int, nargs="+", help="odd_rates_sweep: N values (default 256 … 8192; tiny 16)")
    g.add_argument("--sweep-seeds", type=int, help="odd_rates_sweep: seeds per point (default 3; tiny 1)")
    g.add_argument("--sweep-point-budget", type=float,
                   help="odd_rates_sweep: the planner's seconds per task (default 8; tiny 2)")
    # the per-stage worker process (internal)
    ap.add_argument("--worker", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--settings", help=argparse.SUPPRESS)
    ap.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    return ap


def resolve_settings(a) -> dict:
    """Every size and budget of the run, from the flags (recorded in summary.json)."""
    tiny = a.tiny
    budgets = dict(TINY_BUDGETS if tiny else BUDGETS)
    budgets.update(dict(a.budget))
    total = a.total_budget if a.total_budget is not None else (TINY_TOTAL_BUDGET if tiny else TOTAL_BUDGET)
    s = {"backend": a.backend, "tiny": tiny, "stages": [x for x in STAGES if x in a.stages],
         "budgets_s": budgets, "total_budget_s": total, "fail_stages": sorted(set(a.fail_stage)),
         "hang_stages": sorted(set(a.hang_stage))}

    if a.backend == "cupy":
        s["tests"] = {"runs": [["gpu_marked", ["-m", "gpu", "tests"]],
                               ["cupy_parametrised", ["-k", "cupy", "-m", "not gpu", "tests"]]]}
    elif a.backend == "strict":
        s["tests"] = {"runs": [["strict_device_subset",
                                ["tests/backend/test_strict_device.py", "-k",
                                 "refuses_host_copies or data_sources_stay_on"]]],
                      "note": "no GPU: the CuPy tests would all skip, so the stage runs a small strict-device "
                              "subset (tests/backend/test_strict_device.py, all of which CI runs)"}
    else:
        s["tests"] = {"skip": "backend numpy: the GPU tests need --backend cupy (CI runs the CPU suite)"}

    s["bench_backends"] = {
        "N": [16, 32, 64] if tiny else [1024, 4096, 16384],
        "delta": 0.5, "K": 2, "M": 2,
        # rows per throughput run: the work 2·n·D·N ≈ work_flop, within [n_min, n_max]
        "work_flop": 0.0 if tiny else 3e13, "n_min": 8192 if tiny else 65536, "n_max": 8192 if tiny else 30_000_000,
        "readme": {"N": 32 if tiny else 256, "D": 16 if tiny else 128, "time_budget_s": 2.0 if tiny else 60.0},
        "memory": {"N": 16 if tiny else 256, "D": 8 if tiny else 128, "n": [10_000, 100_000] if tiny
                   else [1_000_000, 100_000_000]},
    }
    s["largest_odd_n"] = {
        "activation": "sign", "delta": 0.5, "K": 1, "M": 1,
        "N0": a.odd_n0 or (16 if tiny else 1024),
        "N_max": a.odd_n_max or (32 if tiny else 65536),
        "point_budget_s": a.odd_point_budget or (2.0 if tiny else 120.0),
        "min_point_budget_s": 1.0 if tiny else 20.0,
        "slack_s": 2.0 if tiny else 10.0,  # left after a point's planner budget, for its bound terms
    }
    s["dynamics_paper"] = {
        "activation": "sign", "N": 40 if tiny else 8000, "D": 4 if tiny else 800, "K": 2, "M": 2, "eta": 0.2,
        "t_max": a.dyn_t_max or (1.0 if tiny else 1000.0), "sgd_seeds": a.dyn_seeds or 2,
        "points": 10 if tiny else 40, "n_test": 1000 if tiny else 10_000,
        "sgd_budget_s": a.dyn_sgd_budget if a.dyn_sgd_budget is not None else (2.0 if tiny else None),
        "reserve_s": 3.0 if tiny else 55.0,
    }
    s["odd_rates_sweep"] = {
        "N": a.sweep_n or ([16] if tiny else [256, 512, 1024, 2048, 4096, 8192]),
        "seeds": a.sweep_seeds or (1 if tiny else 3),
        "point_budget_s": a.sweep_point_budget or (2.0 if tiny else 8.0),
        "pilot": 2048 if tiny else 20_000, "min": 4096 if tiny else 100_000,
        "max": 20_000 if tiny else 1_000_000_000, "max_work": 4e11 if tiny else 1e15,
        "moment_samples": 1000 if tiny else 4000, "fit_reserve_s": 1.0 if tiny else 8.0,
    }
    return s


# ---------------------------------------------------------------------------------------------
# small helpers shared by the parent and the workers (no getheory import here)
# ---------------------------------------------------------------------------------------------

def _now():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _plain(x):
    """JSON-ready: NumPy scalars and arrays, tuples, dataclasses; NaN and ±inf become None."""
    import dataclasses

    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [_plain(v) for v in x]
    if isinstance(x, (str, bool)) or x is None:
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _plain(dataclasses.asdict(x))
    if hasattr(x, "tolist"):  # NumPy scalar or array
        return _plain(x.tolist())
    if hasattr(x, "to_dict"):
        return _plain(x.to_dict())
    return str(x)


def _write_json(path: Path, obj):
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(_plain(obj), indent=1))
    os.replace(tmp, path)


def _child_env():
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    parts = [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def _kill_group(proc):
    """End a worker we started, with everything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------------------------------------
# the stages (run inside a worker process)
# ---------------------------------------------------------------------------------------------

class StageSkipped(Exception):
    """Raised by a stage that cannot run here; the message is the reason."""


class Context:
    def __init__(self, settings, stage, deadline, result_path, tmp):
        self.settings, self.stage, self.deadline = settings, stage, deadline
        self.result_path, self.tmp = Path(result_path), Path(tmp)
        self.opts = settings.get(stage, {})
        self.backend = settings["backend"]
        self.tiny = settings["tiny"]
        self.partial = {}

    def remaining(self) -> float:
        return self.deadline - time.time()

    def report(self, **figures):
        """Record figures so far: they survive a timeout of the stage."""
        self.partial.update(figures)
        _write_json(self.result_path, {"status": "running", "result": self.partial})


def _environment(bk=None) -> dict:
    env = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor(),
           "cpus": os.cpu_count()}
    try:
        import getheory
        import numpy

        env["getheory"] = getheory.__version__
        env["numpy"] = numpy.__version__
    except Exception as exc:  # recorded, not fatal here
        env["import_error"] = f"{type(exc).__name__}: {exc}"
    if bk is not None:
        env["backend"] = bk.name
        env["free_memory_bytes"] = bk.free_memory_bytes()
        if bk.name == "cupy":
            try:
                import cupy

                props = cupy.cuda.runtime.getDeviceProperties(0)
                env["cupy"] = cupy.__version__
                env["device"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
                env["device_memory_bytes"] = int(props["totalGlobalMem"])
            except Exception as exc:
                env["device_error"] = f"{type(exc).__name__}: {exc}"
    return env


def _summary_line(text: str):
    """pytest's closing line ('3 passed, 2 skipped in 4.1s'), without its '=' rule."""
    keys = ("passed", "failed", "error", "skipped", "deselected", "no tests ran", "xfailed", "xpassed")
    for line in reversed(text.strip().splitlines()):
        s = line.strip().strip("=").strip()
        if " in " in s and any(k in s for k in keys):
            return s
    return None


def _counts(line):
    import re

    out = {}
    for num, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)",
                                line or ""):
        out[word.rstrip("s") if word.startswith(("error", "warning")) else word] = int(num)
    return out


def stage_tests(ctx: Context) -> dict:
    if "skip" in ctx.opts:
        raise StageSkipped(ctx.opts["skip"])
    runs = []
    failed = []
    for name, args in ctx.opts["runs"]:
        left = ctx.remaining()
        if left < 3:
            runs.append({"name": name, "args": args, "skipped": "the stage's budget is spent"})
            continue
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
        print(f"$ {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=left)
            out, rc = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            rc = None
        print(out, flush=True)
        line = _summary_line(out)
        bad = [ln.strip() for ln in out.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        run = {"name": name, "args": args, "rc": rc, "seconds": time.perf_counter() - t0, "summary": line,
               "counts": _counts(line), "failures": bad[:50]}
        if rc is None:
            run["error"] = f"pytest stopped at the stage's budget ({left:.0f} s)"
        runs.append(run)
        if rc not in (0, 5):  # 5: nothing collected (recorded, not a failure)
            failed.append(name)
        ctx.report(runs=runs)
    result = {"runs": runs}
    if "note" in ctx.opts:
        result["note"] = ctx.opts["note"]
    if failed:
        result["_error"] = "pytest did not pass: " + ", ".join(failed)
    return result


def _rows_for(o, N, D, b):
    if o["work_flop"] <= 0:
        return o["n_min"]
    n = int(o["work_flop"] / (2 * N * D))
    return int(min(max(n, o["n_min"], 4 * b), o["n_max"]))


def stage_bench_backends(ctx: Context) -> dict:
    import bench_backends as bb

    import getheory as gt
    from getheory.backend import get_backend

    bk = get_backend(ctx.backend)
    o = ctx.opts
    ctx.report(environment=_environment(bk))
    rows, first_stream = [], None
    for N in o["N"]:
        if ctx.remaining() < 5:
            rows.append({"N": N, "skipped": "the stage's budget is spent"})
            break
        D = max(1, int(round(o["delta"] * N)))
        b = gt.fields.auto_batch_size(N, D, backend=bk)
        n = _rows_for(o, N, D, b)
        b_eff = min(b, n)  # the sampler's batch shape: b × D @ D × N
        gemm = bb.gemm_gflops(bk, b_eff, D, N, "float64")
        s_gf, s_rate = bb.sampling(bk, N, D, n, "float64")
        st = bb.streaming(bk, N, D, n, "float64", K=o["K"], M=o["M"])
        if first_stream is None:
            first_stream = st
        rows.append({"N": N, "D": D, "K": o["K"], "M": o["M"], "n": n, "batch_rows": b_eff,
                     "gemm_gflops": gemm,
                     "sampling_gflops": s_gf, "sampling_fraction_of_gemm": s_gf / gemm,
                     "sampling_samples_per_s": s_rate,
                     "streamed_gflops": st["gflops"], "streamed_fraction_of_gemm": st["gflops"] / gemm,
                     "streamed_samples_per_s": st["samples_per_s"], "streamed_seconds": st["seconds"]})
        print(f"N={N}: GEMM {gemm:.1f} GFLOP/s; sampling {s_gf:.1f} ({s_gf / gemm:.0%}), "
              f"streamed {st['gflops']:.1f} ({st['gflops'] / gemm:.0%}); {st['samples_per_s']:,.0f} samples/s",
              flush=True)
        ctx.report(throughput=rows)
    if first_stream is not None and ctx.remaining() > 10:
        est = bb.estimation(first_stream["stats"], first_stream["match"])
        sampling_s = first_stream["n"] / rows[0]["sampling_samples_per_s"]
        est.update({"N": rows[0]["N"], "sampling_seconds_same_n": sampling_s,
                    "estimation_over_sampling": est["seconds"] / sampling_s})
        ctx.report(estimation=est)
    else:
        ctx.report(estimation={"skipped": "the stage's budget is spent"})
    r = o["readme"]
    left = ctx.remaining() - 5
    if left > 3:
        rc = bb.readme_command(bk, N=r["N"], D=r["D"], time_budget=min(r["time_budget_s"], left))
        ctx.report(readme_command=rc)
        print(f"README command: {rc['seconds']:.1f} s, n = {rc['n']:,}, d_MS = {rc['d_MS']:.4g} ± {rc['se']:.2g} "
              f"({rc['estimator']}), resolved at 5σ: {rc['resolved_5_sigma']}", flush=True)
    else:
        ctx.report(readme_command={"skipped": "the stage's budget is spent"})
    m = o["memory"]
    mem = []
    for n in m["n"]:
        if mem and "seconds" in mem[-1]:
            predicted = mem[-1]["seconds"] * n / mem[-1]["n"]
            if predicted > ctx.remaining() - 3:
                mem.append({"n": n, "skipped": f"predicted {predicted:.0f} s > the {ctx.remaining():.0f} s left"})
                continue
        elif ctx.remaining() < 3:
            mem.append({"n": n, "skipped": "the stage's budget is spent"})
            continue
        mem.append(bb.peak_memory(bk, m["N"], m["D"], n))
        print(f"memory n={n:,}: peak {mem[-1]['peak_bytes'] / 2**20:.1f} MiB ({mem[-1]['method']})", flush=True)
        ctx.report(memory=mem)
    return ctx.partial


def _resolution(res):
    return next(c for c in res.conditions if c.name == "d_MS resolved")


def stage_largest_odd_n(ctx: Context) -> dict:
    import getheory as gt
    from getheory.backend import get_backend
    from getheory.plan import PlanOptions

    bk = get_backend(ctx.backend)
    o = ctx.opts
    ctx.report(environment=_environment(bk), point_budget_s=o["point_budget_s"], points=[])
    points, N, stopped = [], o["N0"], None
    while True:
        if N > o["N_max"]:
            stopped = f"reached N_max = {o['N_max']}"
            break
        budget = min(o["point_budget_s"], ctx.remaining() - o["slack_s"])
        if budget < o["min_point_budget_s"]:
            stopped = f"the stage's budget is spent ({ctx.remaining():.0f} s left) before N = {N}"
            break
        D = max(1, int(round(o["delta"] * N)))
        t0 = time.perf_counter()
        res = gt.check_generator(activation=o["activation"], N=N, D=D, K=o["K"], M=o["M"], samples="auto",
                                 plan=PlanOptions(time_budget=budget), seed=0, backend=bk, analytic=False)
        bk.synchronize()
        cond = _resolution(res)
        cu = res.dms.cumulant
        p = {"N": N, "D": D, "budget_s": budget, "budget_limited": budget < o["point_budget_s"],
             "wall_s": time.perf_counter() - t0, "n": res.sizes["samples"], "resolved_5_sigma": cond.verdict == "pass",
             "z_max": cond.numbers.get("z_max"), "n_for_5_sigma": cond.numbers.get("n_for_5_sigma"),
             "d_MS": res.dms.value, "se": res.dms.se, "estimator": res.dms.estimator,
             "kappa4": None if cu is None else cu.kappa4, "se_kappa4": None if cu is None else cu.se_kappa4,
             "resolution": cond.detail, "plan": res.plan.statement() if res.plan is not None else None,
             "timings_s": dict(res.timings)}
        points.append(p)
        print(f"N={N}: n = {p['n']:,}, |z| = {_fmt(p['z_max'], '.2f')}, resolved at 5σ: {p['resolved_5_sigma']} "
              f"({p['wall_s']:.1f} s)", flush=True)
        ctx.report(points=points)
        if not p["resolved_5_sigma"]:
            stopped = f"N = {N} not resolved at 5σ within {budget:.0f} s"
            break
        N *= 2
    resolved = [p["N"] for p in points if p["resolved_5_sigma"]]
    ctx.report(points=points, stopped_because=stopped, largest_resolved_N=max(resolved) if resolved else None,
               first_unresolved_N=next((p["N"] for p in points if not p["resolved_5_sigma"]), None))
    return ctx.partial


def stage_dynamics_paper(ctx: Context) -> dict:
    from getheory.backend import get_backend
    from getheory.dynamics import DynamicsOptions, run_dynamics

    bk = get_backend(ctx.backend)
    o = ctx.opts
    sgd_budget = o["sgd_budget_s"]
    if sgd_budget is None:
        sgd_budget = ctx.remaining() - o["reserve_s"]
    sgd_budget = min(sgd_budget, ctx.remaining() - o["reserve_s"])
    if sgd_budget < 1:
        raise StageSkipped(f"{ctx.remaining():.0f} s left: not enough for the set-up ({o['reserve_s']:g} s) and SGD")
    opts = DynamicsOptions(K=o["K"], M=o["M"], eta=o["eta"], t_max=o["t_max"], sgd_seeds=o["sgd_seeds"],
                           points=o["points"], n_test=o["n_test"], time_budget=sgd_budget, backend=ctx.backend, seed=0)
    ctx.report(environment=_environment(bk), sgd_budget_s=sgd_budget,
               setting={k: o[k] for k in ("activation", "N", "D", "K", "M", "eta", "t_max", "sgd_seeds")})
    t0 = time.perf_counter()
    res = run_dynamics(None, opts, activation=o["activation"], N=o["N"], D=o["D"])
    wall = time.perf_counter() - t0
    st, sgd = res.settings, res.sgd
    gaps = {k: {f: v.get(f) for f in ("verdict", "max_abs", "at_t", "max_abs_in_stderr", "threshold_in_stderr")
                if f in v} for k, v in res.gaps.items()}
    ctx.report(wall_s=wall, t_requested=st.get("t_max_requested"), t_reached=st.get("t_reached"),
               stopped_by_time_budget=st.get("stopped_by_time_budget"),
               sgd={k: sgd.get(k) for k in ("steps", "seconds", "seconds_sampling", "seconds_kernel",
                                            "steps_per_second_per_source", "kernel_steps_per_second", "batch_size",
                                            "diverged", "seeds")},
               timings_s=dict(res.timings), gaps=gaps, notes=list(res.notes))
    print(f"dynamics: t reached {st.get('t_reached')} of {st.get('t_max_requested')} "
          f"({sgd.get('steps_per_second_per_source', 0):,.0f} steps/s per source)", flush=True)
    return ctx.partial


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def sweep_spec_toml(o: dict, backend: str) -> str:
    """The odd-rates spec (examples/sweep_odd_rates.toml) at this run's sizes and backend."""
    sections = [
        (None, {"name": "device_odd_rates",
                "description": "Odd σ (sign, erf2), Gaussian weights, δ = 0.5, K = M = 1: resolved rates "
                               "(benchmarks/device_run.py)",
                "seed": 2023}),
        ("grid", {"N": list(o["N"]), "delta": [0.5], "K": 1, "M": 1, "seeds": o["seeds"]}),
        ("[generator]", {"activation": "sign"}),
        ("[generator]", {"activation": "erf2"}),
        ("weights", {"student": ["gaussian"], "teacher": "gaussian"}),
        ("samples", {"mode": "plan", "time_budget": float(o["point_budget_s"]), "pilot": o["pilot"], "min": o["min"],
                     "max": o["max"], "max_work": float(o["max_work"]), "moment_samples": o["moment_samples"],
                     "moment_max_work": 1e10}),
        ("estimator", {"floor_replicates": 19, "p": 1, "certify": False, "confidence": 0.95}),
        ("run", {"backend": backend, "dtype": "float64"}),
    ]
    lines = []
    for head, body in sections:
        if head is not None:
            lines.append(f"\n[{head}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


def stage_odd_rates_sweep(ctx: Context) -> dict:
    from getheory.backend import get_backend
    from getheory.rates import fit_rates
    from getheory.sweep import ResultsDB, load_spec, run_sweep

    bk = get_backend(ctx.backend)
    o = ctx.opts
    spec_text = sweep_spec_toml(o, ctx.backend)
    spec_path, db_path = ctx.tmp / "odd_rates.toml", ctx.tmp / "odd_rates.db"
    spec_path.write_text(spec_text)
    spec = load_spec(spec_path)
    n_total = len(spec.tasks())
    ctx.report(environment=_environment(bk), spec_toml=spec_text, tasks_total=n_total)
    done = failed = 0
    overhead = 5.0 if not ctx.tiny else 1.0  # seconds a task takes beyond its planner budget (updated)
    stopped, task_walls = None, []
    while True:
        need = o["point_budget_s"] + 1.5 * overhead + o["fit_reserve_s"]
        if ctx.remaining() < need:
            stopped = f"the stage's budget is spent ({ctx.remaining():.0f} s left, a task needs about {need:.0f} s)"
            break
        t0 = time.perf_counter()
        s = run_sweep(spec, db_path, workers=1, progress=False, max_tasks=1)
        if s.done + s.failed == 0:
            stopped = "every task done"
            break
        wall = time.perf_counter() - t0
        task_walls.append(wall)
        overhead = max(overhead, wall - o["point_budget_s"])
        done += s.done
        failed += s.failed
        ctx.report(tasks_done=done, tasks_failed=failed, failures=[list(f) for f in s.failures][:20] or None,
                   task_seconds=task_walls)
    with ResultsDB(db_path) as db:
        records = db.records()
        db_failures = db.failures()
    groups = fit_rates(records, n_boot=500 if ctx.tiny else 2000)
    rates = []
    for g in groups:
        fits = {k: {f: getattr(v, f) for f in ("slope", "ci_low", "ci_high", "N_used", "n_points")}
                for k, v in g.fits.items() if v is not None}
        table = [{k: row.get(k) for k in ("N", "D", "seeds", "samples", "reported", "reported_resolved",
                                          "reported_se", "abs_kappa4", "estimators", "seconds")} for row in g.table]
        bound_fits = {k: {f: getattr(v, f) for f in ("slope", "ci_low", "ci_high", "N_used")}
                      for k, v in g.bound_fits.items() if v is not None}
        rates.append({"group": g.label, "key": g.key, "expected": g.expected, "fits": fits, "bound_fits": bound_fits,
                      "verdicts": g.verdicts, "table": table})
    ctx.report(stopped_because=stopped, tasks_in_db=len(records), db_failures=len(db_failures), rates=rates)
    return ctx.partial


STAGE_FUNCS = {"tests": stage_tests, "bench_backends": stage_bench_backends, "largest_odd_n": stage_largest_odd_n,
               "dynamics_paper": stage_dynamics_paper, "odd_rates_sweep": stage_odd_rates_sweep}


def worker_main(a) -> int:
    """Run one stage in this process; write {status, result, error, traceback} to --result."""
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(BENCH))
    settings = json.loads(a.settings)
    ctx = Context(settings, a.worker, a.deadline, a.result, Path(a.result).parent)
    out = {"status": "ok"}
    try:
        if a.worker in settings["fail_stages"]:
            raise RuntimeError(f"forced failure of stage {a.worker!r} (--fail-stage)")
        if a.worker in settings["hang_stages"]:
            print(f"stage {a.worker!r} hangs (--hang-stage) until its budget is spent", flush=True)
            while True:
                time.sleep(1)
        result = STAGE_FUNCS[a.worker](ctx)
        err = result.pop("_error", None) if isinstance(result, dict) else None
        out["result"] = result
        if err:
            out.update(status="failed", error=err)
    except StageSkipped as exc:
        out.update(status="skipped", reason=str(exc), result=ctx.partial)
    except BaseException as exc:  # recorded with its traceback; the parent goes on with the next stage
        out.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
                   result=ctx.partial)
        traceback.print_exc()
    _write_json(ctx.result_path, out)
    return 0 if out["status"] in ("ok", "skipped") else 1


# ---------------------------------------------------------------------------------------------
# the parent: runs the stages, writes the summary
# ---------------------------------------------------------------------------------------------

def _mib(x):
    return f"{x / 2**20:,.1f} MiB" if isinstance(x, (int, float)) else "?"


def _fmt(x, spec=".3g"):
    if x is None:
        return "–"
    return format(x, spec) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def headline(name: str, r: dict) -> list:
    """A few readable lines of a stage's figures (for summary.md)."""
    r = r or {}
    out = []
    try:
        if name == "tests":
            for run in r.get("runs", []):
                out.append(f"`pytest {' '.join(run.get('args', []))}`: {run.get('summary') or run.get('skipped')}")
                out += [f"failed: {f}" for f in run.get("failures", [])[:10]]
            if r.get("note"):
                out.append(r["note"])
        elif name == "bench_backends":
            for row in r.get("throughput", []):
                if "skipped" in row:
                    out.append(f"N = {row['N']}: skipped ({row['skipped']})")
                    continue
                out.append(f"N = {row['N']}, D = {row['D']} (n = {row['n']:,}): GEMM {row['gemm_gflops']:,.1f} "
                           f"GFLOP/s; sampling {row['sampling_gflops']:,.1f} GFLOP/s = "
                           f"{row['sampling_fraction_of_gemm']:.0%}; sampling + streamed statistics "
                           f"{row['streamed_gflops']:,.1f} GFLOP/s = {row['streamed_fraction_of_gemm']:.0%}; "
                           f"{row['streamed_samples_per_s']:,.0f} samples/s")
            e = r.get("estimation")
            if e and "skipped" in e:
                out.append(f"d_MS estimation: skipped ({e['skipped']})")
            elif e:
                out.append(f"d_MS estimation on the streamed statistics (N = {e['N']}, n = {e['n']:,}): "
                           f"{e['seconds']:.2f} s = {e['estimation_over_sampling']:.3g} × the sampling time at that n")
            rc = r.get("readme_command")
            if rc and "seconds" in rc:
                out.append(f"README command (N = {rc['N']}, D = {rc['D']}): {rc['seconds']:.1f} s, n = {rc['n']:,}, "
                           f"d_MS = {_fmt(rc['d_MS'], '.4g')} ± {_fmt(rc['se'], '.2g')} ({rc['estimator']}), "
                           f"|z| = {_fmt(rc['z_max'], '.1f')}, resolved at 5σ: {rc['resolved_5_sigma']}")
            for m in r.get("memory", []):
                if "skipped" in m:
                    out.append(f"memory, n = {m['n']:,}: skipped ({m['skipped']})")
                else:
                    out.append(f"peak memory, N = {m['N']}, K = M = 1, n = {m['n']:,}: {_mib(m['peak_bytes'])} "
                               f"({m['rows_per_s']:,.0f} rows/s; {m['method']})")
        elif name == "largest_odd_n":
            for p in r.get("points", []):
                out.append(f"N = {p['N']}: n = {p['n']:,}, |z| = {_fmt(p['z_max'], '.2f')}, resolved at 5σ: "
                           f"{p['resolved_5_sigma']}, {p['wall_s']:.1f} s (budget {p['budget_s']:.0f} s)")
            if "largest_resolved_N" in r:
                out.append(f"largest N resolved at 5σ: {r['largest_resolved_N']} "
                           f"(stopped: {r.get('stopped_because')})")
        elif name == "dynamics_paper":
            if "t_reached" in r:
                sgd = r.get("sgd", {})
                out.append(f"t reached {r['t_reached']:g} of {r['t_requested']:g} "
                           f"(SGD budget {r['sgd_budget_s']:.0f} s, "
                           f"stopped by it: {r['stopped_by_time_budget']}); "
                           f"{_fmt(sgd.get('steps_per_second_per_source'), ',.0f')} steps/s per source, "
                           f"wall {r['wall_s']:.1f} s")
                out += [f"{k}: {v.get('verdict')} (max |gap| {_fmt(v.get('max_abs'))} at t = {_fmt(v.get('at_t'))}, "
                        f"{_fmt(v.get('max_abs_in_stderr'))} SEs vs threshold {_fmt(v.get('threshold_in_stderr'))})"
                        for k, v in r.get("gaps", {}).items()]
        elif name == "odd_rates_sweep":
            out.append(f"tasks done {r.get('tasks_done', 0)} (failed {r.get('tasks_failed', 0)}) of "
                       f"{r.get('tasks_total', '?')}; stopped: {r.get('stopped_because')}")
            for g in r.get("rates", []):
                f = g["fits"].get("reported")
                slope = (f"{f['slope']:.3f} [{f['ci_low']:.3f}, {f['ci_high']:.3f}] over N = {f['N_used']}"
                         if f else "no fit")
                out.append(f"{g['group']}: d_MS slope {slope}; {g['verdicts'].get('rate')}")
    except Exception as exc:  # a summary line must never break the run
        out.append(f"(could not format: {type(exc).__name__}: {exc})")
    return out


def write_summary(out: Path, summary: dict):
    _write_json(out / SUMMARY_JSON, summary)
    lines = [f"# getheory device run ({summary['settings']['backend']}"
             f"{', tiny' if summary['settings']['tiny'] else ''})", "",
             f"Started {summary['started_utc']}; "
             + (f"finished {summary['finished_utc']}, {summary['elapsed_s']:.0f} s."
                if summary.get("finished_utc") else f"still running ({summary.get('elapsed_s', 0):.0f} s so far)."),
             f"Command: `{summary['command']}`", ""]
    env = summary.get("environment")
    if env:
        lines += ["Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), ""]
    lines += ["| stage | status | wall (s) | budget (s) |", "|---|---|---|---|"]
    for name, st in summary["stages"].items():
        lines.append(f"| {name} | {st['status']} | {_fmt(st.get('wall_s'), '.1f')} "
                     f"| {_fmt(st.get('budget_s'), '.0f')} |")
    for name, st in summary["stages"].items():
        lines += ["", f"## {name}: {st['status']}", ""]
        if st.get("reason"):
            lines.append(f"Reason: {st['reason']}")
        if st.get("error"):
            lines.append(f"Error: {st['error']}")
        lines += [f"* {x}" for x in headline(name, st.get("result"))]
        if st.get("traceback"):
            lines += ["", "```", st["traceback"].rstrip(), "```"]
        elif st.get("log_tail") and st["status"] in ("failed", "timeout"):
            lines += ["", "Log tail:", "", "```", st["log_tail"].rstrip(), "```"]
    (out / (SUMMARY_MD + ".part")).write_text("\n".join(lines) + "\n")
    os.replace(out / (SUMMARY_MD + ".part"), out / SUMMARY_MD)


def run_stage(name: str, budget: float, settings: dict, out: Path, log: Path) -> dict:
    """One stage in its own process group, killed when its budget is spent."""
    tmp = out / TMP
    tmp.mkdir(exist_ok=True)
    result_path = tmp / f"{name}.json"
    margin = min(10.0, max(1.0, 0.05 * budget))  # the worker's own deadline comes first, the kill after
    t0 = time.time()
    cmd = [sys.executable, "-u", str(Path(__file__).resolve()), "--worker", name, "--settings", json.dumps(settings),
           "--deadline", repr(t0 + budget - margin), "--result", str(result_path)]
    rec = {"status": "failed", "budget_s": budget, "started_utc": _now()}
    with open(log, "a") as fh:
        fh.write(f"\n===== stage {name} (budget {budget:.0f} s) {_now()} =====\n")
        fh.flush()
        start = fh.tell()
        proc = subprocess.Popen(cmd, cwd=REPO, env=_child_env(), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=budget)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            rc, timed_out = proc.returncode, True
        except BaseException:  # interrupted (SIGTERM, Ctrl-C): the worker and its children go too
            _kill_group(proc)
            raise
    rec["wall_s"] = time.time() - t0
    rec["rc"] = rc
    got = {}
    if result_path.exists():
        try:
            got = json.loads(result_path.read_text())
        except ValueError:
            got = {}
    rec["result"] = got.get("result", {})
    if timed_out:
        rec.update(status="timeout", error=f"the stage's budget of {budget:.0f} s was spent: its process was killed "
                                           "(the result holds what it had reported)")
    elif got.get("status") in ("ok", "failed", "skipped"):
        rec["status"] = got["status"]
        for k in ("error", "traceback", "reason"):
            if got.get(k):
                rec[k] = got[k]
    else:
        rec["error"] = f"the stage's process exited with code {rc} without a result"
    with open(log, errors="replace") as fh:
        fh.seek(start)
        tail = fh.read().splitlines()[-40:]
    rec["log_tail"] = "\n".join(tail)
    shutil.rmtree(tmp, ignore_errors=True)
    return rec


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.worker:
        return worker_main(a)
    settings = resolve_settings(a)
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / LOG
    log.write_text("")
    t_start = time.time()
    summary = {"script": "benchmarks/device_run.py", "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
               "started_utc": _now(), "host": {"node": platform.node(), "python": platform.python_version(),
                                               "cpus": os.cpu_count()},
               "settings": settings, "complete": False,
               "stages": {name: {"status": "pending"} for name in settings["stages"]}}

    def _terminate(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    write_summary(out, summary)
    try:
        for name in settings["stages"]:
            left = settings["total_budget_s"] - (time.time() - t_start)
            budget = min(settings["budgets_s"][name], left)
            if left < 2:
                summary["stages"][name] = {"status": "skipped", "budget_s": max(budget, 0.0),
                                           "reason": f"the run's total budget of {settings['total_budget_s']:g} s "
                                                     "is spent"}
                write_summary(out, summary)
                continue
            print(f"[device_run] {name}: budget {budget:.0f} s ...", flush=True)
            summary["stages"][name] = {"status": "running", "budget_s": budget, "started_utc": _now()}
            summary["elapsed_s"] = time.time() - t_start
            write_summary(out, summary)
            rec = run_stage(name, budget, settings, out, log)
            env = rec.get("result", {}).pop("environment", None) if isinstance(rec.get("result"), dict) else None
            if env and "environment" not in summary:
                summary["environment"] = env
            summary["stages"][name] = rec
            summary["elapsed_s"] = time.time() - t_start
            write_summary(out, summary)
            print(f"[device_run] {name}: {rec['status']} in {rec['wall_s']:.1f} s"
                  + (f" -- {rec.get('error') or rec.get('reason')}" if rec["status"] != "ok" else ""), flush=True)
    except KeyboardInterrupt as exc:
        for name, st in summary["stages"].items():
            partial = out / TMP / f"{name}.json"
            if st["status"] == "running" and partial.exists():
                try:
                    st["result"] = json.loads(partial.read_text()).get("result", {})
                except ValueError:
                    pass
            if st["status"] in ("running", "pending"):
                st.update(status="skipped" if st["status"] == "pending" else "failed",
                          reason=st.get("reason") or f"the run was interrupted ({exc})",
                          error=None if st["status"] == "pending" else f"interrupted ({exc})")
        shutil.rmtree(out / TMP, ignore_errors=True)
    summary["finished_utc"] = _now()
    summary["elapsed_s"] = time.time() - t_start
    summary["complete"] = all(st["status"] in ("ok", "skipped") for st in summary["stages"].values())
    write_summary(out, summary)
    print(f"[device_run] done in {summary['elapsed_s']:.0f} s: "
          + ", ".join(f"{k} {v['status']}" for k, v in summary["stages"].items()) + f"; summary in {out / SUMMARY_MD}",
          flush=True)
    return 0 if summary["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
