"""The gallery (examples/gallery/plot_*.py): sphinx-gallery scripts on the public API.

Running them is the documentation build's job (each runs in well under a minute); the default run
checks what makes them gallery pages: each compiles, opens with a title docstring (a title line
underlined with ``=`` and a paragraph), has ``# %%`` cells, imports only getheory's public names and
writes nothing but figures; and together they cover the topics the gallery promises.
"""

import ast
import pathlib
import re

import pytest

GALLERY = pathlib.Path(__file__).resolve().parents[1] / "examples" / "gallery"
SCRIPTS = sorted(GALLERY.glob("plot_*.py"))

#: topic -> a name whose use shows it is covered
TOPICS = {
    "checking a single-layer generator": "check_generator",
    "your own generator": "CallableGenerator",
    "a trained network": "load_dense",
    "a small sweep and its rate plot": "run_sweep",
    "a property test": "getheory.testing",
    "a sharded point on a LocalCluster": "LocalCluster",
    "analytic d_MS at large N": "analytic_dms",
    "ridge learning curves": "ridge_curves",
    "SGD against the ODEs": "run_dynamics",
    "an ERM classification curve": "erm_curves",
}


def test_the_gallery_has_at_least_eight_scripts_and_a_header():
    assert len(SCRIPTS) >= 8, [p.name for p in SCRIPTS]
    assert (GALLERY / "GALLERY_HEADER.rst").read_text(encoding="utf-8").startswith("Gallery\n=======\n")


def test_the_gallery_covers_every_topic():
    text = "\n".join(p.read_text(encoding="utf-8") for p in SCRIPTS)
    missing = [topic for topic, name in TOPICS.items() if name not in text]
    assert not missing, f"no gallery script covers: {missing}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_compiles_and_opens_with_a_title_docstring(path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(compile(source, str(path), "exec", flags=ast.PyCF_ONLY_AST))
    doc = ast.get_docstring(tree, clean=False)
    assert doc, f"{path.name}: a sphinx-gallery script opens with a docstring"
    lines = doc.strip("\n").splitlines()
    assert len(lines) >= 4 and re.fullmatch(r"=+", lines[1]) and len(lines[1]) == len(lines[0]), \
        f"{path.name}: the docstring's first line is the title, underlined with '=' of its length"
    assert lines[2] == "" and lines[3].strip(), f"{path.name}: a paragraph after the title says what it shows"
    assert "\n# %%\n" in source, f"{path.name}: cut the script into '# %%' cells"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_uses_the_public_api_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = []
    for node in ast.walk(tree):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                 [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        if isinstance(node, ast.ImportFrom):
            names += [f"{node.module}.{a.name}" for a in node.names]
        private += [n for n in names if n.startswith("getheory") and any(p.startswith("_") for p in n.split("."))]
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            private.append(node.attr)
    assert not private, f"{path.name} reaches private names: {private}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_a_script_writes_nothing_into_the_repository(path):
    source = path.read_text(encoding="utf-8")
    for call in ("savefig", "write_text", "write_bytes", "save_dense", "write_report", "to_csv", "open("):
        assert call not in source, f"{path.name} writes a file ({call}): the gallery only shows figures"
    if "run_sweep" in source or "ResultsDB" in source:
        assert "tempfile.TemporaryDirectory()" in source, f"{path.name}: put the sweep database in a temporary folder"
