"""Subcommands of the `getheory` command line beyond `check`.

Each module here defines ``add_parser(subparsers)`` (adds its argparse
sub-parser) and ``run(args) -> int`` (does the I/O and returns an exit
code); :mod:`getheory.cli` discovers them by name.
"""
