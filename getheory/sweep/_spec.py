"""The sweep specification: grid, generators, weights, samples, estimator, run (TOML layout).

Validated section by section; every error names the offending key.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field

from .._validation import CHECK_DTYPE, SAMPLE_DTYPES, check_dtype
from ..activations import ACTIVATIONS
from ..backend import BACKEND_NAMES, USER_BACKENDS
from ..distances import spec_settings
from ._tasks import BUILTIN_WEIGHTS, DEFAULT_TIME_BUDGET, STORED_SAMPLE_KEYS, Task, derive_seed

__all__ = ["SPEC_KEYS", "GeneratorSpec", "SampleSpec", "SpecError", "SpecKey", "SweepSpec", "load_spec",
           "spec_from_dict"]

#: fewest rows check_generator takes (fixed n, pilot and planned n alike)
MIN_ROWS = 1024
#: fewest rows per shard: the groups of a point's streamed statistics (StreamOptions.groups, default)
SHARD_MIN_ROWS = 64
#: the d_MS rank test's level (DmsOptions.level, not a spec key) and the floor replicates it needs
FLOOR_LEVEL = 0.05
MIN_FLOOR_REPLICATES = math.ceil(1 / FLOOR_LEVEL - 1 - 1e-9)


class SpecError(ValueError):
    """An invalid sweep specification; the message names the offending key."""


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
    choose n from an independent pilot within ``time_budget`` seconds (default
    :data:`getheory.plan.DEFAULT_TIME_BUDGET`), with the planner's ``min_pilot`` and
    ``min_samples``, and ``max_samples`` capped at ``max_work/(N·D)``: the names of
    :class:`getheory.plan.PlanOptions`.  Spec files written before may call them ``pilot``,
    ``min`` and ``max`` (``STORED_SAMPLE_KEYS``, the names a spec is stored and hashed
    under, so that its hash and its task keys do not depend on which names the file used).
    ``shard_size`` (optional) cuts each point's measured run into shards of that many rows
    (docs/theory.md §4.1, Sharded runs): on a Dask cluster a point's shards run on the
    sweep's client; on a local pool or in one process, one after the other in the point's
    process.  Unset (the default), a point streams as one run, and the spec, its hash and
    its tasks are what they were before the key existed.
    """

    mode: str = "plan"
    n: int = 100_000
    min_pilot: int = 20_000
    min_samples: int = 20_000
    max_samples: int = 2_000_000
    max_work: float = 2e11
    moment_samples: int = 20_000
    moment_max_work: float = 2e10
    time_budget: float = DEFAULT_TIME_BUDGET
    shard_size: int | None = None

    def to_dict(self) -> dict:
        """The [samples] table; without ``shard_size`` when it is unset (specs written before it
        keep their hash, so their databases resume)."""
        d = asdict(self)
        if d["shard_size"] is None:
            del d["shard_size"]
        return d

    def stored(self) -> dict:
        """The [samples] table as a database, a task and the spec's hash store it: the planner's
        settings under their ``STORED_SAMPLE_KEYS`` names."""
        return {STORED_SAMPLE_KEYS.get(k, k): v for k, v in self.to_dict().items()}


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
    dtype: str = CHECK_DTYPE
    seed: int = 0
    description: str = ""
    certify: bool = False
    #: the [estimator] settings of registered d_MS estimators (:func:`getheory.distances.spec_settings`)
    dms_settings: dict = field(default_factory=dict, hash=False)
    #: read from a database written by an earlier version: reported, never run
    stored: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self):
        # objects built directly in Python are validated exactly as TOML is
        _validated_fields(self.to_dict(), stored=self.stored)

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
            "samples": self.samples.to_dict(),
            "estimator": {"floor_replicates": self.floor_replicates, "p": self.p, "certify": self.certify,
                          "confidence": self.confidence, **self.dms_settings},
            "run": {"backend": self.backend, "dtype": self.dtype},
        }

    def stored_dict(self) -> dict:
        """The spec as a results database stores it and :meth:`hash` hashes it: :meth:`to_dict`
        with the [samples] table under its stored names (:meth:`SampleSpec.stored`)."""
        return self.to_dict() | {"samples": self.samples.stored()}

    def hash(self) -> str:
        """SHA-256 of the stored spec (:meth:`stored_dict`), minus ``description`` (free text)."""
        d = self.stored_dict()
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
                    samples=self.samples.stored(), floor_replicates=self.floor_replicates, p=self.p,
                    confidence=self.confidence, backend=self.backend, dtype=self.dtype, certify=self.certify,
                    dms_settings=dict(self.dms_settings) or None,
                ))
        return out


@dataclass(frozen=True)
class SpecKey:
    """One key of a sweep TOML file: its table, its name, its type, its default and its meaning.

    ``table`` is ``""`` for the top level, else the table's name (``"generator"`` for every
    ``[[generator]]`` table); ``default`` is the value as TOML writes it, or ``"required"``,
    or ``"unset"`` for a key whose absence means something of its own.
    """

    table: str
    key: str
    type: str
    default: str
    meaning: str


_S = SampleSpec()
#: every key a sweep spec accepts, in the order of its TOML layout: the validator allows exactly these
#: (plus the settings of registered d_MS estimators in [estimator]), and the documentation's sweep-file
#: reference is generated from them
SPEC_KEYS = (
    SpecKey("", "name", "string", "required", "the sweep's name, stored in its database"),
    SpecKey("", "description", "string", '""', "free text; not part of the spec's hash"),
    SpecKey("", "seed", "integer >= 0", "0", "master seed: every task's seed is derived from it and the point"),
    SpecKey("", "grid", "table", "required", "the sizes: [grid]"),
    SpecKey("", "generator", "array of tables", "required", "the generator families: one [[generator]] each"),
    SpecKey("", "weights", "table", "{}", "the student and teacher weight ensembles: [weights]"),
    SpecKey("", "samples", "table", "{}", "how many rows each point draws: [samples]"),
    SpecKey("", "estimator", "table", "{}", "the d_MS estimator's settings: [estimator]"),
    SpecKey("", "run", "table", "{}", "backend and dtype: [run]"),
    SpecKey("grid", "N", "list of integers >= 1", "required", "input dimensions N"),
    SpecKey("grid", "delta", "list of numbers > 0", "[0.5]", "D = round(δ N) for each δ (give delta or D, not both)"),
    SpecKey("grid", "D", "list of integers >= 1", "unset", "latent dimensions D: a product grid with N, instead of delta"),
    SpecKey("grid", "K", "integer >= 1", "1", "student hidden units"),
    SpecKey("grid", "M", "integer >= 1", "1", "teacher hidden units"),
    SpecKey("grid", "seeds", "integer >= 1", "3", "independent draws of A, W, W̃ per point"),
    SpecKey("generator", "activation", "string", "required",
            "a built-in activation (getheory.ACTIVATIONS); required unless factory is given"),
    SpecKey("generator", "depth", "integer >= 1", "1", "hidden layers of width N for depth > 1 (DeepGenerator)"),
    SpecKey("generator", "factory", "string 'module:function'", "unset",
            "instead of activation and depth: a user factory f(N, D, seed) returning a Generator or a callable "
            "c -> x; code that runs (see Trust)"),
    SpecKey("generator", "name", "string without '|'", "the activation, or the factory",
            "the family's label; unique among the generators"),
    SpecKey("weights", "student", "list of strings", '["gaussian"]',
            "student ensembles: 'gaussian', 'abs_gaussian' or 'module:function' f(K, N, rng) -> (K, N) "
            "(code that runs)"),
    SpecKey("weights", "teacher", "string", '"gaussian"',
            "teacher ensemble: 'gaussian' or 'module:function' f(M, D, rng) -> (M, D) (code that runs)"),
    SpecKey("samples", "mode", "string", f'"{_S.mode}"',
            "'fixed' (draw n), 'plan' (a pilot plans n within time_budget) or 'analytic' (no sampling, "
            "docs/theory.md §4.2; single-layer built-in generators only)"),
    SpecKey("samples", "n", f"integer >= {MIN_ROWS} (fixed mode)", str(_S.n), "rows per point in fixed mode"),
    SpecKey("samples", "time_budget", "number > 0", f"{_S.time_budget:g}",
            "plan mode: seconds per point for pilot, sampling and estimation"),
    SpecKey("samples", "min_pilot", f"integer >= {MIN_ROWS} (plan mode)", str(_S.min_pilot),
            "plan mode: fewest pilot rows (PlanOptions.min_pilot)"),
    SpecKey("samples", "min_samples", f"integer >= {MIN_ROWS} (plan mode)", str(_S.min_samples),
            "plan mode: fewest planned rows (PlanOptions.min_samples)"),
    SpecKey("samples", "max_samples", "integer >= 64", str(_S.max_samples),
            "plan mode: most planned rows, capped at max_work/(N·D) (PlanOptions.max_samples)"),
    SpecKey("samples", "pilot", "integer", "unset", "the name spec files written before give min_pilot; still read"),
    SpecKey("samples", "min", "integer", "unset", "the name spec files written before give min_samples; still read"),
    SpecKey("samples", "max", "integer", "unset", "the name spec files written before give max_samples; still read"),
    SpecKey("samples", "max_work", "number > 0", f"{_S.max_work:g}", "per-point work cap in multiply-adds n·N·D"),
    SpecKey("samples", "moment_samples", "integer >= 0", str(_S.moment_samples),
            "rows of the Monte Carlo moment check (0: off)"),
    SpecKey("samples", "moment_max_work", "number >= 0", f"{_S.moment_max_work:g}",
            "the moment check's work cap, n·N·(N + D)"),
    SpecKey("samples", "shard_size", f"integer >= {SHARD_MIN_ROWS}", "unset",
            "cut each point's measured run into shards of this many rows (docs/theory.md §4.1, Sharded runs); "
            "not in analytic mode"),
    SpecKey("estimator", "floor_replicates", f"integer >= {MIN_FLOOR_REPLICATES}", str(MIN_FLOOR_REPLICATES),
            f"Gaussian replicates of the plug-in's floor (the rank test at level {FLOOR_LEVEL:g} needs "
            f"{MIN_FLOOR_REPLICATES})"),
    SpecKey("estimator", "p", "1 or 2", "1", "the 1-D metric W_p inside d_MS"),
    SpecKey("estimator", "certify", "boolean", "false", "also compute the certified upper bound (slow)"),
    SpecKey("estimator", "confidence", "number in [0.5, 0.9999]", "0.95", "the level of the certified bound only"),
    SpecKey("run", "backend", "string", '"numpy"', "'numpy' or 'cupy' (a CUDA GPU)"),
    SpecKey("run", "dtype", "string", f'"{CHECK_DTYPE}"',
            "'float32' or 'float64': products and σ in it, every sum over rows in float64"),
)
del _S

_ALLOWED = {table: {k.key for k in SPEC_KEYS if k.table == table}
            for table in ("", "grid", "generator", "weights", "samples", "estimator", "run")}


def _unknown(d: dict, where: str, section: str, also=()):
    if not isinstance(d, dict):
        raise SpecError(f"spec key {where or '<top>'!r}: must be a table, got {type(d).__name__}")
    allowed = _ALLOWED[section] | set(also)
    extra = sorted(set(d) - allowed)
    if extra:
        key = f"{where}.{extra[0]}" if where else extra[0]
        raise SpecError(f"unknown spec key {key!r} (allowed in {where or 'the top level'}: "
                        f"{', '.join(sorted(allowed))})")


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
    return SweepSpec(**_validated_fields(d, stored=stored), stored=stored)


def _validated_fields(d: dict, *, stored: bool) -> dict:
    """The fields of a :class:`SweepSpec`, one section of the TOML layout at a time."""
    _unknown(d, "", "")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpecError("spec key 'name': required, a non-empty string")
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise SpecError("spec key 'description': must be a string")
    fields_ = {"name": name.strip(), "description": desc, "seed": _int(d.get("seed", 0), "seed", 0)}
    fields_.update(_grid(d.get("grid")))
    gens = _generators(d.get("generator"))
    fields_["generators"] = gens
    fields_.update(_weights(d.get("weights", {})))
    fields_["samples"] = _samples(d.get("samples", {}), gens, stored)
    fields_.update(_estimator(d.get("estimator", {}), stored))
    fields_.update(_run(d.get("run", {}), stored))
    return fields_


def _grid(grid) -> dict:
    """[grid]: N, D or delta, K, M, seeds."""
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
    return {"N": Ns, "D": D, "delta": delta, "K": _int(grid.get("K", 1), "grid.K"),
            "M": _int(grid.get("M", 1), "grid.M"), "seeds": _int(grid.get("seeds", 3), "grid.seeds")}


def _generators(gens_raw) -> tuple:
    """[[generator]]: built-in activation and depth, or a user factory; unique names."""
    if gens_raw is None:
        raise SpecError("spec key 'generator': required, at least one [[generator]] table")
    if isinstance(gens_raw, dict):
        gens_raw = [gens_raw]
    if not isinstance(gens_raw, list) or not gens_raw:
        raise SpecError("spec key 'generator': must be a non-empty array of tables")
    gens = tuple(_generator(g, f"generator[{i}]") for i, g in enumerate(gens_raw))
    names = [g.name for g in gens]
    if len(set(names)) != len(names):
        raise SpecError(f"spec key 'generator': generator names must be unique, got {names}")
    return gens


def _generator(g, key: str) -> GeneratorSpec:
    """One [[generator]] table, at ``key`` (``generator[i]``)."""
    _unknown(g, key, "generator")
    if "factory" in g:
        if "activation" in g or "depth" in g:
            raise SpecError(f"spec key '{key}.factory': give either factory or activation/depth, not both")
        fac = _modfn(g["factory"], f"{key}.factory")
        gen = GeneratorSpec(name=g.get("name", fac), activation=None, depth=1, factory=fac)
    else:
        act = g.get("activation")
        if act is None:
            raise SpecError(f"spec key '{key}.activation': required (or give '{key}.factory')")
        if act not in ACTIVATIONS:
            raise SpecError(f"spec key '{key}.activation': unknown activation {act!r} "
                            f"(built-ins: {', '.join(ACTIVATIONS)})")
        depth = _int(g.get("depth", 1), f"{key}.depth")
        gen = GeneratorSpec(name=g.get("name", act if depth == 1 else f"{act}-depth{depth}"), activation=act,
                            depth=depth, factory=None)
    if not isinstance(gen.name, str) or not gen.name or "|" in gen.name:
        raise SpecError(f"spec key '{key}.name': must be a non-empty string without '|', got {gen.name!r}")
    return gen


def _weights(w) -> dict:
    """[weights]: student ensembles (built-in or 'module:function') and the teacher's."""
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
    return {"student_weights": tuple(st), "teacher_weights": te}


def _samples(s, gens, stored) -> SampleSpec:
    """[samples]: mode and its sizes, time budget and work caps."""
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
        min_pilot=_planner_int(s, "min_pilot", lo_plan),
        min_samples=_planner_int(s, "min_samples", lo_plan),
        max_samples=_planner_int(s, "max_samples", 64),
        max_work=_float(s.get("max_work", dflt.max_work), "samples.max_work", 0.0, lo_open=True),
        moment_samples=_int(s.get("moment_samples", dflt.moment_samples), "samples.moment_samples", 0),
        moment_max_work=_float(s.get("moment_max_work", dflt.moment_max_work), "samples.moment_max_work", 0.0),
        time_budget=_float(s.get("time_budget", dflt.time_budget), "samples.time_budget", 0.0, lo_open=True),
        shard_size=_shard_size(s, mode),
    )
    if samples.min_samples > samples.max_samples:
        lo, hi = (_given_name(s, k) for k in ("min_samples", "max_samples"))
        raise SpecError(f"spec key 'samples.{lo}': {samples.min_samples} exceeds samples.{hi} = {samples.max_samples}")
    return samples


def _given_name(s: dict, name: str) -> str:
    """The name under which the [samples] table ``s`` gives the planner's setting ``name``: its own or the
    one of spec files written before (``STORED_SAMPLE_KEYS``)."""
    old = STORED_SAMPLE_KEYS[name]
    if name in s and old in s:
        raise SpecError(f"spec keys 'samples.{name}' and 'samples.{old}': the same setting twice ({old} is the "
                        f"name of spec files written before); give samples.{name} only")
    return old if old in s else name


def _planner_int(s: dict, name: str, minimum: int) -> int:
    """The planner's setting ``name`` (a :class:`getheory.plan.PlanOptions` field) of the [samples] table."""
    key = _given_name(s, name)
    return _int(s.get(key, getattr(SampleSpec, name)), f"samples.{key}", minimum)


def _shard_size(s: dict, mode: str) -> int | None:
    """samples.shard_size: rows per shard of a point's measured run, at least the 64 groups of its statistics."""
    if s.get("shard_size") is None:
        return None
    if mode == "analytic":
        raise SpecError("spec key 'samples.shard_size': mode 'analytic' draws no samples, so there is nothing to "
                        "shard; remove the key or use mode 'fixed' or 'plan'")
    size = _int(s["shard_size"], "samples.shard_size", minimum=-math.inf)  # the bound and its reason below
    if size < SHARD_MIN_ROWS:
        raise SpecError(f"spec key 'samples.shard_size': must be >= {SHARD_MIN_ROWS} (every shard gives each of the "
                        f"{SHARD_MIN_ROWS} groups of the streamed statistics a row), got {size}; best a multiple "
                        f"of {SHARD_MIN_ROWS}, large enough that a shard takes seconds")
    return size


def _estimator(e, stored) -> dict:
    """[estimator]: floor replicates (>= 19 to run), p, certify and its confidence, and the settings of
    registered d_MS estimators (:func:`getheory.distances.spec_settings`)."""
    own = spec_settings()
    _unknown(e, "estimator", "estimator", own)
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
    return {"floor_replicates": floor_rep, "p": int(p), "certify": certify, "confidence": conf,
            "dms_settings": {k: _setting(own[k], e[k], f"estimator.{k}") for k in sorted(own) if k in e}}


def _setting(setting, value, key: str):
    """A registered estimator's setting from the spec, through its own conversion."""
    try:
        return setting.convert(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"spec key {key!r}: {exc}") from None


def _run(r, stored: bool) -> dict:
    """[run]: backend and dtype (default :data:`getheory._validation.CHECK_DTYPE`, as for a check; in a
    spec stored by an earlier version, float64, the default it was written under)."""
    _unknown(r, "run", "run")
    backend = r.get("backend", "numpy")
    if backend not in BACKEND_NAMES:
        raise SpecError(f"spec key 'run.backend': must be {' or '.join(map(repr, USER_BACKENDS))}, got {backend!r}")
    dtype = r.get("dtype", "float64" if stored else CHECK_DTYPE)
    if not isinstance(dtype, str):
        raise SpecError(f"spec key 'run.dtype': must be a string, one of {', '.join(map(repr, SAMPLE_DTYPES))}; "
                        f"got {dtype!r}")
    try:
        dtype = check_dtype(dtype, None)
    except ValueError as exc:
        raise SpecError(f"spec key 'run.dtype': {exc}") from None
    return {"backend": backend, "dtype": dtype}


def load_spec(path) -> SweepSpec:
    """Read and validate a TOML sweep specification (the layout is in :mod:`getheory.sweep`)."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(f"sweep specification {str(path)!r} not found") from None
    except IsADirectoryError:
        raise SpecError(f"sweep specification {str(path)!r} is a directory; give the TOML file itself") from None
    except OSError as exc:
        raise SpecError(f"sweep specification {str(path)!r} cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"sweep specification {str(path)!r} is not valid TOML: {exc}") from None
    return spec_from_dict(raw)
