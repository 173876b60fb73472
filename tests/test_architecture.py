"""The layers of getheory import one way only: foundations < maths < workflows < presentation.

A module may import its own layer and the layers below it, never one above (docs/guide/architecture.md,
"Architecture").  Imports are read from the source with :mod:`ast` (module level and inside
functions alike, modules named to :func:`importlib.import_module`, and the modules a package's
lazy table ``_LAZY`` names, :mod:`getheory._lazy`), so a lazy import of a higher layer is caught
too.  Besides the direction of the arrows, every module

* imports the package's own modules at module level, never inside a function (an import hidden
  in a function hides a cycle; the one exception, :data:`_INNER_IMPORT_ALLOWED`, is the command
  line's dispatch to the module of the command that runs, read as an arrow to every command);
* imports inside a function only a heavy optional dependency (:data:`OPTIONAL`), with a comment
  that says why, on the import or the line above;
* takes no private module or name (``_x``) of another of getheory's top-level packages.
"""

import ast
import importlib.util
import pathlib
import re

import pytest

import getheory

ROOT = pathlib.Path(getheory.__file__).parent


def _load_import_graph():
    """benchmarks/import_graph.py, the measure of the import graph (standard library only)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("getheory_import_graph", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IMPORT_GRAPH = _load_import_graph()

#: top-level module or subpackage of getheory -> layer (0: foundations ... 3: presentation)
LAYERS = {
    # foundations: shared plumbing every layer may use
    "_version": 0, "_validation": 0, "_json": 0, "_progress": 0, "_deadline": 0, "_seeds": 0, "_cluster": 0,
    "_run": 0, "_files": 0, "_checkpoint": 0, "_markdown": 0, "_lazy": 0, "_repr": 0, "_theory": 0, "backend": 0,
    # maths: activations -> generators -> fields, moments -> distances, bounds; learning dynamics
    "activations": 1, "generators": 1, "trained": 1, "fields": 1, "moments": 1, "distances": 1,
    "bounds": 1, "analytic": 1, "equivalent": 1, "dynamics": 1, "ridge": 1, "erm": 1,
    # workflows: check, plan, sweep -> rates (and the text of their tables), the numerical claims, the
    # property-testing toolkit
    "check": 2, "plan": 2, "sweep": 2, "rates": 2, "_rate_tables": 2, "proofs": 2, "_claims": 2, "testing": 2,
    # presentation: report writers and the command line
    "reports": 3, "cli": 3, "__main__": 3, "__init__": 3,
}
NAMES = {0: "foundations", 1: "maths", 2: "workflows", 3: "presentation"}


def _top(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _module_name(pkg: list, name: str) -> str:
    """The dotted name of the module ``name`` (a file's stem) in the getheory folder ``pkg``."""
    return ".".join(["getheory"] + pkg + ([] if name == "__init__" else [name]))


def _named_module(call: ast.Call, here: str) -> list | None:
    """The getheory path (parts below getheory) of a module named to ``importlib.import_module`` or
    ``__import__`` as a constant or an f-string whose start is constant (``__name__`` read as
    ``here``, the module's own name); None for anything else.  The call is read by
    ``benchmarks/import_graph.py``, so that the test and the measure see the same imports."""
    found = IMPORT_GRAPH.named_module_text(call, here)
    if found is None:
        return None
    parts = found[0].split(".")
    if parts[0] != "getheory":
        return None
    return parts[1:] if len(parts) > 1 and parts[1] else ["__init__"]  # the root imports every layer


def _imported_tops(source: str, pkg: list, here: str = ""):
    """(line, top-level getheory module) of every getheory import in the source of a module
    that lives in the getheory folder ``pkg`` (a list of folder names below getheory/); ``here``
    is the module's own dotted name (for ``import_module(f"{__name__}.x")``)."""
    tree = ast.parse(source)
    for line, dotted in IMPORT_GRAPH.lazy_table_modules(tree):  # imported on first use of a name
        yield line, dotted.split(".")[1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts = _named_module(node, here or _module_name(pkg, "__init__"))
            if parts:
                yield node.lineno, parts[0]
        elif isinstance(node, ast.ImportFrom):
            parts = IMPORT_GRAPH.from_import_parts(node, pkg)
            if parts:
                yield node.lineno, parts[0]
            elif parts is not None:  # "from . import x" at the package root, or "from getheory import x"
                yield from _root_names(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "getheory":  # "import getheory" loads the root and with it every layer
                    yield node.lineno, parts[1] if len(parts) > 1 else "__init__"


def _root_names(node: ast.ImportFrom):
    """A name imported from the package root: a submodule (``from getheory import sweep``) is that
    module; anything else (``from getheory import exact_moments``) is the root itself, which
    imports every layer, so a lower layer doing it hides a cycle."""
    for alias in node.names:
        yield node.lineno, alias.name if alias.name in LAYERS else "__init__"


FILES = sorted(p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def _violations(source: str, pkg: list, own: int, here: str = "") -> list:
    return [(line, top) for line, top in _imported_tops(source, pkg, here) if top in LAYERS and LAYERS[top] > own]


def test_every_module_has_a_layer():
    missing = sorted({_top(p) for p in FILES} - set(LAYERS))
    assert not missing, f"give these modules a layer in tests/test_architecture.py and docs/guide/architecture.md: {missing}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path):
    own = LAYERS[_top(path)]
    pkg = list(path.relative_to(ROOT).parent.parts)
    bad = _violations(path.read_text(encoding="utf-8"), pkg, own, _module_name(pkg, path.stem))
    assert not bad, (f"{path.relative_to(ROOT)} ({NAMES[own]}) imports a higher layer: "
                     + ", ".join(f"line {ln}: {t} ({NAMES[LAYERS[t]]})" for ln, t in bad))


def test_the_checker_sees_every_form_of_a_violation():
    """Relative, absolute and function-level imports of a higher layer are all found."""
    source = ("from ..reports import write_report\n"
              "from . import check\n"
              "def f():\n    import getheory.cli\n    from getheory.sweep import run_sweep\n"
              "from ._stream import FieldStream\n")
    # as if it were getheory/distances/_x.py (maths)
    found = _violations(source, ["distances"], LAYERS["distances"])
    assert [t for _, t in found] == ["reports", "cli", "sweep"]
    # "from . import check" inside distances/ is distances.check, not getheory.check
    assert not _violations("from . import check\n", ["distances"], LAYERS["distances"])
    assert _violations("from . import check\n", [], LAYERS["fields"]) == [(1, "check")]


def test_the_checker_sees_a_module_named_to_importlib():
    """``importlib.import_module("getheory.x")`` (a constant, or an f-string whose start names the
    module, ``__name__`` included) is an import of ``x`` like any other."""
    sources = {'import importlib\ndef f():\n    return importlib.import_module("getheory.reports")\n': "reports",
               'from importlib import import_module\nm = import_module(f"getheory.cli.{name}")\n': "cli",
               'def f():\n    __import__("getheory.reports._check")\n': "reports"}
    for source, top in sources.items():
        assert [t for _, t in _violations(source, ["check"], LAYERS["check"])] == [top], source
    # a module named through __name__ is read as the module's own package
    found = _imported_tops('import importlib\nm = importlib.import_module(f"{__name__}.x")\n', ["_claims"],
                           "getheory._claims")
    assert [t for _, t in found] == ["_claims"]
    # the root, named, imports every layer
    assert [t for _, t in _imported_tops('m = importlib.import_module("getheory")\n', ["check"])] == ["__init__"]
    # a user's module (a variable, another package) is no getheory import
    assert not list(_imported_tops("import importlib\nm = importlib.import_module(mod)\n"
                                   "n = importlib.import_module('numpy.linalg')\n", ["check"]))


def test_a_display_hook_is_no_exception():
    """A result shows in a notebook through text built at its own layer (``to_table()``, getheory._markdown):
    a ``_repr_markdown_`` that imports the report writers is an upward arrow like any other."""
    hook = ("class Result:\n    def _repr_markdown_(self):\n        from ..reports import check_markdown\n"
            "        return check_markdown(self)\n")
    assert _violations(hook, ["check"], LAYERS["check"]) == [(3, "reports")]


def test_the_checker_sees_an_import_from_the_package_root():
    """``from getheory import X`` inside a lower layer imports the whole package: a hidden cycle."""
    for source in ("def f():\n    from getheory import SingleLayerGenerator\n", "import getheory as gt\n",
                   "from .. import exact_moments\n"):
        assert [t for _, t in _violations(source, ["_claims"], LAYERS["_claims"])] == ["__init__"], source
    # a submodule named through the root is that submodule
    assert not _violations("from getheory import moments\n", ["_claims"], LAYERS["_claims"])


def test_the_package_root_re_exports_no_presentation():
    """``import getheory`` (which every ``import getheory.x`` runs) loads no report writer or CLI."""
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    tops = {t for _, t in _imported_tops(ast.unparse(tree), [])} & set(LAYERS)
    assert not [t for t in tops if LAYERS[t] == 3], sorted(t for t in tops if LAYERS[t] == 3)
    # the lazy table is read: the root's arrows reach every layer below presentation
    assert {"_version", "activations", "distances", "check", "dynamics", "proofs"} <= tops, sorted(tops)


def test_the_checker_sees_a_lazy_table():
    """A package's ``_LAZY`` table (getheory._lazy) names modules imported on first use: each is an arrow,
    and a private module of another package in it is a private reach."""
    source = ('from .._lazy import lazy_attributes\n'
              '_LAZY = {"getheory.distances._sphere": ("a",), "getheory.reports": ("b", "c")}\n'
              '__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())\n')
    assert [t for _, t in _violations(source, ["analytic"], LAYERS["analytic"])] == ["reports"]
    assert [what for _, what in _private_reaches(source, ["analytic"], "analytic")] == ["distances._sphere"]
    assert not _private_reaches(source, ["distances"], "distances")  # its own private module
    # another name, or a string outside such a table, is no import
    assert not list(_imported_tops('TABLE = {"getheory.reports": ("b",)}\nx = "getheory.cli"\n', ["analytic"]))


def _inner_named_getheory_imports(source: str) -> list:
    """Lines of ``importlib.import_module``/``__import__`` calls inside functions that name a getheory module."""
    tree = ast.parse(source)
    return sorted({node.lineno for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for node in ast.walk(fn) if isinstance(node, ast.Call) and _named_module(node, "getheory.x")})


#: the one module that imports getheory's own modules inside a function: the command line's dispatch, which
#: imports the module of the command that runs (read above as an arrow to every command's module)
_INNER_IMPORT_ALLOWED = ("cli/_main.py",)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_command_dispatch_names_getheory_modules_inside_a_function(path):
    lines = _inner_named_getheory_imports(path.read_text(encoding="utf-8"))
    if str(path.relative_to(ROOT)) in _INNER_IMPORT_ALLOWED:
        assert lines, "the allowance is no longer used: remove it"
    else:
        assert not lines, (f"{path.relative_to(ROOT)} names getheory modules to importlib inside a function "
                           f"(lines {lines}): import them at module level, or in a lazy table (getheory._lazy)")


def test_the_inner_named_import_reader_sees_each_form():
    assert _inner_named_getheory_imports('import importlib\ndef f(n):\n    importlib.import_module(f"getheory.{n}")\n')
    assert _inner_named_getheory_imports('def f():\n    __import__("getheory.sweep")\n')
    assert not _inner_named_getheory_imports('import importlib\nm = importlib.import_module("getheory.sweep")\n')
    assert not _inner_named_getheory_imports('import importlib\ndef f(n):\n    importlib.import_module(n)\n')


#: a backend's name tested in code: ``bk.name == "cupy"``, ``backend in ("numpy", "cupy")``, ...
_NAME_TEST = re.compile(r"""(\.name\s*[!=]=\s*["'](numpy|cupy|strict)["'])|"""
                        r"""(in\s*\(\s*["']numpy["']\s*,\s*["']cupy["'])|"""
                        r"""(\b(backend|bk)\s*[!=]=\s*["'](numpy|cupy|strict)["'])""")


@pytest.mark.parametrize("path", [p for p in FILES if "backend" not in p.relative_to(ROOT).parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_outside_the_backend_classes_tests_a_backend_name(path):
    # a backend is an object: what differs between array libraries is a method or a capability of
    # its class (getheory/backend/), never a branch on its name below the workflow entry
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if _NAME_TEST.search(line)]
    assert not hits, f"{path.relative_to(ROOT)} tests a backend's name: {hits}"


def test_the_name_test_detector_sees_each_form():
    for line in ('if bk.name == "cupy":', "if self.bk.name != 'numpy':", 'if backend in ("numpy", "cupy"):',
                 'if backend == "cupy":'):
        assert _NAME_TEST.search(line), line
    assert not _NAME_TEST.search('if exc.name != "hypothesis":')


# -- imports inside functions, private names ---------------------------------------------------------------

#: the heavy optional dependencies a function may import (a dotted name and everything below it), each
#: loaded only where it is needed: Dask (the dask extra; cloudpickle comes with it), CuPy (the gpu extra),
#: array-api-strict and hypothesis (the test extra), the array libraries a user's arrays may come from
#: (torch, JAX), matplotlib (fonts and a GUI backend, switched to Agg before use), IPython, numba's CUDA
#: target, and POT (which loads every array library it finds)
OPTIONAL = ("dask", "distributed", "cloudpickle", "cupy", "cupyx", "array_api_compat.cupy", "array_api_strict",
            "hypothesis", "torch", "jax", "matplotlib", "IPython", "numba.cuda", "ot")



def _is_optional(name: str) -> bool:
    return any(name == o or name.startswith(o + ".") for o in OPTIONAL)


def _function_imports(tree: ast.AST):
    """Every import statement inside a function (a method, a nested function, a lambda's module is none)."""
    seen = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in seen:
                    seen.add(id(node))
                    yield node


def _imported_names(node) -> list:
    """The dotted module names an import statement loads (a relative import is getheory's: "." first)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return ["." * node.level + (node.module or "")]


def _has_reason(lines: list, node) -> bool:
    """A comment on one of the import's lines, or on the line above the run of imports it belongs to."""
    if any("#" in lines[i - 1] for i in range(node.lineno, node.end_lineno + 1)):
        return True
    i = node.lineno - 1
    while i >= 1 and re.match(r"\s*(import |from \S+ import )", lines[i - 1]):
        i -= 1
    return i >= 1 and lines[i - 1].strip().startswith("#")


def _inner_import_problems(source: str) -> list:
    """(line, what is wrong) of every function-level import that is not a commented optional dependency."""
    lines = source.splitlines()
    out = []
    for node in _function_imports(ast.parse(source)):
        for name in _imported_names(node):
            if name.startswith(".") or name.split(".")[0] == "getheory":
                out.append((node.lineno, f"imports getheory's {name} inside a function: import it at module level"))
            elif not _is_optional(name):
                out.append((node.lineno, f"imports {name} inside a function: import it at module level "
                                         "(only the optional dependencies of OPTIONAL may wait for their use)"))
            elif not _has_reason(lines, node):
                out.append((node.lineno, f"imports {name} inside a function without a comment saying why"))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_function_imports_only_an_optional_dependency_with_its_reason(path):
    bad = _inner_import_problems(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.relative_to(ROOT)}: " + "; ".join(f"line {ln}: {why}" for ln, why in bad)


def test_the_inner_import_checker_sees_each_case():
    good = ("def f():\n    import cupy  # optional (the gpu extra)\n"
            "def g():\n    # matplotlib: heavy, loaded to draw\n    import matplotlib\n    import matplotlib.pyplot\n")
    assert not _inner_import_problems(good)
    bad = {"def f():\n    from ..check import draw_weights\n": "getheory's",
           "def f():\n    from getheory.sweep import run_task  # lazy\n": "getheory's",
           "def f():\n    from scipy.stats import norm\n": "only the optional",
           "def f():\n    import os  # why not\n": "only the optional",
           "def f():\n    x = 1\n    import cupy\n": "without a comment",
           "class A:\n    def f(self):\n        import distributed\n": "without a comment"}
    for source, why in bad.items():
        found = _inner_import_problems(source)
        assert len(found) == 1 and why in found[0][1], source


def _private_reaches(source: str, pkg: list, own: str) -> list:
    """(line, dotted path) of every import of a private module or name (``_x``) of another of getheory's
    top-level packages or modules than ``own`` (the module's own, in the folder ``pkg``); a private
    top-level module (``getheory._json``) is shared by all."""
    out = []
    tree = ast.parse(source)
    for line, dotted in IMPORT_GRAPH.lazy_table_modules(tree):
        parts = dotted.split(".")[1:]
        if parts[0] != own and any(p.startswith("_") for p in parts[1:]):
            out.append((line, dotted.removeprefix("getheory.")))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = IMPORT_GRAPH.from_import_parts(node, pkg)
            if parts is None:
                continue
            names = [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            found = [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "getheory"]
            if not found:
                continue
            parts, names = found[0], []
        else:
            continue
        if not parts or parts[0] == own:
            continue
        private = [p for p in parts[1:] if p.startswith("_")]
        private += [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private:
            out.append((node.lineno, ".".join(parts) + " " + ", ".join(private)))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_takes_another_package_s_private_name(path):
    bad = _private_reaches(path.read_text(encoding="utf-8"), list(path.relative_to(ROOT).parent.parts), _top(path))
    assert not bad, (f"{path.relative_to(ROOT)} takes private names of another package (give them a public "
                     "name there): " + "; ".join(f"line {ln}: {what}" for ln, what in bad))


def test_the_private_name_checker_sees_each_form():
    for source in ("from ..distances._cumulants import edgeworth_exact\n", "from ..fields import _thread_pool\n",
                   "from getheory.dynamics._checkpoint import atomic_write\n",
                   "import getheory.sweep._database\n"):
        assert _private_reaches(source, ["analytic"], "analytic"), source
    for source in ("from ._kappa import leading_cumulants\n", "from .._json import to_plain\n",
                   "from ..distances import edgeworth_exact\n", "from .._version import __version__\n",
                   "from .._claims import Result\n"):
        assert not _private_reaches(source, ["analytic"], "analytic"), source
    # a module at the package root: its relative imports are the root's
    assert not _private_reaches("from ._rate_tables import rates_markdown\n", [], "rates")
    assert _private_reaches("from .sweep._database import _flat\n", [], "rates")
