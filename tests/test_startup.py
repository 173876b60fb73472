"""What importing getheory and starting the command costs: the modules each entry point loads.

``import getheory`` resolves its public names on first use (getheory._lazy), and the command line
imports only the module of the command that runs, so ``getheory check`` does not pay for the
dynamics (numba), the ridge or the numerical claims.  Each import runs in a fresh interpreter and
reports ``sys.modules``: a module-level import that drags a heavy sibling back in fails here.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

import getheory
import getheory.reports

#: the checkout whose getheory the fresh interpreters import
_CHECKOUT = str(pathlib.Path(getheory.__file__).resolve().parents[1])

#: heavy modules that none of the cheap entry points may load
_HEAVY = ("numba", "scipy.stats", "getheory.dynamics", "getheory.ridge", "getheory.proofs", "getheory._claims",
          "matplotlib")


def _modules_after(code: str) -> set:
    """The names in ``sys.modules`` after running ``code`` in a fresh interpreter (this checkout first on
    the path)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_CHECKOUT, os.environ.get("PYTHONPATH", "")]))
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_getheory_loads_only_the_lazy_table():
    loaded = _modules_after("import getheory")
    assert sorted(m for m in loaded if m.startswith("getheory")) == ["getheory", "getheory._lazy",
                                                                    "getheory._version"]
    assert "numpy" not in loaded


def _run_main(argv: list) -> str:
    """Code that runs ``getheory ARGV`` (``--help`` ends in SystemExit) in the fresh interpreter."""
    return f"from getheory.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("code", ["import getheory.cli", _run_main(["--help"])], ids=["import", "help"])
def test_the_command_line_loads_no_workflow_before_a_command_runs(code):
    loaded = _modules_after(code)
    assert not [m for m in _HEAVY if m in loaded]
    assert not [m for m in ("getheory.check", "getheory.distances", "getheory.sweep") if m in loaded]


def test_the_check_command_loads_no_dynamics_ridge_or_claims():
    loaded = _modules_after(_run_main(["check", "--help"]))
    assert "getheory.cli.check" in loaded and "getheory.check" in loaded
    heavy = [m for m in _HEAVY if m != "scipy.stats"]  # the check's Sobol directions need scipy.stats.qmc
    assert not [m for m in heavy if m in loaded]
    assert not [m for m in loaded if m.startswith("getheory.cli.") and m.split(".")[2] in
                ("dynamics", "ridge", "proofs", "sweep", "report")]
    assert not [m for m in loaded if m.startswith("getheory.reports._") and m != "getheory.reports._check"]


@pytest.mark.parametrize("package", [getheory, getheory.reports], ids=lambda p: p.__name__)
def test_every_public_name_resolves_and_is_listed(package):
    names = {n for names in package._LAZY.values() for n in names}
    assert set(package.__all__) - {"__version__"} == names
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))


def test_a_lazy_name_is_the_object_of_its_module():
    from getheory.check import check_generator
    from getheory.distances import estimate_dms

    assert getheory.check_generator is check_generator and getheory.estimate_dms is estimate_dms
    from getheory import sweep  # a submodule, not a name of the table

    assert sweep.run_sweep is getheory.run_sweep


def test_a_submodule_is_an_attribute_of_its_package_before_anything_imports_it():
    # getheory.fields as before the names became lazy (benchmarks/bench_backends.py read it so); in a
    # fresh interpreter, where no test has imported the submodule yet
    assert "getheory.fields" in _modules_after("import getheory; getheory.fields.auto_batch_size")
    assert "getheory.fields" not in _modules_after("import getheory")


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="module 'getheory' has no attribute 'check_generater'"):
        getheory.check_generater  # noqa: B018
    assert not hasattr(getheory.reports, "write_everything")


def test_a_name_listed_twice_is_refused():
    from getheory._lazy import lazy_attributes

    with pytest.raises(ValueError, match="'x' is given by both getheory.a and getheory.b"):
        lazy_attributes("getheory", {"getheory.a": ("x",), "getheory.b": ("x", "y")}, {})
