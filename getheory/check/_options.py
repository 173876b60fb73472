"""How a check runs: :class:`CheckOptions`, one frozen dataclass (docs/theory.md §4.1, §6).

:func:`with_overrides` turns the keyword arguments of :func:`getheory.check.check_generator`
(``check_generator(N=..., samples=..., seed=...)``) into options, naming the valid fields
when a keyword is not one of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._validation import positive_int
from ..backend import Backend
from ..distances import DmsOptions, StreamOptions
from ..plan import PlanOptions

__all__ = ["CheckOptions", "with_overrides"]


@dataclass(frozen=True)
class CheckOptions:
    """The settings of one check; every field has the default of ``getheory check``.

    Parameters
    ----------
    activation : str or callable
        σ of the default generator, a random single-layer σ(A c/√D), A_ij ~ N(0, 1); used
        only when :func:`~getheory.check.check_generator` is given no generator.
    N, D : int
        Input and latent dimension of that default generator (ignored when a generator is given).
    K, M : int
        Numbers of student and teacher fields (ignored when both weight matrices are given).
    samples : int or "auto"
        Samples n of (λ, ν), streamed (never held in memory), at least 1024.  ``"auto"``
        (default): an independent pilot fixes n in advance to reach |z| ≈ 6 on the held-out
        cumulants, or to fill the plan's time budget (:func:`getheory.plan.plan_samples`).
    plan : PlanOptions
        The planner's settings with ``samples="auto"`` (default: a 60 s budget for the
        moments, the pilot, the sampling and the estimation).
    seed : int
        Master seed: the generator, the weights, the moments, the pilot, the samples and
        the estimators each get an independent stream derived from it
        (:data:`getheory._seeds.CHECK`).
    weights : {"gaussian", "abs_gaussian"}
        Ensemble of the weights drawn when none are given (:func:`~getheory.check.draw_weights`).
    moment_samples : int, optional
        Monte Carlo samples for the moments of non-single-layer generators (default
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
    dtype : {"float64", "float32"}
        The samples' dtype.

    ``plan``, ``dms`` and ``stream`` given as ``None`` take their defaults; ``samples`` is
    checked here (an integer >= 1024 or ``"auto"``).
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
    dtype: str = "float64"

    def __post_init__(self):
        if isinstance(self.samples, str):
            if self.samples != "auto":
                raise ValueError(f"samples must be a positive integer or 'auto'; got {self.samples!r}")
        else:
            object.__setattr__(self, "samples", positive_int(self.samples, "samples", minimum=1024))
        for name, default in (("plan", PlanOptions), ("dms", DmsOptions), ("stream", StreamOptions)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default())

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
                        "check_generator takes generator, W_student, W_teacher and progress")
    return dataclasses.replace(options, **overrides) if overrides else options
