"""The presentation layer's report writers: each takes finished results and writes md, json and png.

Nothing below this package (maths or workflows) writes report files or prints; the
command-line interface (:mod:`getheory.cli`) calls these writers.

* :func:`write_report` -- the rate report of a sweep database (``getheory report``);
* :func:`write_dynamics_report` -- learning curves of ``getheory dynamics``;
* :func:`write_ridge_report` -- ridge learning curves of ``getheory ridge``;
* :func:`write_erm_report` -- ERM learning curves of ``getheory erm``;
* :func:`write_proofs_report` -- the numerical claims of ``getheory proofs``.

Private modules ``_check``, ``_rates``, ``_dynamics``, ``_ridge``, ``_erm`` and ``_proofs`` are re-exported here,
each imported when one of its names is first used.
"""

from .._lazy import lazy_attributes

#: each writer's module, imported on first use (PEP 562, getheory._lazy): `getheory check` loads the check's
#: writer, not the dynamics, ridge or proofs writers and the workflows they read
_LAZY = {
    "getheory.reports._check": ("check_markdown", "format_check", "write_check_json", "write_check_report"),
    "getheory.reports._dynamics": ("write_dynamics_report",),
    "getheory.reports._proofs": ("format_markdown", "write_proofs_report"),
    "getheory.reports._rates": ("build_report_data", "write_report"),
    "getheory.reports._ridge": ("agreement_table", "write_ridge_report"),
    "getheory.reports._erm": ("erm_verdicts", "write_erm_report"),
}

__all__ = [
    "agreement_table",
    "build_report_data",
    "check_markdown",
    "erm_verdicts",
    "format_check",
    "format_markdown",
    "write_check_json",
    "write_check_report",
    "write_dynamics_report",
    "write_erm_report",
    "write_proofs_report",
    "write_report",
    "write_ridge_report",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
