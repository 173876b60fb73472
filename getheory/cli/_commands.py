"""The `getheory` subcommands and their one-line help, in the order `getheory --help` lists them.

Each is the module ``getheory.cli.NAME`` with ``add_parser(subparsers)`` and ``run(args)``; its
parser takes its help line from here, and the parser of another command lists it by this line
alone, without importing its module (``getheory check`` imports no dynamics, ridge or proofs).
"""

from __future__ import annotations

__all__ = ["COMMANDS"]

#: subcommand -> its one-line help
COMMANDS = {
    "check": "check one generator against the theorem (docs/theory.md §6)",
    "sweep": "run a sweep over N and D into an SQLite database (resumable)",
    "report": "fit convergence rates of a sweep and write report.md, plots and report.json",
    "proofs": "check every step of the theorem numerically and write a report (docs/theory.md §2-§5)",
    "dynamics": "online SGD on generator data vs its Gaussian equivalent vs the ODEs (docs/theory.md §7)",
    "ridge": "ridge learning curves: generator data vs Gaussian equivalent vs deterministic equivalent (§8)",
    "erm": "logistic, hinge or square-loss ERM curves: generator data vs Gaussian equivalent vs theory (§10)",
    "theory": "print a section of the theory the outputs cite (getheory theory 4.1), or list the sections",
}
