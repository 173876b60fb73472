"""Sphinx configuration of the getheory documentation site.

Build (offline: nothing here reaches the network)::

    pip install ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The pages generated at build time (the command-line reference, the sweep-file keys, the API
stubs and the gallery) land in ignored folders of ``docs/``; ``docs/_ext/getheory_docs.py``
writes the first two from the code itself, so that they cannot drift from it.
"""

from __future__ import annotations

import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))  # the checkout's package wins over any installed copy
os.environ.setdefault("MPLBACKEND", "Agg")

import getheory

project = "getheory"
author = "the getheory authors"
copyright = "the getheory authors"
release = getheory.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/mathjax: the maths renders without a network
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "getheory_docs",  # docs/_ext: CLI reference, sweep-file keys, theory § anchors
]

# --- sources -------------------------------------------------------------------------------------
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]
templates_path = ["_templates"]

# --- maths and Markdown --------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# the theory's tables and maths are the source; a heading that starts a page below level 1 is fine
suppress_warnings = ["myst.header"]

# --- API reference -------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True  # the public names live in private modules
autosummary_ignore_module_all = False  # a module page lists its __all__, nothing else
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types; signatures stay short
autodoc_default_options = {"member-order": "bysource"}
# optional array libraries that autodoc must not import (none of them is a dependency)
autodoc_mock_imports = ["cupy", "cupyx", "torch", "jax", "jaxlib"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# --- cross-references: broken ones fail the build ------------------------------------------------
nitpicky = True
nitpick_ignore_regex = [
    # no intersphinx (the build is offline): names of other libraries cannot be resolved
    (r"py:.*", (r"(numpy|np|scipy|dask|distributed|cupy|torch|jax|hypothesis|matplotlib|ot|sqlite3|pathlib"
                r"|array_api_strict|array_api_compat|concurrent|multiprocessing|os|argparse|collections"
                r"|typing|threading|contextlib|enum|dataclasses|time|logging|zipfile|json)(\..*)?")),
    # private modules and names (a leading underscore) are not API, so not on the site; the docstrings
    # cite them for readers of the source
    (r"py:.*", r"(.*\.)?_[A-Za-z0-9].*"),
]

# --- gallery -------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",  # every plot_*.py runs at build time
    "abort_on_example_error": True,  # an example that raises fails the build, naming it
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "plot_gallery": "True",
}

# --- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"getheory {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "use_edit_page_button": False,
    "icon_links": [],
}
html_static_path = []
html_last_updated_fmt = None
