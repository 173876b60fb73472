"""Step 2: with ``samples="auto"``, the pilot and the planned n of the measured run (docs/theory.md §4.1).

The pilot runs on the check's ``pilot`` stream, in this process even when the measured run
is sharded (the planned n is then rounded up to whole shards), within what is left of the
time budget after the moments (:func:`getheory.plan.plan_samples_in`).  It also sizes the
plug-in's reservoir (``Plan.n_plugin``, at most ``StreamOptions.n_plugin``), which the
measured run keeps (:func:`planned_options`).
"""

from __future__ import annotations

import dataclasses

from .._run import RunContext
from ..moments import GaussianMatch
from ..plan import Plan, PlanSetup, plan_samples_in
from ._options import CheckOptions
from ._problem import CheckProblem

__all__ = ["plan_step", "planned_n", "planned_options"]


def plan_step(problem: CheckProblem, match: GaussianMatch, options: CheckOptions, run: RunContext, *,
              spent: float) -> Plan | None:
    """With ``samples="auto"``: the pilot and the planned n, within what is left of the budget
    after the ``spent`` seconds of the moments; ``None`` with a fixed n."""
    if not options.auto:
        return None
    if options.plan.time_budget - spent <= 0:
        raise ValueError(f"the moments alone took {spent:.1f} s, the whole time budget of "
                         f"{options.plan.time_budget:g} s; raise the budget or give a fixed number of samples")
    setup = PlanSetup(options.plan, options.stream, options.dms.cumulant, options.shards.size, options.dms, spent)
    return plan_samples_in(run, problem.generator, (problem.W_student, problem.W_teacher), match, setup,
                           run.seeds.pilot)


def planned_n(plan: Plan | None, options: CheckOptions) -> int:
    """The measured run's n: the plan's, or the fixed ``options.samples``."""
    return plan.n if plan is not None else options.samples


def planned_options(plan: Plan | None, options: CheckOptions) -> CheckOptions:
    """The options the measured run streams with: the plan's reservoir in place of the cap
    ``options.stream.n_plugin`` (docs/theory.md §4.1, The reservoir); ``options`` with a fixed n."""
    if plan is None or plan.n_plugin is None:
        return options
    return dataclasses.replace(options, stream=dataclasses.replace(options.stream, n_plugin=plan.n_plugin))
