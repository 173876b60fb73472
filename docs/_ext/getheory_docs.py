"""A local Sphinx extension: the pages of the site that are generated from the code.

* ``reference/cli.rst``: every ``getheory`` subcommand's full ``--help``, from the parser that
  the command line itself builds (:func:`getheory.cli.build_parser`);
* ``reference/sweep_keys.inc``: every key of a sweep TOML file, from the table the spec
  validator uses (:data:`getheory.sweep.SPEC_KEYS`), and the settings of registered d_MS
  estimators (:func:`getheory.distances.spec_settings`);
* ``reference/api.rst``: the API reference's index, every name of ``getheory.__all__`` and
  every public module (autosummary then writes a page for each);
* the theory's § anchors: each numbered heading of ``theory.md`` (``## 4.``, ``### 4.1``) gets
  the id ``sN`` or ``sN-M`` (``theory.html#s4-1``) and a label of the same name, so that pages
  link to ``{ref}`s4-1``` and the code's "docs/theory.md §4.1" has a stable address.

The files are written when the configuration is read, before Sphinx lists the sources, so the pages cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re

from docutils import nodes
from sphinx.domains.python import PyClasslike
from sphinx.util.nodes import make_refnode

import getheory
from getheory.cli import build_parser
from getheory.distances import spec_settings
from getheory.sweep import SPEC_KEYS

#: a numbered heading of the theory: "4.", "4.1", "10.7" at the start of its title
_NUMBERED = re.compile(r"^(\d+)(?:\.(\d+))?\.?\s")
#: the page whose numbered headings get § anchors
THEORY_DOC = "theory"
#: help text width of the generated CLI reference
_HELP_COLUMNS = "100"


def theory_anchor(title: str) -> str | None:
    """The § anchor of a theory heading (``"4.1 The streaming ..."`` -> ``"s4-1"``), or None."""
    m = _NUMBERED.match(title)
    if not m:
        return None
    return f"s{m.group(1)}" + (f"-{m.group(2)}" if m.group(2) else "")


def _subparsers(parser: argparse.ArgumentParser) -> dict:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _indent(text: str) -> str:
    return "\n".join(("   " + line).rstrip() for line in text.splitlines())


def cli_rst() -> str:
    """The command-line reference: ``getheory --help`` and each subcommand's ``--help``."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = _HELP_COLUMNS  # argparse wraps to this width
    try:
        parser = build_parser()
        parts = [".. _cli-reference:", "", "Command-line reference", "=" * 22, "",
                 "Generated at build time from the parsers of :func:`getheory.cli.build_parser`: what",
                 "``getheory COMMAND --help`` prints, for every command.", "",
                 "getheory", "-" * 8, "", ".. code-block:: text", "", _indent(parser.format_help()), ""]
        for name, sub in _subparsers(parser).items():
            title = f"getheory {name}"
            parts += [f".. _cli-{name}:", "", title, "-" * len(title), "", ".. code-block:: text", "",
                      _indent(sub.format_help()), ""]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def sweep_keys_rst() -> str:
    """The sweep-file keys as one list-table per TOML table."""
    tables = dict.fromkeys(k.table for k in SPEC_KEYS)
    parts = []
    for table in tables:
        heading = "top level" if not table else (f"[[{table}]]" if table == "generator" else f"[{table}]")
        parts += [f".. _sweep-{table or 'top'}:", "", heading, "-" * len(heading), "",
                  ".. list-table::", "   :header-rows: 1", "   :widths: 15 20 15 50", "",
                  "   * - key", "     - type", "     - default", "     - meaning"]
        rows = [(k.key, k.type, k.default, k.meaning) for k in SPEC_KEYS if k.table == table]
        if table == "estimator":
            rows += [(s.name, s.convert.__name__, repr(s.default), f"{s.help} (a registered d_MS estimator's)")
                     for s in spec_settings().values()]
        for key, typ, default, meaning in rows:
            parts += [f"   * - ``{key}``", f"     - {_cell(typ)}", f"     - ``{default}``", f"     - {_cell(meaning)}"]
        parts.append("")
    return "\n".join(parts)


#: ``|z|``, ``|ΔQ|``: an absolute value written as plain text, which reST would read as a substitution
_BARS = re.compile(r"(?<![\\|])\|(?=[^\s|])([^|\n]*?[^\s|\\])\|(?!\|)")


#: a literal or role target (left as it is), or the text between them
_CODE_OR_TEXT = re.compile(r"(``.*?``|`[^`]*`)|([^`]+|`)")


def escape_bars(line: str) -> str:
    """``|z|`` outside backticks becomes ``\\|z\\|``: the docstrings write absolute values as plain text
    (``|z| >= 5``), which reST would read as an undefined substitution; inside backticks they stay."""
    return _CODE_OR_TEXT.sub(lambda m: m.group(1) or _BARS.sub(r"\\|\1\\|", m.group(2)), line)


#: a citation of the theory in a docstring: "docs/theory.md §4.1" (the § anchors above)
_CITATION = re.compile(r"docs/theory\.md §(\d+)(?:\.(\d+))?")


def link_citations(line: str) -> str:
    """``docs/theory.md §4.1`` outside backticks becomes a link to ``theory.html#s4-1``; a citation
    of a section without an anchor then fails the build (an undefined label)."""
    def cite(m):
        anchor = f"s{m.group(1)}" + (f"-{m.group(2)}" if m.group(2) else "")
        return f":ref:`{m.group(0)} <{anchor}>`"
    return _CODE_OR_TEXT.sub(lambda m: m.group(1) or _CITATION.sub(cite, m.group(2)), line)


def _escape_docstring(app, what, name, obj, options, lines) -> None:
    lines[:] = [link_citations(escape_bars(line)) for line in lines]


def public_modules() -> list:
    """The public modules of getheory (no leading underscore), sorted, as dotted names."""
    root = pathlib.Path(getheory.__file__).parent
    names = [p.stem if p.is_file() else p.name for p in root.iterdir()
             if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())]
    return sorted(f"getheory.{n}" for n in names)


def api_rst() -> str:
    """The API reference's index: every name of ``getheory.__all__``, then every public module."""
    names = [n for n in getheory.__all__ if not n.startswith("_")]
    parts = [".. _api-reference:", "", "API reference", "=" * 13, "",
             "Generated at build time from ``getheory.__all__`` and the public modules' ``__all__``.", "",
             "The package root", "-" * 16, "",
             "``import getheory as gt`` gives these names (each imported on first use).", "",
             ".. autosummary::", "   :toctree: generated", "", *(f"   getheory.{n}" for n in names), "",
             "Modules", "-" * 7, "",
             "Each public module and subpackage, with every name of its ``__all__``.", "",
             ".. autosummary::", "   :toctree: generated", "",
             *(f"   {m}" for m in public_modules()), ""]
    return "\n".join(parts)


def _write_if_changed(path: pathlib.Path, text: str) -> None:
    """Write ``text`` unless the file holds it already (an unchanged page is not rebuilt)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate(app, config) -> None:
    out = pathlib.Path(app.srcdir) / "reference"
    _write_if_changed(out / "cli.rst", cli_rst())
    _write_if_changed(out / "sweep_keys.inc", sweep_keys_rst())  # included by reference/sweep_file.rst
    _write_if_changed(out / "api.rst", api_rst())


def _anchor_theory(app, doctree) -> None:
    """Give each numbered section of the theory its ``sN-M`` id and a label of that name."""
    if app.env.docname != THEORY_DOC:
        return
    std = app.env.domains.standard_domain
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        anchor = theory_anchor(title.astext()) if title is not None else None
        if anchor is None:
            continue
        if anchor not in section["ids"]:
            section["ids"].insert(0, anchor)
        std.anonlabels[anchor] = (THEORY_DOC, anchor)
        std.labels[anchor] = (THEORY_DOC, anchor, f"§{anchor[1:].replace('-', '.')}")


def _short_name_target(env, node):
    """The documented full name a short Python reference (``TaskRecord``, ``plan_samples``) means:
    among documented names ending in ``.TARGET``, those of the citing module's own subpackage first,
    then the shortest (``getheory.X`` before ``getheory.mod.X``)."""
    target = node["reftarget"].lstrip("~.")
    if not target or any(part.startswith("_") for part in target.split(".")):
        return None  # a private name is not on the site: conf.py's nitpick_ignore_regex says so
    here = (node.get("py:module") or "getheory").split(".")[:2]
    objects = env.domains.python_domain.objects
    hits = [n for n in objects if n.endswith("." + target)]
    hits.sort(key=lambda n: (n.split(".")[:2] != here, n.count("."), n))
    return hits[0] if hits else None


def _resolve_short_names(app, env, node, contnode):
    """Resolve a short reference of the docstrings (written for readers of the source, where the
    module in scope is clear) that Sphinx's own lookup, limited to the current module, misses."""
    if node.get("refdomain") != "py":
        return None
    name = _short_name_target(env, node)
    if name is None:
        return None
    entry = env.domains.python_domain.objects[name]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


class _PublicClass(PyClasslike):
    """``py:class`` without its ``:canonical:`` private path (``getheory.check._options.CheckOptions``):
    a class on two API pages (``getheory.CheckOptions``, ``getheory.check.CheckOptions``) would
    register that private name twice; the public names are the ones the site links."""

    def run(self):
        self.options.pop("canonical", None)
        return super().run()


def setup(app):
    app.add_directive_to_domain("py", "class", _PublicClass, override=True)
    app.add_directive_to_domain("py", "exception", _PublicClass, override=True)
    app.connect("config-inited", _generate)  # before Sphinx lists the sources: the pages are found
    app.connect("doctree-read", _anchor_theory)
    app.connect("autodoc-process-docstring", _escape_docstring)
    app.connect("missing-reference", _resolve_short_names)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
