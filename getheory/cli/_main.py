"""The `getheory` parser and the dispatch to one module per subcommand (:data:`COMMAND_MODULES`)."""

from __future__ import annotations

import argparse
import os
import sys


__all__ = ["build_parser", "main"]

#: subcommand modules of getheory.cli, each with add_parser(sub) and run(args)
COMMAND_MODULES = ("check", "sweep", "report", "proofs", "dynamics", "ridge")


def _command_modules():
    import importlib

    mods = {}
    for name in COMMAND_MODULES:
        try:
            mods[name] = importlib.import_module(f"getheory.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"getheory.cli.{name}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="getheory",
        description="Numerical verification of the Gaussian Equivalence Theorem (Goldt et al., MSML 2022).",
    )
    parser.add_argument("--version", action="version", version=f"getheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for mod in _command_modules().values():
        mod.add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.argv = argv  # the words after "getheory", for the commands that record them
        mods = _command_modules()
        if args.command in mods:
            return mods[args.command].run(args)
    except (ValueError, TypeError, MemoryError, RuntimeError) as exc:
        print(f"getheory {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"\ngetheory {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2
