"""getheory: numerical verification of the Gaussian Equivalence Theorem.

Goldt, Loureiro, Reeves, Krzakala, Mézard and Zdeborová, "The Gaussian
equivalence of generative models for learning with shallow neural networks"
(MSML 2022).  The theory and notation are in docs/theory.md, shipped with the package:
``getheory theory 4.1`` or :func:`theory_section` prints a section the outputs cite.

Public API
----------
Activations (§3)
    :func:`get_activation`, :func:`hermite_coefficients`, :func:`hermite_mu`
Generators (§1)
    :class:`SingleLayerGenerator`, :class:`DeepGenerator`,
    :class:`CallableGenerator`, :func:`random_single_layer`,
    :func:`random_deep`, :func:`load_generator`
Moments and fields (§2)
    :func:`exact_moments`, :func:`monte_carlo_moments`,
    :func:`gaussian_match`, :func:`sample_fields`
Distances (§4)
    :func:`max_sliced_w1`, :func:`w1_to_normal`, :func:`sampling_floor`,
    :func:`certified_upper_bound`, :func:`cumulant_estimate`,
    :func:`max_sliced_two_sample`, :func:`estimate_dms`; the streaming engine
    :class:`FieldStream`, :func:`stream_fields`, :func:`cumulants_from_stats`;
    options :class:`DmsOptions`, :class:`SearchOptions`, :class:`CumulantOptions`,
    :class:`StreamOptions`; the planner :func:`plan_samples`, :class:`PlanOptions`;
    without sampling (§4.2) :func:`analytic_dms`, :func:`leading_cumulants`
Bounds (§5)
    :func:`bound_term`, :func:`bound_terms`, :func:`default_bound_matrices`,
    :func:`teacher_term`
Checks (§6)
    :func:`check_generator`, its options :class:`CheckOptions` (and :class:`ShardOptions`: the
    measured run in shards, in this process, on local processes or on a Dask cluster)
Sweeps and rates (§4-5)
    :func:`load_spec`, :func:`run_sweep`, :func:`fit_loglog`,
    :func:`fit_rates` (the report writers are in :mod:`getheory.reports`)
Learning dynamics (§7)
    :func:`run_dynamics`, :func:`integrate_odes`, :func:`run_sgd`,
    :func:`generalisation_error`, :func:`finite_size_check`
Ridge learning curves (§8)
    :func:`ridge_curves`, :class:`RidgeOptions`, :class:`RidgeResult`,
    :func:`ridge_finite_size`, :func:`ridge_theory`, :func:`ridge_spectrum`
Full-batch ERM with convex losses (§10)
    :func:`erm_theory`, :func:`erm_curves`, :class:`ErmOptions`, :class:`ErmResult`
Numerical proofs
    :func:`run_proofs`
The theory (docs/theory.md, shipped with the package)
    :func:`theory_section`, :func:`theory_sections`, :func:`theory_text`
"""

from ._lazy import lazy_attributes
from ._version import __version__

#: every public name's module, imported on first use (PEP 562, getheory._lazy): `import getheory`
#: loads no module of the package until a name is used, and a name loads only its own module
_LAZY = {
    "getheory.activations": ("ACTIVATIONS", "Activation", "get_activation", "hermite_coefficients", "hermite_mu"),
    "getheory.backend": ("available_backends", "get_backend"),
    "getheory.bounds": ("BoundTerms", "bound_term", "bound_terms", "default_bound_matrices", "teacher_term"),
    "getheory.check": ("CheckOptions", "CheckResult", "ShardOptions", "check_generator", "draw_weights"),
    "getheory.distances": ("CumulantOptions", "DmsEstimate", "DmsOptions", "FieldStats", "FieldStream",
        "SearchOptions", "StreamOptions", "certified_upper_bound", "cumulant_estimate", "cumulants_from_stats",
        "estimate_dms", "max_sliced_two_sample", "max_sliced_w1", "sampling_floor", "w1_to_normal"),
    "getheory.fields": ("sample_fields", "stream_fields"),
    "getheory.analytic": ("AnalyticDms", "LeadingCumulants", "analytic_dms", "leading_cumulants"),
    "getheory.plan": ("Plan", "PlanOptions", "plan_samples"),
    "getheory.generators": ("CallableGenerator", "DeepGenerator", "Generator", "SingleLayerGenerator",
        "load_generator", "random_deep", "random_single_layer"),
    "getheory.moments": ("GaussianMatch", "Moments", "exact_moments", "gaussian_match", "monte_carlo_moments"),
    "getheory.trained": ("DenseGenerator", "load_dense", "save_dense"),
    "getheory.sweep": ("ResultsDB", "SpecError", "SweepError", "SweepSpec", "load_spec", "run_sweep",
        "spec_from_dict"),
    "getheory.rates": ("SlopeFit", "fit_loglog", "fit_rates"),
    "getheory.proofs": ("run_proofs",),
    "getheory._theory": ("theory_section", "theory_sections", "theory_text"),
    "getheory.ridge": ("RidgeOptions", "RidgeResult", "ridge_curves", "ridge_finite_size", "ridge_spectrum",
        "ridge_theory"),
    "getheory.erm": ("ErmOptions", "ErmResult", "erm_curves", "erm_theory"),
    "getheory.dynamics": ("DynamicsResult", "ODEResult", "SGDTrajectory", "finite_size_check", "generalisation_error",
        "integrate_odes", "run_dynamics", "run_sgd"),
}

__all__ = [
    "__version__",
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "hermite_coefficients",
    "hermite_mu",
    "available_backends",
    "get_backend",
    "BoundTerms",
    "bound_term",
    "bound_terms",
    "default_bound_matrices",
    "teacher_term",
    "CheckOptions",
    "CheckResult",
    "ShardOptions",
    "check_generator",
    "draw_weights",
    "CumulantOptions",
    "DmsEstimate",
    "DmsOptions",
    "FieldStats",
    "FieldStream",
    "SearchOptions",
    "StreamOptions",
    "certified_upper_bound",
    "cumulant_estimate",
    "cumulants_from_stats",
    "estimate_dms",
    "max_sliced_two_sample",
    "max_sliced_w1",
    "sampling_floor",
    "w1_to_normal",
    "sample_fields",
    "stream_fields",
    "AnalyticDms",
    "LeadingCumulants",
    "analytic_dms",
    "leading_cumulants",
    "Plan",
    "PlanOptions",
    "plan_samples",
    "CallableGenerator",
    "DeepGenerator",
    "Generator",
    "SingleLayerGenerator",
    "load_generator",
    "random_deep",
    "random_single_layer",
    "DenseGenerator",
    "load_dense",
    "save_dense",
    "GaussianMatch",
    "Moments",
    "exact_moments",
    "gaussian_match",
    "monte_carlo_moments",
    "ResultsDB",
    "SpecError",
    "SweepError",
    "SweepSpec",
    "load_spec",
    "run_sweep",
    "spec_from_dict",
    "SlopeFit",
    "fit_loglog",
    "fit_rates",
    "DynamicsResult",
    "ODEResult",
    "SGDTrajectory",
    "finite_size_check",
    "generalisation_error",
    "integrate_odes",
    "run_dynamics",
    "run_sgd",
    "run_proofs",
    "RidgeOptions",
    "RidgeResult",
    "ridge_curves",
    "ridge_finite_size",
    "ridge_spectrum",
    "ridge_theory",
    "ErmOptions",
    "ErmResult",
    "erm_curves",
    "erm_theory",
    "theory_section",
    "theory_sections",
    "theory_text",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
