"""Property tests of getheory on its own toolkit (getheory.testing).

The Hypothesis profile comes from HYPOTHESIS_PROFILE: ``ci`` (default, derandomised:
deterministic in CI), ``dev`` or ``long`` (:mod:`_profiles`).
"""

from _profiles import load_profile

PROFILE = load_profile()


def pytest_report_header(config):
    return f"hypothesis profile (tests/properties): {PROFILE}"
