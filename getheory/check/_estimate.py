"""Step 4: every d_MS estimate of docs/theory.md §4 from the streamed statistics.

Plug-in with its floor, excess, upper bounds and the held-out cumulant/Edgeworth estimate
(:func:`getheory.distances.estimate_dms`), on the check's ``dms`` stream; with Monte Carlo
moments the floor replicates re-estimate their match (:class:`getheory.distances.MomentNoise`).
"""

from __future__ import annotations

from .._run import RunContext
from ..distances import DmsEstimate, estimate_dms
from ._moments import MomentsStep
from ._options import CheckOptions
from ._sample import Sampled

__all__ = ["estimate_step"]


def estimate_step(sampled: Sampled, moments: MomentsStep, options: CheckOptions, run: RunContext) -> DmsEstimate:
    """d_MS(P, P̂) of the sampled fields against the match, with its evidence (§4), on the run's ``dms``
    seed stream."""
    match = moments.match
    return estimate_dms(sampled.stats, match.mean, match.cov, options=options.dms, seed=run.seeds.dms,
                        moment_noise=moments.noise)
