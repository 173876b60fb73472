"""The tables of fitted rates (:func:`getheory.rates.fit_rates`): text built from the fits.

The fitted-slopes table, the verdicts and each group's fit table are what a :class:`~getheory.rates.RateFits`
shows in a notebook (:func:`rates_markdown`) and what the rate report (:func:`getheory.reports.write_report`)
writes into report.md around its settings, per-N tables and plots: one text, so the two cannot drift.
The d_MS columns are the estimator registry's (:mod:`getheory.distances`), in its order.
Text only: writing is the presentation layer's.
"""

from __future__ import annotations

from ._markdown import table_row, table_rule
from .distances import REPORTED, estimator_series, get_estimator
from .sweep import BOUND_TERMS, LEGACY

__all__ = ["estimator_counts", "fit_range_text", "fit_table", "fit_text", "rates_markdown", "slopes_lines",
           "summary_order", "table_order", "verdict_lines"]


def table_order() -> list:
    """The d_MS series in the order of the per-N and fit tables: the reported d_MS, then the registry's."""
    return [get_estimator(REPORTED)] + [e for e in estimator_series() if e.name != REPORTED]


def summary_order() -> list:
    """The d_MS series in the order of the fitted-slopes table: the reported d_MS, the estimators it
    chooses among, then the others."""
    rest = table_order()[1:]
    return [get_estimator(REPORTED)] + [e for e in rest if e.chosen_as] + [e for e in rest if not e.chosen_as]


def fit_text(f) -> str:
    """A fit's slope and interval, "-0.512 [-0.560, -0.470]" ("—" without a fit; "-0.512 (no interval:
    1 seed)" when the fit has one seed per N)."""
    if f is None:
        return "—"
    if not f.has_interval:
        return f"{f.slope:.3f} (no interval: 1 seed)"
    return f"{f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}]"


def fit_range_text(f) -> str:
    """:func:`fit_text` and the range of N the fit used."""
    return "—" if f is None else f"{fit_text(f)} (N {f.N_used[0]}–{f.N_used[-1]})"


def estimator_counts(counts: dict, short: bool = False) -> str:
    """"edgeworth ×12, plug-in ×6" (legacy rows named in full, or "legacy" when ``short``)."""
    if not counts:
        return "—"
    return ", ".join(f"{'legacy' if short and k == LEGACY else k} ×{v}" for k, v in counts.items())


def slopes_lines(groups, legacy_rows) -> list:
    """The fitted-slopes section: one row per group, one column per d_MS series."""
    series = summary_order()
    L = ["## Fitted slopes (log d vs log N)", "",
         "Slope of the least-squares line through log d_MS against log N, with its bootstrap interval. "
         "\"reported d_MS\" fits each task's reported estimate (the estimator column says which one"
         + (f"; \"{LEGACY}\" rows have none and keep the per-estimator fits). " if legacy_rows else "). ")
         + "Estimator fits use resolved points only (listed in the per-group sections); the certified upper "
         "bound is fitted on every N where it was computed. \"expected\" is THEORY's rate for d_MS (odd σ: "
         "1/N; non-odd σ with |Gaussian| student weights: N^-1/2); \"bound\" is the fitted slope of the sum "
         "of the §5 terms (nominal −0.5).", "",
         table_row(["group", "d_MS estimator"] + [e.column for e in series]
                   + ["expected", "bound (sum of terms)", "d_MS/bound"]),
         table_rule(len(series) + 5)]
    for gr in groups:
        exp = gr.expected["d_MS"]
        L.append(table_row([gr.label, estimator_counts(gr.estimators.get("counts", {}))]
                           + [fit_range_text(gr.fits.get(e.name)) for e in series]
                           + ["—" if exp is None else f"{exp:g}", fit_text(gr.bound_fits.get("total")),
                              fit_text(gr.ratio_fit)]))
    return L + [""]


def verdict_lines(groups) -> list:
    """The verdicts section: one line per group."""
    L = ["## Verdicts", ""]
    for gr in groups:
        v = gr.verdicts
        L.append(f"- **{gr.label}**: {v.get('rate')}" + (f"; {v['ratio']}" if "ratio" in v else "")
                 + ("" if "faster_than_bound" not in v else
                    ("; decays faster than the bound" if v["faster_than_bound"]
                     else "; not shown to decay faster than the bound")))
    return L + [""]


def fit_table(gr) -> list:
    """Every fit of a group: slope, interval, the N used and the N left out with the reason."""
    L = ["| fit | slope [interval] | N used | points | left out |", "|---|---|---|---|---|"]
    all_legacy = gr.estimators.get("legacy") == sum(r["seeds"] for r in gr.table)
    for e in table_order():
        f = gr.fits.get(e.name)
        if f is None and e.name == REPORTED and all_legacy:
            L.append(f"| {e.name} | — ({LEGACY}) | — | — | every row |")
        elif f is None:
            L.append(f"| {e.name} | — (fewer than 2 resolved N) | — | — | all unresolved or missing |")
        else:
            left = "; ".join(f"N={d['N']}: {d['reason']}" for d in f.left_out) or "none"
            L.append(f"| {e.name} | {fit_text(f)} | {f.N_used} | {f.n_points} | {left} |")
    for b in BOUND_TERMS:
        f = gr.bound_fits.get(b)
        L.append(f"| bound {b} | — (identically zero) | — | — | — |" if f is None else
                 f"| bound {b} | {fit_text(f)} | {f.N_used} | {f.n_points} | none |")
    f = gr.ratio_fit
    if f is not None:
        L.append(f"| d_MS / bound | {fit_text(f)} | {f.N_used} | {f.n_points} | none |")
    return L


def rates_markdown(groups) -> str:
    """The fitted slopes, verdicts and per-group fit tables of fitted rates (:func:`getheory.rates.fit_rates`)
    as Markdown, without plots or settings: what a notebook shows for them."""
    L = slopes_lines(groups, sum(g.estimators.get("legacy", 0) for g in groups)) + verdict_lines(groups)
    for gr in groups:
        L += [f"### {gr.label}", ""] + fit_table(gr) + [""]
    return "\n".join(L)
