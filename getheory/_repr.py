"""The short repr of the options dataclasses: the fields that differ from their defaults, no more.

``CheckOptions()`` for the defaults and ``CheckOptions(N=512, seed=3)`` otherwise, nested options
alike (``CheckOptions(plan=PlanOptions(time_budget=10.0))``), so that a signature whose default
is an options object reads ``options=CheckOptions()`` in ``help()`` and in the API pages (it
expanded every field of every nested option, about 1,100 characters), and the repr stays
evaluable: ``eval(repr(o)) == o`` wherever the fields' own reprs are.

A field's default is its value in ``cls()``, the defaults after ``__post_init__`` (so an option
given as ``None`` that means its default, ``CheckOptions(plan=None)``, reads ``CheckOptions()``);
for a class with a required field, the declared default of each field that has one.
"""

from __future__ import annotations

import dataclasses
import functools

__all__ = ["ShortRepr", "short_repr"]


class ShortRepr:
    """Mixin of a frozen options dataclass, declared ``@dataclass(frozen=True, repr=False)`` (a
    dataclass writes its own ``__repr__`` otherwise): its repr is :func:`short_repr`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return short_repr(self)


def short_repr(obj) -> str:
    """``Name(field=value, ...)`` of a dataclass instance with only the fields (``repr=True``) whose
    values differ from the class's defaults, in field order."""
    defaults = _defaults(type(obj))
    parts = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.repr and not (f.name in defaults and _same(value, defaults[f.name])):
            parts.append(f"{f.name}={value!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


@functools.cache
def _defaults(cls) -> dict:
    """Field name -> default value of the dataclass ``cls`` (the module docstring says which)."""
    try:
        made = cls()
    except TypeError:  # a required field: the declared defaults
        out = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
        return out
    return {f.name: getattr(made, f.name) for f in dataclasses.fields(cls)}


def _same(value, default) -> bool:
    """Whether ``value`` is its default: the same type and equal (an int for a float default is shown)."""
    if value is default:
        return True
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # an array's elementwise ==: shown
        return False
