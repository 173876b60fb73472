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
    d_MS as one estimate with its evidence (:func:`estimate_dms`);
``_registry``
    the one registry of d_MS estimators: how each is computed, set, stored, read and drawn.

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
    k_statistics,
    kappas_along,
)
from ._estimate import DmsEstimate, DmsOptions, estimate_dms
from ._floor import SMALL_RESERVOIR, FloorResult, MomentNoise, floor_scale, plugin_reservoir, sampling_floor
from ._one_d import w1_to_normal, w2_to_normal, wp_to_normal_sorted, wp_two_sample_sorted
from ._registry import (
    LEGACY_ESTIMATOR,
    REPORTED,
    Column,
    Estimator,
    EstimatorInput,
    Evidence,
    PlotStyle,
    Reading,
    Setting,
    absent_parts,
    chosen_estimator,
    computing_estimators,
    estimator_series,
    estimator_settings,
    estimators,
    finite,
    get_estimator,
    record_columns,
    register_estimator,
    spec_settings,
    unregister_estimator,
)
from ._search import MaxSlicedResult, SearchOptions, max_sliced_two_sample, max_sliced_w1
from ._sphere import canonical_sign, es_refine, half_sphere_spacing, quasi_uniform_directions
from ._stream import FieldStats, FieldStream, StreamOptions, merge_stats, stream_array

__all__ = [
    "absent_parts",
    "canonical_sign",
    "certified_upper_bound",
    "CertifiedBound",
    "chosen_estimator",
    "Column",
    "computing_estimators",
    "cumulant_estimate",
    "CumulantOptions",
    "CumulantResult",
    "cumulants_from_stats",
    "DmsEstimate",
    "DmsOptions",
    "edgeworth_exact",
    "edgeworth_w1",
    "EdgeworthGrid",
    "es_refine",
    "estimate_dms",
    "Estimator",
    "estimator_series",
    "estimator_settings",
    "EstimatorInput",
    "estimators",
    "Evidence",
    "FieldStats",
    "FieldStream",
    "finite",
    "floor_scale",
    "FloorResult",
    "get_estimator",
    "half_sphere_spacing",
    "k_statistics",
    "kappas_along",
    "LEGACY_ESTIMATOR",
    "max_sliced_two_sample",
    "max_sliced_w1",
    "MaxSlicedResult",
    "merge_stats",
    "MomentNoise",
    "PlotStyle",
    "plugin_reservoir",
    "quasi_uniform_directions",
    "Reading",
    "record_columns",
    "register_estimator",
    "REPORTED",
    "sampling_floor",
    "SearchOptions",
    "Setting",
    "SMALL_RESERVOIR",
    "spec_settings",
    "stream_array",
    "StreamOptions",
    "unregister_estimator",
    "w1_to_normal",
    "w2_to_normal",
    "wp_to_normal_sorted",
    "wp_two_sample_sorted",
]
