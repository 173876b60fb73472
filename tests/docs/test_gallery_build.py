"""An example of the gallery that raises fails the documentation build, naming the example.

A small Sphinx project uses the site's own gallery settings (docs/conf.py's
``sphinx_gallery_conf``) on one example that raises; the build must stop with an error that
names the script.
"""

import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("sphinx_gallery", reason="the docs extra is not installed: pip install '.[docs]'")

DOCS_CONF = pathlib.Path(__file__).resolve().parents[2] / "docs" / "conf.py"

CONF = """
import runpy
site = runpy.run_path({conf!r})["sphinx_gallery_conf"]
extensions = ["sphinx_gallery.gen_gallery"]
sphinx_gallery_conf = {{**site, "examples_dirs": {examples!r}, "gallery_dirs": "auto_examples"}}
"""

EXAMPLE = '''"""
Boom
====

An example that raises.
"""

raise RuntimeError("this example is broken")
'''


def test_an_example_that_raises_fails_the_build_and_is_named(tmp_path):
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n", encoding="utf-8")
    (examples / "plot_boom.py").write_text(EXAMPLE, encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF.format(conf=str(DOCS_CONF), examples=str(examples)), encoding="utf-8")
    (src / "index.rst").write_text("Test\n====\n\n.. toctree::\n\n   auto_examples/index\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode != 0, "a raising example did not fail the build"
    out = run.stdout + run.stderr
    assert "plot_boom.py" in out and "this example is broken" in out, out[-2000:]
