"""Steps 2 and 3: plan n (``samples="auto"``, docs/theory.md §4.1), then stream n samples of (λ, ν) (§1).

The pilot runs on the check's ``pilot`` stream and the measured run on its ``fields``
stream; the samples are never held in memory, only the streamed statistics of
:class:`getheory.distances.FieldStream`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..distances import FieldStats, FieldStream
from ..fields import stream_fields
from ..moments import GaussianMatch
from ..plan import Plan, plan_samples
from ._context import CheckRun
from ._options import CheckOptions
from ._problem import Problem

__all__ = ["Sampled", "plan_step", "planned_n", "sample_step"]


@dataclass(frozen=True, eq=False)
class Sampled:
    """The streamed statistics of the measured run and its number of samples n."""

    stats: FieldStats
    n: int


def plan_step(problem: Problem, match: GaussianMatch, options: CheckOptions, run: CheckRun, *,
              spent: float, progress: bool = False) -> Plan | None:
    """With ``samples="auto"``: the pilot and the planned n, within what is left of the budget
    after the ``spent`` seconds of the moments; ``None`` with a fixed n."""
    if not options.auto:
        return None
    budget = options.plan.time_budget - spent
    if budget <= 0:
        raise ValueError(f"the moments alone took {spent:.1f} s, the whole time budget of "
                         f"{options.plan.time_budget:g} s; raise the budget or give a fixed number of samples")
    return plan_samples(problem.generator, problem.W_student, problem.W_teacher, match,
                        options=dataclasses.replace(options.plan, time_budget=budget),
                        stream=options.stream, cumulant=options.dms.cumulant, seed=run.seeds.pilot,
                        backend=run.backend, dtype=options.dtype, progress=progress, deadline=run.deadline)


def planned_n(plan: Plan | None, options: CheckOptions) -> int:
    """The measured run's n: the plan's, or the fixed ``options.samples``."""
    return plan.n if plan is not None else options.samples


def sample_step(problem: Problem, match: GaussianMatch, n: int, options: CheckOptions, run: CheckRun, *,
                progress: bool = False) -> Sampled:
    """Stream n samples of (λ, ν) into the statistics of the d_MS estimators (§1, §4)."""
    sink = FieldStream(match.mean, match.cov, options=options.stream, backend=run.backend)
    stream_fields(problem.generator, problem.W_student, problem.W_teacher, n, sink, seed=run.seeds.fields,
                  backend=run.backend, dtype=options.dtype, progress=progress, deadline=run.deadline,
                  stage="the measured run's sampling")
    return Sampled(sink.finish(), n)
