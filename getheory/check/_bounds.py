"""Step 6: the bound terms of docs/theory.md §5 (single-layer generators).

For other generators no term is computed: d_MS is measured directly and
:func:`getheory.bounds.bound_term` takes a user M.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._run import RunContext
from ..bounds import BoundTerms, bound_terms
from ._problem import CheckProblem

__all__ = ["BoundsStep", "bounds_step"]

SINGLE_LAYER_NOTE = "single-layer generator: all terms of docs/theory.md §5"
GENERAL_NOTE = ("bound terms are defined for single-layer generators (docs/theory.md §5); "
                "for this generator d_MS is measured directly and bound_term(W, M) takes a user M")


@dataclass(frozen=True)
class BoundsStep:
    """Every §5 term (``None`` for a generator that is not single-layer) and a note saying which."""

    terms: BoundTerms | None
    note: str


def bounds_step(problem: CheckProblem, run: RunContext) -> BoundsStep:
    """The bound terms of the problem (§5) on the run's backend, or the note why there are none."""
    if problem.single_layer:
        return BoundsStep(bound_terms(problem.generator, problem.W_student, problem.W_teacher, backend=run.backend),
                          SINGLE_LAYER_NOTE)
    return BoundsStep(None, GENERAL_NOTE)
