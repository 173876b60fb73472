"""Distances between the law of the local fields and its Gaussian match (docs/theory.md §4).

.. math::

    d_{\\mathrm{MS}}(P, \\hat P) = \\sup_{u \\in S^{d-1}} W_p(u_\\# P, u_\\# \\hat P),
    \\qquad \\hat P = N(m, \\Sigma),\\ p \\in \\{1, 2\\}\\ (p = 1 \\text{ by default}),

for the law P of the ``d = K + M`` local fields z = (λ, ν).  The implementation lives in
private modules, re-exported here (the layout of POT's ``ot/sliced``):

``_one_d``
    exact 1-D W_p to a normal law and between two samples (§4 step 1);
``_sphere``, ``_search``
    directions, the ascent on the sphere, the plug-in max-sliced estimate (§4 step 2);
``_floor``
    the finite-sample floor on exact Gaussian replicates (§4 step 3);
``_certify``
    the certified upper bound (§4 Resolution (a));
``_cumulants``
    k-statistics, the Edgeworth W1 and the held-out cumulant estimate (§4 Resolution (b));
``_stream``
    streaming per-group power sums of the fields, accumulated batch by batch, and their exact
    merge across parts of a stream (shards; :func:`merge_stats`);
``_estimate``
    d_MS as one estimate with its evidence (:func:`estimate_dms`).

All array work goes through :mod:`getheory.backend`, so NumPy and CuPy inputs run the
same code; results leave as host floats and NumPy arrays.
"""

from ._certify import CertifiedBound, certified_upper_bound
from ._cumulants import (
    CumulantOptions,
    CumulantResult,
    EdgeworthGrid,
    cumulant_estimate,
    cumulants_from_stats,
    edgeworth_exact,
    edgeworth_w1,
    kappas_along,
    k_statistics,
)
from ._estimate import DmsEstimate, DmsOptions, estimate_dms
from ._floor import FloorResult, MomentNoise, sampling_floor
from ._one_d import w1_to_normal, w2_to_normal, wp_to_normal_sorted, wp_two_sample_sorted
from ._registry import (REPORTED, Estimator, Evidence, PlotStyle, Reading, absent_parts, chosen_estimator,
                        estimator_series, estimators, finite, get_estimator, register_estimator,
                        unregister_estimator)
from ._search import MaxSlicedResult, SearchOptions, max_sliced_two_sample, max_sliced_w1
from ._sphere import canonical_sign, es_refine, half_sphere_spacing, quasi_uniform_directions
from ._stream import FieldStats, FieldStream, StreamOptions, merge_stats, stream_array

__all__ = [
    "w1_to_normal",
    "w2_to_normal",
    "wp_to_normal_sorted",
    "wp_two_sample_sorted",
    "quasi_uniform_directions",
    "canonical_sign",
    "half_sphere_spacing",
    "es_refine",
    "SearchOptions",
    "MaxSlicedResult",
    "max_sliced_w1",
    "max_sliced_two_sample",
    "MomentNoise",
    "FloorResult",
    "sampling_floor",
    "CertifiedBound",
    "certified_upper_bound",
    "k_statistics",
    "edgeworth_w1",
    "edgeworth_exact",
    "EdgeworthGrid",
    "CumulantOptions",
    "CumulantResult",
    "cumulant_estimate",
    "cumulants_from_stats",
    "kappas_along",
    "StreamOptions",
    "FieldStream",
    "FieldStats",
    "merge_stats",
    "stream_array",
    "DmsOptions",
    "DmsEstimate",
    "estimate_dms",
]
__all__ += ["REPORTED", "Estimator", "Evidence", "PlotStyle", "Reading", "absent_parts", "chosen_estimator",
            "estimator_series", "estimators", "finite", "get_estimator", "register_estimator", "unregister_estimator"]
