"""Collection rules for the whole repository.

The default run collects the examples (``>>>``) in getheory's docstrings (``--doctest-modules``,
pyproject.toml).  A ``conftest.py`` is loaded by pytest as a conftest, never collected as a module
of doctests: the suite has several (tests/, tests/check/, tests/properties/, proofs_numeric/), all
named ``conftest`` outside any package, and collecting them as modules fails on the name clash.
"""


def pytest_ignore_collect(collection_path, config):
    """Leave out ``conftest.py`` files as collection targets (they are still loaded as conftests)."""
    if collection_path.name == "conftest.py":
        return True
    return None
