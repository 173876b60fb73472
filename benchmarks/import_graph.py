"""The import graph of the getheory package: modules, arrows, circles and upward arrows.

Reads every import of every module with :mod:`ast`, as ``tests/test_architecture.py`` does:
module level and inside functions alike, and modules named to ``importlib.import_module`` or
``__import__`` (a constant, or an f-string whose start names the module; ``__name__`` is the
module's own name, and an f-string that ends in an unknown part stands for every module of the
package it names), and the modules a package's lazy table names (``_LAZY = {"getheory.x": (names...)}``,
resolved on first use by ``getheory._lazy``).  Two graphs are drawn:

* **rooms**: getheory's top-level modules and packages (``check``, ``reports``, ``_json``, ...),
  one arrow per pair (A imports something of B, A != B);
* **modules**: every ``.py`` file, one arrow per pair of files (``from ..distances import x`` is
  an arrow to ``distances/__init__.py``, ``from ..distances._sphere import y`` to that file,
  ``from . import check`` in a package to its submodule ``check``).

A **circle** is an elementary cycle of a graph (A -> B -> A is one circle); an **upward arrow**
goes from a room to a room of a higher layer (foundations < maths < workflows < presentation,
README "Architecture"). Also counted: import statements inside functions (all, and those of
getheory's own modules), and import statements that take another top-level package's private
module or name.

Run::

    python benchmarks/import_graph.py [--root PATH/TO/getheory] [--json]

``--root`` measures another checkout (e.g. ``git worktree add /tmp/before a0692e6``). Only the
standard library is needed; nothing is imported from the package and nothing is timed.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1] / "getheory"

#: the layer map of tests/test_architecture.py (top-level module or package -> 0: foundations ...
#: 3: presentation), read from that file so that the two never differ; a room missing there (a
#: checkout of another version) is reported, not placed
_ARCHITECTURE_TEST = pathlib.Path(__file__).resolve().parents[1] / "tests" / "test_architecture.py"


def _layers(path: pathlib.Path = _ARCHITECTURE_TEST) -> dict:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "LAYERS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit(f"no LAYERS table in {path}")


LAYERS = _layers()

#: the most circles enumerated per graph (a graph with more is reported as at least this many)
MAX_CIRCLES = 100_000


class Package:
    """The files of one checkout of getheory, and how an import names one of them."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
        self.keys = {self.key(p) for p in self.files}

    def key(self, path: pathlib.Path) -> str:
        """A file as a path below the package root: ``check/_result.py``."""
        return str(path.relative_to(self.root))

    def target(self, parts: list) -> str | None:
        """The file that the getheory module ``parts`` (below getheory) is, or None."""
        stem = "/".join(parts)
        for key in ((stem + "/__init__.py") if parts else "__init__.py", stem + ".py"):
            if key in self.keys:
                return key
        return None

    def submodules(self, parts: list) -> list:
        """Every module directly in the package ``parts``."""
        folder = self.root.joinpath(*parts)
        return [self.key(p) for p in self.files if p.parent == folder and p.name != "__init__.py"] + \
            [self.key(p) for p in self.files if p.parent.parent == folder and p.name == "__init__.py"]


def _top(key: str) -> str:
    return key.split("/")[0].removesuffix(".py")


def _here(key: str) -> list:
    """The dotted parts (below getheory) of the module a file is."""
    parts = key.removesuffix(".py").split("/")
    return parts[:-1] if parts[-1] == "__init__" else parts


def _from_targets(pkg: Package, base: list, names: list) -> list:
    """Files a ``from BASE import names`` loads: a submodule per name that is one, else BASE itself."""
    out = []
    for name in names:
        sub = pkg.target(base + [name])
        out.append(sub if sub is not None and name != "*" else pkg.target(base))
    return [t for t in out if t is not None]


def from_import_parts(node: ast.ImportFrom, folder: list) -> list | None:
    """The getheory path (parts below getheory; [] for the root) that ``from X import ...`` in a module
    of the getheory folder ``folder`` takes its names from; None when X is not getheory.
    tests/test_architecture.py reads imports with it too."""
    if node.level:
        base = folder[: len(folder) - (node.level - 1)] if node.level > 1 else list(folder)
        return base + (node.module.split(".") if node.module else [])
    if node.module and node.module.split(".")[0] == "getheory":
        return node.module.split(".")[1:]
    return None


def named_module_text(call: ast.Call, here: str) -> tuple | None:
    """(dotted text, open-ended) of the module a call names to ``importlib.import_module`` or
    ``__import__``: a constant, or an f-string read up to its first part that is not constant
    (``__name__`` is read as ``here``, the calling module's dotted name; open-ended when a part was
    left unread); None for any other call.  tests/test_architecture.py reads imports with it too."""
    fn = call.func
    named = (isinstance(fn, ast.Attribute) and fn.attr == "import_module") or \
            (isinstance(fn, ast.Name) and fn.id in ("import_module", "__import__"))
    if not named or not call.args:
        return None
    arg, text, open_ended = call.args[0], "", False
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        text = arg.value
    elif isinstance(arg, ast.JoinedStr):
        for part in arg.values:
            if isinstance(part, ast.Constant):
                text += part.value
            elif isinstance(part.value, ast.Name) and part.value.id == "__name__":
                text += here
            else:
                open_ended = True
                break
    return text, open_ended


#: the module-level dict of a package whose public names are imported on first use (getheory._lazy)
LAZY_TABLE = "_LAZY"


def lazy_table_modules(tree: ast.Module) -> list:
    """(line, dotted name) of every getheory module a module's lazy table names: each string key or value
    (or string in a value's tuple) of the module-level dict :data:`LAZY_TABLE` that starts with "getheory.".
    Each is an import of that module, made on first use.  tests/test_architecture.py reads imports with
    it too."""
    out = []
    for node in tree.body:
        target = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not any(isinstance(t, ast.Name) and t.id == LAZY_TABLE for t in target):
            continue
        if isinstance(node.value, ast.Dict):
            for item in ast.walk(node.value):
                if isinstance(item, ast.Constant) and isinstance(item.value, str) and \
                        item.value.startswith("getheory."):
                    out.append((item.lineno, item.value))
    return out


def _named(call: ast.Call, here: list) -> tuple | None:
    """(parts below getheory, open-ended) of a module named to import_module / __import__, or None."""
    found = named_module_text(call, ".".join(["getheory"] + here))
    if found is None:
        return None
    text, open_ended = found
    parts = text.split(".")
    if parts[0] != "getheory":
        return None
    parts = parts[1:]
    if open_ended and parts and parts[-1] == "":
        parts = parts[:-1]
    return [p for p in parts if p], open_ended


def read_imports(pkg: Package, key: str) -> list:
    """(line, target file, inside a function, private reach) of every getheory import of one file (one per
    file an import statement loads)."""
    path = pkg.root / key
    tree = ast.parse(path.read_text(encoding="utf-8"))
    folder = key.split("/")[:-1]
    inner = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(fn)}
    out = []
    for node in ast.walk(tree):
        where = id(node) in inner
        if isinstance(node, ast.ImportFrom):
            parts = from_import_parts(node, folder)
            if parts is None:
                continue
            names = [a.name for a in node.names]
            private = bool(parts) and parts[0] != _top(key) and (
                any(p.startswith("_") for p in parts[1:])
                or any(n.startswith("_") and not n.startswith("__") for n in names))
            for t in _from_targets(pkg, parts, names):
                out.append((node.lineno, t, where, private))
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "getheory":
                    t = pkg.target(parts[1:])
                    private = len(parts) > 2 and parts[1] != _top(key) and any(p.startswith("_") for p in parts[2:])
                    if t:
                        out.append((node.lineno, t, where, private))
        elif isinstance(node, ast.Call):
            found = _named(node, _here(key))
            if found:
                parts, open_ended = found
                targets = pkg.submodules(parts) if open_ended else [pkg.target(parts)]
                out += [(node.lineno, t, where, False) for t in targets if t]
    for line, dotted in lazy_table_modules(tree):
        parts = dotted.split(".")[1:]
        t = pkg.target(parts)
        private = parts[0] != _top(key) and any(p.startswith("_") for p in parts[1:])
        if t:
            out.append((line, t, False, private))
    return out


def _inner_imports(pkg: Package, key: str) -> int:
    """Import statements inside functions (of anything)."""
    tree = ast.parse((pkg.root / key).read_text(encoding="utf-8"))
    seen = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            seen |= {id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return len(seen)


def circles(edges: set, limit: int = MAX_CIRCLES) -> list:
    """The elementary cycles of a directed graph (each once, from its smallest node), up to ``limit``."""
    nodes = sorted({a for a, _ in edges} | {b for _, b in edges})
    succ = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    out = []
    for start in nodes:
        stack = [(start, iter(succ[start]))]
        path, on_path = [start], {start}
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                on_path.discard(path.pop())
            elif nxt == start:
                out.append(list(path))
                if len(out) >= limit:
                    return out
            elif nxt > start and nxt not in on_path:
                stack.append((nxt, iter(succ[nxt])))
                path.append(nxt)
                on_path.add(nxt)
    return out


def measure(root: pathlib.Path = ROOT) -> dict:
    pkg = Package(root)
    file_edges, room_edges, inner_own, private = set(), set(), set(), {}
    for p in pkg.files:
        key = pkg.key(p)
        for line, target, inside, reach in read_imports(pkg, key):
            if target != key:
                file_edges.add((key, target))
            if _top(target) != _top(key):
                room_edges.add((_top(key), _top(target)))
            if inside:
                inner_own.add((key, line))
            if reach:
                private[f"{key}:{line}"] = f"{key}:{line} -> {target}"
    private = sorted(private.values())
    rooms = sorted({_top(pkg.key(p)) for p in pkg.files})
    up = sorted(f"{a} -> {b}" for a, b in room_edges if a in LAYERS and b in LAYERS and LAYERS[b] > LAYERS[a])
    room_circles = circles(room_edges)
    file_circles = circles(file_edges)
    return {
        "modules": len(pkg.files),
        "rooms": len(rooms),
        "rooms_without_a_layer": [r for r in rooms if r not in LAYERS],
        "room_arrows": len(room_edges),
        "room_circles": len(room_circles),
        "room_circles_list": [" -> ".join(c + [c[0]]) for c in room_circles[:20]],
        "module_arrows": len(file_edges),
        "module_circles": len(file_circles),
        "module_circles_list": [" -> ".join(c + [c[0]]) for c in file_circles[:20]],
        "upward_arrows": len(up),
        "upward_arrows_list": up,
        "function_level_imports": sum(_inner_imports(pkg, pkg.key(p)) for p in pkg.files),
        "function_level_imports_of_getheory": len(inner_own),
        "private_reaches": len(private),
        "private_reaches_list": private,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=pathlib.Path, default=ROOT, help="the getheory package folder to read")
    ap.add_argument("--json", action="store_true", help="print the measures as JSON")
    args = ap.parse_args(argv)
    m = measure(args.root.resolve())
    if args.json:
        json.dump(m, sys.stdout, indent=1)
        print()
        return
    print(f"modules: {m['modules']} in {m['rooms']} rooms (top-level modules and packages)")
    if m["rooms_without_a_layer"]:
        print(f"  rooms without a layer: {', '.join(m['rooms_without_a_layer'])}")
    print(f"arrows: {m['room_arrows']} between rooms, {m['module_arrows']} between modules")
    print(f"circles: {m['room_circles']} between rooms, {m['module_circles']} between modules")
    for c in m["room_circles_list"] + m["module_circles_list"]:
        print(f"  {c}")
    print(f"upward arrows: {m['upward_arrows']}")
    for a in m["upward_arrows_list"]:
        print(f"  {a}")
    print(f"imports inside functions: {m['function_level_imports']} "
          f"({m['function_level_imports_of_getheory']} of getheory's own modules)")
    print(f"imports of another package's private module or name: {m['private_reaches']}")
    for r in m["private_reaches_list"]:
        print(f"  {r}")


if __name__ == "__main__":
    main()
