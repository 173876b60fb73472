"""How reliably, and how fast, the README's main command resolves d_MS over seeds.

Run:  python benchmarks/bench_main_command.py [--seeds 20] [--first 0] [-- extra check arguments]

Runs ``getheory check --activation sign --N 256 --D 128 --quiet --seed S`` for S = first ...
first + seeds − 1, one after the other (never time it while other jobs run), and reports for
each seed the "d_MS resolved" verdict, its held-out |z|, the planned n and the wall time, then
the number of PASS verdicts and the median wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_seed(seed, extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "check.json")
        cmd = [sys.executable, "-m", "getheory", "check", "--activation", "sign", "--N", "256", "--D", "128",
               "--quiet", "--seed", str(seed), "--json", out, *extra]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            return {"seed": seed, "error": proc.stderr.strip()[-300:], "wall_s": wall}
        with open(out) as fh:
            res = json.load(fh)
    cond = [c for c in res["conditions"] if c["name"].startswith("d_MS resolved")][0]
    return {"seed": seed, "verdict": cond["verdict"], "z": cond["numbers"].get("z_max"),
            "n": res["sizes"]["samples"], "wall_s": wall}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("extra", nargs="*", help="extra arguments for getheory check (after --)")
    a = ap.parse_args(argv)
    rows = []
    for s in range(a.first, a.first + a.seeds):
        r = run_seed(s, a.extra)
        rows.append(r)
        print(json.dumps(r), flush=True)
    passed = sum(r.get("verdict") == "pass" for r in rows)
    print(json.dumps({"seeds": len(rows), "pass": passed,
                      "median_wall_s": statistics.median(r["wall_s"] for r in rows)}))


if __name__ == "__main__":
    main()
