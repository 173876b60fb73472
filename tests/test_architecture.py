"""The layers of getheory import one way only: foundations < maths < workflows < presentation.

A module may import its own layer and the layers below it, never one above (README.md,
"Architecture").  Imports are read from the source with :mod:`ast` (module level and inside
functions alike), so a lazy import of a higher layer is caught too.
"""

import ast
import pathlib
import re

import pytest

import getheory

ROOT = pathlib.Path(getheory.__file__).parent

#: top-level module or subpackage of getheory -> layer (0: foundations ... 3: presentation)
LAYERS = {
    # foundations: shared plumbing every layer may use
    "_version": 0, "_validation": 0, "_json": 0, "_progress": 0, "_deadline": 0, "_seeds": 0, "_cluster": 0,
    "backend": 0, "_run": 0,
    # maths: activations -> generators -> fields, moments -> distances, bounds; learning dynamics
    "activations": 1, "generators": 1, "trained": 1, "fields": 1, "moments": 1, "distances": 1,
    "bounds": 1, "analytic": 1, "dynamics": 1, "ridge": 1,
    # workflows: check, plan, sweep -> rates, the numerical claims, the property-testing toolkit
    "check": 2, "plan": 2, "sweep": 2, "rates": 2, "proofs": 2, "_claims": 2, "testing": 2,
    # presentation: report writers and the command line
    "reports": 3, "cli": 3, "__main__": 3, "__init__": 3,
}
NAMES = {0: "foundations", 1: "maths", 2: "workflows", 3: "presentation"}


def _top(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imported_tops(source: str, pkg: list):
    """(line, top-level getheory module) of every getheory import in the source of a module
    that lives in the getheory folder ``pkg`` (a list of folder names below getheory/)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    yield node.lineno, parts[0]
                else:  # "from . import x" at the package root
                    yield from _root_names(node)
            elif node.module and node.module.split(".")[0] == "getheory":
                parts = node.module.split(".")[1:]
                if parts:
                    yield node.lineno, parts[0]
                else:  # "from getheory import x"
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


#: the one exception to the layers: a result's ``_repr_markdown_`` method (the notebook's display
#: hook, which is presentation) may import the report writers lazily, so that a result shows as its
#: report table in a notebook; nothing else inside or outside such a method may
DISPLAY_HOOK, DISPLAY_LAYER = "_repr_markdown_", "reports"


def _display_hook_lines(source: str) -> set:
    """The lines of every ``_repr_markdown_`` method (a function defined directly in a class body)."""
    lines = set()
    for cls in ast.walk(ast.parse(source)):
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == DISPLAY_HOOK:
                    lines.update(range(fn.lineno, fn.end_lineno + 1))
    return lines


def _violations(source: str, pkg: list, own: int) -> list:
    hook = _display_hook_lines(source)
    return [(line, top) for line, top in _imported_tops(source, pkg) if top in LAYERS and LAYERS[top] > own
            and not (top == DISPLAY_LAYER and line in hook)]


def test_every_module_has_a_layer():
    missing = sorted({_top(p) for p in FILES} - set(LAYERS))
    assert not missing, f"give these modules a layer in tests/test_architecture.py and README.md: {missing}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path):
    own = LAYERS[_top(path)]
    bad = _violations(path.read_text(encoding="utf-8"), list(path.relative_to(ROOT).parent.parts), own)
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


def test_only_a_display_hook_may_import_the_report_writers_lazily():
    """``_repr_markdown_`` methods may import ``reports`` (a result displays as its report table in a
    notebook); the exception lets through no other layer, no other function and no module-level import."""
    hook = ("class Result:\n    def _repr_markdown_(self):\n        from ..reports import check_markdown\n"
            "        return check_markdown(self)\n")
    assert not _violations(hook, ["check"], LAYERS["check"])
    others = {
        "another method": "class R:\n    def _repr_html_(self):\n        from ..reports import format_check\n",
        "a function": "def _repr_markdown_(r):\n    from ..reports import format_check\n",
        "the command line": "class R:\n    def _repr_markdown_(self):\n        from ..cli import main\n",
        "a module-level import": "from ..reports import format_check\n" + hook,
        "another method of the same class": hook + "    def format(self):\n        import getheory.reports\n",
    }
    for what, source in others.items():
        assert _violations(source, ["check"], LAYERS["check"]), what


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
