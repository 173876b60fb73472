"""Every name a public module of getheory lists in ``__all__`` is there: ``from getheory.X import *``
works and the API reference (docs/reference) documents each of them."""

import importlib
import pathlib

import pytest

import getheory

_ROOT = pathlib.Path(getheory.__file__).parent
PUBLIC = sorted(p.stem if p.is_file() else p.name for p in _ROOT.iterdir()
                if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists()))


@pytest.mark.parametrize("name", PUBLIC)
def test_every_name_of_a_public_modules_all_exists(name):
    module = importlib.import_module(f"getheory.{name}")
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"getheory.{name}.__all__ names {missing}, which the module does not have"
