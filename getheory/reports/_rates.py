"""Rate reports from a sweep database: report.md, PNG plots and report.json.

:func:`write_report` reads a results database written by
:func:`getheory.sweep.run_sweep`, fits every rate (:func:`getheory.rates.fit_rates`)
and writes into the output folder

* ``report.json`` — every number: the spec, every task's flat row, every
  per-N aggregate, every fit with its interval and left-out points, verdicts;
* ``report.md`` — settings, the table of fitted slopes with intervals next
  to the bound's N^{-1/2} (docs/theory.md §5) and the 1/N expected for odd σ
  (§4), per-group tables and verdicts, the plots;
* for every group (generator, weights, δ), three PNG plots made with
  matplotlib (Agg): ``dms_<group>.png`` (log-log d_MS vs N: each row's
  reported d_MS with its standard error, marked by the estimator that chose
  it, the individual estimators and the floor, with the fitted lines;
  unresolved points hollow), ``bounds_<group>.png`` (each bound term vs N
  with its fit) and ``ratio_<group>.png`` (d_MS / bound), these two only for groups with bound
  terms (single-layer generators, docs/theory.md §5).

The estimators' columns, labels and plot styles are those of the estimator registry
(:func:`getheory.distances.estimators`): a registered estimator appears in every table
and plot without an edit here.

Each group says which d_MS estimator its rows used: "plug-in" or "edgeworth"
with the recorded choice rule, or, for rows written before the choice was
recorded, "legacy: plug-in and cumulants, no choice recorded" (those keep the
previous fits: see :mod:`getheory.rates`).

The fitted-slopes table, the verdicts and the fit tables are the fits' own text
(:mod:`getheory._rate_tables`, which a :class:`~getheory.rates.RateFits` shows in a notebook).
Files are written whole or not at all (:mod:`getheory._files`), so a failed report never
leaves half-written files behind.
"""

from __future__ import annotations

import json
import math
import os
import re
import time

import numpy as np

from .._files import write_text
from .._json import to_plain
from .._markdown import table_row, table_rule
from .._rate_tables import estimator_counts, fit_table, slopes_lines, table_order, verdict_lines
from ..distances import REPORTED, estimator_series, estimators, get_estimator
from ..rates import LEGACY, fit_rates, group_records
from ..sweep import ResultsDB, SweepError
from ._figures import pyplot, save_png

__all__ = ["write_report", "build_report_data"]

_BOUND_STYLE = {
    "M1_term": ("C0", "o", "B(W, M1) (even chaos)"),
    "M2_term": ("C1", "s", "B(W, M2) (odd chaos)"),
    "teacher_term": ("C2", "^", "teacher N^-1/2‖W̃Aᵀ‖²/D²"),
    "n_term": ("C4", "D", "N^-1/2"),
    "total": ("k", "x", "sum of terms"),
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def build_report_data(db_path, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple:
    """Read the database and fit every rate; returns (data dict, group fits, records)."""
    with ResultsDB(db_path) as db:
        meta = db.meta()
        spec = db.spec()
        spec_stored = db.spec_dict()
        records = db.records()
        rows = db.rows()
        failures = db.failures()
    if not records:
        raise SweepError(f"results database {os.fspath(db_path)!r} holds no finished task yet; run the sweep first")
    groups = fit_rates(records, level=level, n_boot=n_boot, seed=seed, fixed_D=spec.D is not None)
    n_total = len(spec.tasks())
    times = [r.seconds for r in records]
    versions = sorted({r.getheory_version for r in records})
    labels = [r.reported_dms()["estimator"] for r in records]
    data = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # as given (relative to where the report was made): an absolute path would name the author's machine
        "database": os.fspath(db_path),
        # as stored: a database of an earlier version keeps its own spec layout
        "spec": spec_stored,
        "spec_hash": meta.get("spec_hash"),
        "getheory_versions": versions,
        "tasks_total": n_total,
        "tasks_done": len(records),
        "failures": [{"task_id": f["task_id"], "error": f["error"]} for f in failures],
        "task_seconds_total": float(np.sum(times)),
        "task_seconds_max": float(np.max(times)),
        "fit_settings": {"level": level, "n_boot": n_boot, "seed": seed,
                         "method": "least squares of log y on log N; stratified scaled-residual bootstrap over seeds "
                                   "within each N (getheory.rates)"},
        "estimators": {"counts": {k: labels.count(k) for k in sorted(set(labels))},
                       "legacy_rows": sum(r.legacy for r in records), "legacy_label": LEGACY},
        "groups": [g.to_dict() | {"label": g.label} for g in groups],
        "rows": rows,
    }
    return data, groups, records


def _fmt(x, p=3):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if x == 0:
        return "0"
    return f"{x:.{p}g}"


def _plot_group(g, records, out_dir, slug) -> dict:
    """The PNG plots of one group: d_MS, the bound terms and their ratio against N (the last two only
    where a row has bound terms: deep and trained generators have none, docs/theory.md §5)."""
    recs = group_records(records, g)
    Ns = np.array(sorted({r.N for r in recs}), dtype=float)
    Nline = np.geomspace(Ns.min(), Ns.max(), 50) if Ns.size else Ns
    kinds = [("dms", _dms_figure)]
    if any(r.bound("total") for r in recs):
        kinds += [("bounds", _bounds_figure), ("ratio", _ratio_figure)]
    files = {}
    for kind, figure in kinds:
        files[kind] = f"{kind}_{slug}.png"
        save_png(figure(g, recs, Nline), os.path.join(out_dir, files[kind]), dpi=110, tight=True)
    return files


#: at most this many N are labelled on a rate plot's axis (every k-th N of a longer grid)
_MAX_N_TICKS = 12


def _finish(ax, recs, ylabel: str, title: str, legend_size: float):
    """Log-log axes ticked at the N of the records ``recs`` (not at 2×10¹, 3×10¹ ...), the legend outside,
    right of the axes (``tight=True`` in :func:`._figures.save_png` widens the figure to hold it), so that it never
    covers data."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    Ns = sorted({int(r.N) for r in recs})
    if Ns:
        shown = Ns[:: -(-len(Ns) // _MAX_N_TICKS)]
        ax.set_xticks(shown, [str(n) for n in shown])
        ax.xaxis.set_minor_locator(pyplot().NullLocator())
    ax.set_xlabel("N")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=legend_size, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _fit_label(f, prefix: str = "fit") -> str:
    if not f.has_interval:
        return f"{prefix}: slope {f.slope:.2f} (no interval: 1 seed)"
    return f"{prefix}: slope {f.slope:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]"


def _dms_figure(g, recs, Nline):
    """d_MS against N: each row's reported d_MS, every drawn estimator, the fits, the floor, THEORY's slope."""
    fig, ax = pyplot().subplots(figsize=(7, 5))
    _draw_reported(ax, recs)
    _draw_estimators(ax, recs, alpha=0.45 if any(not r.legacy for r in recs) else 1.0)
    _draw_series_fits(ax, g)
    _draw_floor(ax, recs)
    _draw_reference(ax, g, Nline)
    _finish(ax, recs, "d_MS(P, P̂)", f"d_MS vs N — {g.label}", 6.5)
    return fig


def _draw_reported(ax, recs):
    """Each row's reported d_MS ± SE, marked by the estimator that was chosen; unresolved hollow."""
    for e in estimators():
        mk = e.style.reported_marker
        if e.chosen_as is None or mk is None:
            continue
        pts = [(r.N, r.reported_dms()) for r in recs]
        pts = [(n, x) for n, x in pts if x["estimator"] == e.chosen_as and x["value"] is not None and x["value"] > 0]
        for res in (True, False):
            sel = [(n, x) for n, x in pts if x["resolved"] == res]
            if sel:
                _draw_reported_points(ax, sel, mk, res, f"reported d_MS ({e.chosen_as}, "
                                      f"{'resolved' if res else 'unresolved'}) ± SE")


def _draw_reported_points(ax, sel, marker, resolved, label):
    xs = [n for n, _ in sel]
    ys = [x["value"] for _, x in sel]
    # a ± SE bar, clipped above zero on the log axis
    lo = [min(x["se"] or 0.0, 0.999 * x["value"]) for _, x in sel]
    hi = [x["se"] or 0.0 for _, x in sel]
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="k", elinewidth=0.8, capsize=2, alpha=0.6)
    ax.scatter(xs, ys, marker=marker, s=34, zorder=3, color="k" if resolved else "none", edgecolors="k",
               label=label)


def _draw_estimators(ax, recs, alpha):
    """Every drawn estimator's own values (the evidence behind the reported one); unresolved hollow."""
    for e in estimator_series():
        if e.name != REPORTED and e.drawn:
            _draw_estimator(ax, recs, e, alpha)


def _draw_estimator(ax, recs, e, alpha):
    col, mk = e.style.color, e.style.marker
    xs_r, ys_r, xs_u, ys_u = [], [], [], []
    for r in recs:
        v, res = r.estimator_value(e.name)
        if v is None or not v > 0:
            continue
        (xs_r if res else xs_u).append(r.N)
        (ys_r if res else ys_u).append(v)
    if xs_r:
        ax.scatter(xs_r, ys_r, color=col, marker=mk, s=22, alpha=alpha,
                   label=e.label + ("" if e.upper_bound else " (resolved)"))
    if xs_u:
        ax.scatter(xs_u, ys_u, facecolors="none", edgecolors=col, marker=mk, s=22, alpha=alpha,
                   label=f"{e.label} (unresolved)")


def _draw_series_fits(ax, g):
    for e in table_order():
        f = g.fits.get(e.name)
        if f is None or not e.drawn:
            continue
        Nf = np.geomspace(min(f.N_used), max(f.N_used), 30)
        ax.plot(Nf, f.predict(Nf), color=e.style.color, lw=1.6 if e.name == REPORTED else 1.2,
                label=_fit_label(f, f"fit {e.label}"))


def _draw_floor(ax, recs):
    fl = [(r.N, r.floor_mean()) for r in recs]
    fl = [(a, b) for a, b in fl if b is not None and b > 0]
    if fl:
        ax.scatter([a for a, _ in fl], [b for _, b in fl], color="0.5", marker="_", s=60,
                   label="floor (mean, Gaussian samples)")


def _draw_reference(ax, g, Nline):
    """THEORY's slope for d_MS through the first point of the fit the group rests on."""
    prim = g.verdicts.get("primary_estimator")
    f = g.fits.get(prim) if prim else None
    f = f or g.fits.get(REPORTED) or g.fits.get("plug_in")
    if g.expected.get("d_MS") is not None and f is not None and Nline.size:
        N0 = f.N_used[0]
        y0 = float(f.predict(N0))
        ax.plot(Nline, y0 * (Nline / N0) ** g.expected["d_MS"], color="0.3", ls=":", lw=1,
                label=f"reference slope {g.expected['d_MS']:g}")


def _bounds_figure(g, recs, Nline):
    """Each bound term against N with its fit (docs/theory.md §5)."""
    fig, ax = pyplot().subplots(figsize=(7, 5))
    for b, (col, mk, lab) in _BOUND_STYLE.items():
        pts = [(r.N, r.bound(b)) for r in recs]
        pts = [(n, v) for n, v in pts if v is not None and v > 0]
        if not pts:
            continue
        ax.scatter([a for a, _ in pts], [v for _, v in pts], color=col, marker=mk, s=18, label=lab)
        f = g.bound_fits.get(b)
        if f is not None:
            ax.plot(Nline, f.predict(Nline), color=col, lw=1, label=_fit_label(f))
    _finish(ax, recs, "bound term (docs/theory.md §5)", f"bound terms vs N — {g.label}", 6.5)
    return fig


def _ratio_kinds() -> list:
    """(kind, colour, marker, label, upper bound) of the ratio plot's point sets: each reported
    estimator, then the legacy rule's plug-in and certified upper bound (:meth:`TaskRecord.dms_for_ratio`)."""
    kinds = [(e.chosen_as, e.style.color, e.style.reported_marker, f"reported {e.column} / bound", e.upper_bound)
             for e in estimators() if e.chosen_as and e.style.reported_marker]
    pl, ce = get_estimator("plug_in"), get_estimator("certified")
    return kinds + [("plug_in", pl.style.color, pl.style.marker, "resolved plug-in / bound (legacy)", False),
                    ("certified", ce.style.color, ce.style.marker, f"{ce.label} / bound (legacy)", True)]


def _ratio_figure(g, recs, Nline):
    """The reported d_MS per row over the sum of the bound terms (legacy rows: plug-in where resolved,
    certified bound elsewhere), with its fit."""
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    for kind, col, mk, lab, upper in _ratio_kinds():
        pts = _ratio_points(recs, kind)
        # an upper bound is drawn filled; unresolved estimates hollow
        filled = [(a, v) for a, v, rr in pts if rr or upper]
        hollow = [(a, v) for a, v, rr in pts if not rr and not upper]
        if filled:
            ax.scatter([a for a, _ in filled], [v for _, v in filled], color=col, marker=mk, s=20, label=lab)
        if hollow:
            ax.scatter([a for a, _ in hollow], [v for _, v in hollow], color="none", edgecolors=col, marker=mk,
                       s=20, label=lab + " (unresolved)")
    if g.ratio_fit is not None:
        ax.plot(Nline, g.ratio_fit.predict(Nline), color="k", lw=1, label=_fit_label(g.ratio_fit))
    _finish(ax, recs, "d_MS / (sum of bound terms)", f"d_MS / bound — {g.label}", 7)
    return fig


def _ratio_points(recs, kind) -> list:
    """(N, d_MS / bound, resolved) of the rows whose ratio uses ``kind`` (:meth:`TaskRecord.dms_for_ratio`)."""
    pts = []
    for r in recs:
        d, which, res = r.dms_for_ratio()
        bt = r.bound("total")
        if which == kind and d is not None and bt:
            pts.append((r.N, d / bt, res))
    return pts


def _markdown(data, groups, plots, command=None) -> str:
    """report.md: header, settings, fitted slopes, verdicts, one section per group, failures."""
    legacy_rows = (data.get("estimators") or {}).get("legacy_rows")
    L = _header_lines(data, command) + _settings_lines(data)
    L += slopes_lines(groups, legacy_rows) + verdict_lines(groups)
    for gr in groups:
        L += _group_lines(gr, plots[gr.label])
    L += _failure_lines(data["failures"])
    L += ["All numbers are in report.json.", ""]
    return "\n".join(L)


def _header_lines(data, command) -> list:
    spec = data["spec"]
    L = [f"# getheory rate report: {spec['name']}", ""]
    if spec.get("description"):
        L += [spec["description"], ""]
    if data["tasks_done"] < data["tasks_total"]:
        L += [f"**Partial results: {data['tasks_done']} of {data['tasks_total']} tasks finished.** Re-running the "
              "sweep command resumes the missing tasks; then regenerate this report.", ""]
    L += ["How fast the local fields (λ, ν) of generator data become Gaussian, measured by d_MS "
          "(docs/theory.md §4), next to the terms of the theorem's bound (§5).", ""]
    if command:
        L += ["Regenerate with:", "", "```bash", command, "```", ""]
    return L


def _settings_lines(data) -> list:
    spec = data["spec"]
    g, s = spec["grid"], spec["samples"]
    sz = f"δ = D/N ∈ {g['delta']}" if "delta" in g else f"D ∈ {g['D']}"
    L = ["## Settings", "", "- generators: " + ", ".join(map(_generator_text, spec["generator"])),
         f"- student weights: {', '.join(spec['weights']['student'])}; "
         f"teacher weights: {spec['weights']['teacher']}",
         f"- N ∈ {g['N']}, {sz}, K = {g['K']}, M = {g['M']}, " + _seeds_text(g["seeds"]),
         _samples_line(s), _dms_line(spec)]
    ec = data.get("estimators") or {}
    if ec.get("counts"):
        L.append("- d_MS estimator of the rows: " + estimator_counts(ec["counts"]))
    L.append(f"- moment check: Monte Carlo Q, R (up to {s['moment_samples']} samples, budget "
             f"{s['moment_max_work']:.3g} = n·N·(N+D)) against the exact ones")
    fs = data["fit_settings"]
    L.append(f"- fits: {fs['method']}; {fs['n_boot']} bootstrap replicates, "
             f"{100 * fs['level']:.0f} % percentile intervals")
    L.append(f"- tasks: {data['tasks_done']} of {data['tasks_total']} finished"
             + (f", {len(data['failures'])} failed" if data["failures"] else "")
             + f"; task wall time summed over tasks {data['task_seconds_total'] / 60:.1f} min, longest task "
             f"{data['task_seconds_max']:.1f} s; getheory {', '.join(data['getheory_versions'])}")
    return L + [""]


def _seeds_text(seeds: int) -> str:
    """The spec's seeds per point, and what one seed cannot give."""
    if seeds >= 2:
        return f"{seeds} seeds (independent A, W, W̃, samples)"
    return (f"{seeds} seed (independent A, W, W̃, samples): **no intervals and no verdicts**, since the "
            "intervals are a bootstrap over seeds; run at least 2 seeds for them")


def _generator_text(x) -> str:
    how = "factory " + x["factory"] if "factory" in x else x["activation"] + ", depth " + str(x["depth"])
    return f"{x['name']} ({how})"


def _samples_line(s) -> str:
    """How the spec chose n: the shared planner, an earlier version's rules of thumb, or fixed."""
    if s["mode"] == "plan" and "time_budget" in s:
        return (f"- samples planned per point by the shared planner (getheory.plan, as `getheory check --samples "
                f"auto`): an independent pilot of at least {s['pilot']} rows measures the sampling rate and the "
                f"held-out cumulants' |z|, then n is fixed in advance for an expected |z| of 6 (at least "
                f"{s['min']} and the pilot's size), within a time budget of {s['time_budget']:g} s per point and "
                f"max_samples = min({s['max']}, {s['max_work']:.3g}/(N·D)); each task's plan is in report.json")
    if s["mode"] == "plan":
        return (f"- samples planned per point by the rules of thumb of an earlier getheory (docs/theory.md §4 "
                f"Resolution: plug-in n ≳ 30/d², cumulant n ≳ 24(5/|κ4|)², κ3 analogue 6(5/|κ3|)²) from a pilot "
                f"of {s['pilot']} samples, clipped to [{s['min']}, min({s['max']}, {s['max_work']:.3g}/(N·D))]; a "
                "point that cannot be resolved in its budget is run at the cap and marked unresolved")
    return f"- samples: fixed n = {s['n']}"


def _dms_line(spec) -> str:
    e = spec["estimator"]
    run = f"backend {spec['run']['backend']}, {spec['run']['dtype']}; master seed {spec['seed']}"
    if "certify" not in e:  # a spec of an earlier version
        return (f"- d_MS: max-sliced W{e['p']}, floor from {e['floor_replicates']} Gaussian replicates, "
                f"confidence {e['confidence']}; {run}")
    return (f"- d_MS: max-sliced W{e['p']}; the plug-in is tested against {e['floor_replicates']} Gaussian "
            "floor replicates (rank test); each task reports one d_MS, the plug-in or the Edgeworth "
            "(cumulant) value, chosen by the rule recorded with it (per group below); "
            + (f"certified upper bound at confidence {e['confidence']}" if e["certify"]
               else "no certified upper bound (estimator.certify = false)") + f"; {run}")


def _group_lines(gr, plots) -> list:
    """One group's section: expected rates, estimators, the per-N table, the fit table, the plots."""
    L = [f"## {gr.label}", "",
         f"Expected d_MS rate: {gr.expected['d_MS_reason']}. Bound: {gr.expected['bound_reason']}.", ""]
    L += _estimator_lines(gr) + [""] + _row_table(gr) + [""]
    L += ["Values are means over seeds; the reported d_MS's ± is the standard error of that mean from "
          "each task's own SE; \"res.\" counts the seeds whose estimate resolves the signal (for the "
          "reported d_MS: the test of the estimator that was chosen); d/bound uses the reported d_MS"
          + (f" (\"{LEGACY}\" rows: the plug-in where resolved, the certified upper bound elsewhere)."
             if gr.estimators.get("legacy") else "."), ""]
    L += fit_table(gr) + [""]
    for kind, name in plots.items():
        L += [f"![{kind} {gr.label}]({name})", ""]
    return L


def _row_columns() -> list:
    """(heading, cell of a per-N table row) of every column of a group's per-N table."""
    cols = [("N", lambda r: str(r["N"])), ("D", lambda r: str(r["D"])), ("seeds", lambda r: str(r["seeds"])),
            ("n", lambda r: ",".join(str(x) for x in r["samples"])), ("d_MS (reported)", _reported_cell),
            ("res.", lambda r: f"{r.get('reported_resolved', 0)}/{r['seeds']}"),
            ("estimator", lambda r: estimator_counts(r.get("estimators") or {}, short=True))]
    for e in table_order()[1:]:
        cols.append((e.column, lambda r, k=e.name: _fmt(r[k])))
        cols += [(ev.column, lambda r, k=ev.key: _fmt(r[k])) for ev in e.evidence]
        if e.resolved_column:
            cols.append(("res.", lambda r, k=e.name + "_resolved": f"{r[k]}/{r['seeds']}"))
    cols += [(head, lambda r, k=key: _fmt(r[k])) for head, key in (
        ("\\|κ3\\|", "abs_kappa3"), ("\\|κ4\\|", "abs_kappa4"), ("M1", "M1_term"), ("M2", "M2_term"),
        ("teacher", "teacher_term"), ("N^-1/2", "n_term"), ("d/bound", "ratio"))]
    return cols + [("MC err Q", lambda r: _fmt(r["moment_err_Q"], 2)),
                   ("MC err R", lambda r: _fmt(r["moment_err_R"], 2)), ("s/task", lambda r: f"{r['seconds']:.1f}")]


def _reported_cell(row) -> str:
    if row.get("reported") is None:
        return "—"
    return _fmt(row["reported"]) + ("" if row.get("reported_se") is None else f" ± {_fmt(row['reported_se'], 2)}")


def _row_table(gr) -> list:
    """The per-N table: means over seeds of every series, its evidence, the bound terms, the ratio."""
    cols = _row_columns()
    return ([table_row([h for h, _ in cols]), table_rule(len(cols))]
            + [table_row([cell(row) for _, cell in cols]) for row in gr.table])


def _failure_lines(failures) -> list:
    if not failures:
        return []
    return ["## Failed tasks", ""] + [f"- {f['task_id']}: {f['error']}" for f in failures] + [""]


def _estimator_lines(gr) -> list:
    """What a group's rows used for d_MS, and by which rule."""
    est = gr.estimators or {}
    counts, rules, n_legacy = est.get("counts", {}), est.get("choice_rules", []), est.get("legacy", 0)
    out = [f"d_MS estimator per row: {estimator_counts(counts)}."]
    if rules:
        out.append("Choice rule: " + " / ".join(rules) + ".")
    if n_legacy:
        out.append(f"{n_legacy} row(s) are \"{LEGACY}\": their d_MS rate is the fit of the estimator resting on "
                   "the most N (Edgeworth, plug-in, excess), and d/bound uses the plug-in where resolved, the "
                   "certified upper bound elsewhere.")
    prim = gr.verdicts.get("primary_estimator")
    if prim:
        out.append(f"The group's rate rests on the {'reported d_MS' if prim == 'reported' else prim} fit.")
    return [" ".join(out)]


def write_report(db_path, out_dir, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
                 command: str | None = None) -> dict:
    """Write report.md, report.json and the PNG plots of a sweep database into ``out_dir``.

    Parameters
    ----------
    db_path : path
        A results database of :func:`getheory.sweep.run_sweep` (never modified).
    out_dir : path
        Created if missing.
    level, n_boot, seed
        Interval level, bootstrap replicates and bootstrap seed of the fits.
    command : str, optional
        The command that regenerates the report, quoted in report.md.

    Returns the report data (the content of report.json) with ``files``.
    """
    data, groups, records = build_report_data(db_path, level=level, n_boot=n_boot, seed=seed)
    os.makedirs(out_dir, exist_ok=True)
    plots = {}
    for g in groups:
        size = f"delta{g.key['delta']:g}" if g.key.get("delta") is not None else f"D{g.key['D']}"
        slug = _slug(f"{g.key['generator']}_{g.key['weights']}_{size}")
        plots[g.label] = _plot_group(g, records, out_dir, slug)  # {kind: file name}
    data["plots"] = plots
    if command:
        data["command"] = command
    md = _markdown(data, groups, plots, command)
    js = json.dumps(to_plain(data), indent=1, allow_nan=False)  # refused before either file is written
    for name, text in (("report.md", md), ("report.json", js)):
        write_text(os.path.join(out_dir, name), text)
    files = ["report.md", "report.json"] + [f for p in data["plots"].values() for f in p.values()]
    data["files"] = files
    return data

