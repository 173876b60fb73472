"""How a check runs: :class:`CheckOptions`, one frozen dataclass (docs/theory.md §4.1, §6).

:func:`with_overrides` turns the keyword arguments of :func:`getheory.check.check_generator`
(``check_generator(N=..., samples=..., seed=...)``) into options, naming the valid fields
when a keyword is not one of them.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

from .._repr import ShortRepr
from .._validation import CHECK_DTYPE, check_dtype, check_seed, positive_int
from ..activations import get_activation
from ..backend import Backend, get_backend
from ..distances import DmsOptions, StreamOptions
from ..plan import PlanOptions

__all__ = ["OMEGA_SAMPLES", "CheckOptions", "ShardOptions", "check_client", "with_overrides"]


@dataclass(frozen=True, repr=False)
class ShardOptions(ShortRepr):
    """A sharded measured run: its rows cut into shards, and where the shards run (docs/theory.md §4.1).

    Shard i holds rows i·size ... min((i+1)·size, n) − 1 of the measured run; it draws its
    latents from part i of the check's ``fields`` seed stream (:func:`getheory._seeds.shard_seed`),
    streams them into its own :class:`~getheory.distances.FieldStream`, and the shards'
    statistics are merged in index order (:func:`getheory.distances.merge_stats`).  The
    result therefore depends on the seed and the shard size, never on how many processes
    ran the shards, which ones, or in what order.

    Parameters
    ----------
    size : int, optional
        Rows per shard, at least the streamed statistics' groups (``StreamOptions.groups``,
        64 by default), best a multiple of them.  ``None`` (default): no shards, one stream in
        this process, exactly as without this option.  With ``samples="auto"`` the planned n
        is rounded up to whole shards.
    workers : int, optional
        Run the shards on a local pool of this many processes (one BLAS thread each);
        ``None`` or 1 (default): in this process, one after the other.
    scheduler : str, optional
        Run the shards on the Dask cluster whose scheduler is at this address
        (``tcp://host:8786``), checked within a few seconds before any work starts.
        ``check_generator(client=...)`` takes a connected client instead.
    """

    size: int | None = None
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self):
        if self.size is not None:
            object.__setattr__(self, "size", positive_int(self.size, "shard size"))
        if self.workers is not None:
            object.__setattr__(self, "workers", positive_int(self.workers, "shard workers"))
        if self.scheduler is not None and not (isinstance(self.scheduler, str) and self.scheduler.strip()):
            raise ValueError(f"scheduler must be a Dask scheduler address such as 'tcp://host:8786'; "
                             f"got {self.scheduler!r}")
        if self.workers is not None and self.scheduler is not None:
            raise ValueError("give the shards either local workers or a Dask scheduler, not both")
        if self.size is None and (self.workers not in (None, 1) or self.scheduler is not None):
            where = f"a Dask scheduler ({self.scheduler})" if self.scheduler else f"{self.workers} local workers"
            raise ValueError(f"{where} would run the shards of a sharded check, but no shard size was given: "
                             "set the shard size too (ShardOptions(size=ROWS), --shard-size ROWS); the result "
                             "depends on the shard size, so it is never chosen for you")

    @property
    def on(self) -> bool:
        """Whether the measured run is sharded."""
        return self.size is not None

    def count(self, n: int) -> int:
        """The number of shards of n rows (the last one may be shorter)."""
        return -(-int(n) // self.size)


def check_client(shards: ShardOptions, client) -> None:
    """Refuse a Dask ``client`` together with another place for the shards (``shards.scheduler``, or
    ``shards.workers`` > 1): the shards run in one place, and the client's would silently win."""
    if client is None:
        return
    if shards.scheduler is not None:
        raise ValueError(f"both a Dask client and a scheduler address ({shards.scheduler}) were given for the "
                         "shards: give one (check_generator(client=...) or ShardOptions(scheduler=...)), not both")
    if shards.workers not in (None, 1):
        raise ValueError(f"both a Dask client and {shards.workers} local workers were given for the shards: the "
                         "client's cluster runs them; leave out ShardOptions(workers=...) (or the client)")


#: Monte Carlo rows of Ω, Φ for the linearised condition of a non-single-layer generator.  Measured on a
#: depth-3 sign network at N = 1024, D = 512 (benchmarks/bench_match.py): a row of Ω, Φ costs about 1.6
#: sampled rows, and the condition's statistic, 0.30, has noise level 0.25 / 0.11 / 0.053 from 5,000 /
#: 20,000 / 80,000 rows; 20,000 resolve it (a warning needs twice the noise level) for a third of the
#: cost of the match's 10^5 rows, where 80,000 would cost what the whole moments step cost before
OMEGA_SAMPLES = 20_000

#: the ensembles of the drawn weights (``CheckOptions.weights``, :func:`getheory.check.draw_weights`)
WEIGHT_ENSEMBLES = ("gaussian", "abs_gaussian")

#: the fewest rows Ω, Φ can be estimated from: two per batch-means group
MIN_OMEGA_SAMPLES = 40


def _check_omega_samples(n) -> None:
    """``omega_samples``: 0 (Ω, Φ not formed) or at least :data:`MIN_OMEGA_SAMPLES` rows."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or (n != 0 and n < MIN_OMEGA_SAMPLES):
        raise ValueError(f"omega_samples (--omega-samples) must be 0 (do not form Ω, Φ: the linearised condition "
                         f"is skipped) or an integer >= {MIN_OMEGA_SAMPLES} (two rows per batch-means group); "
                         f"got {n!r}")


@dataclass(frozen=True, repr=False)
class CheckOptions(ShortRepr):
    """The settings of one check; every field has the default of ``getheory check``.

    Parameters
    ----------
    activation : str or callable
        σ of the default generator, a random single-layer σ(A c/√D), A_ij ~ N(0, 1); used
        only when :func:`~getheory.check.check_generator` is given no generator.
    N, D : int
        Input and latent dimension of that default generator.  A given generator brings its own: an
        N or D that differs from its own is refused (a value other than the default, or one named
        as a keyword of :func:`~getheory.check.check_generator`), as is an activation.
    K, M : int
        Numbers of student and teacher fields; a given weight matrix sets its own, and a K or M
        that differs from it is refused the same way.
    samples : int or "auto"
        Samples n of (λ, ν), streamed (never held in memory), at least 1024.  ``"auto"``
        (default): an independent pilot fixes n in advance to reach |z| ≈ 6 on the held-out
        cumulants, or to fill the plan's time budget (:func:`getheory.plan.plan_samples`).
    plan : PlanOptions
        The planner's settings with ``samples="auto"`` (default: a 60 s budget for the
        moments, the pilot, the sampling and the estimation).  A fixed ``samples`` has no plan
        and no budget: a plan other than the default is then refused.
    seed : int
        Master seed: the generator, the weights, the moments, the pilot, the samples and
        the estimators each get an independent stream derived from it
        (:data:`getheory._seeds.CHECK`).
    weights : {"gaussian", "abs_gaussian"}
        Ensemble of the weights drawn when none are given (:func:`~getheory.check.draw_weights`).
    moment_samples : int, optional
        Monte Carlo rows of the Gaussian match of a non-single-layer generator, estimated from
        their fields (λ, ν) (:func:`getheory.moments.monte_carlo_match`; default
        ``max(samples, 20000)``, or 10^5 with ``samples="auto"``); an independent stream,
        so P̂ is not fitted to the samples it is compared with.  The floor replicates
        re-estimate their match the same way (:class:`getheory.distances.MomentNoise`).
    dms : DmsOptions
        The d_MS estimate (metric p, levels, floor replicates, search, certificate).
    stream : StreamOptions
        Groups of the streamed statistics and the plug-in reservoir.
    analytic : bool
        For single-layer generators, also the leading-order κ3, κ4 and Edgeworth d_MS
        without sampling (:func:`getheory.analytic.analytic_dms`, docs/theory.md §4.2), with
        the sampled κ3, κ4 along the same direction beside them.
    backend : str or Backend
        Where the arrays live; resolved once at the check's entry.
    dtype : {"float32", "float64"}
        The samples' dtype (default float32, :data:`getheory._validation.CHECK_DTYPE`): the products
        and σ of the sampler, the pilot and the Monte Carlo moments run in it, and every sum over
        rows (the streamed power sums, the reservoir, the moments' group sums) in float64.  float32
        samples 1.7× faster at large N and moves the cumulants and d_MS by far less than their
        standard error (docs/guide/gpus.md, "Backends, precision and memory"); a generator whose output
        overflows float32 is refused, naming float64.
    shards : ShardOptions
        Cut the measured run into shards of ``shards.size`` rows, run in this process, on
        local worker processes or on a Dask cluster (docs/theory.md §4.1, Sharded runs);
        default: no shards.
    omega_samples : int
        Monte Carlo rows of the N × N Ω and N × D Φ of a non-single-layer generator, formed only
        for the §6 condition "linearised Gaussian-equivalent covariance" (default
        :data:`OMEGA_SAMPLES`; 0: not formed, and the condition says so).  Costs O(N² + N D) a
        row on top of sampling.

    ``plan``, ``dms``, ``stream`` and ``shards`` given as ``None`` take their defaults.  Every field is
    checked here, when the options are made (sizes, samples, seed, ensemble, activation, backend name,
    dtype, a shard size against the groups), not when the check runs.

    Examples
    --------
    The repr names only what differs from the defaults (nested options alike):

    >>> from getheory import CheckOptions, PlanOptions
    >>> CheckOptions()
    CheckOptions()
    >>> CheckOptions(N=512, samples=100_000, plan=None)
    CheckOptions(N=512, samples=100000)
    >>> CheckOptions(plan=PlanOptions(time_budget=10)).plan.time_budget
    10
    """

    activation: object = "sign"
    N: int = 2000
    D: int = 1000
    K: int = 2
    M: int = 2
    samples: int | str = "auto"
    plan: PlanOptions | None = None
    seed: int | None = 0
    weights: str = "gaussian"
    moment_samples: int | None = None
    dms: DmsOptions | None = None
    stream: StreamOptions | None = None
    analytic: bool = True
    backend: str | Backend = "numpy"
    dtype: str = CHECK_DTYPE
    shards: ShardOptions | None = None
    omega_samples: int = OMEGA_SAMPLES

    def __post_init__(self):
        object.__setattr__(self, "dtype", check_dtype(self.dtype))
        self._check_fields()
        if isinstance(self.samples, str):
            if self.samples != "auto":
                raise ValueError(f"samples must be a positive integer or 'auto'; got {self.samples!r}")
        else:
            object.__setattr__(self, "samples", positive_int(self.samples, "samples", minimum=1024))
        _check_omega_samples(self.omega_samples)
        for name, default in (("plan", PlanOptions), ("dms", DmsOptions), ("stream", StreamOptions),
                              ("shards", ShardOptions)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default())
        if not self.auto and self.plan != PlanOptions():
            raise ValueError(f"a plan (PlanOptions, --time-budget; its budget {self.plan.time_budget:g} s) was given, "
                             f"but it only plans n with samples='auto', and samples = {self.samples:,} is fixed (a fixed "
                             "run has no budget): leave out the plan, or set samples='auto' (--samples auto)")
        if not isinstance(self.shards, ShardOptions):
            raise TypeError(f"shards must be a getheory.check.ShardOptions, got {type(self.shards).__name__}")
        size, groups = self.shards.size, self.stream.groups
        if size is not None and size < groups:
            raise ValueError(f"shard size {size:,} is below the {groups} groups of the streamed statistics: every "
                             f"shard must give each group at least one row; use a shard size of at least {groups} "
                             f"(best a multiple of {groups}, and large: each shard costs a task), or fewer groups")

    def _check_fields(self) -> None:
        """Refuse a bad size, seed, ensemble, activation or backend now, not when the check runs."""
        for name in ("N", "D", "K", "M"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))
        if self.moment_samples is not None:
            object.__setattr__(self, "moment_samples", positive_int(self.moment_samples, "moment_samples"))
        check_seed(self.seed)
        if self.weights not in WEIGHT_ENSEMBLES:
            raise ValueError(f"weights must be one of {', '.join(map(repr, WEIGHT_ENSEMBLES))} (the ensemble of "
                             f"the drawn student weights); got {self.weights!r}")
        if not isinstance(self.analytic, bool):
            raise TypeError(f"analytic must be True or False; got {self.analytic!r}")
        get_activation(self.activation)
        try:
            get_backend(self.backend)
        except RuntimeError:  # a known backend this machine cannot run (cupy without a GPU): refused at the run
            pass

    @property
    def auto(self) -> bool:
        """True when a pilot plans n (``samples="auto"``) within the plan's time budget."""
        return self.samples == "auto"


#: the fields of CheckOptions, in their order
FIELDS = tuple(f.name for f in dataclasses.fields(CheckOptions))


def with_overrides(options: CheckOptions | None, overrides: dict) -> CheckOptions:
    """``options`` (default :class:`CheckOptions`) with the fields in ``overrides`` replaced.

    Raises
    ------
    TypeError
        For options that are not a :class:`CheckOptions`, or a keyword that is not one of its
        fields (the message lists them).
    """
    if options is None:
        options = CheckOptions()
    elif not isinstance(options, CheckOptions):
        raise TypeError(f"options must be a getheory.check.CheckOptions, got {type(options).__name__}")
    unknown = [k for k in overrides if k not in FIELDS]
    if unknown:
        raise TypeError(f"check_generator() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                        f"the options (fields of CheckOptions) are {', '.join(FIELDS)}, and besides them "
                        "check_generator takes generator, W_student, W_teacher, progress, client and recipe")
    return dataclasses.replace(options, **overrides) if overrides else options
