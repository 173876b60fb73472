"""`getheory report RESULTS.db --out reports/NAME/`: rate report of a sweep.

Writes report.md, report.json and PNG plots (see :func:`getheory.reports.write_report`);
the database is only read.
"""

from __future__ import annotations

import os
import sys

from .._validation import LINE_CHARS, excerpt
from ..reports import write_report
from ..sweep import SweepError
from ._args import at_least, open_unit, output_dir
from ._commands import COMMANDS

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "report", help=COMMANDS["report"],
        description="Fit log d_MS and log of each bound term against log N (bootstrap intervals over seeds) "
                    "and write report.md, report.json and PNG plots into the output folder.")
    p.add_argument("db", metavar="RESULTS.db", help="results database written by `getheory sweep`")
    p.add_argument("--out", required=True, metavar="DIR", type=output_dir,
                   help="output folder (created if missing; an existing file is refused)")
    p.add_argument("--level", type=open_unit, default=0.95, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--n-boot", type=at_least(int, 10), default=2000, help="bootstrap replicates (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--regen-command", dest="regen_command", default=None,
                   help="the command that regenerates the report, quoted in report.md (default: none, no "
                        "command quoted)")
    return p


def run(args) -> int:
    if not os.path.exists(args.db):
        print(f"getheory report: error: results database {args.db!r} does not exist", file=sys.stderr)
        return 2
    try:
        data = write_report(args.db, args.out, level=args.level, n_boot=args.n_boot, seed=args.seed,
                            command=args.regen_command)
    except SweepError as exc:
        print(f"getheory report: error: {excerpt(exc, LINE_CHARS)}", file=sys.stderr)
        return 2
    print(f"getheory report: {data['tasks_done']} of {data['tasks_total']} tasks, {len(data['groups'])} groups; "
          f"wrote {len(data['files'])} files to {args.out}")
    for g in data["groups"]:
        counts = (g.get("estimators") or {}).get("counts") or {}
        used = ", ".join(f"{k} x{v}" for k, v in counts.items())
        print(f"  {g['label']}: {g['verdicts'].get('rate')}" + (f" [d_MS estimator: {used}]" if used else ""))
    return 0
