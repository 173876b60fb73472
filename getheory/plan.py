"""Planned sample sizes: a pilot, then n fixed in advance (docs/theory.md §4.1).

The cumulant estimator's z-score grows like √n.  :func:`plan_samples` runs an independent
pilot (its own seed; none of its rows are reused), which measures

* the throughput of sampling plus streaming statistics (rows per second), and
* the held-out cumulants and their standard errors along the pilot's worst direction,

and fixes n **before** the measured run: the n at which the measured run's |z| reaches the
5σ target with probability ``confidence`` (default 0.95) given the pilot's, and at least the
n at which its expected |z| is ``z_plan`` (default 6), and never less than the pilot's own n
(a smaller run also chooses a noisier direction), capped by what the time budget allows.  The measured run then
happens once at that n.  Nothing stops early when z first crosses a threshold: that would inflate the
false-positive rate of the verdict.

The pilot's |z| is noisy, and not only by the ±1 of a z-score: each run chooses its most
non-Gaussian direction on a quarter of its groups, so |z| moves between independent runs
at the same n with a spread s = :data:`Z_SPREAD` (measured by benchmarks/bench_plan.py).
With z_p the pilot's |z| on n_p rows and r² = n/n_p, the measured run's |z| is about
r·z − r·e_p + e_m with z the pilot's expectation and e_p, e_m independent spreads s, so it
reaches z_target with probability ``confidence`` when

.. math:: r z_p − q s \\sqrt{r^2 + 1} \\ge z_{target},\\qquad q = Φ^{-1}(\\text{confidence}),

whose smallest root is r = [z_p t + q s √(z_p² + t² − q² s²)] / (z_p² − q² s²), t = z_target
(none when z_p ≤ q s: the pilot saw no usable signal).  n_needed = n_p · max(r², (z_plan /
z_p)²).  The budget allows
n_budget rows: sampling at the pilot's rate plus a reserve for the estimation (the plug-in
floor, :data:`ESTIMATE_SECONDS_PER_ROW` per reservoir row on the CPU).

Within a workflow, :func:`plan_samples_in` runs the same probe and pilot with the run's
:class:`getheory._run.RunContext` (backend object, dtype, deadline, progress) and a
:class:`PlanSetup`; :func:`plan_samples` is its entry for a Python user.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from scipy.stats import norm

from ._json import to_plain as _plain
from ._run import RunContext, start_run_context
from ._seeds import seedseq
from ._validation import check_int
from .distances import CumulantOptions, FieldStream, StreamOptions, cumulants_from_stats
from .fields import LatentDraw, check_weights, stream_fields_in

__all__ = ["DEFAULT_TIME_BUDGET", "Plan", "PlanOptions", "PlanSetup", "plan_samples", "plan_samples_in",
           "samples_for_z"]

#: the one default time budget of the planner, in seconds: ``PlanOptions.time_budget``, ``getheory check
#: --time-budget`` and a sweep spec's ``samples.time_budget`` (a sweep that wants another budget per point
#: says so in its spec)
DEFAULT_TIME_BUDGET = 60.0

#: estimation time per plug-in reservoir row (19 floor replicates + plug-in, guided search, K + M = 4),
#: measured on the development CPU by benchmarks/bench_estimation.py; a GPU is faster
ESTIMATE_SECONDS_PER_ROW = 5e-6

#: run-to-run spread (SD) of the held-out |z| at a fixed n, from the direction chosen on a
#: quarter of the groups and the z-score's own noise: measured by benchmarks/bench_plan.py
#: (sign, N = 256, D = 128, K = M = 2, n = 6·10^5, 24 problems, two runs each: s = 1.94,
#: 90 % interval 1.57–2.55, no trend with |z|)
Z_SPREAD = 2.0


@dataclass(frozen=True)
class PlanOptions:
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
        unresolved runs is well below 5 %: 20 of 20 seeds of the README's main command resolved,
        benchmarks/bench_main_command.py).
    pilot_fraction : float
        Largest share of the budget the pilot may take (default 0.1).
    min_pilot : int
        Fewest pilot rows (default 20,000); a budget that cannot afford them is refused.
    min_samples, max_samples : int
        Bounds on the planned n.
    """

    time_budget: float = DEFAULT_TIME_BUDGET
    z_target: float = 5.0
    z_plan: float = 6.0
    pilot_fraction: float = 0.1
    confidence: float = 0.95
    min_pilot: int = 20_000
    min_samples: int = 20_000
    max_samples: int = 10**10

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
        check_int(self.min_pilot, "min_pilot", 1024)
        check_int(self.min_samples, "min_samples", 1024)
        check_int(self.max_samples, "max_samples", self.min_samples)


@dataclass
class Plan:
    """The pilot's findings and the planned n.

    ``n`` is what the measured run uses; ``n_needed`` the n at which the measured run
    reaches ``z_target`` with probability ``confidence`` given the pilot's |z| and its
    run-to-run spread ``z_spread`` (inf when the pilot saw no usable signal); ``n_budget``
    what the budget allows.
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

    def seconds_for(self, n) -> float:
        """Sampling seconds for n rows at the pilot's rate."""
        return float(n) / self.rate

    def statement(self) -> str:
        o = self.options
        s = (f"pilot: {self.n_pilot:,} rows in {self.pilot_seconds:.1f} s ({self.rate:,.0f} rows/s), |z| = "
             f"{self.pilot_z:.2f} ± {self.z_spread:g} run to run; ")
        goal = f"|z| >= {o.z_target:g} with probability {o.confidence:.0%}"
        if self.limited_by == "target":
            s += f"planned n = {self.n:,} for {goal}"
        elif math.isfinite(self.n_needed):
            s += (f"the {o.time_budget:g} s budget allows n = {self.n:,}; {goal} needs "
                  f"n = {self.n_needed:,.0f} (about {self.seconds_for(self.n_needed):,.0f} s of sampling)")
        else:
            s += f"no usable signal in the pilot: n = {self.n:,} fills the {o.time_budget:g} s budget"
        if self.shard_size is not None:
            s += f", in whole shards of {self.shard_size:,} rows"
        return s + "."

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("n", "n_needed", "n_budget", "n_pilot", "rate", "pilot_seconds",
                                           "pilot_z", "pilot_kappa4", "pilot_kappa3", "limited_by", "z_spread")}
        if self.shard_size is not None:
            d["shard_size"] = self.shard_size
        d["options"] = dict(self.options.__dict__)
        d["statement"] = self.statement()
        return _plain(d)


def resolving_ratio(z_pilot: float, options: PlanOptions, spread: float = None) -> float:
    """r² = n/n_p at which the measured run reaches z_target with probability ``confidence``.

    Solves r z_p − q s √(r² + 1) = z_target (module docstring, docs/theory.md §4.1) and
    takes at least (z_plan / z_p)²; inf when z_p ≤ q s (no usable signal in the pilot).
    """
    s = Z_SPREAD if spread is None else spread
    a, b, t = abs(z_pilot), norm.ppf(options.confidence) * s, options.z_target
    if not a > b:
        return math.inf
    r = (a * t + b * math.sqrt(a * a + t * t - b * b)) / (a * a - b * b)
    return max(r * r, (options.z_plan / a) ** 2)


def samples_for_z(n: int, z: float, z_goal: float) -> float:
    """Rows at which an estimate with |z| on n rows is expected to reach z_goal (z ∝ √n)."""
    if not abs(z) > 0:
        return math.inf
    return n * (z_goal / abs(z)) ** 2


def _budget_rows(seconds, rate, n_plugin):
    """Largest n with n/rate + ESTIMATE_SECONDS_PER_ROW·min(n, n_plugin) <= seconds."""
    per_row = 1.0 / rate
    n = seconds / (per_row + ESTIMATE_SECONDS_PER_ROW)
    if n > n_plugin:
        n = (seconds - ESTIMATE_SECONDS_PER_ROW * n_plugin) / per_row
    return max(0, int(n))


def whole_shards(n: int, shard_size: int, max_samples: int) -> int:
    """n rounded up to whole shards of ``shard_size`` rows, or down when that passes ``max_samples``
    (never below one shard)."""
    up = -(-n // shard_size) * shard_size
    if up > max_samples >= shard_size:
        return max_samples // shard_size * shard_size
    return up


def plan_samples(generator, W_student, W_teacher, match, *, options: PlanOptions | None = None,
                 stream: StreamOptions | None = None, cumulant: CumulantOptions | None = None, seed=None,
                 backend="numpy", dtype="float64", progress=False, deadline=None,
                 shard_size: int | None = None) -> Plan:
    """Run a pilot and fix the sample size of the measured run (see the module docstring).

    Parameters
    ----------
    generator, W_student, W_teacher
        As in :func:`getheory.fields.stream_fields`.
    match : GaussianMatch
        Its ``mean`` and ``cov``.
    options : PlanOptions
    stream : StreamOptions
        The measured run's stream (its ``groups`` and ``n_plugin`` enter the plan).
    cumulant : CumulantOptions
    seed : int or SeedSequence
        The pilot's own seed (independent of the measured run's).
    shard_size : int, optional
        A sharded measured run (docs/theory.md §4.1, Sharded runs): n is rounded up to whole
        shards of this many rows (down, when that passes ``max_samples``).  The pilot runs
        in this process as without shards, so its rate is one process's.

    Raises
    ------
    ValueError
        When the budget cannot pay even for the pilot; the message names a budget that can.
    """
    W_student, W_teacher = check_weights(W_student, W_teacher, generator.N, generator.D)
    run = start_run_context(backend=backend, dtype=dtype, progress=progress)  # the entry: the name resolved here
    setup = PlanSetup(options or PlanOptions(), stream or StreamOptions(), cumulant, shard_size)
    return plan_samples_in(run.with_(deadline=deadline), generator, (W_student, W_teacher), match, setup, seed)


@dataclass(frozen=True)
class PlanSetup:
    """What :func:`plan_samples_in` reads besides the problem: the planner's options, the measured
    run's stream (its ``groups`` and ``n_plugin`` enter the plan), the cumulant estimator's options
    and the shard size of a sharded measured run (``None``: not sharded)."""

    options: PlanOptions
    stream: StreamOptions
    cumulant: CumulantOptions | None = None
    shard_size: int | None = None


def _probe_stream(match, st_opt: StreamOptions, run: RunContext) -> FieldStream:
    """A stream of the pilot's statistics (no plug-in reservoir)."""
    return FieldStream(match.mean, match.cov, options=StreamOptions(groups=st_opt.groups, n_plugin=0),
                       backend=run.backend)


def plan_samples_in(run: RunContext, generator, weights, match, setup: PlanSetup, seed) -> Plan:
    """:func:`plan_samples` within a run: the probe and the pilot on ``run.backend`` in ``run.dtype``
    under its deadline (the pilot's progress shown when ``run.progress``), the weights
    ``(W_student, W_teacher)`` checked by the caller, ``seed`` the pilot's own."""
    opt, st_opt, shard_size = setup.options, setup.stream, setup.shard_size
    ss = seedseq(seed)
    s_probe, s_pilot, s_cum = ss.spawn(3)
    # a probe of 4096 rows: the rate, before committing to the pilot
    probe = _probe_stream(match, st_opt, run)
    t0 = time.perf_counter()
    quiet = run.with_(progress=False)
    stream_fields_in(quiet, generator, *weights, LatentDraw(4096, s_probe, stage="the planner's rate probe"), probe)
    rate0 = 4096 / max(time.perf_counter() - t0, 1e-9)
    pilot_min_s = opt.min_pilot / rate0
    if pilot_min_s > 0.25 * opt.time_budget:
        raise ValueError(
            f"a time budget of {opt.time_budget:g} s is too small even for the pilot: {opt.min_pilot:,} rows take "
            f"about {pilot_min_s:.1f} s here ({rate0:,.0f} rows/s); use a budget of at least "
            f"{math.ceil(4 * pilot_min_s)} s, or give a fixed number of samples")
    n_pilot = min(max(opt.min_pilot, int(opt.pilot_fraction * opt.time_budget * rate0)), opt.max_samples)
    n_pilot = max(n_pilot - n_pilot % st_opt.groups, 16 * st_opt.groups)
    pilot = _probe_stream(match, st_opt, run)
    t0 = time.perf_counter()
    stream_fields_in(run, generator, *weights, LatentDraw(n_pilot, s_pilot, stage="the pilot"), pilot)
    pilot_s = time.perf_counter() - t0
    rate = n_pilot / max(pilot_s, 1e-9)
    cum = cumulants_from_stats(pilot.finish(), match.cov, options=setup.cumulant, seed=s_cum)
    z = cum.z_max
    n_needed = n_pilot * resolving_ratio(z, opt)
    remaining = opt.time_budget - pilot_s - 4096 / rate0
    n_budget = min(opt.max_samples, _budget_rows(remaining, rate, st_opt.n_plugin))
    if n_needed <= n_budget:
        # not below the pilot (within the budget): the measured run chooses its direction on a
        # quarter of its groups, so a smaller n also loses signal to a noisier direction
        n, limited = int(min(max(opt.min_samples, n_pilot, math.ceil(n_needed)), max(n_budget, opt.min_samples))), \
            "target"
    else:
        n, limited = int(max(opt.min_samples, n_budget)), "budget"
    n = min(n + (-n) % st_opt.groups, opt.max_samples)
    if shard_size is not None:
        n = whole_shards(n, shard_size, opt.max_samples)
    return Plan(n=n, n_needed=float(n_needed), n_budget=int(n_budget), n_pilot=n_pilot, rate=rate,
                pilot_seconds=pilot_s, pilot_z=float(z), pilot_kappa4=cum.kappa4, pilot_kappa3=cum.kappa3,
                limited_by=limited, options=opt, shard_size=shard_size)
