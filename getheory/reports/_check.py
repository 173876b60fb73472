"""Presentation of a generator check (docs/theory.md §4–§6): the table, check.md and check.json.

The only module of the check that prints or writes; the numbers come from
:func:`getheory.check.check_generator` (a :class:`~getheory.check.CheckResult`), and its table
from the result itself (:meth:`~getheory.check.CheckResult.to_table`, the same text a notebook shows).

* :func:`format_check` -- the plain-text table ``getheory check`` prints;
* :func:`check_markdown` -- check.md's text (with the command that regenerates it), or the
  tables alone as Markdown (a notebook's display of a result, :meth:`~getheory.check.CheckResult.to_markdown`);
* :func:`write_check_json`, :func:`write_check_report` -- ``--json FILE`` and ``--out DIR``.
"""

from __future__ import annotations

import os

from .._files import write_json, write_text

__all__ = ["check_markdown", "format_check", "write_check_json", "write_check_report"]


def format_check(result) -> str:
    """The readable plain-text table of a :class:`~getheory.check.CheckResult` (``getheory check``'s output):
    the result's own table (:meth:`~getheory.check.CheckResult.to_table`)."""
    return result.to_table()


def check_markdown(result, command: str | None = None) -> str:
    """Markdown of a check: with ``command``, check.md (the command that regenerates it, then the
    tables); without, the tables alone (:meth:`~getheory.check.CheckResult.to_markdown`, what a
    notebook shows), which check.md ends with."""
    table = result.to_markdown()
    if command is None:
        return table
    return ("# getheory check\n\nRegenerate with:\n\n```\n" + command + "\n```\n\n"
            "Every number is also in check.json (docs/theory.md §4–§6 for what each means).\n\n" + table)


def write_check_json(result, path) -> str:
    """Every number of the check in the JSON file ``path`` (``getheory check --json``); returns the path."""
    write_json(path, result.to_dict(), indent=2)
    return path


def write_check_report(result, out, command: str) -> list:
    """check.json (every number) and check.md (the command and the table) in the folder ``out``;
    returns their paths, check.md first."""
    os.makedirs(out, exist_ok=True)
    js, md = os.path.join(out, "check.json"), os.path.join(out, "check.md")
    write_json(js, result.to_dict(), indent=2, end="\n")
    write_text(md, check_markdown(result, command))
    return [md, js]
