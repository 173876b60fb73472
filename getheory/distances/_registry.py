"""The one registry of d_MS estimators (docs/theory.md §4): what each is called, how a task's
record yields it, and how it is drawn.

A task's record stores d_MS as :meth:`DmsEstimate.to_dict` wrote it (a JSON mapping, here
called ``d_MS``).  Each :class:`Estimator` entry says

* ``name`` -- the d_MS series it is (records, rates and reports key it by this name);
* ``read`` -- how a record's ``d_MS`` mapping yields its :class:`Reading`: value, standard
  error and whether the point is resolved (the estimator's own test; an upper bound counts
  every point);
* ``label`` and ``column`` -- its name in plot legends and in report tables;
* ``style`` -- its plot colour and markers;
* ``record_keys`` -- the parts of ``d_MS`` it fills (``None`` when it did not run), and
  ``chosen_as`` -- the ``d_MS.estimator`` label of a task that reported it;
* ``series`` (a rate of its own is fitted and tabulated), ``resolved_column`` (tables count
  the seeds it resolves), ``evidence`` (further per-N table columns next to its value),
  ``upper_bound`` (an upper bound, not an estimate), ``drawn`` (its points and fit line are
  drawn in the d_MS plot).

Records (:class:`getheory.sweep.TaskRecord`), rate fits (:mod:`getheory.rates`) and the rate
report (:mod:`getheory.reports`) read only this registry, so an estimator added here with
:func:`register_estimator` (next to the module that computes it) reaches every one of them.
The series (:func:`estimator_series`) are fitted in registration order, whose index seeds
each fit's bootstrap: new entries go last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["REPORTED", "Estimator", "Evidence", "PlotStyle", "Reading", "absent_parts", "chosen_estimator",
           "estimator_series", "estimators", "get_estimator", "register_estimator", "unregister_estimator"]

#: the series of the d_MS each task reported (chosen among the estimators by a recorded rule)
REPORTED = "reported"


@dataclass(frozen=True)
class Reading:
    """One estimator's value in one record: ``value`` and ``se`` (None when missing or not
    finite) and ``resolved`` (its own test says the point resolves the signal)."""

    value: float | None
    se: float | None
    resolved: bool


#: what a record without the estimator reads as
MISSING = Reading(None, None, False)


@dataclass(frozen=True)
class PlotStyle:
    """Matplotlib colour and marker of an estimator; ``reported_marker`` marks a row's
    reported d_MS when this estimator was the one chosen (None: not drawn as such)."""

    color: str
    marker: str
    reported_marker: str | None = None


@dataclass(frozen=True)
class Estimator:
    """One d_MS estimator (or series) of the registry; see the module docstring."""

    name: str
    label: str
    column: str
    description: str
    read: Callable[[Mapping], Reading]
    style: PlotStyle
    record_keys: tuple = ()
    chosen_as: str | None = None
    series: bool = True
    resolved_column: bool = False
    evidence: tuple = ()
    upper_bound: bool = False
    drawn: bool = True


@dataclass(frozen=True)
class Evidence:
    """A per-N table column next to an estimator's value: the mean over seeds of ``read(d_MS)``
    under the table row's key ``key`` and the heading ``column``."""

    key: str
    column: str
    read: Callable[[Mapping], float | None]


def finite(x) -> float | None:
    """x as a float, or None when missing, boolean or not finite."""
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _part(d: Mapping, key: str) -> Mapping:
    return d.get(key) or {}


def _plug_in(d: Mapping) -> Reading:
    if not d.get("plug_in"):
        return MISSING
    return Reading(finite(_part(d, "plug_in").get("value")), finite(_part(d, "floor").get("sd")),
                   bool(d.get("resolved")))


def _excess(d: Mapping) -> Reading:
    if not d.get("plug_in"):
        return MISSING
    return Reading(finite(d.get("excess")), None, bool(d.get("resolved")))


def _edgeworth(d: Mapping) -> Reading:
    cu = _part(d, "cumulant")
    return Reading(finite(cu.get("edgeworth_w1")), finite(cu.get("edgeworth_se")), bool(cu.get("resolved")))


def _certified(d: Mapping) -> Reading:
    return Reading(finite(_part(d, "certified").get("value")), None, True)


def _analytic(d: Mapping) -> Reading:
    an = _part(d, "analytic")
    if not an:
        return MISSING
    return Reading(finite(an.get("edgeworth_w1")), finite(an.get("truncation_error")), bool(d.get("resolved")))


def _reported(d: Mapping) -> Reading:
    """The value the task reported, resolved by the test of the estimator it chose; records
    written before the choice was recorded (no ``estimator``) have none."""
    if "estimator" not in d:
        return MISSING
    chosen = chosen_estimator(d.get("estimator"))
    value = finite(d.get("value"))
    resolved = chosen is not None and chosen.read(d).resolved
    return Reading(value, finite(d.get("se")), resolved and value is not None)


def _floor_mean(d: Mapping) -> float | None:
    return finite(_part(d, "floor").get("mean"))


_REGISTRY: dict = {}


def register_estimator(entry: Estimator) -> Estimator:
    """Add ``entry`` (last); a name already registered is refused."""
    if not isinstance(entry, Estimator):
        raise TypeError(f"register takes an Estimator, got {type(entry).__name__}")
    if entry.name in _REGISTRY:
        raise ValueError(f"d_MS estimator {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def unregister_estimator(name: str) -> Estimator:
    """Remove and return the entry ``name``."""
    return _REGISTRY.pop(get_estimator(name).name)


def get_estimator(name: str) -> Estimator:
    """The entry ``name``; KeyError naming the registered ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown d_MS series {name!r}; choose one of {', '.join(_REGISTRY)}") from None


def estimators() -> tuple:
    """Every entry, in registration order."""
    return tuple(_REGISTRY.values())


def estimator_series() -> tuple:
    """The entries fitted as d_MS series of their own, in fit (registration) order."""
    return tuple(e for e in _REGISTRY.values() if e.series)


def chosen_estimator(label) -> Estimator | None:
    """The entry a task's ``d_MS.estimator`` label names ("plug-in", "edgeworth", ...), or None."""
    return next((e for e in _REGISTRY.values() if e.chosen_as is not None and e.chosen_as == label), None)


def absent_parts(*ran: str) -> dict:
    """``{key: None}`` for the ``d_MS`` parts of every estimator except those named in ``ran``."""
    return {k: None for e in _REGISTRY.values() if e.name not in ran for k in e.record_keys}


# the built-in estimators; "reported" closes the series of earlier versions, so that the
# bootstrap seeds of the fits keep their values
register_estimator(Estimator(
    "plug_in", "plug-in", "plug-in",
    "plug-in max-sliced W1 (resolved points: plug-in above its floor's rank-test threshold)",
    _plug_in, PlotStyle("C0", "o", reported_marker="s"), record_keys=("plug_in", "floor"), chosen_as="plug-in",
    evidence=(Evidence("floor_mean", "floor", _floor_mean),)))
register_estimator(Estimator(
    "excess", "excess over floor", "excess", "plug-in minus floor mean (resolved plug-in points)",
    _excess, PlotStyle("C2", "s"), record_keys=("excess",), resolved_column=True, drawn=False))
register_estimator(Estimator(
    "edgeworth", "Edgeworth (cumulants)", "Edgeworth",
    "cumulant/Edgeworth W1 (resolved points: the held-out κ3/κ4 test resolves the signal)",
    _edgeworth, PlotStyle("C1", "^", reported_marker="^"), record_keys=("cumulant",), chosen_as="edgeworth",
    resolved_column=True))
register_estimator(Estimator(
    "certified", "certified upper bound", "certified",
    "certified upper bound (every point where it was computed; an upper bound, not an estimate)",
    _certified, PlotStyle("C3", "v"), record_keys=("certified",), upper_bound=True))
register_estimator(Estimator(
    REPORTED, "reported d_MS", "reported d_MS",
    "d_MS as each task reported it (plug-in or Edgeworth, chosen by the recorded rule; resolved points: "
    "the chosen estimator's own test); none for legacy records",
    _reported, PlotStyle("k", "*")))
register_estimator(Estimator(
    "analytic", "analytic Edgeworth", "analytic",
    "leading-order Edgeworth d_MS from pattern sums, no sampling (docs/theory.md §4.2; resolved when the value "
    "exceeds twice its truncation error); reported by analytic sweeps, not fitted as a series of its own",
    _analytic, PlotStyle("C5", "D"), record_keys=("analytic",), chosen_as="analytic", series=False, drawn=False))
