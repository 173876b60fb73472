"""N·d_MS and N·|κ4| per depth from the deep-generator sweep reports (issue 22, part 4).

Reads ``sign/report.json`` (and ``relu/report.json`` if present) written by ``getheory report``
and prints, per generator and N, the mean over seeds of N·d_MS (the Edgeworth estimate, the
estimator that resolves most N here) with its standard error over seeds, and
N·|κ4|; for relu, √N·d_MS and √N·|κ3| (the expected rate there is N^-1/2).  Run from the
repository root::

    python reports/sweep_deep_rates/constants.py > reports/sweep_deep_rates/constants.md
"""

import json
import math
import pathlib
from collections import defaultdict

HERE = pathlib.Path(__file__).resolve().parent


def _table(report: pathlib.Path, power: float, cumulant: str) -> list[str]:
    rows = json.loads(report.read_text())["rows"]
    by = defaultdict(list)
    for r in rows:
        if r.get("edgeworth_w1") is not None:
            by[(r["generator"], r["N"])].append(r)
    scale = "N" if power == 1 else "√N"
    name = {"kappa4": "κ4", "kappa3": "κ3"}[cumulant]
    out = [f"| generator | N | seeds | {scale}·d_MS (Edgeworth), mean ± SE over seeds | {scale}·\\|{name}\\| | resolved |",
           "|---|---|---|---|---|---|"]
    for (gen, N), rs in sorted(by.items()):
        f = N**power
        vals = [f * r["edgeworth_w1"] for r in rs]
        mean = sum(vals) / len(vals)
        # between-seed SE: each seed is another network A, other weights and other samples, so its
        # spread holds the Monte Carlo noise (moments and fields) and the network-to-network variation
        se = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1) / len(vals)) if len(vals) > 1 else math.nan
        kap = sum(f * abs(r[cumulant]) for r in rs) / len(rs)
        res = sum(int(r["cumulant_resolved"] or 0) for r in rs)
        out.append(f"| {gen} | {N} | {len(rs)} | {mean:.3f} ± {se:.3f} | {kap:.3f} | {res}/{len(rs)} |")
    return out


def main():
    print("# N·d_MS per depth (deep sign) and √N·d_MS (deep relu)\n")
    print("Made by `python reports/sweep_deep_rates/constants.py` from the committed report.json files.\n")
    for sub, power, cumulant in (("sign", 1.0, "kappa4"), ("relu", 0.5, "kappa3")):
        path = HERE / sub / "report.json"
        if path.exists():
            print(f"## {sub}\n")
            print("\n".join(_table(path, power, cumulant)))
            print()


if __name__ == "__main__":
    main()
