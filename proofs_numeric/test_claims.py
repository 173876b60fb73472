"""Every numerical claim of the registry (docs/theory.md §2-§5, §4.2, §8), one parametrised test.

Each case calls its claim's ``check(full)`` from :mod:`getheory._claims` -- the same function
``getheory proofs`` calls -- and fails listing every ``fail`` result.  ``--full`` (or
``GETHEORY_PROOFS_FULL=1``) runs the full sizes.  A claim added to
:data:`getheory._claims.CLAIM_MODULES` is tested here without a new file.
"""

import pytest

from getheory._claims import CLAIM_MODULES, assert_no_failure, load_claim

#: claims whose reduced size takes more than 10 s on 2 busy cores (measured with --durations; run in CI all the same)
SLOW = {"theorem", "floor", "kernels", "ridge", "analytic", "hermite", "chaos", "stein"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CLAIM_MODULES])
def test_claim_holds(name, full):
    assert_no_failure(load_claim(name).check(full=full))
