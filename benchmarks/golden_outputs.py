"""Small seeded runs of every workflow, for checking that a refactor changes no number.

``python benchmarks/golden_outputs.py run DIR`` runs, with fixed seeds and fixed sample
sizes (no time-dependent planning):

* ``check`` on single-layer sign, relu (|Gaussian| student weights), a deep erf2 stack
  (Monte Carlo moments) and the committed trained digits decoder;
* a four-task sweep (fixed n) and its report, and ``report`` on the two committed sweep
  databases;
* a short ``dynamics`` run (2 SGD seeds, ODEs) and a short ``ridge`` run.

``python benchmarks/golden_outputs.py compare OLD NEW`` compares every JSON file of two
such folders number by number (relative 1e-12, absolute 1e-14), skipping keys that hold
wall times, dates, versions or paths, and the Markdown files line by line with durations,
rates and the output folder masked. It prints each difference and exits 1 if any.

Typical use, before and after a refactor::

    git worktree add /tmp/base BASE && (cd /tmp/base && python benchmarks/golden_outputs.py run /tmp/g-old)
    python benchmarks/golden_outputs.py run /tmp/g-new
    python benchmarks/golden_outputs.py compare /tmp/g-old /tmp/g-new

The runs take about three minutes on a 2-core machine.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SPEC = """
name = "golden"
seed = 11
[grid]
N = [16, 32]
delta = [0.5]
K = 1
M = 1
seeds = 2
[[generator]]
activation = "sign"
[weights]
student = ["gaussian"]
teacher = "gaussian"
[samples]
mode = "fixed"
n = 6000
time_budget = 120   # unused with a fixed n; written out so the spec keeps its hash (the sweep default was 120 s)
[estimator]
floor_replicates = 19
p = 1
certify = false
[run]
backend = "numpy"
dtype = "float64"
"""


def _commands(out: pathlib.Path):
    g = [sys.executable, "-m", "getheory"]
    yield g + ["check", "--activation", "sign", "--N", "64", "--D", "32", "--samples", "20000", "--seed", "3",
               "--n-plugin", "20000", "--out", str(out / "check_sign"), "--quiet"]
    yield g + ["check", "--activation", "relu", "--N", "32", "--D", "16", "--K", "1", "--M", "1", "--samples", "20000",
               "--student-weights", "abs_gaussian", "--seed", "5", "--out", str(out / "check_relu"), "--quiet"]
    yield g + ["check", "--weights", str(ROOT / "examples" / "trained-digits-decoder.npz"), "--samples", "10000",
               "--moment-samples", "20000", "--seed", "1", "--out", str(out / "check_trained"), "--quiet"]
    yield g + ["sweep", str(out / "golden.toml"), "--db", str(out / "golden.db"), "--workers", "1", "--quiet"]
    yield g + ["report", str(out / "golden.db"), "--out", str(out / "report_golden"), "--n-boot", "200"]
    for name in ("sweep_example", "sweep_odd_rates"):
        yield g + ["report", str(ROOT / "reports" / name / "results.db"), "--out", str(out / f"report_{name}")]
    yield g + ["dynamics", "--activation", "sign", "--N", "60", "--D", "30", "--t-max", "2", "--points", "5",
               "--sgd-seeds", "2", "--seed", "4", "--n-test", "2000", "--out", str(out / "dynamics"), "--quiet"]
    yield g + ["ridge", "--activation", "sign", "--N", "40", "--D", "20", "--alphas", "0.5,2", "--lambdas", "0.1",
               "--seeds", "2", "--n-test", "2000", "--seed", "2", "--out", str(out / "ridge"), "--quiet"]


def run(out: pathlib.Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "golden.toml").write_text(SPEC)
    for cmd in _commands(out):
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        (out / "log.txt").open("a").write(f"$ {' '.join(cmd)}\nrc={proc.returncode}\n{proc.stdout}\n{proc.stderr}\n")
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:])
            raise SystemExit(f"command failed with exit status {proc.returncode}")


SKIP = re.compile(r"(time|wall|seconds|date|created|generated|finished|database|checkpoint|version|command|path|host"
                  r"|timings|elapsed|duration|rate_|per_s|_s$)", re.IGNORECASE)
# in Markdown: durations ("0.55 s"), rates ("950 steps/s") and the output folder vary from run to run
_VARYING = [
    (re.compile(r"[\d,]+(\.\d+)? (kernel )?steps/s"), "R steps/s"),
    (re.compile(r"\d[\d,]*(\.\d+)? ?s\b"), "T s"),
    (re.compile(r"^(Timings|timings).*$", re.MULTILINE), "Timings"),
]


def _md_lines(text: str, folder: pathlib.Path) -> list[str]:
    text = text.replace(str(folder), "OUT").replace(str(ROOT), "ROOT")
    for pattern, placeholder in _VARYING:
        text = pattern.sub(placeholder, text)
    return text.splitlines()


def _compare_json(a, b, where, diffs):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if SKIP.search(str(k)):
                continue
            if k not in a or k not in b:
                diffs.append(f"{where}.{k}: only in {'new' if k in b else 'old'}")
                continue
            _compare_json(a[k], b[k], f"{where}.{k}", diffs)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diffs.append(f"{where}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _compare_json(x, y, f"{where}[{i}]", diffs)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return
        if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14):
            diffs.append(f"{where}: {a!r} != {b!r}")
    elif a != b:
        diffs.append(f"{where}: {a!r} != {b!r}")


def compare(old: pathlib.Path, new: pathlib.Path) -> int:
    diffs: list[str] = []
    for f in sorted(old.rglob("*")):
        rel = f.relative_to(old)
        g = new / rel
        if f.suffix not in (".json", ".md"):
            continue
        if not g.exists():
            diffs.append(f"{rel}: missing in new")
            continue
        if f.suffix == ".json":
            _compare_json(json.loads(f.read_text()), json.loads(g.read_text()), str(rel), diffs)
        else:
            la, lb = _md_lines(f.read_text(), old.resolve()), _md_lines(g.read_text(), new.resolve())
            if la != lb:
                n = sum(x != y for x, y in zip(la, lb)) + abs(len(la) - len(lb))
                diffs.append(f"{rel}: {n} Markdown lines differ")
    for d in diffs:
        print(d)
    print(f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run(pathlib.Path(sys.argv[2]).resolve())
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
