"""pytest wiring for the proofs (docs/theory.md §2-§5; issue 3).

``--full`` (or ``GETHEORY_PROOFS_FULL=1``) runs the full sizes; the default
is the reduced size that fits the CI budget.  ``test_claims.py`` calls each
claim's ``check(full)`` from :mod:`getheory._claims` -- the same function
``getheory proofs`` calls.
"""

import pytest

from getheory._claims import full_requested


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="proofs_numeric: run the full-size checks (slow)")


@pytest.fixture(scope="session")
def full(request):
    try:
        opt = request.config.getoption("--full")
    except ValueError:
        opt = False
    return bool(opt) or full_requested()
