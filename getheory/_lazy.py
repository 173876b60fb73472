"""A package's public names imported on first use (PEP 562), so that importing the package is cheap.

A package lists its public names in a table ``_LAZY = {"getheory.module": ("name", ...), ...}`` (a
module-level dict literal under that name: ``tests/test_architecture.py`` and
``benchmarks/import_graph.py`` read each module it names as an import of the package, so the layer
check sees every arrow) and sets ``__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())``.
The first access of a name imports its module and stores the value in the package's namespace;
later accesses are plain lookups.  A submodule's name (``getheory.fields``) imports that submodule,
as it did when the package imported its submodules at once.  ``import getheory`` then loads no module of the package but
this one and ``_version``, and ``getheory check`` loads what the check runs, not dynamics or the
numerical claims.
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, table: dict, namespace: dict):
    """``__getattr__`` and ``__dir__`` of a package whose public names live in its submodules.

    Parameters
    ----------
    package : str
        The package's dotted name (its ``__name__``), for the error message.
    table : dict
        ``{dotted module name: tuple of the names it gives the package}``.
    namespace : dict
        The package's ``globals()``: a name, once imported, is stored there.

    Returns
    -------
    (callable, callable)
        The module-level ``__getattr__(name)`` and ``__dir__()`` of PEP 562.
    """
    where = {}
    for module, names in table.items():
        for name in names:
            if name in where:
                raise ValueError(f"{package}: {name!r} is given by both {where[name]} and {module}; list it once")
            where[name] = module

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
                # a submodule (``getheory.fields``), as when the package imported its submodules itself
                value = importlib.import_module(f"{package}.{name}")
                namespace[name] = value
                return value
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
