"""The examples in getheory's docstrings run in the default test run and show the main entry points.

pytest collects them (``--doctest-modules`` with ``getheory`` among the test paths, pyproject.toml),
so a docstring whose printed numbers drift fails the suite; these tests keep that wiring and the
examples of the entry points a reader starts from.
"""

import doctest
import pathlib
import tomllib

import pytest

import getheory as gt

REPO = pathlib.Path(__file__).resolve().parents[1]

#: the public entry points that show a runnable example
ENTRY_POINTS = [gt.check_generator, gt.CheckOptions, gt.ridge_curves, gt.erm_curves, gt.erm_theory,
                gt.run_dynamics, gt.random_single_layer, gt.get_activation, gt.hermite_coefficients,
                gt.analytic_dms, gt.theory_section, gt.theory_sections]


def test_the_default_run_collects_the_package_s_doctests():
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "getheory" in options["testpaths"]
    assert "--doctest-modules" in options["addopts"].split()
    assert {"NUMBER", "ELLIPSIS"} <= set(options["doctest_optionflags"])


@pytest.mark.parametrize("obj", ENTRY_POINTS, ids=lambda o: o.__name__)
def test_an_entry_point_shows_an_example_that_prints_what_it_checks(obj):
    examples = doctest.DocTestParser().get_examples(obj.__doc__ or "")
    assert examples, f"{obj.__name__}: add an Examples section with >>> lines"
    assert any(e.want.strip() for e in examples), f"{obj.__name__}: its example prints nothing to check"
