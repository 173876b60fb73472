"""Hypothesis profiles of getheory's property tests, chosen by ``HYPOTHESIS_PROFILE``.

* ``ci`` (the default): derandomised, so every run draws the same examples (the seed is
  fixed per test by Hypothesis from the test's name), 30 examples for a cheap test, no
  deadline, no example database, and the reproduction blob printed on failure;
* ``dev``: random, 200 examples, with the local example database;
* ``long``: random, 2000 examples, for long local runs.

Tests whose body is expensive declare their budget relative to a cheap one with
:func:`examples`, so ``long`` scales them too.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILES = {
    "ci": {"derandomize": True, "max_examples": 30, "deadline": None, "print_blob": True, "database": None},
    "dev": {"max_examples": 200, "deadline": None, "print_blob": True},
    "long": {"max_examples": 2000, "deadline": None, "print_blob": True},
}
_CI_EXAMPLES = PROFILES["ci"]["max_examples"]

for _name, _kw in PROFILES.items():
    settings.register_profile(_name, **_kw)


def load_profile() -> str:
    """Load the profile named by HYPOTHESIS_PROFILE (default ``ci``); returns its name."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    if name not in PROFILES:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r} is not a getheory profile; use one of {', '.join(PROFILES)}")
    settings.load_profile(name)
    return name


def examples(n_ci: int) -> int:
    """``n_ci`` examples under ``ci``, scaled by the loaded profile's max_examples / 30."""
    return max(1, round(n_ci * settings.default.max_examples / _CI_EXAMPLES))
