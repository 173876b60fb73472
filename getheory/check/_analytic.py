"""Step 5: the leading-order κ3, κ4 and Edgeworth d_MS without sampling (docs/theory.md §4.2),
beside the sampled κ3, κ4 along the same direction (single-layer generators).

The analytic direction does not depend on the samples, so every group of the streamed
statistics evaluates it (:func:`getheory.distances.kappas_along`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..analytic import AnalyticDms, analytic_dms
from .._run import RunContext
from ..distances import kappas_along
from ._options import CheckOptions
from ._problem import CheckProblem
from ._sample import Sampled

__all__ = ["AnalyticComparison", "analytic_step", "wants_analytic"]


@dataclass(frozen=True, eq=False)
class AnalyticComparison:
    """The analytic cumulants, the sampled ones along the analytic direction, and for κ3 and κ4
    the sampled-minus-analytic difference in units of √(SE² + truncation²) (``None`` when 0/0)."""

    analytic: AnalyticDms
    sampled: dict
    z_kappa3: float | None
    z_kappa4: float | None

    def to_dict(self) -> dict:
        return {"analytic": self.analytic.to_dict(), "sampled_along_analytic_direction": self.sampled,
                "z_kappa3_sampled_minus_analytic": self.z_kappa3, "z_kappa4_sampled_minus_analytic": self.z_kappa4}


def z_difference(sampled: float, se: float, analytic: float, truncation: float) -> float | None:
    """(sampled − analytic) / √(se² + truncation²); ``None`` when both errors are 0."""
    den = math.hypot(se, truncation)
    return (sampled - analytic) / den if den > 0 else None


def wants_analytic(problem: CheckProblem, options: CheckOptions) -> bool:
    """The analytic step runs for single-layer generators unless ``options.analytic`` is false."""
    return bool(options.analytic) and problem.single_layer


def analytic_step(problem: CheckProblem, sampled: Sampled, cov, options: CheckOptions,
                  run: RunContext) -> AnalyticComparison | None:
    """The §4.2 cumulants (on the run's backend) beside the sampled ones of the match covariance
    ``cov``; ``None`` when ``wants_analytic`` is false."""
    if not wants_analytic(problem, options):
        return None
    a = analytic_dms(problem.generator, problem.W_student, problem.W_teacher, backend=run.backend)
    smp = kappas_along(sampled.stats, cov, a.direction)
    z3, z4 = (z_difference(smp[k], smp[f"se_{k}"], getattr(a, k), getattr(a, f"{k}_truncation"))
              for k in ("kappa3", "kappa4"))
    return AnalyticComparison(a, smp, z3, z4)
