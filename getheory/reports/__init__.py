"""The presentation layer's report writers: each takes finished results and writes md, json and png.

Nothing below this package (maths or workflows) writes report files or prints; the
command-line interface (:mod:`getheory.cli`) calls these writers.

* :func:`write_report` -- the rate report of a sweep database (``getheory report``);
* :func:`write_dynamics_report` -- learning curves of ``getheory dynamics``;
* :func:`write_ridge_report` -- ridge learning curves of ``getheory ridge``;
* :func:`write_proofs_report` -- the numerical claims of ``getheory proofs``.

Private modules ``_rates``, ``_dynamics``, ``_ridge`` and ``_proofs`` are re-exported here.
"""

from ._check import check_markdown, format_check, write_check_json, write_check_report
from ._dynamics import write_dynamics_report
from ._proofs import format_markdown, write_proofs_report
from ._rates import build_report_data, write_report
from ._ridge import agreement_table, write_ridge_report

__all__ = [
    "agreement_table",
    "build_report_data",
    "check_markdown",
    "format_check",
    "format_markdown",
    "write_check_json",
    "write_check_report",
    "write_dynamics_report",
    "write_proofs_report",
    "write_report",
    "write_ridge_report",
]
