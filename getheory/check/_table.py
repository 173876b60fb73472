"""The table of a generator check (docs/theory.md §4–§6): the rows every display of a
:class:`~getheory.check.CheckResult` shows.

:func:`check_table` is the plain-text table ``getheory check`` prints; the result's notebook
display (:meth:`CheckResult._repr_markdown_`) and check.md (:func:`getheory.reports.check_markdown`)
show the same text in a code block, so the three cannot drift.  Text only: printing and
writing are the presentation layer's.
"""

from __future__ import annotations

from .._version import __version__
from ..distances import estimators

__all__ = ["check_table"]


def _header(result) -> list:
    g = result.generator
    lines = [f"getheory {__version__} check: {g.get('kind')} {g.get('activation', g.get('name', ''))}",
             "  sizes: " + ", ".join(f"{k}={v}" for k, v in result.sizes.items()),
             f"  moments: {result.moments_source}"]
    if result.settings.get("dtype"):
        lines.insert(2, f"  precision: {result.settings['dtype']} products and σ, every sum over rows in float64")
    if result.plan is not None:
        lines.append(f"  samples: {result.plan.statement()}")
    cut = (result.measured_run or {}).get("statement")
    if cut:
        lines.append(f"  cut: {cut}")
    shards = result.settings.get("shards")
    if shards:
        lines.append(f"  shards: {shards['count']:,} of {shards['size']:,} rows, merged in index order "
                     "(the numbers depend on the seed and the shard size, not on where the shards ran)")
    return lines


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


def _bounds_lines(result, w: int) -> list:
    """The §5 section: every bound term, or the note why there is none."""
    lines = ["", "bound terms  (docs/theory.md §5)"]
    b = result.bounds
    if b is None:
        return lines + ["  " + result.bounds_note]
    rows = [
        ("B(W, M1)  (even chaos)", b.M1_term),
        ("B(W, M2)  (odd chaos)", b.M2_term),
        ("teacher  N^-1/2 ‖W̃Aᵀ‖²/D²", b.teacher_term),
        ("N^-1/2", b.n_term),
    ]
    lines += [f"  {a:<{w}}  {v:.5g}" for a, v in rows]
    lines.append(f"  {'chaos order kept / tail bound':<{w}}  {b.chaos_order} / {b.truncation_error:.2g}")
    return lines


def _table(rows: list, w: int) -> list:
    return [f"  {a:<{w}}  {b}" for a, b in rows]


def check_table(result) -> str:
    """The readable plain-text table of a :class:`CheckResult` (``getheory check``'s output, and, in a
    code block, a notebook's display of the result and the end of check.md)."""
    d = result.dms.to_dict()
    rows = _dms_rows(d)
    w = max(len(r[0]) for r in rows)  # one column width for every section
    lines = _header(result) + ["", "d_MS(P, P̂)  (docs/theory.md §4)"] + _table(rows, w)
    if "statement" in d:
        lines.append("  → " + d["statement"])
    if result.analytic is not None:
        lines += ["", "without sampling: leading-order cumulants  (docs/theory.md §4.2)"]
        lines += _table(_analytic_rows(result.analytic), w)
    lines += _bounds_lines(result, w)
    lines += ["", "conditions  (docs/theory.md §6)"]
    lines += [f"  [{c.verdict.upper():4}] {c.name}: {c.detail}" for c in result.conditions]
    lines += ["", "timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())]
    return "\n".join(lines)
