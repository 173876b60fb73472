"""Sweeps over N and D (or δ = D/N): specification, engine and results database.

A sweep measures how fast the local fields (λ, ν) become Gaussian
(docs/theory.md §4) and how the bound terms decay (§5) over a grid of sizes.

* :class:`SweepSpec` (and :func:`load_spec` for TOML files) describes the
  grid: generator families, student/teacher weight ensembles, N and D (or δ),
  K, M, the sample size n (fixed, or planned per point by the shared planner
  :func:`getheory.plan.plan_samples`: an independent pilot, then n fixed in
  advance, within a per-point time budget and a work cap), the d_MS
  estimator's settings, the number of seeds, backend and dtype.  The whole specification is validated before any
  work starts; every error names the offending key.
* Each grid point × seed is one :class:`Task`.  :func:`run_task` runs it: it
  draws the generator and weights from seeds derived deterministically from
  (master seed, point, seed index), runs :func:`getheory.check.check_generator`
  (every d_MS estimate, every bound term) and a Monte Carlo moment check, and
  returns one JSON-ready record.
* :func:`run_sweep` runs the tasks in a local process pool (default) or on a
  Dask cluster and writes one row per finished task into an SQLite database
  (:class:`ResultsDB`), in its own transaction.  Re-running skips finished
  tasks, so an interrupted sweep loses only the tasks in flight.

The TOML format (every key optional unless marked)::

    name = "example"                 # required
    description = "..."
    seed = 0                         # master seed

    [grid]
    N = [16, 32, 64]                 # required
    delta = [0.5]                    # D = round(δ N) ... or D = [8, 16] (product grid)
    K = 1
    M = 1
    seeds = 3                        # independent draws of A, W, W̃ per point

    [[generator]]                    # one table per family; at least one
    activation = "sign"              # built-in name ...
    depth = 1                        # hidden widths N for depth > 1 (DeepGenerator)
    # factory = "module:function"    # ... or a user factory f(N, D, seed) -> Generator or callable c -> x
    name = "sign"                    # label (default: activation, or the factory)

    [weights]
    student = ["gaussian", "abs_gaussian"]   # or "module:function" f(K, N, rng) -> (K, N)
    teacher = "gaussian"                     # or "module:function" f(M, D, rng) -> (M, D)

    [samples]
    mode = "plan"                    # "fixed" (use n), "plan", or "analytic" (no sampling: §4.2)
    n = 100000                       # fixed mode (>= 1024)
    time_budget = 120                # plan mode: seconds per point for pilot, sampling and estimation
    pilot = 20000                    # plan mode: fewest pilot rows (PlanOptions.min_pilot, >= 1024)
    min = 20000                      # plan mode: fewest planned rows (PlanOptions.min_samples, >= 1024)
    max = 2000000                    # plan mode: PlanOptions.max_samples = min(max, max_work/(N·D)), >= min
    max_work = 2e11                  # per-point work cap in multiply-adds n·N·D
    moment_samples = 20000           # Monte Carlo moment check (0: off)
    moment_max_work = 2e10           # its budget, n·N·(N + D)

    [estimator]                      # getheory.distances.DmsOptions
    floor_replicates = 19            # >= 19: the plug-in's rank test at level 0.05 needs 1/0.05 - 1
    p = 1
    certify = false                  # also compute the certified upper bound (slow)
    confidence = 0.95                # level of the certified bound only

In plan mode each task calls :func:`getheory.check.check_generator` with
``samples="auto"`` and ``PlanOptions(time_budget, min_pilot=pilot,
min_samples=min, max_samples=min(max, max_work/(N·D)))``; the task's record
holds the planner's findings (``Plan.to_dict()``).  Spec files written for
earlier versions (no ``time_budget`` or ``certify``) load with the defaults,
except that fewer than 19 floor replicates are refused.

    [run]
    backend = "numpy"
    dtype = "float64"
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import socket
import sqlite3
import sys
import time
import tomllib
import traceback
from dataclasses import asdict, dataclass, field

import numpy as np

from ._progress import Progress
from ._json import to_plain as _jsonable

__all__ = [
    "SpecError",
    "SweepError",
    "GeneratorSpec",
    "SampleSpec",
    "SweepSpec",
    "Task",
    "load_spec",
    "spec_from_dict",
    "run_task",
    "ResultsDB",
    "run_sweep",
    "SweepSummary",
]

#: 2: tasks gained the columns estimator, dms_value, dms_se (version-1 databases still open and load)
SCHEMA_VERSION = 2
DB_FORMAT = "getheory-sweep"
BUILTIN_WEIGHTS = ("gaussian", "abs_gaussian")
#: default seconds per point of the planner in plan mode (samples.time_budget)
DEFAULT_TIME_BUDGET = 120.0
#: fewest rows check_generator takes (fixed n, pilot and planned n alike)
MIN_ROWS = 1024
#: the d_MS rank test's level (DmsOptions.level, not a spec key) and the floor replicates it needs
FLOOR_LEVEL = 0.05
MIN_FLOOR_REPLICATES = math.ceil(1 / FLOOR_LEVEL - 1 - 1e-9)


class SpecError(ValueError):
    """An invalid sweep specification; the message names the offending key."""


class SweepError(RuntimeError):
    """A problem with the results database or the sweep run (never overwrites results)."""


# ---------------------------------------------------------------------------
# Specification
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratorSpec:
    """A generator family: a built-in activation (depth ≥ 1) or a user factory.

    ``factory`` is ``"module:function"``; the function is called as
    ``f(N, D, seed)`` and returns a :class:`getheory.generators.Generator` or a
    callable mapping latents (n, D) to inputs (n, N).
    """

    name: str
    activation: str | None = "sign"
    depth: int = 1
    factory: str | None = None


@dataclass(frozen=True)
class SampleSpec:
    """How many samples n each task draws (docs/theory.md §4, Resolution).

    ``mode = "fixed"`` draws ``n``; ``mode = "plan"`` lets :func:`getheory.plan.plan_samples`
    choose n from an independent pilot within ``time_budget`` seconds, with
    ``min_pilot = pilot``, ``min_samples = min`` and ``max_samples = min(max, max_work/(N·D))``.
    """

    mode: str = "plan"
    n: int = 100_000
    pilot: int = 20_000
    min: int = 20_000
    max: int = 2_000_000
    max_work: float = 2e11
    moment_samples: int = 20_000
    moment_max_work: float = 2e10
    time_budget: float = DEFAULT_TIME_BUDGET


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep (see the module docstring for the TOML form)."""

    name: str
    N: tuple
    generators: tuple
    delta: tuple | None = (0.5,)
    D: tuple | None = None
    K: int = 1
    M: int = 1
    seeds: int = 3
    student_weights: tuple = ("gaussian",)
    teacher_weights: str = "gaussian"
    samples: SampleSpec = field(default_factory=SampleSpec)
    floor_replicates: int = 19
    p: int = 1
    confidence: float = 0.95
    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0
    description: str = ""
    certify: bool = False

    def __post_init__(self):
        # validate objects built directly in Python the same way as TOML
        spec_from_dict(self.to_dict())

    def to_dict(self) -> dict:
        """The spec in its TOML layout (canonical, JSON-ready)."""
        grid = {"N": list(self.N), "K": self.K, "M": self.M, "seeds": self.seeds}
        if self.D is not None:
            grid["D"] = list(self.D)
        else:
            grid["delta"] = list(self.delta)
        gens = []
        for g in self.generators:
            d = {"name": g.name}
            if g.factory is not None:
                d["factory"] = g.factory
            else:
                d["activation"] = g.activation
                d["depth"] = g.depth
            gens.append(d)
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "grid": grid,
            "generator": gens,
            "weights": {"student": list(self.student_weights), "teacher": self.teacher_weights},
            "samples": asdict(self.samples),
            "estimator": {"floor_replicates": self.floor_replicates, "p": self.p, "certify": self.certify,
                          "confidence": self.confidence},
            "run": {"backend": self.backend, "dtype": self.dtype},
        }

    def hash(self) -> str:
        """SHA-256 of the canonical spec, minus ``description`` (free text)."""
        d = self.to_dict()
        d.pop("description", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def points(self) -> list:
        """Grid points (generator, student weights, N, D, δ), in grid order."""
        out = []
        for g in self.generators:
            for w in self.student_weights:
                for N in self.N:
                    if self.D is not None:
                        for D in self.D:
                            out.append((g, w, N, D, D / N))
                    else:
                        for dl in self.delta:
                            out.append((g, w, N, max(1, round(dl * N)), dl))
        return out

    def tasks(self) -> list:
        """Every grid point × seed as a :class:`Task` (seeds derived deterministically)."""
        out = []
        for g, w, N, D, dl in self.points():
            for s in range(self.seeds):
                tid = f"{g.name}|{w}|N={N}|D={D}|seed={s}"
                out.append(Task(
                    task_id=tid, generator=asdict(g), weights=w, teacher_weights=self.teacher_weights,
                    N=N, D=D, delta=dl, K=self.K, M=self.M, seed_index=s,
                    seed=derive_seed(self.seed, g.name, w, N, D, s),
                    samples=asdict(self.samples), floor_replicates=self.floor_replicates, p=self.p,
                    confidence=self.confidence, backend=self.backend, dtype=self.dtype, certify=self.certify,
                ))
        return out


@dataclass(frozen=True)
class Task:
    """One grid point × seed; plain data so that it pickles to workers."""

    task_id: str
    generator: dict
    weights: str
    teacher_weights: str
    N: int
    D: int
    delta: float
    K: int
    M: int
    seed_index: int
    seed: int
    samples: dict
    floor_replicates: int
    p: int
    confidence: float
    backend: str
    dtype: str
    certify: bool = False

    @property
    def cost(self) -> float:
        """Rough work estimate (multiply-adds) used for ordering and the ETA."""
        # sampling n·N·D, exact moments and bound terms ~1.5 N² D, and the d_MS estimators
        # (floor replicates, certified search): ~1e6 per sample plus ~5e9 fixed, measured on a CPU
        if self.samples["mode"] == "analytic":  # pattern sums and bound terms, O(N² D)
            return 4.5 * self.N**2 * self.D + 1e8
        n = _sample_cap(self.samples, self.N, self.D)
        if self.samples["mode"] == "fixed":
            n = self.samples["n"]
        return float(n) * (self.N * self.D + 1e6) + 1.5 * self.N**2 * self.D + 5e9


def derive_seed(master: int, *parts) -> int:
    """A 63-bit seed from (master seed, point, seed index) via SHA-256: reproducible reruns."""
    text = json.dumps([int(master), *parts], sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


_ALLOWED = {
    "": {"name", "description", "seed", "grid", "generator", "weights", "samples", "estimator", "run"},
    "grid": {"N", "D", "delta", "K", "M", "seeds"},
    "generator": {"name", "activation", "depth", "factory"},
    "weights": {"student", "teacher"},
    "samples": {"mode", "n", "pilot", "min", "max", "max_work", "moment_samples", "moment_max_work", "time_budget"},
    "estimator": {"floor_replicates", "p", "certify", "confidence"},
    "run": {"backend", "dtype"},
}


def _unknown(d: dict, where: str, section: str):
    if not isinstance(d, dict):
        raise SpecError(f"spec key {where or '<top>'!r}: must be a table, got {type(d).__name__}")
    extra = sorted(set(d) - _ALLOWED[section])
    if extra:
        key = f"{where}.{extra[0]}" if where else extra[0]
        raise SpecError(f"unknown spec key {key!r} (allowed in {where or 'the top level'}: "
                        f"{', '.join(sorted(_ALLOWED[section]))})")


def _int(v, key, minimum=1):
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise SpecError(f"spec key {key!r}: must be an integer, got {v!r}")
    if v < minimum:
        raise SpecError(f"spec key {key!r}: must be >= {minimum}, got {v}")
    return int(v)


def _float(v, key, lo=None, hi=None, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SpecError(f"spec key {key!r}: must be a finite number, got {v!r}")
    v = float(v)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise SpecError(f"spec key {key!r}: must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise SpecError(f"spec key {key!r}: must be <= {hi}, got {v}")
    return v


def _int_list(v, key, minimum=1):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        raise SpecError(f"spec key {key!r}: must be a non-empty list of integers, got {v!r}")
    out = [_int(x, f"{key}[{i}]", minimum) for i, x in enumerate(v)]
    if len(set(out)) != len(out):
        raise SpecError(f"spec key {key!r}: contains duplicates {out}")
    return tuple(out)


def _modfn(v, key):
    if not isinstance(v, str) or v.count(":") != 1 or not all(v.split(":")):
        raise SpecError(f"spec key {key!r}: must be 'module:function', got {v!r}")
    return v


def spec_from_dict(d: dict, *, stored: bool = False) -> SweepSpec:
    """Validate a spec given as a dict (the TOML layout) and build a :class:`SweepSpec`.

    Raises :class:`SpecError` naming the offending key on the first problem;
    nothing is run before the whole spec is valid.

    ``stored=True`` reads a spec stored in a results database by an earlier version:
    the minimums that only a run needs (19 floor replicates, 1024 rows) are relaxed to
    the earlier ones, so that old databases still open and report.  Such a spec can be
    reported, not run.
    """
    from .activations import ACTIVATIONS

    _unknown(d, "", "")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError("spec key 'name': required, a non-empty string")
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise SpecError("spec key 'description': must be a string")
    seed = _int(d.get("seed", 0), "seed", 0)

    grid = d.get("grid")
    if grid is None:
        raise SpecError("spec key 'grid': required table with at least grid.N")
    _unknown(grid, "grid", "grid")
    if "N" not in grid:
        raise SpecError("spec key 'grid.N': required, a list of input dimensions")
    Ns = _int_list(grid["N"], "grid.N")
    if "D" in grid and "delta" in grid:
        raise SpecError("spec keys 'grid.D' and 'grid.delta': give one of them, not both")
    D = delta = None
    if "D" in grid:
        D = _int_list(grid["D"], "grid.D")
    else:
        dl = grid.get("delta", [0.5])
        if not isinstance(dl, list):
            dl = [dl]
        if not dl:
            raise SpecError("spec key 'grid.delta': must be a non-empty list")
        delta = tuple(_float(x, f"grid.delta[{i}]", 0.0, lo_open=True) for i, x in enumerate(dl))
        if len(set(delta)) != len(delta):
            raise SpecError(f"spec key 'grid.delta': contains duplicates {list(delta)}")
    K = _int(grid.get("K", 1), "grid.K")
    M = _int(grid.get("M", 1), "grid.M")
    seeds = _int(grid.get("seeds", 3), "grid.seeds")

    gens_raw = d.get("generator")
    if gens_raw is None:
        raise SpecError("spec key 'generator': required, at least one [[generator]] table")
    if isinstance(gens_raw, dict):
        gens_raw = [gens_raw]
    if not isinstance(gens_raw, list) or not gens_raw:
        raise SpecError("spec key 'generator': must be a non-empty array of tables")
    gens = []
    for i, g in enumerate(gens_raw):
        key = f"generator[{i}]"
        _unknown(g, key, "generator")
        if "factory" in g:
            if "activation" in g or "depth" in g:
                raise SpecError(f"spec key '{key}.factory': give either factory or activation/depth, not both")
            fac = _modfn(g["factory"], f"{key}.factory")
            gname = g.get("name", fac)
            gens.append(GeneratorSpec(name=gname, activation=None, depth=1, factory=fac))
        else:
            act = g.get("activation")
            if act is None:
                raise SpecError(f"spec key '{key}.activation': required (or give '{key}.factory')")
            if act not in ACTIVATIONS:
                raise SpecError(f"spec key '{key}.activation': unknown activation {act!r} "
                                f"(built-ins: {', '.join(ACTIVATIONS)})")
            depth = _int(g.get("depth", 1), f"{key}.depth")
            gname = g.get("name", act if depth == 1 else f"{act}-depth{depth}")
            gens.append(GeneratorSpec(name=gname, activation=act, depth=depth, factory=None))
        if not isinstance(gname, str) or not gname or "|" in gname:
            raise SpecError(f"spec key '{key}.name': must be a non-empty string without '|', got {gname!r}")
    names = [g.name for g in gens]
    if len(set(names)) != len(names):
        raise SpecError(f"spec key 'generator': generator names must be unique, got {names}")

    w = d.get("weights", {})
    _unknown(w, "weights", "weights")
    st = w.get("student", ["gaussian"])
    if isinstance(st, str):
        st = [st]
    if not isinstance(st, list) or not st:
        raise SpecError("spec key 'weights.student': must be a non-empty list")
    for i, e in enumerate(st):
        if e not in BUILTIN_WEIGHTS:
            if not isinstance(e, str) or ":" not in e:
                raise SpecError(f"spec key 'weights.student[{i}]': unknown ensemble {e!r} "
                                f"(use {', '.join(BUILTIN_WEIGHTS)} or 'module:function')")
            _modfn(e, f"weights.student[{i}]")
        if "|" in e:
            raise SpecError(f"spec key 'weights.student[{i}]': must not contain '|'")
    if len(set(st)) != len(st):
        raise SpecError(f"spec key 'weights.student': contains duplicates {st}")
    te = w.get("teacher", "gaussian")
    if te != "gaussian":
        _modfn(te, "weights.teacher")

    s = d.get("samples", {})
    _unknown(s, "samples", "samples")
    dflt = SampleSpec()
    mode = s.get("mode", dflt.mode)
    if mode not in ("fixed", "plan", "analytic"):
        raise SpecError(f"spec key 'samples.mode': must be 'fixed', 'plan' or 'analytic', got {mode!r}")
    if mode == "analytic":
        bad = [g.name for g in gens if g.factory or g.depth != 1]
        if bad:
            raise SpecError(f"spec key 'samples.mode': 'analytic' (no sampling, docs/theory.md §4.2) needs "
                            f"single-layer built-in generators; not {bad}")
    # check_generator and the planner take at least MIN_ROWS rows; the key the mode uses must allow them
    lo_n = 64 if stored or mode != "fixed" else MIN_ROWS
    lo_plan = 64 if stored or mode != "plan" else MIN_ROWS
    samples = SampleSpec(
        mode=mode,
        n=_int(s.get("n", dflt.n), "samples.n", lo_n),
        pilot=_int(s.get("pilot", dflt.pilot), "samples.pilot", lo_plan),
        min=_int(s.get("min", dflt.min), "samples.min", lo_plan),
        max=_int(s.get("max", dflt.max), "samples.max", 64),
        max_work=_float(s.get("max_work", dflt.max_work), "samples.max_work", 0.0, lo_open=True),
        moment_samples=_int(s.get("moment_samples", dflt.moment_samples), "samples.moment_samples", 0),
        moment_max_work=_float(s.get("moment_max_work", dflt.moment_max_work), "samples.moment_max_work", 0.0),
        time_budget=_float(s.get("time_budget", dflt.time_budget), "samples.time_budget", 0.0, lo_open=True),
    )
    if samples.min > samples.max:
        raise SpecError(f"spec key 'samples.min': {samples.min} exceeds samples.max = {samples.max}")

    e = d.get("estimator", {})
    _unknown(e, "estimator", "estimator")
    fr = e.get("floor_replicates", MIN_FLOOR_REPLICATES)
    floor_rep = _int(fr, "estimator.floor_replicates", 2)
    if floor_rep < MIN_FLOOR_REPLICATES and not stored:
        raise SpecError(
            f"spec key 'estimator.floor_replicates': must be >= {MIN_FLOOR_REPLICATES}, got {floor_rep} (the "
            f"plug-in's rank test against its Gaussian floor at level {FLOOR_LEVEL:g} needs at least "
            f"1/{FLOOR_LEVEL:g} - 1 = {MIN_FLOOR_REPLICATES} replicates; {MIN_FLOOR_REPLICATES} gives the exact "
            f"level 1/{MIN_FLOOR_REPLICATES + 1})")
    p = e.get("p", 1)
    if p not in (1, 2) or isinstance(p, bool):
        raise SpecError(f"spec key 'estimator.p': must be 1 or 2, got {p!r}")
    certify = e.get("certify", False)
    if not isinstance(certify, bool):
        raise SpecError(f"spec key 'estimator.certify': must be true or false, got {certify!r}")
    # the level of epsilon_n in the certified upper bound (DmsOptions.confidence); used only with certify
    conf = _float(e.get("confidence", 0.95), "estimator.confidence", 0.5, 0.9999)

    r = d.get("run", {})
    _unknown(r, "run", "run")
    backend = r.get("backend", "numpy")
    if backend not in ("numpy", "cupy"):
        raise SpecError(f"spec key 'run.backend': must be 'numpy' or 'cupy', got {backend!r}")
    dtype = r.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise SpecError(f"spec key 'run.dtype': must be 'float64' or 'float32', got {dtype!r}")

    kw = dict(name=name.strip(), N=Ns, generators=tuple(gens), delta=delta, D=D, K=K, M=M, seeds=seeds,
              student_weights=tuple(st), teacher_weights=te, samples=samples, floor_replicates=floor_rep,
              p=int(p), confidence=conf, backend=backend, dtype=dtype, seed=seed, description=desc,
              certify=certify)
    obj = object.__new__(SweepSpec)  # skip __post_init__ (it calls this function)
    for k, v in kw.items():
        object.__setattr__(obj, k, v)
    return obj


def load_spec(path) -> SweepSpec:
    """Read and validate a TOML sweep specification (see the module docstring)."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(f"sweep specification {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"sweep specification {str(path)!r} is not valid TOML: {exc}") from None
    return spec_from_dict(raw)


# ---------------------------------------------------------------------------
# One task
# ---------------------------------------------------------------------------
def _sample_cap(samples: dict, N: int, D: int) -> int:
    """The per-point work cap min(max, max_work/(N·D)), never below min (the planner's max_samples)."""
    cap = min(samples["max"], int(samples["max_work"] // (N * D)))
    return int(max(samples["min"], cap))


def _import(modfn: str):
    import importlib

    mod, fn = modfn.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {modfn!r}: {exc}") from None


def build_generator(gspec: dict, N: int, D: int, seed: int):
    """The generator of one task (single-layer, deep or user factory)."""
    from .generators import CallableGenerator, Generator, random_deep, random_single_layer

    if gspec.get("factory"):
        obj = _import(gspec["factory"])(N, D, seed)
        if isinstance(obj, Generator):
            gen = obj
        elif callable(obj):
            gen = CallableGenerator(obj, D=D, N=N, name=gspec["name"])
        else:
            raise TypeError(f"factory {gspec['factory']!r} returned {type(obj).__name__}, not a generator")
        if (gen.N, gen.D) != (N, D):
            raise ValueError(f"factory {gspec['factory']!r} returned a generator with (N, D) = "
                             f"({gen.N}, {gen.D}), expected ({N}, {D})")
        return gen
    if gspec["depth"] == 1:
        return random_single_layer(N, D, gspec["activation"], seed=seed)
    return random_deep([D] + [N] * gspec["depth"], gspec["activation"], seed=seed)


def build_weights(task: Task | dict, seed: int):
    """Student (K, N) and teacher (M, D) weights of one task."""
    from .check import draw_weights

    t = task if isinstance(task, dict) else asdict(task)
    rng = np.random.default_rng(seed)
    K, M, N, D = t["K"], t["M"], t["N"], t["D"]
    w, tw = t["weights"], t["teacher_weights"]
    if w in BUILTIN_WEIGHTS and tw == "gaussian":
        return draw_weights(N, D, K, M, rng, ensemble=w)
    if w in BUILTIN_WEIGHTS:
        Ws, _ = draw_weights(N, D, K, M, rng, ensemble=w)
    else:
        Ws = np.asarray(_import(w)(K, N, rng), dtype=np.float64)
    if tw == "gaussian":
        Wt = rng.standard_normal((M, D))
    else:
        Wt = np.asarray(_import(tw)(M, D, rng), dtype=np.float64)
    return Ws, Wt


def _moment_errors(gen, Ws, Wt, exact_match: dict | None, samples: dict, seed: int, backend: str, dtype: str):
    """Monte Carlo Q, R against the exact ones (docs/theory.md §2)."""
    from .moments import gaussian_match, monte_carlo_moments

    N, D, K = gen.N, gen.D, Ws.shape[0]
    n = min(int(samples["moment_samples"]), int(samples["moment_max_work"] // (N * (N + D))))
    if samples["moment_samples"] == 0:
        return {"skipped": "moment check off (samples.moment_samples = 0)"}
    if n < 400:
        return {"skipped": f"budget moment_max_work allows only {n} samples at N={N} (< 400)"}
    t0 = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mom = monte_carlo_moments(gen, n, seed=seed, weights=(Ws, Wt), backend=backend, dtype=dtype, n_groups=20)
        mc = gaussian_match(mom, Ws, Wt)
    out = {"n": n, "seconds": time.perf_counter() - t0}
    se = mc.stderr_cov
    out["max_se_Q"] = float(np.max(se[:K, :K])) if se is not None else None
    out["max_se_R"] = float(np.max(se[:K, K:])) if se is not None else None
    if exact_match is None or not exact_match.get("exact"):
        out["note"] = "no exact moments for this generator: standard errors only"
        return out
    ex = np.asarray(exact_match["cov"], dtype=np.float64)
    err = mc.cov - ex
    out["max_abs_err_Q"] = float(np.max(np.abs(err[:K, :K])))
    out["max_abs_err_R"] = float(np.max(np.abs(err[:K, K:])))
    out["rel_err_Q"] = float(np.linalg.norm(err[:K, :K]) / max(np.linalg.norm(ex[:K, :K]), 1e-300))
    out["rel_err_R"] = float(np.linalg.norm(err[:K, K:]) / max(np.linalg.norm(ex[:K, K:]), 1e-300))
    if se is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.abs(err[:K, :]) / se[:K, :]
        z = z[np.isfinite(z)]
        out["max_z"] = float(np.max(z)) if z.size else None
    return out


def _is_odd(gspec: dict) -> bool | None:
    """Whether σ is odd (σ(−x) = −σ(x)), checked on a grid; None for user factories."""
    from .activations import get_activation

    if gspec.get("factory"):
        return None
    act = get_activation(gspec["activation"])
    x = np.linspace(-5, 5, 2001)
    x = x[x != 0]
    return bool(np.allclose(act(-x), -act(x), atol=1e-12))


def _check_options(t: dict) -> tuple:
    """(samples argument, PlanOptions or None, DmsOptions) of one task for :func:`check_generator`."""
    from .distances import DmsOptions
    from .plan import PlanOptions

    samples = t["samples"]
    dms = DmsOptions(p=t["p"], floor_replicates=t["floor_replicates"], certify=bool(t.get("certify", False)),
                     confidence=t["confidence"])
    if samples["mode"] != "plan":
        return int(samples["n"]), None, dms
    plan = PlanOptions(time_budget=float(samples.get("time_budget", DEFAULT_TIME_BUDGET)),
                       min_pilot=int(samples["pilot"]), min_samples=int(samples["min"]),
                       max_samples=_sample_cap(samples, t["N"], t["D"]))
    return "auto", plan, dms


def run_task(task: Task | dict) -> dict:
    """Run one task and return its JSON-ready record (the database row's payload).

    Steps: derive sub-seeds (generator, weights, main, moments) from the task
    seed; build the generator and weights; run
    :func:`getheory.check.check_generator` with the task's
    :class:`~getheory.distances.DmsOptions` and, in plan mode, ``samples="auto"``
    and its :class:`~getheory.plan.PlanOptions` (the shared planner runs an
    independent pilot and fixes n in advance); compare Monte Carlo Q, R with
    the exact ones; record timings, versions.  The record's ``plan`` is the
    planner's ``Plan.to_dict()`` (plan mode) or a fixed-n note.
    """
    from . import __version__
    from .check import check_generator

    t = task if isinstance(task, dict) else asdict(task)
    t_all = time.perf_counter()
    seed = t["seed"]
    s_gen, s_w, s_main, s_mom = (derive_seed(seed, lab) for lab in ("generator", "weights", "main", "moments"))
    gen = build_generator(t["generator"], t["N"], t["D"], s_gen)
    Ws, Wt = build_weights(t, s_w)
    samples = t["samples"]
    if samples["mode"] == "analytic":
        return _run_analytic_task(t, gen, Ws, Wt, t_all)
    n_arg, plan_opt, dms_opt = _check_options(t)
    timings = {}
    t0 = time.perf_counter()
    res = check_generator(gen, samples=n_arg, plan=plan_opt, seed=s_main, W_student=Ws, W_teacher=Wt,
                          dms=dms_opt, backend=t["backend"], dtype=t["dtype"], progress=False)
    rd = res.to_dict()
    timings["check"] = time.perf_counter() - t0
    timings.update({f"check.{k}": v for k, v in rd.get("timings_s", {}).items()})
    n = int(rd["sizes"]["samples"])
    if rd.get("plan") is not None:
        plan = rd["plan"]
    else:
        plan = {"mode": "fixed", "n": n, "limited_by": "fixed", "statement": f"fixed n = {n:,} (samples.mode = 'fixed')."}
    mom = _moment_errors(gen, Ws, Wt, rd.get("gaussian_match"), samples, s_mom, t["backend"], t["dtype"])
    if "seconds" in mom:
        timings["moment_check"] = mom["seconds"]
    timings["total"] = time.perf_counter() - t_all
    return {
        "task": t,
        "odd_activation": _is_odd(t["generator"]),
        "plan": plan,
        "samples": n,
        "d_MS": rd["d_MS"],
        "bound_terms": rd.get("bound_terms"),
        "bound_terms_note": rd.get("bound_terms_note"),
        "gaussian_match": rd.get("gaussian_match"),
        "moments_source": rd.get("moments_source"),
        "moment_errors": mom,
        "conditions": rd.get("conditions"),
        "check_settings": rd.get("settings"),
        "timings_s": timings,
        "getheory_version": __version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "host": socket.gethostname(),
    }


def _run_analytic_task(t, gen, Ws, Wt, t_all) -> dict:
    """An analytic-only point (samples.mode = "analytic"): the leading-order κ3, κ4 and
    Edgeworth d_MS without sampling (docs/theory.md §4.2) and every bound term (§5).

    The record's d_MS has ``estimator = "analytic"``, ``value`` the Edgeworth d_MS and
    ``se`` its stated truncation error; it counts as resolved when the value exceeds twice
    that error.  No plug-in, floor or sampled cumulants.
    """
    from . import __version__
    from .analytic import analytic_dms
    from .bounds import bound_terms

    t0 = time.perf_counter()
    a = analytic_dms(gen, Ws, Wt, backend=t["backend"])
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    bt = bound_terms(gen, Ws, Wt)
    t_bt = time.perf_counter() - t0
    ad = a.to_dict()
    dms = {
        "value": a.edgeworth_w1, "se": a.truncation_error, "estimator": "analytic",
        "choice_rule": "analytic leading-order Edgeworth d_MS, no sampling (docs/theory.md §4.2); resolved when "
                       "the value exceeds twice its truncation error",
        "resolved": bool(a.edgeworth_w1 > 2 * a.truncation_error),
        "plug_in": None, "floor": None, "certified": None, "cumulant": None, "excess": None,
        "analytic": ad, "n": 0, "d": int(Ws.shape[0] + Wt.shape[0]),
    }
    return {
        "task": t, "odd_activation": _is_odd(t["generator"]),
        "plan": {"mode": "analytic", "n": 0, "limited_by": "analytic", "statement": "no sampling (analytic)."},
        "samples": 0, "d_MS": dms, "bound_terms": bt.to_dict(), "bound_terms_note": "single-layer: §5",
        "gaussian_match": None, "moments_source": "none (analytic pattern sums, §4.2)",
        "moment_errors": {"skipped": "analytic mode"}, "conditions": None, "check_settings": None,
        "timings_s": {"analytic": t_an, "bounds": t_bt, "total": time.perf_counter() - t_all},
        "getheory_version": __version__, "numpy_version": np.__version__,
        "python": platform.python_version(), "host": socket.gethostname(),
    }


# ---------------------------------------------------------------------------
# Results database
# ---------------------------------------------------------------------------
_COLUMNS = (
    ("generator", "TEXT"), ("weights", "TEXT"), ("N", "INTEGER"), ("D", "INTEGER"), ("delta", "REAL"),
    ("seed_index", "INTEGER"), ("seed", "INTEGER"), ("samples", "INTEGER"),
    ("plug_in", "REAL"), ("floor_mean", "REAL"), ("excess", "REAL"), ("resolved", "INTEGER"),
    ("certified", "REAL"), ("edgeworth_w1", "REAL"), ("edgeworth_se", "REAL"), ("kappa3", "REAL"),
    ("kappa4", "REAL"), ("cumulant_resolved", "INTEGER"),
    ("M1_term", "REAL"), ("M2_term", "REAL"), ("teacher_term", "REAL"), ("n_term", "REAL"),
    ("elapsed_s", "REAL"), ("version", "TEXT"), ("finished", "REAL"),
    # schema 2 (absent from version-1 databases, which read them as estimator "legacy", NULL value and se)
    ("estimator", "TEXT"), ("dms_value", "REAL"), ("dms_se", "REAL"),
)
#: the estimator column of a record written before d_MS recorded its choice
LEGACY_ESTIMATOR = "legacy"


def _num(x):
    """A finite float, or None (stored as NULL)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _flag(x):
    return None if x is None else int(bool(x))


def _flat(rec: dict) -> dict:
    """The searchable columns of one record; parts a record lacks (no plug-in reservoir, no
    certificate, no cumulant estimate, no bound terms) are NULL.  Records written before
    d_MS recorded its choice (no ``d_MS.estimator``) get estimator ``"legacy"``."""
    t, d, b = rec["task"], rec.get("d_MS") or {}, rec.get("bound_terms") or {}
    pl, fl = d.get("plug_in") or {}, d.get("floor") or {}
    ce, cu = d.get("certified") or {}, d.get("cumulant") or {}
    legacy = "estimator" not in d
    return {
        "generator": t["generator"]["name"], "weights": t["weights"], "N": t["N"], "D": t["D"],
        "delta": t["delta"], "seed_index": t["seed_index"], "seed": t["seed"], "samples": rec["samples"],
        "plug_in": _num(pl.get("value")), "floor_mean": _num(fl.get("mean")), "excess": _num(d.get("excess")),
        "resolved": _flag(d.get("resolved")) if pl else None, "certified": _num(ce.get("value")),
        "edgeworth_w1": _num(cu.get("edgeworth_w1")), "edgeworth_se": _num(cu.get("edgeworth_se")),
        "kappa3": _num(cu.get("kappa3")), "kappa4": _num(cu.get("kappa4")),
        "cumulant_resolved": _flag(cu.get("resolved")) if cu else None,
        "M1_term": _num(b.get("M1_term")), "M2_term": _num(b.get("M2_term")),
        "teacher_term": _num(b.get("teacher_term")), "n_term": _num(b.get("n_term")),
        "elapsed_s": _num((rec.get("timings_s") or {}).get("total")), "version": rec.get("getheory_version"),
        "finished": time.time(),
        "estimator": LEGACY_ESTIMATOR if legacy else d.get("estimator"),
        "dms_value": None if legacy else _num(d.get("value")),
        "dms_se": None if legacy else _num(d.get("se")),
    }


class ResultsDB:
    """The SQLite results database of one sweep: one row per finished task.

    Tables: ``meta`` (format, schema, spec JSON and hash, versions),
    ``tasks`` (task_id primary key, searchable columns, full JSON record) and
    ``failures`` (tasks that raised, retried on the next run).  Each finished
    task is written in its own transaction, with ``synchronous=FULL``.

    Opening never creates or changes anything unless ``create=True``, and
    never overwrites an existing database.
    """

    def __init__(self, path, *, create: bool = False):
        self.path = os.fspath(path)
        exists = os.path.exists(self.path)
        if not exists and not create:
            raise SweepError(f"results database {self.path!r} does not exist")
        if exists and os.path.isdir(self.path):
            raise SweepError(f"results database {self.path!r} is a directory")
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA synchronous=FULL")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"{self.path!r} is not a readable SQLite database ({exc}); "
                             "it was left untouched — give a new --db path") from None
        if exists and os.path.getsize(self.path) > 0:
            if "meta" not in tables or "tasks" not in tables:
                self.conn.close()
                raise SweepError(f"{self.path!r} is an SQLite file but not a getheory sweep database; "
                                 "it was left untouched — give a new --db path")
            fmt = self.meta().get("format")
            if fmt != DB_FORMAT:
                self.conn.close()
                raise SweepError(f"{self.path!r} is not a getheory sweep database (format {fmt!r})")
            try:
                ok = self.conn.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                ok = str(exc)
            if ok != "ok":
                self.conn.close()
                raise SweepError(f"results database {self.path!r} is corrupt ({ok}); it was left untouched")

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def meta(self) -> dict:
        try:
            return dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise SweepError(f"results database {self.path!r} is corrupt or not a sweep database ({exc})") from None

    @property
    def initialised(self) -> bool:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return "meta" in tables

    def init(self, spec: SweepSpec):
        """Create the tables for ``spec`` (empty database), or check the stored spec matches."""
        from . import __version__

        if self.initialised:
            stored = self.meta()
            if stored.get("spec_hash") != spec.hash():
                old = json.loads(stored.get("spec_json", "{}"))
                if _older_spec_format(old):
                    raise SweepError(
                        f"{self.path!r} was written by an earlier getheory (its spec has no samples.time_budget "
                        "or estimator.certify: samples planned by the old rules of thumb, no recorded d_MS "
                        "choice); its rows still load and `getheory report` reads it, but this version cannot "
                        "add rows to it. The database was left untouched — use a new --db")
                diff = _first_difference(old, spec.to_dict())
                raise SweepError(
                    f"the spec differs from the one stored in {self.path!r} (first difference at {diff}); "
                    "the database was left untouched — use a new --db for a changed spec")
            return
        cols = ", ".join(f"{c} {t}" for c, t in _COLUMNS)
        with self.conn:
            self.conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            self.conn.execute(f"CREATE TABLE tasks (task_id TEXT PRIMARY KEY, {cols}, record TEXT NOT NULL)")
            self.conn.execute("CREATE TABLE failures (task_id TEXT, error TEXT, traceback TEXT, time REAL)")
            self.conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", DB_FORMAT), ("schema_version", str(SCHEMA_VERSION)),
                ("spec_json", json.dumps(spec.to_dict(), sort_keys=True)), ("spec_hash", spec.hash()),
                ("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")), ("getheory_version", __version__),
                ("n_tasks", str(len(spec.tasks()))),
            ])

    def spec(self) -> SweepSpec:
        """The stored spec (an earlier version's spec loads with the current defaults)."""
        return spec_from_dict(self.spec_dict(), stored=True)

    def spec_dict(self) -> dict:
        """The stored spec as it was written (the TOML layout of the version that wrote it)."""
        meta = self.meta()
        if "spec_json" not in meta:
            raise SweepError(f"results database {self.path!r} holds no sweep spec")
        return json.loads(meta["spec_json"])

    def _task_columns(self) -> list:
        return [r[1] for r in self.conn.execute("PRAGMA table_info(tasks)")]

    def done_ids(self) -> set:
        return {r[0] for r in self.conn.execute("SELECT task_id FROM tasks")}

    def insert(self, record: dict) -> bool:
        """Write one finished task in its own transaction; False if it was already there."""
        flat = _flat(record)
        have = set(self._task_columns())  # a version-1 table lacks the schema-2 columns
        names = [c for c, _ in _COLUMNS if c in have]
        cols = ["task_id"] + names + ["record"]
        vals = [record["task"]["task_id"]] + [flat[c] for c in names] + [json.dumps(_jsonable(record))]
        try:
            with self.conn:
                self.conn.execute(f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals)
                self.conn.execute("DELETE FROM failures WHERE task_id = ?", (vals[0],))
        except sqlite3.IntegrityError:
            return False
        return True

    def record_failure(self, task_id: str, error: str, tb: str):
        with self.conn:
            self.conn.execute("INSERT INTO failures VALUES (?, ?, ?, ?)", (task_id, error, tb, time.time()))

    def failures(self) -> list:
        return [dict(zip(("task_id", "error", "traceback", "time"), r))
                for r in self.conn.execute("SELECT * FROM failures")]

    def records(self) -> list:
        """Every finished task's full record, in task_id order."""
        return [json.loads(r[0]) for r in self.conn.execute("SELECT record FROM tasks ORDER BY task_id")]

    def rows(self) -> list:
        """The flat columns of every finished task (dicts).

        Every column of the current schema is present: a column that a version-1 database
        lacks (estimator, dms_value, dms_se) is computed from the row's stored record, so
        its earlier rows read as estimator ``"legacy"`` with NULL value and SE.
        """
        cur = self.conn.execute("SELECT * FROM tasks ORDER BY task_id")
        names = [c[0] for c in cur.description]
        missing = [c for c, _ in _COLUMNS if c not in names]
        out = []
        for r in cur:
            row = dict(zip(names, r))
            rec = row.pop("record")
            if missing:
                flat = _flat(json.loads(rec))
                row.update({c: flat[c] for c in missing})
            out.append(row)
        return out


def _older_spec_format(stored: dict) -> bool:
    """Whether a stored spec predates samples.time_budget and estimator.certify."""
    return ("time_budget" not in (stored.get("samples") or {})
            or "certify" not in (stored.get("estimator") or {}))


def _first_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k == "description":
                continue
            if k not in a or k not in b:
                return f"{path}{k}"
            r = _first_difference(a[k], b[k], f"{path}{k}.")
            if r:
                return r
        return None
    if a != b:
        return f"{path.rstrip('.')} ({a!r} -> {b!r})"
    return None


# ---------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------
@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    total: int
    skipped: int
    done: int
    failed: int
    elapsed_s: float
    failures: list = field(default_factory=list)


_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _limit_worker_threads():
    """Limit this worker process to one BLAS/OpenMP thread for the rest of its life.

    The process-pool initializer, and the first step of every task on a Dask
    worker: one task per core must not oversubscribe the CPUs.  threadpoolctl
    limits the libraries already loaded (numpy's BLAS); the environment
    variables limit those loaded later (scipy's own BLAS, an OpenMP runtime,
    numba's threading layer).
    """
    from threadpoolctl import threadpool_limits

    for k in _THREAD_ENV:
        os.environ[k] = "1"
    threadpool_limits(limits=1)


def _make_pool(workers: int):
    """A process pool of ``workers`` spawned processes, each with one BLAS/OpenMP thread.

    Parameters
    ----------
    workers : int
        Pool size.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Its workers run :func:`_limit_worker_threads` before their first task.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_limit_worker_threads)


def _process_id() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_task_on_worker(task: Task, caller: str) -> dict:
    """:func:`run_task` on a Dask worker, limited to one BLAS/OpenMP thread.

    Parameters
    ----------
    task : Task
    caller : str
        :func:`_process_id` of the process that submitted the task.  A worker
        in that same process (an in-process cluster) leaves its thread
        settings as they are.

    Returns
    -------
    dict
        The task's record.
    """
    if _process_id() != caller:
        _limit_worker_threads()
    return run_task(task)


def run_sweep(spec: SweepSpec, db_path, *, workers: int | None = None, scheduler: str | None = None,
              client=None, progress: bool = True, max_tasks: int | None = None,
              order: str = "cheap-first") -> SweepSummary:
    """Run every unfinished task of ``spec``, writing one row per task to ``db_path``.

    Parameters
    ----------
    spec : SweepSpec
    db_path : path
        Created when missing; an existing database must hold the same spec
        (otherwise :class:`SweepError`, nothing is touched).  Finished tasks
        are skipped.
    workers : int, optional
        Local process-pool size (default: the number of CPUs).  ``1`` runs in
        this process.  Pool workers use one BLAS thread each.
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``); tasks
        run there instead of locally.  Workers in other processes use one
        BLAS thread each; the calling process is left as it is.
    client : distributed.Client, optional
        An existing Dask client (used by the tests with an in-process LocalCluster).
    progress : bool
        Progress bar on stderr.
    max_tasks : int, optional
        Run at most this many of the remaining tasks (then stop).
    order : {"cheap-first", "costly-first", "grid"}
        Task order.  The default runs the cheapest tasks (small N) first, so
        that a partial database already covers the small-N end of every
        group; ``costly-first`` shortens the makespan on a pool.

    Tasks are written by this process as they finish (one transaction each);
    Ctrl-C or a kill loses only the tasks in flight.
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec (use load_spec for a TOML file), got {type(spec).__name__}")
    t_start = time.perf_counter()
    db = ResultsDB(db_path, create=True)
    try:
        db.init(spec)
        tasks = spec.tasks()
        done = db.done_ids()
        todo = [t for t in tasks if t.task_id not in done]
        if order == "cheap-first":
            todo.sort(key=lambda t: t.cost)
        elif order == "costly-first":
            todo.sort(key=lambda t: -t.cost)
        elif order != "grid":
            raise ValueError(f"order must be 'cheap-first', 'costly-first' or 'grid', got {order!r}")
        if max_tasks is not None:
            todo = todo[:max_tasks]
        prog = Progress(len(todo), "sweep tasks", progress, delay=0.0, log_every=0.0)
        cost_total = sum(t.cost for t in todo) or 1.0
        tally = {"cost": 0.0, "n": 0}
        summary = SweepSummary(total=len(tasks), skipped=len(tasks) - len(todo) if max_tasks is None else len(done),
                               done=0, failed=0, elapsed_s=0.0)

        def finish(task, rec=None, exc=None):
            if exc is None:
                db.insert(rec)
                summary.done += 1
            else:
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                db.record_failure(task.task_id, f"{type(exc).__name__}: {exc}", tb)
                summary.failed += 1
                summary.failures.append((task.task_id, f"{type(exc).__name__}: {exc}"))
            tally["cost"] += task.cost
            tally["n"] += 1
            prog.update(tally["n"], fraction=tally["cost"] / cost_total, failed=summary.failed,
                        note=task.task_id + ("" if exc is None else " FAILED"))

        if not todo:
            pass
        elif client is not None or scheduler is not None:
            _run_dask(todo, finish, client, scheduler)
        else:
            nw = workers or os.cpu_count() or 1
            if nw <= 1 or len(todo) == 1:
                for t in todo:
                    try:
                        rec = run_task(t)
                    except KeyboardInterrupt:
                        raise
                    except Exception as exc:  # recorded, retried on the next run
                        finish(t, exc=exc)
                    else:
                        finish(t, rec)
            else:
                _run_pool(todo, finish, nw)
        summary.elapsed_s = time.perf_counter() - t_start
        return summary
    finally:
        db.close()


def _run_pool(todo, finish, workers):
    from concurrent.futures import FIRST_COMPLETED, wait

    ex = _make_pool(min(workers, len(todo)))
    try:
        futs = {ex.submit(run_task, t): t for t in todo}
        pending = set(futs)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                exc = f.exception()
                finish(futs[f], None if exc else f.result(), exc)
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        for p in list(getattr(ex, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                p.terminate()
        raise
    else:
        ex.shutdown(wait=True)


def _run_dask(todo, finish, client, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SweepError("--scheduler needs dask.distributed: pip install 'getheory[dask]'") from None
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout=30)
        except Exception as exc:  # OSError, TimeoutError...
            raise SweepError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        futs = {}
        caller = _process_id()
        for t in todo:
            f = client.submit(_run_task_on_worker, t, caller,
                              key=f"getheory-task-{t.seed:x}-{t.seed_index}-{t.N}-{t.D}", pure=False)
            futs[f.key] = (f, t)
        for f in as_completed([f for f, _ in futs.values()]):
            t = futs[f.key][1]
            try:
                rec = f.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                finish(t, exc=exc)
            else:
                finish(t, rec)
    except BaseException:
        for f, _ in futs.values():
            with contextlib.suppress(Exception):
                f.cancel()
        raise
    finally:
        if own:
            client.close()
