"""The typed, versioned record of one finished sweep task (docs/theory.md §4, §5).

A :class:`TaskRecord` is what :func:`getheory.sweep.run_task` returns and what the
results database stores (as JSON, one row per task).  Rates and reports read it
through its accessors only: :meth:`TaskRecord.reported_dms`,
:meth:`TaskRecord.reading` (any d_MS estimator of the registry in
:mod:`getheory.distances`, by name), :meth:`TaskRecord.bound`,
:meth:`TaskRecord.dms_for_ratio`, :meth:`TaskRecord.kappa` and the size properties.

Versions (``record_version``):

1. sweep schema 1: d_MS holds plug-in, floor, certified bound and cumulants, but no
   recorded choice ("legacy": no reported value);
2. d_MS records its estimator, value, SE and choice rule;
3. this dataclass, with ``record_version`` stored in the JSON.

Records of every version load (:meth:`TaskRecord.from_dict`); a record also reads as
the JSON mapping it was stored as (``rec["d_MS"]["estimator"]``), so code written
against the plain dicts of earlier versions keeps working.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields

from .._json import to_plain
from ..distances import REPORTED, Reading, get_estimator
from ..distances import finite as _finite  # a finite float, or None

__all__ = ["BOUND_TERMS", "LEGACY", "RECORD_VERSION", "TaskRecord"]

RECORD_VERSION = 3
#: how a record written before d_MS recorded its choice names its estimator
LEGACY = "legacy: plug-in and cumulants, no choice recorded"
#: the bound terms of docs/theory.md §5, and their sum
BOUND_TERMS = ("M1_term", "M2_term", "teacher_term", "n_term", "total")


@dataclass(frozen=True, eq=False)
class TaskRecord(Mapping):
    """One finished task: its definition, d_MS with its evidence, bound terms, timings, provenance.

    Attributes hold the JSON-ready parts (``task`` is the task's fields, ``d_MS`` the
    output of :meth:`getheory.check.CheckResult.to_dict` for d_MS, and so on).
    """

    task: dict
    odd_activation: bool | None
    plan: dict
    samples: int
    d_MS: dict
    bound_terms: dict | None = None
    bound_terms_note: str | None = None
    gaussian_match: dict | None = None
    moments_source: str | None = None
    moment_errors: dict | None = None
    conditions: list | None = None
    check_settings: dict | None = None
    timings_s: dict | None = None
    getheory_version: str | None = None
    numpy_version: str | None = None
    python: str | None = None
    host: str | None = None
    record_version: int = RECORD_VERSION

    # -- JSON ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The record as plain JSON-ready data (what the database stores)."""
        return to_plain({f.name: getattr(self, f.name) for f in fields(self)})

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Mapping) -> TaskRecord:
        """A record from its stored form, of any version (see the module docstring)."""
        if isinstance(d, TaskRecord):
            return d
        if not isinstance(d, Mapping) or "task" not in d or "d_MS" not in d:
            raise ValueError("a task record needs at least 'task' and 'd_MS'; got "
                             f"{sorted(d) if isinstance(d, Mapping) else type(d).__name__}")
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw.setdefault("odd_activation", None)
        kw.setdefault("plan", {})
        kw.setdefault("samples", (d.get("d_MS") or {}).get("n", 0))
        if "record_version" not in d:
            kw["record_version"] = 2 if "estimator" in (d.get("d_MS") or {}) else 1
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> TaskRecord:
        return cls.from_dict(json.loads(text))

    # -- the mapping view (the stored JSON) --------------------------------------
    def __getitem__(self, key):
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def _names(self):
        return tuple(f.name for f in fields(self))

    # -- the task ------------------------------------------------------------------
    @property
    def task_id(self) -> str:
        return self.task["task_id"]

    @property
    def N(self) -> int:
        return int(self.task["N"])

    @property
    def D(self) -> int:
        return int(self.task["D"])

    @property
    def delta(self) -> float:
        return float(self.task["delta"])

    @property
    def generator_name(self) -> str:
        return self.task["generator"]["name"]

    @property
    def weights(self) -> str:
        return self.task["weights"]

    @property
    def seconds(self) -> float | None:
        return _finite((self.timings_s or {}).get("total"))

    def group_key(self, *, fixed_D: bool = False) -> tuple:
        """(generator, student weights, K, M, δ or D): the rows a rate is fitted over."""
        t = self.task
        size = t["D"] if fixed_D else round(float(t["delta"]), 12)
        return (t["generator"]["name"], t["weights"], t["K"], t["M"], size)

    # -- d_MS ------------------------------------------------------------------------
    @property
    def legacy(self) -> bool:
        """Whether the record predates the recorded d_MS choice (no ``d_MS.estimator``)."""
        return "estimator" not in (self.d_MS or {})

    def reported_dms(self) -> dict:
        """The d_MS the task reported, with its evidence.

        ``value`` and ``se`` (None when missing or not finite), ``estimator`` ("plug-in",
        "edgeworth", "analytic", "none", or :data:`LEGACY`), ``choice_rule`` (None for
        legacy records), ``resolved`` (the chosen estimator's own test, as its entry in the
        estimator registry (:mod:`getheory.distances`) reads it: the plug-in's rank test against
        its floor, the held-out cumulant test, or the analytic value against twice its
        truncation error) and ``legacy``.  Legacy records carry no reported value.
        """
        if self.legacy:
            return {"value": None, "se": None, "estimator": LEGACY, "choice_rule": None, "resolved": False,
                    "legacy": True}
        d = self.d_MS or {}
        r = self.reading(REPORTED)
        return {"value": r.value, "se": r.se, "estimator": d.get("estimator"), "choice_rule": d.get("choice_rule"),
                "resolved": r.resolved, "legacy": False}

    def reading(self, name: str) -> Reading:
        """The :class:`~getheory.distances.Reading` (value, SE, resolved) of the registered d_MS
        estimator ``name`` (:func:`getheory.distances.estimators`); KeyError for an unknown name."""
        return get_estimator(name).read(self.d_MS or {})

    def estimator_value(self, name: str) -> tuple:
        """(value, resolved) of one registered d_MS estimator (value None if absent)."""
        r = self.reading(name)
        return r.value, r.resolved

    def dms_for_ratio(self) -> tuple:
        """(d_MS, kind, resolved) for the ratio to the bound.

        The reported value (kind = its estimator); for legacy records the earlier rule:
        the plug-in where it is resolved (kind "plug_in"), the certified upper bound
        elsewhere (kind "certified", counted as unresolved).
        """
        if not self.legacy:
            r = self.reported_dms()
            return r["value"], r["estimator"], r["resolved"]
        v, res = self.estimator_value("plug_in")
        if res:
            return v, "plug_in", True
        return self.estimator_value("certified")[0], "certified", False

    def floor_mean(self) -> float | None:
        """Mean of the plug-in's Gaussian floor replicates (docs/theory.md §4), or None."""
        return _finite(((self.d_MS or {}).get("floor") or {}).get("mean"))

    def kappa(self, order: int) -> float | None:
        """The held-out κ3 or κ4 along the chosen direction (docs/theory.md §4.1), or None."""
        if order not in (3, 4):
            raise ValueError(f"order must be 3 or 4, got {order!r}")
        return _finite(((self.d_MS or {}).get("cumulant") or {}).get(f"kappa{order}"))

    # -- bound terms and moments ---------------------------------------------------------
    def bound(self, name: str) -> float | None:
        """One bound term of :data:`BOUND_TERMS` (docs/theory.md §5; ``"total"``: their sum), or None."""
        if name not in BOUND_TERMS:
            raise KeyError(f"unknown bound term {name!r}; choose one of {', '.join(BOUND_TERMS)}")
        b = self.bound_terms
        return _finite(b.get(name)) if b else None

    def moment_error(self, name: str) -> float | None:
        """A Monte Carlo moment-check figure (``max_abs_err_Q``, ``max_abs_err_R``, ...), or None."""
        return _finite((self.moment_errors or {}).get(name))
