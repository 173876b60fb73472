"""The `getheory` command line: argument parsing, printing and files only.

One module per subcommand (``check``, ``sweep``, ``report``, ``proofs``, ``dynamics``,
``ridge``, ``erm``, ``theory``), each with ``add_parser(subparsers)`` and ``run(args) -> int``; the argument
types they share are in ``_args``, their names and help lines in ``_commands``; ``_main`` builds
the parser and dispatches, importing the module of the command that runs only.  All
numerical work is delegated to the library, and the files are written by
:mod:`getheory.reports` (or, for ``check --json/--out``, from the result's own
``to_dict``): this package only turns arguments into calls and results into text.
"""

from ._main import COMMAND_MODULES, build_parser, main

__all__ = ["COMMAND_MODULES", "build_parser", "main"]
