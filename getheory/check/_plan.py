"""Step 2: with ``samples="auto"``, the pilot and the planned n of the measured run (docs/theory.md §4.1).

The pilot runs on the check's ``pilot`` stream, in this process even when the measured run
is sharded (the planned n is then rounded up to whole shards), within what is left of the
time budget after the moments (:func:`getheory.plan.plan_samples_in`).
"""

from __future__ import annotations

import dataclasses

from .._run import RunContext
from ..moments import GaussianMatch
from ..plan import Plan, PlanSetup, plan_samples_in
from ._options import CheckOptions
from ._problem import CheckProblem

__all__ = ["plan_step", "planned_n"]


def plan_step(problem: CheckProblem, match: GaussianMatch, options: CheckOptions, run: RunContext, *,
              spent: float) -> Plan | None:
    """With ``samples="auto"``: the pilot and the planned n, within what is left of the budget
    after the ``spent`` seconds of the moments; ``None`` with a fixed n."""
    if not options.auto:
        return None
    budget = options.plan.time_budget - spent
    if budget <= 0:
        raise ValueError(f"the moments alone took {spent:.1f} s, the whole time budget of "
                         f"{options.plan.time_budget:g} s; raise the budget or give a fixed number of samples")
    setup = PlanSetup(dataclasses.replace(options.plan, time_budget=budget), options.stream, options.dms.cumulant,
                      options.shards.size)
    return plan_samples_in(run, problem.generator, (problem.W_student, problem.W_teacher), match, setup,
                           run.seeds.pilot)


def planned_n(plan: Plan | None, options: CheckOptions) -> int:
    """The measured run's n: the plan's, or the fixed ``options.samples``."""
    return plan.n if plan is not None else options.samples
