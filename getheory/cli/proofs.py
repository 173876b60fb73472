"""`getheory proofs`: check every step of the theorem numerically and write a report.

Runs the claims of :mod:`getheory._claims` (docs/theory.md §2-§5; issue 3)
through :mod:`getheory.proofs` and writes ``report.md`` and ``report.json``
to ``--out``.  ``--full`` runs the full sizes (claim 8 over N = 16..8192,
larger grids elsewhere); ``--only`` restricts to some claims.  The exit code
is 1 when any check fails (a contradiction with docs/theory.md is reported,
not a failure).
"""

from __future__ import annotations

import sys
import time

from .._claims import CLAIM_MODULES
from ..proofs import run_proofs
from ..reports import write_proofs_report as write_report
from ._args import output_dir
from ._commands import COMMANDS


def add_parser(subparsers):
    p = subparsers.add_parser(
        "proofs",
        help=COMMANDS["proofs"],
        description="Check each identity and rate of docs/theory.md §2-§5 numerically (mpmath references, "
        "statistical tests with derived error bars) and write report.md and report.json.",
    )
    p.add_argument("--out", metavar="DIR", default="reports/proofs", type=output_dir,
                   help="output folder (default reports/proofs; an existing file is refused before any work)")
    p.add_argument("--full", action="store_true",
                   help="full sizes (claim 8 over N = 16..8192; minutes to an hour on a CPU)")
    p.add_argument("--only", nargs="+", choices=CLAIM_MODULES, metavar="CLAIM",
                   help=f"run only these claims ({', '.join(CLAIM_MODULES)}; default: every claim)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def run(args) -> int:
    def progress(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    results = run_proofs(full=args.full, only=args.only, progress=progress)
    seconds = time.perf_counter() - t0
    pj, pm = write_report(results, args.out, full=args.full, seconds=seconds)
    for r in results:
        print(r.summary())
    n_fail = sum(r.status == "fail" for r in results)
    n_con = sum(r.status == "contradiction" for r in results)
    print(f"{len(results)} checks, {n_fail} failed, {n_con} contradiction(s) with docs/theory.md, {seconds:.0f} s")
    print(f"wrote {pm} and {pj}")
    return 1 if n_fail else 0
