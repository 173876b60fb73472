"""What starting getheory costs: each entry point in fresh interpreters, and what the check still imports.

Run:  python benchmarks/bench_startup.py [--reps 7] [--compare PATH] [--json FILE]

For each entry point (``import getheory``, ``import getheory.cli``, ``getheory --help``,
``getheory check --help`` and ``import getheory.cli.check``, the imports of the README's main
command before its first step) prints the best wall time and the best CPU time (user + sys of the
child) over ``--reps`` runs, and the number of modules it loads; ``--compare PATH`` runs the same
against another checkout (e.g. ``git worktree add ../before 1cdedfc``), interleaved run by run so
that both see the same machine.  Then ``python -X importtime`` of ``import getheory.cli.check``
gives the share of the heaviest third-party imports left on the check's path.  Never time this
while other jobs run: the CPU time is the steadier figure on a loaded machine, the wall time the
one a user sees.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import resource
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parents[1]

#: entry point -> the interpreter's arguments
CASES = {
    "python -c pass": ["-c", "pass"],
    "import getheory": ["-c", "import getheory"],
    "import getheory.cli": ["-c", "import getheory.cli"],
    "getheory --help": ["-m", "getheory", "--help"],
    "getheory check --help": ["-m", "getheory", "check", "--help"],
    "import getheory.cli.check": ["-c", "import getheory.cli.check"],
}

#: the third-party imports whose share of the check's imports is reported
SHARES = ("scipy.stats", "scipy.special", "array_api_compat.numpy", "numpy", "mpmath", "numba")


def _env(tree: pathlib.Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(tree))


def run_once(tree: pathlib.Path, args: list) -> tuple:
    """(wall s, CPU s) of one fresh interpreter running ``args`` with ``tree``'s getheory first on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], env=_env(tree), cwd=tree, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def modules_loaded(tree: pathlib.Path, args: list) -> int:
    """How many modules ``args`` leaves in ``sys.modules`` (``--help`` runs are read through getheory.cli)."""
    if args[0] == "-m":
        code = f"from getheory.cli import main\ntry:\n    main({args[2:]!r})\nexcept SystemExit:\n    pass\n"
    else:
        code = args[1] + "\n"
    code += "import sys\nprint(len(sys.modules), file=sys.stderr)\n"
    out = subprocess.run([sys.executable, "-c", code], env=_env(tree), cwd=tree, capture_output=True, text=True,
                         check=True)
    return int(out.stderr.strip().splitlines()[-1])


def import_shares(tree: pathlib.Path) -> dict:
    """Total import time of ``import getheory.cli.check`` (s, the self times of all its modules) and the share
    of each of :data:`SHARES`: its cumulative time (with what it imports that was not loaded yet) over the
    total; None where importtime shows no line of its own (a package first loaded inside another's import)."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import getheory.cli.check"], env=_env(tree),
                         cwd=tree, capture_output=True, text=True, check=True).stderr
    total, cumulative = 0, {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)$", line)
        if m:
            total += int(m.group(1))
            cumulative.setdefault(m.group(3), int(m.group(2)))
    return {"total_s": total / 1e6,
            **{k: cumulative[k] / max(total, 1) if k in cumulative else None for k in SHARES}}


def measure(trees: dict, reps: int) -> dict:
    times = {(name, label): [] for name in CASES for label in trees}
    for _ in range(reps):
        for name, args in CASES.items():
            for label, tree in trees.items():
                times[(name, label)].append(run_once(tree, args))
    out = {}
    for label, tree in trees.items():
        out[label] = {name: {"wall_s": min(w for w, _ in times[(name, label)]),
                             "cpu_s": min(c for _, c in times[(name, label)]),
                             "modules": modules_loaded(tree, args)} for name, args in CASES.items()}
        out[label]["check_import_shares"] = import_shares(tree)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="fresh interpreters per entry point (best of; default 7)")
    ap.add_argument("--compare", type=pathlib.Path, help="another checkout to time alongside, run by run")
    ap.add_argument("--json", help="write the figures to this JSON file")
    a = ap.parse_args(argv)
    if a.reps < 1:
        ap.error(f"--reps must be at least 1, got {a.reps}")
    trees = {"this": HERE}
    if a.compare is not None:
        if not (a.compare / "getheory" / "__init__.py").is_file():
            ap.error(f"--compare {a.compare}: no getheory package there (give the checkout's root folder)")
        trees = {"compare": a.compare.resolve(), "this": HERE}
    res = measure(trees, a.reps)
    head = "".join(f" | {label} wall s | {label} CPU s | {label} modules" for label in trees)
    print(f"| entry point (best of {a.reps}){head} |")
    print("|---" * (1 + 3 * len(trees)) + "|")
    for name in CASES:
        cells = "".join(f" | {res[l][name]['wall_s']:.3f} | {res[l][name]['cpu_s']:.3f} | {res[l][name]['modules']}"
                        for l in trees)
        print(f"| {name}{cells} |")
    for label in trees:
        s = res[label]["check_import_shares"]
        parts = ", ".join(f"{k} {'-' if s[k] is None else format(s[k], '.0%')}" for k in SHARES)
        print(f"{label}: import getheory.cli.check took {s['total_s']:.3f} s by -X importtime; of it {parts}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
