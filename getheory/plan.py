"""Planned sample sizes: a pilot, then n fixed in advance (docs/theory.md §4.1).

The cumulant estimator's z-score grows like √n.  :func:`plan_samples` runs an independent
pilot (its own seed; none of its rows are reused), which measures

* the throughput of sampling plus streaming statistics (rows per second), and
* the held-out cumulants and their standard errors along the pilot's worst direction,

and fixes n **before** the measured run: the n at which the expected |z| of the larger
cumulant reaches ``z_plan`` (default 6, one above the 5σ target, for the pilot's own
error), and never less than the pilot's own n (a smaller run also chooses a noisier
direction), capped by what the time budget allows.  The measured run then happens once at
that n.  Nothing stops early when z first crosses a threshold: that would inflate the
false-positive rate of the verdict.

With z_p the pilot's |z| on n_p rows, n_needed = n_p (z_plan / z_p)².  The budget allows
n_budget rows: sampling at the pilot's rate plus a reserve for the estimation (the plug-in
floor, :data:`ESTIMATE_SECONDS_PER_ROW` per reservoir row on the CPU).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ._json import to_plain as _plain
from ._validation import check_int, seedseq
from .distances import CumulantOptions, FieldStream, StreamOptions, cumulants_from_stats
from .fields import stream_fields

__all__ = ["PlanOptions", "Plan", "plan_samples", "samples_for_z"]

#: estimation time per plug-in reservoir row (19 floor replicates + plug-in, guided search, K + M = 4),
#: measured on the development CPU by benchmarks/bench_estimation.py; a GPU is faster
ESTIMATE_SECONDS_PER_ROW = 5e-6


@dataclass(frozen=True)
class PlanOptions:
    """How :func:`plan_samples` chooses n.

    Attributes
    ----------
    time_budget : float
        Seconds for the pilot, the measured run and its estimation (default 60).
    z_target : float
        The z the statement is about (default 5).
    z_plan : float
        Expected |z| the planned n aims at (default 6 = target + 1 for the pilot's error).
    pilot_fraction : float
        Largest share of the budget the pilot may take (default 0.1).
    min_pilot : int
        Fewest pilot rows (default 20,000); a budget that cannot afford them is refused.
    min_samples, max_samples : int
        Bounds on the planned n.
    """

    time_budget: float = 60.0
    z_target: float = 5.0
    z_plan: float = 6.0
    pilot_fraction: float = 0.1
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
        check_int(self.min_pilot, "min_pilot", 1024)
        check_int(self.min_samples, "min_samples", 1024)
        check_int(self.max_samples, "max_samples", self.min_samples)


@dataclass
class Plan:
    """The pilot's findings and the planned n.

    ``n`` is what the measured run uses; ``n_needed`` the n for an expected |z| of
    ``z_plan`` (inf when the pilot saw no signal); ``n_budget`` what the budget allows.
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

    def seconds_for(self, n) -> float:
        """Sampling seconds for n rows at the pilot's rate."""
        return float(n) / self.rate

    def statement(self) -> str:
        o = self.options
        s = (f"pilot: {self.n_pilot:,} rows in {self.pilot_seconds:.1f} s ({self.rate:,.0f} rows/s), |z| = "
             f"{self.pilot_z:.2f}; ")
        if self.limited_by == "target":
            s += f"planned n = {self.n:,} for an expected |z| of at least {o.z_plan:g}"
        elif math.isfinite(self.n_needed):
            s += (f"the {o.time_budget:g} s budget allows n = {self.n:,}; an expected |z| of {o.z_plan:g} needs "
                  f"n = {self.n_needed:,.0f} (about {self.seconds_for(self.n_needed):,.0f} s of sampling)")
        else:
            s += f"no signal in the pilot: n = {self.n:,} fills the {o.time_budget:g} s budget"
        return s + "."

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("n", "n_needed", "n_budget", "n_pilot", "rate", "pilot_seconds",
                                           "pilot_z", "pilot_kappa4", "pilot_kappa3", "limited_by")}
        d["options"] = dict(self.options.__dict__)
        d["statement"] = self.statement()
        return _plain(d)


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


def plan_samples(generator, W_student, W_teacher, match, *, options: PlanOptions | None = None,
                 stream: StreamOptions | None = None, cumulant: CumulantOptions | None = None, seed=None,
                 backend="numpy", dtype="float64", progress=False) -> Plan:
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

    Raises
    ------
    ValueError
        When the budget cannot pay even for the pilot; the message names a budget that can.
    """
    opt = options or PlanOptions()
    st_opt = stream or StreamOptions()
    ss = seedseq(seed)
    s_probe, s_pilot, s_cum = ss.spawn(3)
    # a probe of 4096 rows: the rate, before committing to the pilot
    probe = FieldStream(match.mean, match.cov, options=StreamOptions(groups=st_opt.groups, n_plugin=0),
                        backend=backend)
    t0 = time.perf_counter()
    stream_fields(generator, W_student, W_teacher, 4096, probe, seed=s_probe, backend=backend, dtype=dtype)
    rate0 = 4096 / max(time.perf_counter() - t0, 1e-9)
    pilot_min_s = opt.min_pilot / rate0
    if pilot_min_s > 0.25 * opt.time_budget:
        raise ValueError(
            f"a time budget of {opt.time_budget:g} s is too small even for the pilot: {opt.min_pilot:,} rows take "
            f"about {pilot_min_s:.1f} s here ({rate0:,.0f} rows/s); use a budget of at least "
            f"{math.ceil(4 * pilot_min_s)} s, or give a fixed number of samples")
    n_pilot = min(max(opt.min_pilot, int(opt.pilot_fraction * opt.time_budget * rate0)), opt.max_samples)
    n_pilot = max(n_pilot - n_pilot % st_opt.groups, 16 * st_opt.groups)
    pilot = FieldStream(match.mean, match.cov, options=StreamOptions(groups=st_opt.groups, n_plugin=0),
                        backend=backend)
    t0 = time.perf_counter()
    stream_fields(generator, W_student, W_teacher, n_pilot, pilot, seed=s_pilot, backend=backend, dtype=dtype,
                  progress=progress)
    pilot_s = time.perf_counter() - t0
    rate = n_pilot / max(pilot_s, 1e-9)
    cum = cumulants_from_stats(pilot.finish(), match.cov, options=cumulant, seed=s_cum)
    z = cum.z_max
    n_needed = samples_for_z(cum.n_eval, z, opt.z_plan) * n_pilot / cum.n_eval if z >= 1.0 else math.inf
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
    return Plan(n=n, n_needed=float(n_needed), n_budget=int(n_budget), n_pilot=n_pilot, rate=rate,
                pilot_seconds=pilot_s, pilot_z=float(z), pilot_kappa4=cum.kappa4, pilot_kappa3=cum.kappa3,
                limited_by=limited, options=opt)
