"""Markdown from rows of text: the few string helpers a result's notebook display and the
report writers share, so that a table shown in a notebook and the same table in a report file
are one text.

Pure string functions; no layer's knowledge.
"""

from __future__ import annotations

__all__ = ["code_block", "table_row", "table_rule"]


def code_block(text: str) -> str:
    """``text`` as a fenced code block, ending with a newline."""
    return "```\n" + text + "\n```\n"


def table_row(cells) -> str:
    """One row of a Markdown table: ``| a | b |``."""
    return "| " + " | ".join(cells) + " |"


def table_rule(columns: int) -> str:
    """The rule under a Markdown table's heading row, for ``columns`` columns: ``|---|---|``."""
    return "|" + "---|" * columns
