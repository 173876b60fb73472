"""`getheory sweep SPEC.toml --db RESULTS.db [--workers K] [--scheduler ADDRESS]`.

Runs every unfinished task of a sweep specification (docs/theory.md §4, §5)
and writes one row per finished task to an SQLite database; re-running the
same command resumes an interrupted sweep.  See :mod:`getheory.sweep`.
"""

from __future__ import annotations

import sys

from .. import sweep as sw
from .._validation import LINE_CHARS, excerpt
from ._args import at_least
from ._commands import COMMANDS

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "sweep", help=COMMANDS["sweep"],
        description="Run every unfinished task (grid point x seed) of a TOML sweep specification and write one "
                    "row per finished task to an SQLite database. Re-running the same command skips finished "
                    "tasks, so an interrupted sweep loses only the tasks in flight. A database or folder that "
                    "cannot be written, and a --scheduler address where no Dask scheduler answers, are refused "
                    "before any task runs.")
    p.add_argument("spec", metavar="SPEC.toml", help="sweep specification (see getheory.sweep)")
    p.add_argument("--db", required=True, metavar="RESULTS.db", help="results database (created if missing)")
    p.add_argument("--workers", type=at_least(int, 1), default=None,
                   help="local worker processes (default: number of CPUs; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the tasks on a dask.distributed scheduler, e.g. tcp://host:8786 (default: none, "
                        "local processes: --workers)")
    p.add_argument("--worker-timeout", type=at_least(float, 1.0), default=None, metavar="SECONDS",
                   help="with --scheduler: stop (keeping every finished row) when the scheduler has had no worker, "
                        "or this process no contact with it, for this long (default 20 s); rerun to resume")
    p.add_argument("--max-tasks", type=at_least(int, 1), default=None,
                   help="run at most this many remaining tasks, then stop (default: every remaining task)")
    p.add_argument("--order", choices=("cheap-first", "costly-first", "grid"), default="cheap-first",
                   help="task order (default cheap-first: small N first, so a partial run covers every group)")
    p.add_argument("--dry-run", action="store_true", help="validate the spec, list the task counts and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _refuse_conflicts(args) -> None:
    """Refuse options that the chosen runner would not read: local workers with a scheduler, a worker
    timeout without one."""
    if args.scheduler is not None and args.workers is not None:
        raise ValueError(f"--workers {args.workers} and --scheduler {args.scheduler}: the tasks run either on "
                         "local processes or on the Dask cluster; give one")
    if args.worker_timeout is not None and args.scheduler is None:
        raise ValueError("--worker-timeout is how long a --scheduler run waits for Dask workers; local runs have "
                         "no such wait: give --scheduler ADDRESS too, or leave it out")


def run(args) -> int:
    _refuse_conflicts(args)
    try:
        spec = sw.load_spec(args.spec)
    except sw.SpecError as exc:
        print(f"getheory sweep: invalid spec: {excerpt(exc, LINE_CHARS)}", file=sys.stderr)
        return 2
    tasks = spec.tasks()
    if args.dry_run:
        print(f"spec {spec.name!r} is valid: {len(spec.points())} grid points x {spec.seeds} seeds = "
              f"{len(tasks)} tasks")
        s = spec.samples
        if s.mode == "plan":
            print(f"  samples: planned per point by getheory.plan (min_pilot = {s.min_pilot}, min_samples = "
                  f"{s.min_samples}, max_samples = min({s.max_samples}, {s.max_work:g}/(N*D))) within "
                  f"{s.time_budget:g} s per point")
        else:
            print(f"  samples: fixed n = {s.n}")
        print(f"  d_MS: W{spec.p}, {spec.floor_replicates} floor replicates"
              + (f", certified upper bound at confidence {spec.confidence:g}" if spec.certify else ""))
        return 0
    try:
        summary = sw.run_sweep(spec, args.db, workers=args.workers, scheduler=args.scheduler,
                               progress=not args.quiet, max_tasks=args.max_tasks,
                               order=args.order, worker_timeout=args.worker_timeout)
    except sw.SweepError as exc:
        print(f"getheory sweep: error: {excerpt(exc, LINE_CHARS)}", file=sys.stderr)
        return 2
    print(f"getheory sweep {spec.name!r}: {summary.done} tasks run, {summary.skipped} already done, "
          f"{summary.failed} failed, of {summary.total}; {summary.elapsed_s:.1f} s; results in {args.db}")
    for tid, err in summary.failures[:10]:
        print(f"  failed: {tid}: {err}", file=sys.stderr)
    if summary.failed:
        print("  failed tasks are recorded in the database and retried when the command is run again", file=sys.stderr)
        return 1
    return 0
