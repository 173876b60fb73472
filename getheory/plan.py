"""Planned sample sizes: a sequential pilot, then n fixed in advance (docs/theory.md §4.1).

The cumulant estimator's z-score grows like √n.  :func:`plan_samples` runs an independent
pilot (its own seed; none of its rows are reused) in stages of doubling size, 20,000,
40,000, 80,000, ... rows streamed into one growing set of statistics, and after each stage
computes its held-out cumulants.  It stops as soon as its |z| reaches ``z_pilot`` (default
8: the projection is then reliable, and a larger pilot would cost more than it saves), or
when the next stage would pass its share of the budget (``pilot_fraction``, default 0.1).
The measured run never sees the pilot's rows, so the planned n is independent of the data
it is judged on whatever the pilot's stopping rule: the stopping rule can move the pilot's
|z| (and with it how often the measured run reaches its target), never the false-positive
rate of the measured run's verdict.  The pilot measures

* the throughput of sampling plus streaming statistics (rows per second, in its last,
  warm stage), and
* the held-out cumulants, their standard errors and the Edgeworth d_MS along its worst
  direction, which also size the plug-in's reservoir (:func:`getheory.distances.plugin_reservoir`),

and fixes n **before** the measured run: the n at which the measured run's |z| reaches the
5σ target with probability ``confidence`` (default 0.95) given the pilot's, and at least the
n at which its expected |z| is ``z_plan`` (default 6), never below ``min_samples``, capped by
what the time budget allows.  The measured run may be smaller than the pilot (a pilot at
|z| = 126 plans ``min_samples`` rows).  The measured run then happens once at that n.
Nothing stops early when its z first crosses a threshold: that would inflate the
false-positive rate of the verdict.

The pilot's |z| is noisy, and not only by the ±1 of a z-score: each run chooses its most
non-Gaussian direction on a quarter of its groups, so |z| moves between independent runs
at the same n with a spread s = ``Z_SPREAD`` (measured by benchmarks/bench_plan.py).
With z_p the pilot's |z| on n_p rows and r² = n/n_p, the measured run's |z| is about
r·z − r·e_p + e_m with z the pilot's expectation and e_p, e_m independent spreads s, so it
reaches z_target with probability ``confidence`` when

.. math:: r z_p − q s \\sqrt{r^2 + 1} \\ge z_{target},\\qquad q = Φ^{-1}(\\text{confidence}),

whose smallest root is r = [z_p t + q s √(z_p² + t² − q² s²)] / (z_p² − q² s²), t = z_target
(none when z_p ≤ q s).  A pilot that stopped because its |z| reached z_pilot kept a |z| biased
upwards by that choice: z_p is first lowered by the overshoot s·φ(α)/(1 − Φ(α)),
α = (z_pilot − |z|)/s (:func:`stopping_corrected_z`).  n_needed = n_p · max(r², (z_plan / z_p)²).
The budget allows n_budget rows: sampling at the pilot's rate in ``BUDGET_SHARE`` of what is
left, plus a reserve for the estimation
(``ESTIMATE_SECONDS`` plus ``ESTIMATE_SECONDS_PER_ROW`` per reservoir row on the CPU).
When the budget cannot pay for n_needed, the statement gives the range of n at which |z| = 5
is expected for a pilot's expectation within two spreads of its |z|, not one number a weak
pilot cannot support.

Within a workflow, :func:`plan_samples_in` runs the same probe and pilot with the run's
:class:`getheory._run.RunContext` (backend object, dtype, deadline, progress) and a
:class:`PlanSetup`; :func:`plan_samples` is its entry for a Python user.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from scipy.special import ndtr, ndtri

from ._json import to_plain as _plain
from ._repr import ShortRepr
from ._run import RunContext, start_run_context
from ._seeds import seedseq
from ._validation import check_int
from .distances import (
    CumulantOptions,
    DmsOptions,
    FieldStream,
    StreamOptions,
    cumulants_from_stats,
    floor_scale,
    plugin_reservoir,
)
from .fields import LatentDraw, check_weights, stream_fields_in

__all__ = ["DEFAULT_TIME_BUDGET", "Plan", "PlanOptions", "PlanSetup", "plan_samples", "plan_samples_in",
           "samples_for_z", "stopping_corrected_z"]

#: the one default time budget of the planner, in seconds: ``PlanOptions.time_budget``, ``getheory check
#: --time-budget`` and a sweep spec's ``samples.time_budget`` (a sweep that wants another budget per point
#: says so in its spec)
DEFAULT_TIME_BUDGET = 60.0

#: estimation time per plug-in reservoir row (the plug-in and its 19 floor replicates, guided search on
#: 2^15 rows, K + M = 4) and the part that does not grow with the reservoir (the held-out cumulants, the 20
#: searches' guides): estimate_dms took 12.5 s on 2^16 rows and 21.0 s on 2^18 (min of 3, d = 4) in a
#: process whose float64 GEMM ran at 4 GFLOP/s, 1/40 of the 160 of a quiet development CPU; scaled by
#: that, 1.1e-6 s a row and 0.23 s.  Set with a margin (it was 5e-6 a row and no fixed part, measured
#: quietly with 10^5-row guides); a GPU is faster
ESTIMATE_SECONDS_PER_ROW = 2e-6
ESTIMATE_SECONDS = 0.5

#: share of what is left of the budget that the measured run's planned sampling fills: the pilot's rate is
#: a measurement, and a run slower than it by more than this margin would pass the deadline and be lost
#: (the 5 s reserve for a 10^6-row reservoir used to be this margin; at a load average of 14-20 on 2 cores
#: the README's main command, seeds 2, 5 and 8, ran past its 60 s budget with a 0.6 s reserve)
BUDGET_SHARE = 0.85

#: run-to-run spread (SD) of the held-out |z| at a fixed n, from the direction chosen on a
#: quarter of the groups and the z-score's own noise: measured by benchmarks/bench_plan.py
#: (sign, N = 256, D = 128, K = M = 2, n = 6·10^5, 24 problems, two runs each: s = 1.94,
#: 90 % interval 1.57–2.55, no trend with |z|)
Z_SPREAD = 2.0


@dataclass(frozen=True, repr=False)
class PlanOptions(ShortRepr):
    """How :func:`plan_samples` chooses n.

    Attributes
    ----------
    time_budget : float
        Seconds for the pilot, the measured run and its estimation (default :data:`DEFAULT_TIME_BUDGET`, 60).
    z_target : float
        The z the statement is about (default 5).
    z_plan : float
        Expected |z| the planned n aims at, at least (default 6).
    confidence : float
        Probability, over the pilot's and the measured run's noise, that the measured run
        reaches ``z_target`` (default 0.95; most pilots are far above the margin, so the rate of
        unresolved runs is well below 5 %: benchmarks/bench_main_command.py).
    pilot_fraction : float
        Largest share of the budget the pilot may take (default 0.1).
    min_pilot : int
        Rows of the pilot's first stage (default 20,000); a budget that cannot afford them is refused.
    z_pilot : float
        The pilot stops doubling once its held-out |z| reaches this (default 8, where the
        projection is reliable: pilot and measured run then cost least together).
    min_samples, max_samples : int
        Bounds on the planned n (the measured run may be smaller than the pilot, never
        smaller than ``min_samples``).
    """

    time_budget: float = DEFAULT_TIME_BUDGET
    z_target: float = 5.0
    z_plan: float = 6.0
    pilot_fraction: float = 0.1
    confidence: float = 0.95
    min_pilot: int = 20_000
    min_samples: int = 20_000
    max_samples: int = 10**10
    z_pilot: float = 8.0

    def __post_init__(self):
        if not (isinstance(self.time_budget, (int, float)) and math.isfinite(self.time_budget)
                and self.time_budget > 0):
            raise ValueError(f"time_budget must be a positive number of seconds; got {self.time_budget!r}")
        if not 0 < self.z_target <= self.z_plan:
            raise ValueError(f"need 0 < z_target <= z_plan; got {self.z_target}, {self.z_plan}")
        if not 0 < self.pilot_fraction < 1:
            raise ValueError(f"pilot_fraction must be in (0, 1); got {self.pilot_fraction}")
        if not 0.5 <= self.confidence < 1:
            raise ValueError(f"confidence must be in [0.5, 1); got {self.confidence}")
        if not (isinstance(self.z_pilot, (int, float)) and self.z_pilot > 0):
            raise ValueError(f"z_pilot must be a positive |z| at which the pilot stops; got {self.z_pilot!r}")
        check_int(self.min_pilot, "min_pilot", 1024)
        check_int(self.min_samples, "min_samples", 1024)
        check_int(self.max_samples, "max_samples", self.min_samples)


@dataclass
class Plan:
    """The pilot's findings and the planned n.

    ``n`` is what the measured run uses; ``n_needed`` the n at which the measured run
    reaches ``z_target`` with probability ``confidence`` given the pilot's |z| and its
    run-to-run spread ``z_spread`` (inf when the pilot's |z| is within q·s of 0); ``n_budget``
    what the budget allows; ``n_plugin`` the plug-in's reservoir (None: the stream's own cap).
    ``pilot_stages`` doublings made the pilot's ``n_pilot`` rows, and it stopped because
    ``pilot_stop`` ("z": its |z| reached ``z_pilot``; "budget": the next stage would pass its
    share; "max_samples").  ``pilot_edgeworth`` ± ``pilot_edgeworth_se`` is its Edgeworth d_MS
    and ``floor_scale`` the plug-in floor's c (floor mean ≈ c/√n), which size the reservoir.
    """

    n: int
    n_needed: float
    n_budget: int
    n_pilot: int
    rate: float
    pilot_seconds: float
    pilot_z: float
    pilot_kappa4: float
    pilot_kappa3: float
    limited_by: str
    options: PlanOptions
    z_spread: float = Z_SPREAD
    shard_size: int | None = None
    n_plugin: int | None = None
    pilot_stages: int = 1
    pilot_stop: str = ""
    pilot_edgeworth: float = math.nan
    pilot_edgeworth_se: float = math.nan
    floor_scale: float = math.nan
    projected_z: float = math.nan

    def seconds_for(self, n) -> float:
        """Sampling seconds for n rows at the pilot's rate."""
        return float(n) / self.rate

    def expected_range(self) -> tuple:
        """(lo, hi): the n at which the measured run's *expected* |z| is ``z_target`` if the pilot's
        expectation is its |z| + 2 spreads (lo) or − 2 spreads (hi; inf when that is <= 0)."""
        t, z, s = self.options.z_target, abs(self.pilot_z), self.z_spread
        lo = self.n_pilot * (t / (z + 2 * s)) ** 2
        hi = self.n_pilot * (t / (z - 2 * s)) ** 2 if z > 2 * s else math.inf
        return lo, hi

    def statement(self) -> str:
        """What the pilot saw and what the plan is; a weak pilot gives a range, never one number it cannot support."""
        o = self.options
        stages = f"{self.pilot_stages} stage{'s' if self.pilot_stages != 1 else ''}"
        s = (f"pilot: {self.n_pilot:,} rows ({stages}) in {self.pilot_seconds:.1f} s ({self.rate:,.0f} rows/s), "
             f"|z| = {self.pilot_z:.2f} ± {self.z_spread:g} run to run; ")
        if self.limited_by == "target":
            if self.pilot_stop == "z":
                s += (f"projected from |z| = {self.projected_z:.2f} (less the overshoot of stopping at |z| >= "
                      f"{o.z_pilot:g}): ")
            s += f"planned n = {self.n:,} for |z| >= {o.z_target:g} with probability {o.confidence:.0%}"
        else:
            s += f"n = {self.n:,} fills the {o.time_budget:g} s budget"
            lo, hi = self.expected_range()
            if math.isfinite(hi):
                s += (f"; for the pilot's |z| ± {2 * self.z_spread:g}, |z| = {o.z_target:g} is expected at n ≈ "
                      f"{_round(lo):,} to {_round(hi):,}")
            else:
                s += (f"; the pilot's |z| is within two spreads ({2 * self.z_spread:g}) of 0, too weak to project "
                      f"the n of |z| = {o.z_target:g} (if reached, beyond n ≈ {_round(lo):,})")
        if self.n_plugin is not None:
            s += f"; plug-in reservoir {self.n_plugin:,} rows"
        if self.shard_size is not None:
            s += f", in whole shards of {self.shard_size:,} rows"
        return s + "."

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("n", "n_needed", "n_budget", "n_pilot", "rate", "pilot_seconds",
                                           "pilot_z", "pilot_kappa4", "pilot_kappa3", "limited_by", "z_spread",
                                           "n_plugin", "pilot_stages", "pilot_stop", "pilot_edgeworth",
                                           "pilot_edgeworth_se", "floor_scale", "projected_z")}
        if self.shard_size is not None:
            d["shard_size"] = self.shard_size
        d["options"] = dict(self.options.__dict__)
        d["statement"] = self.statement()
        return _plain(d)


def _round(n: float) -> int:
    """n to two significant figures (a projection is no more precise)."""
    if not n > 0 or not math.isfinite(n):
        return 0
    k = max(0, math.floor(math.log10(n)) - 1)
    return round(n / 10**k) * 10**k


def resolving_ratio(z_pilot: float, options: PlanOptions, spread: float | None = None) -> float:
    """r² = n/n_p at which the measured run reaches z_target with probability ``confidence``.

    Solves r z_p − q s √(r² + 1) = z_target (module docstring, docs/theory.md §4.1) and
    takes at least (z_plan / z_p)²; inf when z_p ≤ q s (no usable signal in the pilot).
    """
    s = Z_SPREAD if spread is None else spread
    a, b, t = abs(z_pilot), float(ndtri(options.confidence)) * s, options.z_target
    if not a > b:
        return math.inf
    r = (a * t + b * math.sqrt(a * a + t * t - b * b)) / (a * a - b * b)
    return max(r * r, (options.z_plan / a) ** 2)


def stopping_corrected_z(z_pilot: float, threshold: float, spread: float = Z_SPREAD) -> float:
    """The pilot's |z| less the overshoot of a stopping rule that kept it because it reached ``threshold``.

    Conditional on z >= T, a z ~ N(μ, s²) exceeds μ by s·φ(α)/(1 − Φ(α)), α = (T − μ)/s; evaluated at
    μ = z (one plug-in step): 0.80 s at z = T, 0.29 s at T + s, 0.06 s at T + 2s (docs/theory.md §4.1).
    """
    a = (threshold - abs(z_pilot)) / spread
    mills = math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi) / max(float(ndtr(-a)), 1e-300)
    return abs(z_pilot) - spread * mills


def samples_for_z(n: int, z: float, z_goal: float) -> float:
    """Rows at which an estimate with |z| on n rows is expected to reach z_goal (z ∝ √n)."""
    if not abs(z) > 0:
        return math.inf
    return n * (z_goal / abs(z)) ** 2


def _budget_rows(seconds, rate, n_plugin):
    """Largest n with n/rate + ESTIMATE_SECONDS + ESTIMATE_SECONDS_PER_ROW·min(n, n_plugin) <= seconds."""
    seconds -= ESTIMATE_SECONDS
    per_row = 1.0 / rate
    n = seconds / (per_row + ESTIMATE_SECONDS_PER_ROW)
    if n > n_plugin:
        n = (seconds - ESTIMATE_SECONDS_PER_ROW * n_plugin) / per_row
    return max(0, int(n))


def whole_shards(n: int, shard_size: int, max_samples: int, n_budget: int | None = None) -> int:
    """n rounded up to whole shards of ``shard_size`` rows, or down when that passes ``max_samples``
    or the ``n_budget`` rows the time budget allows (never below one shard)."""
    up = -(-n // shard_size) * shard_size
    cap = max_samples if n_budget is None else min(max_samples, max(n_budget, shard_size))
    if up > cap >= shard_size:
        return cap // shard_size * shard_size
    return up


def plan_samples(generator, W_student, W_teacher, match, *, options: PlanOptions | None = None,
                 stream: StreamOptions | None = None, cumulant: CumulantOptions | None = None, seed=None,
                 backend="numpy", dtype="float64", progress=False, deadline=None,
                 shard_size: int | None = None, dms: DmsOptions | None = None) -> Plan:
    """Run a pilot and fix the sample size of the measured run (see the module docstring).

    Parameters
    ----------
    generator, W_student, W_teacher
        As in :func:`getheory.fields.stream_fields`.
    match : GaussianMatch
        Its ``mean`` and ``cov``.
    options : PlanOptions
    stream : StreamOptions
        The measured run's stream (its ``groups`` enter the plan, and its ``n_plugin`` caps the
        plug-in's reservoir, which the plan sizes: :attr:`Plan.n_plugin`).
    cumulant : CumulantOptions
    seed : int or SeedSequence
        The pilot's own seed (independent of the measured run's).
    shard_size : int, optional
        A sharded measured run (docs/theory.md §4.1, Sharded runs): n is rounded up to whole
        shards of this many rows (down, when that passes ``max_samples``).  The pilot runs
        in this process as without shards, so its rate is one process's.
    dms : DmsOptions
        The measured run's d_MS options: their search, metric and ``plugin_ratio`` size the
        reservoir (default :class:`~getheory.distances.DmsOptions`).

    Raises
    ------
    ValueError
        When the budget cannot pay even for the pilot; the message names a budget that can.
    """
    W_student, W_teacher = check_weights(W_student, W_teacher, generator.N, generator.D)
    run = start_run_context(backend=backend, dtype=dtype, progress=progress)  # the entry: the name resolved here
    setup = PlanSetup(options or PlanOptions(), stream or StreamOptions(), cumulant, shard_size, dms)
    return plan_samples_in(run.with_(deadline=deadline), generator, (W_student, W_teacher), match, setup, seed)


@dataclass(frozen=True)
class PlanSetup:
    """What :func:`plan_samples_in` reads besides the problem: the planner's options, the measured
    run's stream (its ``groups``, and its ``n_plugin`` as the reservoir's cap), the cumulant
    estimator's options, the shard size of a sharded measured run (``None``: not sharded), the
    measured run's d_MS options (``None``: the defaults) and the seconds of the budget already
    ``spent`` before the pilot (the moments of a check)."""

    options: PlanOptions
    stream: StreamOptions
    cumulant: CumulantOptions | None = None
    shard_size: int | None = None
    dms: DmsOptions | None = None
    spent: float = 0.0


def _probe_stream(match, st_opt: StreamOptions, run: RunContext) -> FieldStream:
    """A stream of the pilot's statistics (no plug-in reservoir)."""
    return FieldStream(match.mean, match.cov, options=StreamOptions(groups=st_opt.groups, n_plugin=0),
                       backend=run.backend)


def _probe_rate(run: RunContext, generator, weights, match, setup: PlanSetup, seed) -> tuple:
    """(rows/s, seconds) of a warm probe of 2048 rows: 512 rows first (the first batch pays for the
    threads, the BLAS and the buffers, and made the old cold probe read half the rate), which already
    refuse a budget that even twice their rate cannot fit.  Only that refusal reads the rate; the plan
    uses the pilot's own."""
    quiet = run.with_(progress=False)
    t_start = time.perf_counter()
    for rows, s, speedup in zip((512, 2048), seed.spawn(2), (2.0, 1.0)):
        probe = _probe_stream(match, setup.stream, run)
        t0 = time.perf_counter()
        stream_fields_in(quiet, generator, *weights, LatentDraw(rows, s, stage="the planner's rate probe"), probe)
        rate = rows / max(time.perf_counter() - t0, 1e-9)
        _check_pilot_fits(setup, speedup * rate)
    return rate, time.perf_counter() - t_start


def _check_pilot_fits(setup: PlanSetup, rate: float) -> None:
    """Refuse a budget whose quarter cannot pay for ``min_pilot`` rows at ``rate``, naming one that can."""
    opt = setup.options
    pilot_min_s = opt.min_pilot / rate
    if pilot_min_s > 0.25 * (opt.time_budget - setup.spent):
        raise ValueError(
            f"a time budget of {opt.time_budget:g} s is too small even for the pilot: {opt.min_pilot:,} rows take "
            f"about {pilot_min_s:.1f} s here ({rate:,.0f} rows/s)"
            + (f" after {setup.spent:.1f} s of moments" if setup.spent > 0 else "")
            + f"; use a budget of at least {math.ceil(4 * pilot_min_s + setup.spent)} s, or give a fixed number "
              "of samples")


@dataclass(frozen=True)
class _Pilot:
    """The sequential pilot's outcome: rows, stages, why it stopped, its wall seconds (sampling and
    cumulants), the rate of its last stage and its held-out cumulants."""

    n: int
    stages: int
    stop: str
    seconds: float
    rate: float
    cumulants: object


def _sequential_pilot(run: RunContext, generator, weights, match, setup: PlanSetup, seeds) -> _Pilot:
    """Stages of doubling size on one growing stream (module docstring): after each, the held-out
    cumulants; stop at |z| >= z_pilot, at max_samples, or before a stage that would pass the pilot's
    share of the budget."""
    opt, G = setup.options, setup.stream.groups
    s_pilot, s_cum = seeds
    budget = opt.pilot_fraction * (opt.time_budget - setup.spent)
    stream = _probe_stream(match, setup.stream, run)
    first = opt.min_pilot + (-opt.min_pilot) % G  # whole groups
    first = max(min(first, opt.max_samples - opt.max_samples % G), 16 * G)
    rows = stages = 0
    t_start = time.perf_counter()
    while True:
        add = first if rows == 0 else min(rows, opt.max_samples - rows)
        t0 = time.perf_counter()
        stream_fields_in(run, generator, *weights, LatentDraw(add, s_pilot.spawn(1)[0], stage="the pilot"), stream)
        t1 = time.perf_counter()
        rate = add / max(t1 - t0, 1e-9)
        rows, stages = rows + add, stages + 1
        cum = cumulants_from_stats(stream.finish(), match.cov, options=setup.cumulant, seed=s_cum)
        t2 = time.perf_counter()
        next_stage = min(rows, opt.max_samples - rows) / rate + (t2 - t1)  # its rows and its cumulants
        stop = ("z" if cum.z_max >= opt.z_pilot else "max_samples" if rows >= opt.max_samples
                else "budget" if t2 - t_start + next_stage > budget else "")
        if stop:
            return _Pilot(rows, stages, stop, t2 - t_start, rate, cum)


def _reservoir(run: RunContext, match, setup: PlanSetup, cum, seed, cap: int) -> tuple:
    """(rows of the plug-in's reservoir, the floor's c): :func:`getheory.distances.plugin_reservoir`
    from the pilot's Edgeworth d_MS and the floor measured at 2^14 rows (docs/theory.md §4.1)."""
    dms = setup.dms or DmsOptions()
    if cap <= 0:
        return 0, math.nan
    c = floor_scale(match.cov, p=dms.p, search=dms.search, seed=seed, backend=run.backend)
    return plugin_reservoir(cum.edgeworth_w1, cum.edgeworth_se, c, cap=cap, ratio=dms.plugin_ratio), c


def plan_samples_in(run: RunContext, generator, weights, match, setup: PlanSetup, seed) -> Plan:
    """:func:`plan_samples` within a run: the probe and the pilot on ``run.backend`` in ``run.dtype``
    under its deadline (the pilot's progress shown when ``run.progress``), the weights
    ``(W_student, W_teacher)`` checked by the caller, ``seed`` the pilot's own."""
    opt, st_opt, shard_size = setup.options, setup.stream, setup.shard_size
    budget = opt.time_budget - setup.spent
    s_probe, s_pilot, s_cum, s_floor = seedseq(seed).spawn(4)
    _rate0, probe_s = _probe_rate(run, generator, weights, match, setup, s_probe)
    pilot = _sequential_pilot(run, generator, weights, match, setup, (s_pilot, s_cum))
    cum, rate = pilot.cumulants, pilot.rate
    t0 = time.perf_counter()
    n_res, c = _reservoir(run, match, setup, cum, s_floor, st_opt.n_plugin)
    remaining = budget - probe_s - pilot.seconds - (time.perf_counter() - t0)
    z_proj = stopping_corrected_z(cum.z_max, opt.z_pilot) if pilot.stop == "z" else cum.z_max
    n_needed = pilot.n * resolving_ratio(z_proj, opt)
    n_budget = min(opt.max_samples, _budget_rows(BUDGET_SHARE * remaining, rate, n_res))
    if n_needed <= n_budget:
        n, limited = int(min(max(opt.min_samples, math.ceil(n_needed)), max(n_budget, opt.min_samples))), "target"
    else:
        n, limited = int(max(opt.min_samples, n_budget)), "budget"
    n = min(n + (-n) % st_opt.groups, opt.max_samples)
    if shard_size is not None:
        n = whole_shards(n, shard_size, opt.max_samples, max(n_budget, opt.min_samples))  # that fit the budget
    if n < n_res:  # the measured run keeps at most n rows: is the plug-in still choosable there?
        n_res = plugin_reservoir(cum.edgeworth_w1, cum.edgeworth_se, c, cap=n,
                                 ratio=(setup.dms or DmsOptions()).plugin_ratio)
    return Plan(n=n, n_needed=float(n_needed), n_budget=int(n_budget), n_pilot=pilot.n, rate=rate,
                pilot_seconds=pilot.seconds, pilot_z=float(cum.z_max), pilot_kappa4=cum.kappa4,
                pilot_kappa3=cum.kappa3, limited_by=limited, options=opt, shard_size=shard_size,
                n_plugin=int(min(n_res, n)), pilot_stages=pilot.stages, pilot_stop=pilot.stop,
                pilot_edgeworth=cum.edgeworth_w1, pilot_edgeworth_se=cum.edgeworth_se, floor_scale=c,
                projected_z=float(z_proj))
