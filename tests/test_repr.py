"""The options dataclasses show only what differs from their defaults (getheory._repr).

``help(gt.check_generator)`` and the API pages show ``options=CheckOptions()``, not the ~1,100
characters of every nested field, and a non-default repr evaluates back to the same options.
"""

import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import getheory
from getheory._repr import ShortRepr, short_repr

#: every options dataclass of the package -> keywords of a non-default instance (a new options class
#: must be added here: test_every_options_class_is_listed)
NON_DEFAULT = {
    "CheckOptions": {"N": 512, "D": 256, "seed": 3, "plan": "PlanOptions(time_budget=10.0)",
                     "dms": "DmsOptions(level=0.01, search=SearchOptions(mode='guided', subsample=1000))"},
    "ShardOptions": {"size": 4096, "workers": 2},
    "PlanOptions": {"time_budget": 12.5, "min_pilot": 5000},
    "DmsOptions": {"p": 2, "cumulant": "CumulantOptions(level=0.05)", "certify": True},
    "SearchOptions": {"n_starts": 2},
    "CumulantOptions": {"iterations": 10},
    "StreamOptions": {"groups": 32, "n_plugin": 1000},
    "RidgeOptions": {"alphas": (0.5, 1.0), "lambdas": (0.1,), "seeds": 2},
    "ErmOptions": {"loss": "hinge", "seeds": 2},
    "DynamicsOptions": {"K": 3, "t_max": 5.0, "sgd_seeds": 2},
    "SweepOptions": {"workers": 1, "progress": False},
    "FitOptions": {"n_boot": 500},
}


def _modules():
    return [importlib.import_module(m.name) for m in pkgutil.walk_packages(getheory.__path__, "getheory.")
            if not m.name.endswith("__main__") and ".cli" not in m.name]


def _options_classes() -> dict:
    found = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__ and name.endswith("Options")
                    and dataclasses.is_dataclass(obj)):
                found[name] = obj
    return found


OPTIONS = _options_classes()
NAMESPACE = dict(OPTIONS)


def _make(name: str):
    """The non-default instance of :data:`NON_DEFAULT` (nested options given as their repr)."""
    kw = {k: eval(v, NAMESPACE) if isinstance(v, str) and v.endswith(")") else v
          for k, v in NON_DEFAULT[name].items()}
    return OPTIONS[name](**kw)


def test_every_options_class_is_listed():
    assert set(OPTIONS) == set(NON_DEFAULT), "list each options dataclass in NON_DEFAULT with a non-default instance"


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_an_options_class_shows_its_defaults_as_an_empty_call(name):
    cls = OPTIONS[name]
    assert issubclass(cls, ShortRepr) and cls.__repr__ is ShortRepr.__repr__, \
        f"{name}: derive from getheory._repr.ShortRepr and declare @dataclass(frozen=True, repr=False)"
    assert repr(cls()) == f"{name}()"


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_a_non_default_repr_names_only_what_differs_and_evaluates_back(name):
    options = _make(name)
    text = repr(options)
    assert eval(text, NAMESPACE) == options
    assert all(f"{key}=" in text for key in NON_DEFAULT[name]), text
    assert len(text) < 200, text


def test_the_check_options_name_nested_options_by_their_changes_only():
    o = getheory.CheckOptions(N=512, plan=getheory.PlanOptions(time_budget=10.0))
    assert repr(o) == "CheckOptions(N=512, plan=PlanOptions(time_budget=10.0))"
    # an option given as None means its default, and reads as such
    assert repr(getheory.CheckOptions(plan=None, dms=None)) == "CheckOptions()"


def test_short_repr_shows_a_value_of_another_type_and_leaves_out_hidden_fields():
    @dataclasses.dataclass(frozen=True, repr=False)
    class Toy(ShortRepr):
        rate: float = 1.0
        secret: str = dataclasses.field(default="x", repr=False)
        required: int = 0

    assert repr(Toy()) == "Toy()"
    assert repr(Toy(rate=1)) == "Toy(rate=1)"  # an int for a float default: shown, and still evaluable
    assert repr(Toy(secret="y")) == "Toy()"
    assert short_repr(Toy(required=2)) == "Toy(required=2)"


def _functions_with_options_defaults():
    out = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__ or name.startswith("_"):
                continue
            fns = [obj] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                fns = [obj] + [v for k, v in vars(obj).items() if inspect.isfunction(v) and not k.startswith("_")]
            for fn in fns:
                try:
                    sig = inspect.signature(fn)
                except (TypeError, ValueError):  # a builtin's subclass without a signature of its own
                    continue
                if any(type(p.default).__name__ in OPTIONS for p in sig.parameters.values()):
                    out[f"{module.__name__}.{getattr(fn, '__qualname__', name)}"] = sig
    return out


SIGNATURES = _functions_with_options_defaults()


def test_the_public_functions_with_an_options_default_are_found():
    assert "getheory.check._pipeline.check_generator" in SIGNATURES
    assert "getheory.rates.RateFits" in SIGNATURES


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_a_signature_with_an_options_default_stays_short(name):
    sig = SIGNATURES[name]
    for p in sig.parameters.values():
        if type(p.default).__name__ in OPTIONS:
            assert repr(p.default) == f"{type(p.default).__name__}()", (name, p.name)
    assert len(str(sig)) <= 250, f"{name}{sig}"


def test_help_of_check_generator_shows_the_default_options_in_a_few_characters():
    text = str(inspect.signature(getheory.check_generator))
    assert "options: 'CheckOptions' = CheckOptions()," in text and len(text) < 250
