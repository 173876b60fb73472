"""`getheory theory [SECTION]`: print a section of the theory that getheory's outputs cite.

Every ``docs/theory.md §N`` the program prints is a section of the theory shipped in the package
(:mod:`getheory._theory`): ``getheory theory 4.1`` (or ``§4.1``) prints it, its subsections
included; without a section the command lists every section with its title.  A section the
theory does not have is refused in one line naming the nearest ones (exit 2).
"""

from __future__ import annotations

from .._theory import theory_section, theory_sections
from ._commands import COMMANDS


def add_parser(subparsers):
    p = subparsers.add_parser(
        "theory",
        help=COMMANDS["theory"],
        description="Print a section of docs/theory.md, the theory every 'docs/theory.md §N' in getheory's "
        "output cites, as shipped in the installed package; without SECTION, list the sections.",
    )
    p.add_argument("section", nargs="?", metavar="SECTION",
                   help="a section number as the outputs cite it: 4.1, §4.1, 10 (default: list the sections)")
    return p


def run(args) -> int:
    if args.section is None:
        for number, title in theory_sections():
            indent = "  " * number.count(".")
            print(f"{indent}§{number}  {title}")
        print("\n`getheory theory N` prints section N (its subsections included).")
        return 0
    print(theory_section(args.section), end="")
    return 0
