"""Cumulants without sampling: leading-order κ3, κ4 and d_MS of single-layer generators
(docs/theory.md §4.2).

Private modules, re-exported here:

``_patterns``
    one-site constants and the streamed index-pattern sums (blocks of rows of A);
``_kappa``
    the leading-order cumulant tensors, κ3(u), κ4(u) along any direction;
``_edgeworth``
    the maximising direction of the Edgeworth W1, the analytic d_MS and its truncation error.
"""

from ._edgeworth import AnalyticDms, analytic_dms, edgeworth_search
from ._kappa import LeadingCumulants, leading_cumulants
from ._patterns import PatternSums, site_constants

__all__ = [
    "AnalyticDms",
    "analytic_dms",
    "edgeworth_search",
    "LeadingCumulants",
    "leading_cumulants",
    "PatternSums",
    "site_constants",
]
