"""The one registry of d_MS estimators (docs/theory.md §4): what each is called, how it is
computed and set, how a task's record and the sweep database store it, and how it is drawn.

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
  drawn in the d_MS plot);
* ``compute`` -- for an estimator that computes something beyond the built-in ones: how its
  ``record_keys`` parts come from what the check has (an :class:`EstimatorInput`: the streamed
  :class:`~getheory.distances.FieldStats`, the Gaussian match, the :class:`DmsOptions` and a
  seed of its own); :func:`getheory.distances.estimate_dms` runs it after the built-in ones;
* ``settings`` -- its :class:`Setting` entries: each is a ``getheory check`` flag, a value in
  :class:`DmsOptions` (a field of its own, or ``DmsOptions.settings[name]``) and, unless the
  spec validates it itself, a key of a sweep spec's [estimator] table;
* ``columns`` -- the searchable :class:`Column` entries of the sweep database it fills;
* ``table_rows`` -- its rows in the check report's d_MS table.

The check (:func:`~getheory.distances.estimate_dms`), ``getheory check``'s flags, the sweep
spec and its tasks, records (:class:`getheory.sweep.TaskRecord`), the database's columns, rate
fits (:mod:`getheory.rates`) and the check and rate reports (:mod:`getheory.reports`) read only
this registry, so an estimator added here with :func:`register_estimator` (next to the module
that computes it) reaches every one of them.  The series (:func:`estimator_series`) are fitted
in registration order, whose index seeds each fit's bootstrap: new entries go last.  An entry
registered outside this package must be registered in every process that runs checks (its
module imported there: a sweep's pool or Dask workers too); options naming a setting that is
not registered are refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .._validation import positive_int_value

__all__ = ["LEGACY_ESTIMATOR", "REPORTED", "Column", "Estimator", "EstimatorInput", "Evidence", "PlotStyle", "Reading",
           "Setting", "absent_parts", "chosen_estimator", "computing_estimators", "estimator_series",
           "estimator_settings", "estimators", "get_estimator", "record_columns", "register_estimator",
           "spec_settings", "unregister_estimator"]

#: the series of the d_MS each task reported (chosen among the estimators by a recorded rule)
REPORTED = "reported"
#: the ``estimator`` column of a record written before d_MS recorded its choice
LEGACY_ESTIMATOR = "legacy"


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
class EstimatorInput:
    """What a computing estimator gets from the check (its ``compute(inp)``).

    Attributes
    ----------
    stats : FieldStats
        The finished stream of the fields z = (λ, ν): per-group power sums on the host and the
        plug-in reservoir (first rows, on the stream's backend).
    mean, cov : ndarray
        The Gaussian match P̂ = N(mean, cov) (host arrays).
    options : DmsOptions
        The check's d_MS options; ``options.setting(name)`` reads a registered setting.
    seed : numpy.random.SeedSequence
        The estimator's own seed, a child of the check's ``dms`` stream (the built-in
        estimators' draws do not change when an estimator is registered).
    moment_noise : MomentNoise or None
        How the match was estimated, when by Monte Carlo.
    """

    stats: object
    mean: object
    cov: object
    options: object
    seed: object
    moment_noise: object = None


@dataclass(frozen=True)
class Setting:
    """One setting of an estimator.

    It is the ``getheory check`` flag ``--name-with-dashes`` (``help``, ``metavar``; a boolean
    default makes a switch), the value ``DmsOptions.<name>`` (a field of :class:`DmsOptions`) or
    ``DmsOptions.settings[name]`` (any other name), and with ``in_spec`` the key
    ``estimator.<name>`` of a sweep spec.  ``convert`` turns a command-line text or a TOML value
    into the value, raising ValueError saying what is wrong; ``choices`` limits it.
    """

    name: str
    default: object
    help: str
    convert: Callable = str
    choices: tuple | None = None
    metavar: str | None = None
    in_spec: bool = True

    @property
    def flag(self) -> str:
        """The ``getheory check`` flag."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Column:
    """A searchable column of the sweep database's ``tasks`` table: its ``name``, its SQLite
    ``kind`` ("REAL": a finite float or NULL, "INTEGER", "TEXT"), how a record's ``d_MS``
    mapping yields its value (None: NULL) and the database ``schema`` that introduced it (the
    built-in columns: 1 or 2; None for an estimator's added since, whose columns a table gains
    after the earlier ones)."""

    name: str
    kind: str
    read: Callable[[Mapping], object]
    schema: int | None = None

    def __post_init__(self):
        if self.kind not in ("REAL", "INTEGER", "TEXT"):
            raise ValueError(f"column {self.name!r}: kind must be REAL, INTEGER or TEXT, got {self.kind!r}")


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
    compute: Callable[[EstimatorInput], Mapping] | None = None
    settings: tuple = ()
    columns: tuple = ()
    table_rows: Callable[[Mapping], list] | None = None


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


def _flag(on) -> bool:
    if not isinstance(on, bool):
        raise TypeError(f"must be true or false, got {on!r}")
    return on


_REGISTRY: dict = {}


def register_estimator(entry: Estimator) -> Estimator:
    """Add ``entry`` (last); a name already registered is refused, and so is a record part,
    a database column or a setting that another entry already has."""
    if not isinstance(entry, Estimator):
        raise TypeError(f"register takes an Estimator, got {type(entry).__name__}")
    if entry.name in _REGISTRY:
        raise ValueError(f"d_MS estimator {entry.name!r} is already registered")
    if entry.compute is not None and not entry.record_keys:
        raise ValueError(f"d_MS estimator {entry.name!r} computes something but names no record_keys to store it")
    for what, names in (("record part", lambda e: e.record_keys), ("database column", lambda e: [c.name for c in
                        e.columns]), ("setting", lambda e: [s.name for s in e.settings])):
        taken = {n: e.name for e in _REGISTRY.values() for n in names(e)}
        clash = [n for n in names(entry) if n in taken]
        if clash:
            raise ValueError(f"d_MS estimator {entry.name!r}: {what} {clash[0]!r} is already {taken[clash[0]]!r}'s")
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


def computing_estimators() -> tuple:
    """The entries with a ``compute`` of their own, in registration order (the order they run in)."""
    return tuple(e for e in _REGISTRY.values() if e.compute is not None)


def record_columns() -> tuple:
    """Every entry's database :class:`Column`, in registration order."""
    return tuple(c for e in _REGISTRY.values() for c in e.columns)


def estimator_settings() -> tuple:
    """Every entry's :class:`Setting`, in registration order (``getheory check``'s estimator flags)."""
    return tuple(s for e in _REGISTRY.values() for s in e.settings)


def spec_settings() -> dict:
    """The settings read from a sweep spec's [estimator] table, by name (``in_spec``)."""
    return {s.name: s for s in estimator_settings() if s.in_spec}


def absent_parts(*ran: str) -> dict:
    """``{key: None}`` for the ``d_MS`` parts of every estimator except those named in ``ran``."""
    return {k: None for e in _REGISTRY.values() if e.name not in ran for k in e.record_keys}


def _legacy(d: Mapping) -> bool:
    return "estimator" not in d


# the built-in estimators; "reported" closes the series of earlier versions, so that the
# bootstrap seeds of the fits keep their values.  They are computed together by estimate_dms
# (the floor serves the plug-in and the certified bound, the choice needs both estimates), and
# the sweep spec validates their settings itself (the floor's minimum replicates)
register_estimator(Estimator(
    "plug_in", "plug-in", "plug-in",
    "plug-in max-sliced W1 (resolved points: plug-in above its floor's rank-test threshold)",
    _plug_in, PlotStyle("C0", "o", reported_marker="s"), record_keys=("plug_in", "floor"), chosen_as="plug-in",
    evidence=(Evidence("floor_mean", "floor", _floor_mean),),
    settings=(Setting("p", 1, "1-D metric W_p inside d_MS (default 1)", int, choices=(1, 2), in_spec=False),
              Setting("floor_replicates", 19, "Gaussian replicates for the plug-in's floor (default 19: rank test "
                      "at level 0.05)", positive_int_value, in_spec=False)),
    columns=(Column("plug_in", "REAL", lambda d: _part(d, "plug_in").get("value"), 1),
             Column("floor_mean", "REAL", _floor_mean, 1),
             Column("resolved", "INTEGER", lambda d: d.get("resolved") if d.get("plug_in") else None, 1))))
register_estimator(Estimator(
    "excess", "excess over floor", "excess", "plug-in minus floor mean (resolved plug-in points)",
    _excess, PlotStyle("C2", "s"), record_keys=("excess",), resolved_column=True, drawn=False,
    columns=(Column("excess", "REAL", lambda d: d.get("excess"), 1),)))
register_estimator(Estimator(
    "edgeworth", "Edgeworth (cumulants)", "Edgeworth",
    "cumulant/Edgeworth W1 (resolved points: the held-out κ3/κ4 test resolves the signal)",
    _edgeworth, PlotStyle("C1", "^", reported_marker="^"), record_keys=("cumulant",), chosen_as="edgeworth",
    resolved_column=True,
    columns=tuple(Column(k, "REAL", lambda d, k=k: _part(d, "cumulant").get(k), 1)
                  for k in ("edgeworth_w1", "edgeworth_se", "kappa3", "kappa4"))
    + (Column("cumulant_resolved", "INTEGER", lambda d: _part(d, "cumulant").get("resolved") if d.get("cumulant")
              else None, 1),)))
register_estimator(Estimator(
    "certified", "certified upper bound", "certified",
    "certified upper bound (every point where it was computed; an upper bound, not an estimate)",
    _certified, PlotStyle("C3", "v"), record_keys=("certified",), upper_bound=True,
    settings=(Setting("certify", False, "also compute the rigorous certified upper bound (slow: hundreds of "
                      "full-sample sorts)", _flag, in_spec=False),),
    columns=(Column("certified", "REAL", lambda d: _part(d, "certified").get("value"), 1),)))
register_estimator(Estimator(
    REPORTED, "reported d_MS", "reported d_MS",
    "d_MS as each task reported it (plug-in or Edgeworth, chosen by the recorded rule; resolved points: "
    "the chosen estimator's own test); none for legacy records",
    _reported, PlotStyle("k", "*"),
    # schema 2 (absent from version-1 databases, which read them as estimator "legacy", NULL value and se)
    columns=(Column("estimator", "TEXT", lambda d: LEGACY_ESTIMATOR if _legacy(d) else d.get("estimator"), 2),
             Column("dms_value", "REAL", lambda d: None if _legacy(d) else d.get("value"), 2),
             Column("dms_se", "REAL", lambda d: None if _legacy(d) else d.get("se"), 2))))
register_estimator(Estimator(
    "analytic", "analytic Edgeworth", "analytic",
    "leading-order Edgeworth d_MS from pattern sums, no sampling (docs/theory.md §4.2; resolved when the value "
    "exceeds twice its truncation error); reported by analytic sweeps, not fitted as a series of its own",
    _analytic, PlotStyle("C5", "D"), record_keys=("analytic",), chosen_as="analytic", series=False, drawn=False))
