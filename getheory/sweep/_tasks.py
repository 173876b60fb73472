"""One sweep task: a grid point × seed, and how it runs (docs/theory.md §4, §5).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .._run import RunContext, start_run_context
from .._seeds import SWEEP_TASK, derive_seed
from .._validation import user_code
from .._version import __version__
from ..activations import get_activation
from ..analytic import analytic_dms
from ..bounds import bound_terms
from ..check import GeneratorRecipe, ShardOptions, check_generator, draw_weights
from ..distances import DmsOptions, absent_parts
from ..fields import LatentDraw
from ..generators import CallableGenerator, Generator, import_user_object, random_deep, random_single_layer
from ..moments import monte_carlo_match_in
from ..plan import DEFAULT_TIME_BUDGET, PlanOptions
from ._record import TaskRecord

__all__ = ["BUILTIN_WEIGHTS", "DEFAULT_TIME_BUDGET", "STORED_SAMPLE_KEYS", "Task", "build_generator", "build_weights",
           "derive_seed", "run_task"]

BUILTIN_WEIGHTS = ("gaussian", "abs_gaussian")

#: the planner's settings of the [samples] table, named as :class:`getheory.plan.PlanOptions` names
#: them, and the names they are stored under: a task's ``samples``, the spec a database stores and the
#: spec's hash keep the names of spec files written before (``pilot``, ``min``, ``max``), so that every
#: spec keeps its hash and task keys and every database written before resumes
STORED_SAMPLE_KEYS = {"min_pilot": "pilot", "min_samples": "min", "max_samples": "max"}


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
    #: the spec's settings of registered d_MS estimators (:class:`getheory.distances.Setting`), if any
    dms_settings: dict | None = None

    def payload(self) -> dict:
        """The task as plain data (what a record stores and a task key hashes); a field still at its
        default ``None`` is left out, so that tasks of specs written before it existed keep their keys."""
        d = asdict(self)
        if d["dms_settings"] is None:
            del d["dms_settings"]
        return d

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


def _planner_setting(samples: dict, name: str) -> int:
    """The planner's setting ``name`` (a :class:`~getheory.plan.PlanOptions` field) of a task's samples."""
    return int(samples[STORED_SAMPLE_KEYS[name]])


def _sample_cap(samples: dict, N: int, D: int) -> int:
    """The per-point work cap min(max_samples, max_work/(N·D)), never below min_samples (the planner's
    max_samples)."""
    cap = min(_planner_setting(samples, "max_samples"), int(samples["max_work"] // (N * D)))
    return int(max(_planner_setting(samples, "min_samples"), cap))


def _import(modfn: str, kind: str = "factory"):
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return import_user_object(modfn, kind)


def build_generator(gspec: dict, N: int, D: int, seed: int):
    """The generator of one task (single-layer, deep or user factory)."""
    if gspec.get("factory"):
        factory = _import(gspec["factory"])
        with user_code(f"generator factory {gspec['factory']!r}", f" for N={N}, D={D}"):
            obj = factory(N, D, seed)
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
    t = task if isinstance(task, dict) else asdict(task)
    rng = np.random.default_rng(seed)
    K, M, N, D = t["K"], t["M"], t["N"], t["D"]
    w, tw = t["weights"], t["teacher_weights"]
    if w in BUILTIN_WEIGHTS and tw == "gaussian":
        return draw_weights(N, D, K, M, rng, ensemble=w)
    if w in BUILTIN_WEIGHTS:
        Ws, _ = draw_weights(N, D, K, M, rng, ensemble=w)
    else:
        Ws = np.asarray(_import(w, "student weights")(K, N, rng), dtype=np.float64)
    if tw == "gaussian":
        Wt = rng.standard_normal((M, D))
    else:
        Wt = np.asarray(_import(tw, "teacher weights")(M, D, rng), dtype=np.float64)
    return Ws, Wt


def _moment_errors(gen, Ws, Wt, samples: dict, seed: int, run: RunContext):
    """Monte Carlo Q, R and their standard errors (docs/theory.md §2), on ``run``'s backend and dtype.

    The match is estimated from the fields of n latents (:func:`getheory.moments.monte_carlo_match_in`:
    O((K+M)²) a row on top of sampling, no N × N Ω), n capped as it always was by
    ``moment_max_work`` = n·N·(N + D), so that a spec keeps its n and, on the same seed, its latents.
    Returns (the Monte Carlo Gaussian match, the record's entries), or (None, why the check was
    skipped); :func:`_against_exact` adds the errors against the exact moments.
    """
    N, D, K = gen.N, gen.D, Ws.shape[0]
    n = min(int(samples["moment_samples"]), int(samples["moment_max_work"] // (N * (N + D))))
    if samples["moment_samples"] == 0:
        return None, {"skipped": "moment check off (samples.moment_samples = 0)"}
    if n < 400:
        return None, {"skipped": f"budget moment_max_work allows only {n} samples at N={N} (< 400)"}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mc = monte_carlo_match_in(run, gen, (Ws, Wt), LatentDraw(n, seed), 20)
    out = {"n": n, "seconds": time.perf_counter() - t0}
    se = mc.stderr_cov
    out["max_se_Q"] = float(np.max(se[:K, :K])) if se is not None else None
    out["max_se_R"] = float(np.max(se[:K, K:])) if se is not None else None
    return mc, out


def _against_exact(out: dict, mc, exact_match: dict | None, K: int) -> dict:
    """``out`` of :func:`_moment_errors` with the errors of the Monte Carlo match ``mc``'s Q, R
    against the exact ones (the check's ``gaussian_match``), or a note when there are none."""
    if exact_match is None or not exact_match.get("exact"):
        out["note"] = "no exact moments for this generator: standard errors only"
        return out
    se = mc.stderr_cov
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
    if gspec.get("factory"):
        return None
    act = get_activation(gspec["activation"])
    x = np.linspace(-5, 5, 2001)
    x = x[x != 0]
    return bool(np.allclose(act(-x), -act(x), atol=1e-12))


def _check_options(t: dict) -> tuple:
    """(samples argument, PlanOptions or None, DmsOptions) of one task for :func:`check_generator`."""
    samples = t["samples"]
    dms = DmsOptions(p=t["p"], floor_replicates=t["floor_replicates"], certify=bool(t.get("certify", False)),
                     confidence=t["confidence"], settings=t.get("dms_settings") or {})
    if samples["mode"] != "plan":
        return int(samples["n"]), None, dms
    plan = PlanOptions(time_budget=float(samples.get("time_budget", DEFAULT_TIME_BUDGET)),
                       min_pilot=_planner_setting(samples, "min_pilot"),
                       min_samples=_planner_setting(samples, "min_samples"),
                       max_samples=_sample_cap(samples, t["N"], t["D"]))
    return "auto", plan, dms


def _generator_recipe(gspec: dict, N: int, D: int, seed: int):
    """How a worker rebuilds a task's generator (:func:`build_generator` with the same arguments)."""
    needs = (gspec["factory"].split(":")[0],) if gspec.get("factory") else ()
    return GeneratorRecipe("getheory.sweep._tasks:build_generator", (gspec, N, D, seed), needs=needs)


def _shard_options(samples: dict):
    """The check's :class:`~getheory.check.ShardOptions` of a task (no shards unless samples.shard_size)."""
    return ShardOptions(size=samples.get("shard_size"))


def run_task(task: Task | dict, client=None) -> TaskRecord:
    """Run one task and return its :class:`TaskRecord` (the database row's payload).

    Steps: derive sub-seeds (generator, weights, main, moments) from the task
    seed; build the generator and weights; run
    :func:`getheory.check.check_generator` with the task's
    :class:`~getheory.distances.DmsOptions` and, in plan mode, ``samples="auto"``
    and its :class:`~getheory.plan.PlanOptions` (the shared planner runs an
    independent pilot and fixes n in advance); compare Monte Carlo Q, R with
    the exact ones; record timings, versions.  The record's ``plan`` is the
    planner's ``Plan.to_dict()`` (plan mode) or a fixed-n note.

    With ``samples.shard_size`` the point's measured run is sharded (docs/theory.md §4.1,
    Sharded runs): its shards run on ``client``'s Dask cluster when one is given (the
    generator rebuilt on each worker from its recipe), else one after the other here.
    """
    t = task if isinstance(task, dict) else task.payload()
    t_all = time.perf_counter()
    seed = t["seed"]
    s_gen, s_w, s_main, s_mom = (derive_seed(seed, label) for label in SWEEP_TASK)
    gen = build_generator(t["generator"], t["N"], t["D"], s_gen)
    Ws, Wt = build_weights(t, s_w)
    samples = t["samples"]
    run = start_run_context(backend=t["backend"], dtype=t["dtype"])  # resolved once, at the task's entry
    bk = run.backend
    if samples["mode"] == "analytic":
        return _run_analytic_task(t, gen, Ws, Wt, t_all, bk)
    n_arg, plan_opt, dms_opt = _check_options(t)
    timings = {}
    t0 = time.perf_counter()
    shards = _shard_options(samples)
    recipe = _generator_recipe(t["generator"], t["N"], t["D"], s_gen) if shards.on else None
    res = check_generator(gen, samples=n_arg, plan=plan_opt, seed=s_main, W_student=Ws, W_teacher=Wt,
                          dms=dms_opt, backend=bk, dtype=t["dtype"], progress=False, shards=shards,
                          client=client if shards.on else None, recipe=recipe)
    rd = res.to_dict()
    timings["check"] = time.perf_counter() - t0
    timings.update({f"check.{k}": v for k, v in rd.get("timings_s", {}).items()})
    n = int(rd["sizes"]["samples"])
    if rd.get("plan") is not None:
        plan = dict(rd["plan"])
        if (rd.get("measured_run") or {}).get("cut"):  # the budget cut the measured run: n is what it reached
            plan["measured_run"] = rd["measured_run"]
    else:
        plan = {"mode": "fixed", "n": n, "limited_by": "fixed",
                "statement": f"fixed n = {n:,} (samples.mode = 'fixed')."}
    mc, mom = _moment_errors(gen, Ws, Wt, samples, s_mom, run)
    if mc is not None:
        mom = _against_exact(mom, mc, rd.get("gaussian_match"), Ws.shape[0])
    if "seconds" in mom:
        timings["moment_check"] = mom["seconds"]
    timings["total"] = time.perf_counter() - t_all
    return TaskRecord(task=t, odd_activation=_is_odd(t["generator"]), plan=plan, samples=n, d_MS=rd["d_MS"],
                      bound_terms=rd.get("bound_terms"), bound_terms_note=rd.get("bound_terms_note"),
                      gaussian_match=rd.get("gaussian_match"), moments_source=rd.get("moments_source"),
                      moment_errors=mom, conditions=rd.get("conditions"), check_settings=rd.get("settings"),
                      timings_s=timings, **_provenance())


def _provenance() -> dict:
    """The versions and host a record names."""
    return {"getheory_version": __version__, "numpy_version": np.__version__, "python": platform.python_version(),
            "host": socket.gethostname()}


def _run_analytic_task(t, gen, Ws, Wt, t_all, bk) -> TaskRecord:
    """An analytic-only point (samples.mode = "analytic"): the leading-order κ3, κ4 and
    Edgeworth d_MS without sampling (docs/theory.md §4.2) and every bound term (§5).

    The record's d_MS has ``estimator = "analytic"``, ``value`` the Edgeworth d_MS and
    ``se`` its stated truncation error; it counts as resolved when the value exceeds twice
    that error.  No plug-in, floor or sampled cumulants.
    """
    t0 = time.perf_counter()
    a = analytic_dms(gen, Ws, Wt, backend=bk)
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    bt = bound_terms(gen, Ws, Wt, backend=bk)
    t_bt = time.perf_counter() - t0
    ad = a.to_dict()
    dms = {
        "value": a.edgeworth_w1, "se": a.truncation_error, "estimator": "analytic",
        "choice_rule": "analytic leading-order Edgeworth d_MS, no sampling (docs/theory.md §4.2); resolved when "
                       "the value exceeds twice its truncation error",
        "resolved": bool(a.edgeworth_w1 > 2 * a.truncation_error),
        **absent_parts("analytic"),  # the sampled estimators did not run
        "analytic": ad, "n": 0, "d": int(Ws.shape[0] + Wt.shape[0]),
    }
    plan = {"mode": "analytic", "n": 0, "limited_by": "analytic", "statement": "no sampling (analytic)."}
    timings = {"analytic": t_an, "bounds": t_bt, "total": time.perf_counter() - t_all}
    return TaskRecord(task=t, odd_activation=_is_odd(t["generator"]), plan=plan, samples=0, d_MS=dms,
                      bound_terms=bt.to_dict(), bound_terms_note="single-layer: §5", gaussian_match=None,
                      moments_source="none (analytic pattern sums, §4.2)", moment_errors={"skipped": "analytic mode"},
                      conditions=None, check_settings=None, timings_s=timings, **_provenance())


# ---------------------------------------------------------------------------
# Results database
