"""The `getheory` parser and the dispatch to one module per subcommand (:data:`COMMAND_MODULES`).

A command imports its own module only (``getheory.cli.NAME``, and with it the workflow it runs):
the parser of ``getheory check`` lists the other commands by their help line
(:data:`getheory.cli._commands.COMMANDS`), so a check imports no dynamics, ridge or proofs, and
``getheory --help`` imports none of them.

Errors: bad input, files that cannot be read or written (the whole ``OSError`` family,
``sqlite3.Error``, ``zipfile.BadZipFile``, ``EOFError``) and exceptions raised by user code
(wrapped where it is called, :class:`getheory._validation.UserCodeError`, which names it)
print one line ``getheory COMMAND: error: ...`` and return 2; ``--traceback`` (before or
after the command) prints the full traceback, the user's own included, instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sqlite3
import sys
import traceback
import zipfile

from .._validation import LINE_CHARS, UserCodeError, excerpt
from .._version import __version__
from ._commands import COMMANDS

__all__ = ["build_parser", "main"]

#: subcommand modules of getheory.cli, each with add_parser(sub) and run(args)
COMMAND_MODULES = tuple(COMMANDS)

#: what main reports in one line (the rest are bugs, with their traceback)
REPORTED = (ValueError, TypeError, MemoryError, RuntimeError, OSError, sqlite3.Error, zipfile.BadZipFile,
            EOFError)

_TRACEBACK_HELP = "on an error, print the full traceback (the cause's too) instead of one line"


def _command_module(name: str):
    """The module ``getheory.cli.NAME`` of one subcommand, imported now."""
    return importlib.import_module(f"getheory.cli.{name}")


def _commands_named(argv: list) -> tuple:
    """The subcommand an argument list names, as a tuple of none or one: its first word that is not
    an option (the options before the command, ``--traceback``, ``--version`` and ``-h``, take no
    value), if that is one of :data:`COMMAND_MODULES`."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return (word,) if word in COMMANDS else ()


def build_parser(full=COMMAND_MODULES) -> argparse.ArgumentParser:
    """The `getheory` parser: the subcommands named in ``full`` (default: all) with their whole
    parsers, the others by name and help line only (their modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog="getheory",
        description="Numerical verification of the Gaussian Equivalence Theorem (Goldt et al., MSML 2022).",
    )
    parser.add_argument("--version", action="version", version=f"getheory {__version__}")
    parser.add_argument("--traceback", action="store_true", help=_TRACEBACK_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name, help_line in COMMANDS.items():
        if name in full:
            _command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=help_line)
    for p in sub.choices.values():  # also accepted after the command; SUPPRESS keeps the global value
        p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=_TRACEBACK_HELP)
    return parser


def _one_line(exc: BaseException) -> str:
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, (OSError, sqlite3.Error, zipfile.BadZipFile, EOFError)) and type(exc).__name__ not in msg:
        msg = f"{type(exc).__name__}: {msg}"
    msg = excerpt(msg, LINE_CHARS)  # one printable line, however much foreign text the exception holds
    if isinstance(exc, UserCodeError):
        msg += " (rerun with --traceback for its traceback)"
    return msg


@contextlib.contextmanager
def _quiet_cluster_logs(on: bool):
    """Without --traceback, hold back every log record below CRITICAL while a command runs
    (``logging.disable``, which also reaches loggers that Dask configures when it is imported
    later): a scheduler that dies made Dask's client log some 30 lines of tracebacks around (or
    after) the command's own one-line error, which says what happened.  getheory itself does not
    log; its warnings are not log records."""
    if not on:
        yield
        return
    saved = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(saved)


def _interrupted(command: str) -> int:
    """Ctrl-C: one line, and status 130."""
    print(f"\ngetheory{' ' + command if command else ''}: interrupted", file=sys.stderr)
    return 130


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # imports the command's module: a Ctrl-C at the start lands here
        parser = build_parser(_commands_named(argv))
    except KeyboardInterrupt:
        return _interrupted(" ".join(_commands_named(argv)))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.argv = argv  # the words after "getheory", for the commands that record them
        if args.command in COMMANDS:
            with _quiet_cluster_logs(not args.traceback):
                return _command_module(args.command).run(args)
    except BrokenPipeError:  # output piped into e.g. `head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return _interrupted(args.command)
    except REPORTED as exc:
        if args.traceback:
            traceback.print_exc()
        else:
            print(f"getheory {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2
