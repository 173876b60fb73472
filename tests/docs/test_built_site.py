"""The built documentation site (docs/_build/html) has every page and anchor the code needs.

Run after the build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` then
``python -m pytest tests/docs``; ``.ci/run`` does both, in that order.  Without a build these
tests skip, except in CI (``CI`` set), where a missing build fails them.
"""

import html
import importlib
import os
import pathlib
import re

import pytest

import getheory
from getheory.cli import build_parser
from getheory.sweep import SPEC_KEYS
from getheory.sweep._spec import _ALLOWED

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "_build" / "html"
GENERATED = SITE / "reference" / "generated"

if not (SITE / "index.html").exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"the documentation is not built ({SITE} has no index.html): .ci/run builds it first")
    pytest.skip("the documentation is not built: python -m sphinx -W --keep-going -b html docs docs/_build/html",
                allow_module_level=True)


def _page(rel: str) -> str:
    path = SITE / rel
    assert path.exists(), f"the site has no page {rel}"
    return path.read_text(encoding="utf-8")


def _public_modules() -> list:
    root = pathlib.Path(getheory.__file__).parent
    return sorted(p.stem if p.is_file() else p.name for p in root.iterdir()
                  if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists()))


def test_every_name_of_the_package_root_has_an_api_page():
    missing = [n for n in getheory.__all__ if not n.startswith("_")
               and not (GENERATED / f"getheory.{n}.html").exists()]
    assert not missing, f"no API page for getheory.{missing}"


def test_every_public_module_has_an_api_page_documenting_each_name_of_its_all():
    missing = []
    for mod in _public_modules():
        page = GENERATED / f"getheory.{mod}.html"
        if not page.exists():
            missing.append(f"getheory.{mod}")
            continue
        ids = set(re.findall(r'\sid="([^"]+)"', page.read_text(encoding="utf-8")))
        names = importlib.import_module(f"getheory.{mod}").__all__
        missing += [f"getheory.{mod}.{n}" for n in names if not n.startswith("_") and f"getheory.{mod}.{n}" not in ids]
    assert not missing, f"the API pages do not document {missing}"


def test_every_gallery_example_has_a_page_with_its_figures():
    scripts = sorted((ROOT / "examples" / "gallery").glob("plot_*.py"))
    assert scripts, "examples/gallery has no plot_*.py"
    for script in scripts:
        page = _page(f"auto_examples/{script.stem}.html")
        if "plt." in script.read_text(encoding="utf-8"):
            images = re.findall(r'<img [^>]*src="(\.\./_images/sphx_glr_[^"]+\.png)"', page)
            assert images, f"the gallery page of {script.name} shows no figure"
            assert all((SITE / "auto_examples" / src).exists() for src in images), images


def _cited_sections() -> set:
    cited = set()
    for path in (ROOT / "getheory").rglob("*.py"):
        for m in re.finditer(r"§\s?(\d+(?:\.\d+)?)", path.read_text(encoding="utf-8")):
            cited.add(m.group(1))
    return cited


def test_each_theory_section_the_code_cites_has_an_anchor():
    page = _page("theory.html")
    ids = set(re.findall(r'\sid="([^"]+)"', page))
    cited = _cited_sections()
    assert {"4.1", "7.4", "10"} <= cited, cited  # the grep itself works
    missing = sorted((s for s in cited if "s" + s.replace(".", "-") not in ids), key=lambda s: [int(x) for x in
                                                                                             s.split(".")])
    assert not missing, f"theory.html has no anchor for §{missing} (expected ids like s4-1)"


def test_the_maths_is_rendered_by_a_local_mathjax():
    page = _page("theory.html")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax and all(not s.startswith(("http:", "https:", "//")) for s in mathjax), mathjax
    assert all((SITE / s.split("?")[0]).exists() for s in mathjax), mathjax
    assert r"\(" in page or r"\[" in page, "theory.html holds no maths for MathJax"


def test_the_cli_reference_lists_every_option_of_every_command():
    page = html.unescape(_page("reference/cli.html"))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [f"{name} {opt}" for name, p in sub.choices.items() for a in p._actions
               for opt in a.option_strings if opt not in page]
    assert len(sub.choices) >= 7 and not missing, f"the CLI reference lacks {missing}"


def test_the_sweep_file_reference_lists_every_key_the_validator_accepts():
    page = html.unescape(_page("reference/sweep_file.html"))
    tables = re.split(r'id="sweep-', page)
    for table, keys in _ALLOWED.items():
        section = next((t for t in tables if t.startswith(f'{table or "top"}"')), None)
        assert section is not None, f"the sweep-file reference has no section for [{table}]"
        missing = [k for k in keys if f">{k}<" not in section]
        assert not missing, f"the sweep-file reference's [{table}] lacks {missing}"
    assert len(SPEC_KEYS) == sum(len(k) for k in _ALLOWED.values())


def test_an_api_page_links_the_theory_sections_its_docstring_cites():
    page = _page("reference/generated/getheory.check_generator.html")
    assert 'href="../../theory.html#s6"' in page and 'href="../../theory.html#s4-1"' in page
