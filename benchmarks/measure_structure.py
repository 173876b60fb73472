"""Structure measures of the getheory package (issue: one place per concept).

Prints, for the package under ``getheory/``:

* functions above cyclomatic complexity 15 (radon), and the largest;
* functions longer than 80 lines, and the longest;
* functions with more than 8 parameters, and internal functions with more than 6 (internal: a name
  in no ``__all__`` of the package, or a leading underscore; a method counts as its class);
* lines above the project's 120-character limit (ruff E501);
* unused arguments (ruff ARG);
* duplicate-code pairs (pylint's ``duplicate-code`` checker, 6 lines or more).

Run::

    pip install radon ruff pylint
    python benchmarks/measure_structure.py [--json]

Nothing here is timed; the figures are counts on the source text.  The import graph (modules,
arrows, circles, upward arrows) is ``python benchmarks/import_graph.py``, which needs nothing
beyond the standard library.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "getheory"
CC_LIMIT, LINES_LIMIT, PARAMS_LIMIT, INTERNAL_PARAMS_LIMIT = 15, 80, 8, 6


def _exported() -> set:
    """Every name listed in an ``__all__`` of the package (module-level lists of strings)."""
    names = set()
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and \
                        isinstance(node.value, (ast.List, ast.Tuple)):
                    names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return names


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _internal_wide(limit=INTERNAL_PARAMS_LIMIT):
    """(path, qualified name, parameters) of the internal functions with more than ``limit`` parameters."""
    public, rows = _exported(), []
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for top in tree.body:
            members = [(top, top.name)] if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            if isinstance(top, ast.ClassDef):
                methods = [m for m in top.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
                # a private method is internal whatever its class
                members = [(m, "_" + top.name if _private(m.name) else top.name) for m in methods]
            for fn, owner in members:
                a = fn.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                n -= int(bool(a.args) and a.args[0].arg in ("self", "cls"))
                if n > limit and (owner.startswith("_") or owner not in public):
                    name = fn.name if owner == fn.name else f"{owner.lstrip('_')}.{fn.name}"
                    rows.append((str(path.relative_to(ROOT)), name, n))
    return rows


def _functions():
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                n_params = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                n_params -= int(bool(a.args) and a.args[0].arg in ("self", "cls"))
                yield (str(path.relative_to(ROOT)), node.name, node.lineno,
                       node.end_lineno - node.lineno + 1, n_params)


def _radon():
    out = subprocess.run([sys.executable, "-m", "radon", "cc", "-j", str(PKG)],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for path, blocks in json.loads(out).items():
        for b in blocks:
            if b.get("type") in ("function", "method"):
                rows.append((str(pathlib.Path(path).resolve().relative_to(ROOT)), b["name"], b["complexity"]))
    return rows


def _ruff(select):
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", select, "--output-format", "json",
                          "--line-length", "120", str(PKG)], capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def _pylint_duplicates():
    out = subprocess.run([sys.executable, "-m", "pylint", "--disable=all", "--enable=duplicate-code",
                          "--min-similarity-lines=6", str(PKG)], capture_output=True, text=True).stdout
    return len(re.findall(r"R0801", out))


def measure():
    funcs = list(_functions())
    cc = _radon()
    return {
        "functions": len(funcs),
        "cc_above_15": sorted([r for r in cc if r[2] > CC_LIMIT], key=lambda r: -r[2]),
        "cc_max": max(r[2] for r in cc),
        "longer_than_80_lines": sorted([f[:4] for f in funcs if f[3] > LINES_LIMIT], key=lambda r: -r[3]),
        "longest": max(f[3] for f in funcs),
        "more_than_8_params": len([f for f in funcs if f[4] > PARAMS_LIMIT]),
        "internal_more_than_6_params": _internal_wide(),
        "lines_over_120": len(_ruff("E501")),
        "unused_arguments": len(_ruff("ARG")),
        "duplicate_pairs_pylint": _pylint_duplicates(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the measures as JSON")
    args = ap.parse_args(argv)
    m = measure()
    if args.json:
        print(json.dumps(m, indent=1))
        return
    print(f"functions: {m['functions']}")
    print(f"cyclomatic complexity: max {m['cc_max']}; above {CC_LIMIT}: {len(m['cc_above_15'])}")
    for path, name, c in m["cc_above_15"][:12]:
        print(f"  {c:4d}  {path}:{name}")
    print(f"function length: max {m['longest']} lines; above {LINES_LIMIT}: {len(m['longer_than_80_lines'])}")
    for path, name, line, n in m["longer_than_80_lines"][:12]:
        print(f"  {n:4d}  {path}:{line}:{name}")
    print(f"functions with more than {PARAMS_LIMIT} parameters: {m['more_than_8_params']}")
    wide = m["internal_more_than_6_params"]
    print(f"internal functions with more than {INTERNAL_PARAMS_LIMIT} parameters: {len(wide)}")
    for path, name, n in wide:
        print(f"  {n:4d}  {path}:{name}")
    print(f"lines over 120 characters (ruff E501): {m['lines_over_120']}")
    print(f"unused arguments (ruff ARG): {m['unused_arguments']}")
    print(f"duplicate-code pairs (pylint R0801, >= 6 lines): {m['duplicate_pairs_pylint']}")


if __name__ == "__main__":
    main()
