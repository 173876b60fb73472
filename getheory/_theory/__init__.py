"""The theory getheory implements, shipped with the package (``getheory/_theory/theory.md``).

Every ``docs/theory.md §N`` that getheory prints names a section of this one file; a checkout
reads it as ``docs/theory.md`` (a link to it), an installed package through
:func:`theory_text`, and ``getheory theory 4.1`` prints a section.  Sections are the numbered
headings, ``## N. Title`` and ``### N.M Title``; a section runs to the next heading of its level or
above, so §4 holds §4.1 and §4.2 (and its unnumbered ``### Resolution``).
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import re

__all__ = ["theory_section", "theory_sections", "theory_text"]

#: a numbered heading: "## 4. The distance ..." or "### 4.1 The streaming ..."
_HEADING = re.compile(r"^(#{2,6})\s+(\d+(?:\.\d+)*)\.?\s+(.*\S)\s*$")
_ANY_HEADING = re.compile(r"^(#{1,6})\s")


@functools.cache
def theory_text() -> str:
    """The whole of docs/theory.md, as shipped in the installed package."""
    return importlib.resources.files(__name__).joinpath("theory.md").read_text(encoding="utf-8")


@functools.cache
def _sections() -> dict:
    """Section number -> (title, first line, last line + 1) over :func:`theory_text`'s lines."""
    lines = theory_text().splitlines()
    heads = [(i, len(m.group(1)), m.group(2), m.group(3)) for i, m in
             ((i, _HEADING.match(line)) for i, line in enumerate(lines)) if m]
    levels = [(i, len(m.group(1))) for i, m in ((i, _ANY_HEADING.match(line)) for i, line in enumerate(lines)) if m]
    out = {}
    for start, level, number, title in heads:
        end = next((i for i, lv in levels if i > start and lv <= level), len(lines))
        out[number] = (title, start, end)
    return out


def theory_sections() -> list:
    """The numbered sections of the theory, in order: a list of ``(number, title)``, e.g. ``("4.1", "The
    streaming estimation engine [getheory]")``.

    Examples
    --------
    >>> from getheory import theory_sections
    >>> theory_sections()[:2]
    [('1', 'Model and scalings'), ('2', 'The Gaussian match of $(\\\\lambda, \\\\nu)$')]
    >>> [n for n, _ in theory_sections()].index("4.1") < [n for n, _ in theory_sections()].index("4.2")
    True
    """
    return [(number, title) for number, (title, _, _) in _sections().items()]


def _number(section) -> str:
    """``"4.1"`` from ``"4.1"``, ``"§4.1"``, ``"§ 4.1"``, ``"docs/theory.md §4.1"`` or ``4.1``."""
    text = str(section).strip()
    text = text.removeprefix("docs/theory.md").strip().removeprefix("THEORY").strip().lstrip("§").strip()
    return text.rstrip(".")


def theory_section(section) -> str:
    """The text of one numbered section of docs/theory.md, its heading first (its subsections included).

    Parameters
    ----------
    section : str or number
        ``"4.1"``, ``"§4.1"``, ``"docs/theory.md §4.1"``, ``"10"``, ...: the citations getheory prints.

    Returns
    -------
    str
        The section's Markdown, from its heading to the next heading of its level or above.

    Raises
    ------
    ValueError
        For a section the theory does not have, naming the nearest ones and every section.

    Examples
    --------
    >>> from getheory import theory_section
    >>> print(theory_section("§4.2").splitlines()[0])
    ### 4.2 Cumulants without sampling [getheory]
    >>> theory_section("99.9")
    Traceback (most recent call last):
    ...
    ValueError: no section '99.9' in the theory (docs/theory.md): ...
    """
    number = _number(section)
    found = _sections().get(number)
    if found is None:
        raise ValueError(_unknown(section, number))
    _title, start, end = found
    return "\n".join(theory_text().splitlines()[start:end]).rstrip() + "\n"


def _unknown(section, number: str) -> str:
    """The one-line error for a section the theory does not have: the nearest ones, then every one."""
    numbers = list(_sections())
    major = number.split(".")[0]
    near = ([n for n in numbers if n.split(".")[0] == major]
            or difflib.get_close_matches(number, numbers, n=4, cutoff=0.3))
    hint = f"nearest: {', '.join('§' + n for n in near)}; " if near else ""
    return (f"no section {str(section).strip()!r} in the theory (docs/theory.md): {hint}"
            f"the sections are {', '.join('§' + n for n in numbers)} (`getheory theory` lists them with their titles)")
