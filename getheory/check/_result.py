"""What a check measured: :class:`CheckResult`, data only (``to_dict()`` is JSON-ready).

Its table is text built from its data (``to_table()``, and as Markdown ``to_markdown()``, which a notebook
shows; :mod:`._table`);
printing it and writing check.md and check.json are the presentation layer's
(:func:`getheory.reports.format_check`, :func:`getheory.reports.write_check_report`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._json import to_plain as _plain
from .._version import __version__
from ..bounds import BoundTerms
from ..distances import DmsEstimate
from ..moments import GaussianMatch
from ..plan import Plan
from ._analytic import AnalyticComparison
from ._bounds import BoundsStep
from .._run import RunContext
from ._moments import MomentsStep
from ._options import CheckOptions
from ._problem import CheckProblem
from ._sample import Sampled
from ._table import check_table, check_table_markdown

__all__ = ["CheckResult", "CheckSteps", "build_result"]


@dataclass
class CheckResult:
    """Everything :func:`~getheory.check.check_generator` measured; ``to_dict()`` is JSON-ready.

    In a notebook it displays as its report's Markdown tables (:meth:`_repr_markdown_`).
    """

    generator: dict
    sizes: dict
    moments_source: str
    match: dict
    dms: DmsEstimate
    bounds: BoundTerms | None
    bounds_note: str
    conditions: list
    timings: dict
    settings: dict
    plan: Plan | None = None
    analytic: dict | None = None
    measured_run: dict | None = None

    def to_dict(self) -> dict:
        return {
            "getheory_version": __version__,
            "generator": self.generator,
            "sizes": self.sizes,
            "settings": _plain(self.settings),
            "moments_source": self.moments_source,
            "gaussian_match": _plain(self.match),
            "d_MS": self.dms.to_dict(),
            "bound_terms": self.bounds.to_dict() if self.bounds is not None else None,
            "bound_terms_note": self.bounds_note,
            "conditions": [c.to_dict() for c in self.conditions],
            "timings_s": self.timings,
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "measured_run": _plain(self.measured_run),
            "analytic": _plain(self.analytic),
        }

    def to_table(self) -> str:
        """The readable plain-text table of the check (what ``getheory check`` prints; check.md ends with it)."""
        return check_table(self)

    def to_markdown(self) -> str:
        """The same content as :meth:`to_table`, as Markdown tables and paragraphs (check.md ends with it)."""
        return check_table_markdown(self)

    def _repr_markdown_(self) -> str:
        """:meth:`to_markdown` (a notebook's display hook): real tables, and prose that wraps."""
        return self.to_markdown()


@dataclass(frozen=True, eq=False)
class CheckSteps:
    """The results of the check's steps, in the order they ran."""

    moments: MomentsStep
    plan: Plan | None
    sampled: Sampled
    estimate: DmsEstimate
    bounds: BoundsStep
    conditions: list
    analytic: AnalyticComparison | None


def _match_dict(match: GaussianMatch) -> dict:
    d = {"mean": match.mean, "cov": match.cov, "exact": match.exact, "clipped_eigenvalues": match.clipped_eigenvalues}
    if match.stderr_cov is not None:
        d["stderr_cov"] = match.stderr_cov
    return d


def _settings(options: CheckOptions, run: RunContext, sampled: Sampled) -> dict:
    """The settings the numbers depend on (a sharded run adds its shard size and count, not where they ran)."""
    out = {"seed": options.seed, "samples": options.samples, "plan": options.plan if options.auto else None,
           "dms": options.dms, "stream": options.stream, "backend": run.backend.name, "dtype": options.dtype,
           "weights": options.weights}
    if options.shards.on:
        out["shards"] = {"size": options.shards.size, "count": sampled.shards}
    return out


def build_result(problem: CheckProblem, options: CheckOptions, run: RunContext, steps: CheckSteps) -> CheckResult:
    """The :class:`CheckResult` of a finished check."""
    return CheckResult(
        generator=problem.generator.describe(),
        sizes={"N": problem.N, "D": problem.D, "K": problem.K, "M": problem.M, "samples": steps.sampled.n},
        moments_source=steps.moments.source,
        match=_match_dict(steps.moments.match),
        dms=steps.estimate,
        bounds=steps.bounds.terms,
        bounds_note=steps.bounds.note,
        conditions=steps.conditions,
        timings=dict(run.timings),
        settings=_settings(options, run, steps.sampled),
        plan=steps.plan,
        analytic=steps.analytic.to_dict() if steps.analytic is not None else None,
        measured_run=_measured_run(steps.sampled),
    )


def _measured_run(sampled: Sampled) -> dict:
    """The measured run's n, the n it was asked for, and whether the time budget cut it (§4.1)."""
    return {"n": sampled.n, "n_planned": sampled.n_planned if sampled.n_planned is not None else sampled.n,
            "cut": sampled.cut, "statement": sampled.cut_statement()}
