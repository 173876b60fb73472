"""The table of a generator check (docs/theory.md §4–§6): the rows every display of a
:class:`~getheory.check.CheckResult` shows, in two renderings of one content.

:func:`check_table` is the plain-text table ``getheory check`` prints (its one long line, the
estimate's statement, wrapped); :func:`check_table_markdown` is the same content as Markdown
(real tables, prose that wraps), the result's notebook display (:meth:`CheckResult._repr_markdown_`)
and the end of check.md (:func:`getheory.reports.check_markdown`).  Both are built from
:func:`_title`, :func:`_header`, :func:`_sections` and the conditions, so they cannot drift.
Text only: printing and writing are the presentation layer's.
"""

from __future__ import annotations

import textwrap

from .._markdown import table_row, table_rule
from .._version import __version__
from ..distances import estimators

__all__ = ["check_table", "check_table_markdown"]

#: the plain-text table wraps its prose (the estimate's statement) at this width
WRAP = 100


def _title(result) -> str:
    g = result.generator
    return f"getheory {__version__} check: {g.get('kind')} {g.get('activation', g.get('name', ''))}"


def _header(result) -> list:
    """(name, text) of the settings under the title: sizes, precision, moments, samples, cut, shards."""
    items = [("sizes", ", ".join(f"{k}={v}" for k, v in result.sizes.items()))]
    if result.settings.get("dtype"):
        items.append(("precision", f"{result.settings['dtype']} products and σ, every sum over rows in float64"))
    items.append(("moments", result.moments_source))
    if result.plan is not None:
        items.append(("samples", result.plan.statement()))
    cut = (result.measured_run or {}).get("statement")
    if cut:
        items.append(("cut", cut))
    shards = result.settings.get("shards")
    if shards:
        items.append(("shards", (f"{shards['count']:,} of {shards['size']:,} rows, merged in index order (the "
                                 "numbers depend on the seed and the shard size, not on where the shards ran)")))
    return items


def _plug_in_rows(d: dict) -> list:
    pl, fl = d["plug_in"], d["floor"]
    return [
        (f"plug-in max-sliced W{pl.get('p', 1)} (n = {d['n_plugin']:,})", f"{pl['value']:.5g}"),
        (f"floor, {fl['replicates']} Gaussian replicates (mean / threshold)",
         f"{fl['mean']:.5g} / {fl['threshold']:.5g}"),
        ("excess = plug-in − floor mean", f"{d['excess']:.5g}"),
        (f"plug-in resolves the signal (level {fl['exact_level']:.3g})", "yes" if d["resolved"] else "no"),
        ("upper bound, plug-in + ε_n (searched sup)", f"{d['calibrated_upper_bound']:.5g}"),
    ]


def _cumulant_rows(cu: dict) -> list:
    return [
        (f"κ3, κ4 (held out: n = {cu['n_eval']:,}, {cu['groups_eval']} groups)",
         f"{cu['kappa3']:.3g} ± {cu['se_kappa3']:.2g}, {cu['kappa4']:.3g} ± {cu['se_kappa4']:.2g}"),
        ("z of κ3, κ4 (jackknife SE)", f"{cu['z_kappa3']:.2f}, {cu['z_kappa4']:.2f}"),
        ("Edgeworth W1", f"{cu['edgeworth_w1']:.4g} ± {cu['edgeworth_se']:.2g}"),
        (f"cumulants resolve the signal (level {cu['level']:g})", "yes" if cu["resolved"] else "no"),
    ]


def _dms_rows(d: dict) -> list:
    """The §4 rows: the reported d_MS, the plug-in and its floor, the certificate, the cumulants, then
    the rows of every other registered estimator whose parts the check computed (its ``table_rows``)."""
    rows = [(f"d_MS ({d['estimator']})", f"{d['value']:.5g} ± {d['se']:.2g}")]
    if d["plug_in"] is not None:
        rows += _plug_in_rows(d)
    ce = d["certified"]
    if ce is not None:
        rows.append((f"certified upper bound ({100 * ce['confidence']:.0f}%, rigorous gap)",
                     f"{ce['value']:.5g}  (search gap {ce['search_gap']:.3g})"))
    if d["cumulant"] is not None:
        rows += _cumulant_rows(d["cumulant"])
    for e in estimators():
        if e.table_rows is not None and any(d.get(k) is not None for k in e.record_keys):
            rows += e.table_rows(d)
    return rows


def _analytic_rows(analytic: dict) -> list:
    """The §4.2 rows: analytic κ3, κ4 and Edgeworth d_MS beside the sampled ones."""
    a, smp = analytic["analytic"], analytic["sampled_along_analytic_direction"]
    rows = [
        ("κ3 analytic / sampled (same direction)",
         f"{a['kappa3']:.4g} ± {a['kappa3_truncation']:.2g} / {smp['kappa3']:.4g} ± {smp['se_kappa3']:.2g}"),
        ("κ4 analytic / sampled (same direction)",
         f"{a['kappa4']:.4g} ± {a['kappa4_truncation']:.2g} / {smp['kappa4']:.4g} ± {smp['se_kappa4']:.2g}"),
        ("Edgeworth d_MS analytic (± truncation)", f"{a['edgeworth_w1']:.4g} ± {a['truncation_error']:.2g}"),
    ]
    z4 = analytic.get("z_kappa4_sampled_minus_analytic")
    if z4 is not None:
        rows.append(("sampled − analytic κ4, in combined SEs", f"{z4:.2f}"))
    return rows


def _bounds_rows(result) -> list:
    """The §5 rows: every bound term (none when there are no terms: the note says why)."""
    b = result.bounds
    if b is None:
        return []
    rows = [
        ("B(W, M1)  (even chaos)", b.M1_term),
        ("B(W, M2)  (odd chaos)", b.M2_term),
        ("teacher  N^-1/2 ‖W̃Aᵀ‖²/D²", b.teacher_term),
        ("N^-1/2", b.n_term),
    ]
    return [(a, f"{v:.5g}") for a, v in rows] + [
        ("chaos order kept / tail bound", f"{b.chaos_order} / {b.truncation_error:.2g}")]


def _sections(result) -> list:
    """(heading, rows of (quantity, value), notes) of the check's tables: d_MS (§4) with the estimate's
    statement, the analytic cumulants (§4.2, when computed), the bound terms (§5, or the note why none)."""
    d = result.dms.to_dict()
    out = [("d_MS(P, P̂)  (docs/theory.md §4)", _dms_rows(d), [d["statement"]] if "statement" in d else [])]
    if result.analytic is not None:
        out.append(("without sampling: leading-order cumulants  (docs/theory.md §4.2)",
                    _analytic_rows(result.analytic), []))
    bounds = _bounds_rows(result)
    out.append(("bound terms  (docs/theory.md §5)", bounds, [] if bounds else [result.bounds_note]))
    return out


def _timings(result) -> str:
    return "timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())


def check_table(result) -> str:
    """The readable plain-text table of a :class:`CheckResult` (``getheory check``'s output)."""
    sections = _sections(result)
    w = max(len(a) for a, _ in sections[0][1])  # one column width for every section: the d_MS rows'
    lines = [_title(result)] + [f"  {k}: {v}" for k, v in _header(result)]
    for i, (heading, rows, notes) in enumerate(sections):
        lines += ["", heading] + [f"  {a:<{w}}  {b}" for a, b in rows]
        for note in notes:
            if i == 0:  # the estimate's statement: prose, wrapped
                lines += textwrap.wrap(note, WRAP, initial_indent="  → ", subsequent_indent="    ")
            else:
                lines.append("  " + note)
    lines += ["", "conditions  (docs/theory.md §6)"]
    lines += [f"  [{c.verdict.upper():4}] {c.name}: {c.detail}" for c in result.conditions]
    lines += ["", _timings(result)]
    return "\n".join(lines)


def _cell(text) -> str:
    """Text fit for a Markdown table cell: pipes escaped, on one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def check_table_markdown(result) -> str:
    """The same content as :func:`check_table`, as Markdown: the settings as a list, each section as a
    two-column table followed by its notes as paragraphs, the conditions as a table (what a notebook
    shows for a :class:`CheckResult`, and the end of check.md)."""
    L = [f"**{_title(result)}**", ""] + [f"- {k}: {_cell(v)}" for k, v in _header(result)] + [""]
    for heading, rows, notes in _sections(result):
        L += [f"**{heading}**", ""]
        if rows:
            L += [table_row(["quantity", "value"]), table_rule(2)] + [table_row([_cell(a), _cell(b)])
                                                                       for a, b in rows] + [""]
        L += [n for note in notes for n in (_cell(note), "")]
    L += ["**conditions  (docs/theory.md §6)**", "", table_row(["", "condition", "detail"]), table_rule(3)]
    L += [table_row([c.verdict.upper(), _cell(c.name), _cell(c.detail)]) for c in result.conditions]
    return "\n".join(L + ["", _timings(result), ""])
