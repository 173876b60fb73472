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
  with its fit), ``ratio_<group>.png`` (d_MS / bound).

Each group says which d_MS estimator its rows used: "plug-in" or "edgeworth"
with the recorded choice rule, or, for rows written before the choice was
recorded, "legacy: plug-in and cumulants, no choice recorded" (those keep the
previous fits: see :mod:`getheory.rates`).

Files are written to temporary names and renamed, so a failed report never
leaves half-written files behind.
"""

from __future__ import annotations

import json
import math
import os
import re
import time

import numpy as np

from .._json import to_plain
from ..rates import BOUND_TERMS, ESTIMATORS, LEGACY, fit_rates, group_records
from ..sweep import ResultsDB, SweepError

__all__ = ["write_report", "build_report_data"]

_EST_STYLE = {
    "reported": ("k", "*", "reported d_MS"),
    "plug_in": ("C0", "o", "plug-in"),
    "excess": ("C2", "s", "excess over floor"),
    "edgeworth": ("C1", "^", "Edgeworth (cumulants)"),
    "certified": ("C3", "v", "certified upper bound"),
}
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
        "database": os.path.abspath(os.fspath(db_path)),
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


def _fit_txt(f):
    if f is None:
        return "—"
    return f"{f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}]"


def _plot_group(g, records, out_dir, slug):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    recs = group_records(records, g)
    files = {}
    Ns = np.array(sorted({r.N for r in recs}), dtype=float)
    Nline = np.geomspace(Ns.min(), Ns.max(), 50) if Ns.size else Ns

    # d_MS: the reported estimate per row, the individual estimators, the floor
    fig, ax = plt.subplots(figsize=(7, 5))
    has_reported = any(not r.legacy for r in recs)
    rep_marker = {"plug-in": "s", "edgeworth": "^"}
    for est, mk in rep_marker.items():
        pts = [(r.N, r.reported_dms()) for r in recs]
        pts = [(n, x) for n, x in pts if x["estimator"] == est and x["value"] is not None and x["value"] > 0]
        for res in (True, False):
            sel = [(n, x) for n, x in pts if x["resolved"] == res]
            if not sel:
                continue
            xs = [n for n, _ in sel]
            ys = [x["value"] for _, x in sel]
            # a ± SE bar, clipped above zero on the log axis
            lo = [min(x["se"] or 0.0, 0.999 * x["value"]) for _, x in sel]
            hi = [x["se"] or 0.0 for _, x in sel]
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="k", elinewidth=0.8, capsize=2, alpha=0.6)
            ax.scatter(xs, ys, marker=mk, s=34, zorder=3, color="k" if res else "none", edgecolors="k",
                       label=f"reported d_MS ({est}, {'resolved' if res else 'unresolved'}) ± SE")
    for name, (col, mk, lab) in _EST_STYLE.items():
        if name in ("excess", "reported"):
            continue
        xs_r, ys_r, xs_u, ys_u = [], [], [], []
        for r in recs:
            v, res = r.estimator_value(name)
            if v is None or not v > 0:
                continue
            (xs_r if res else xs_u).append(r.N)
            (ys_r if res else ys_u).append(v)
        alpha = 0.45 if has_reported else 1.0  # evidence behind the reported value
        if xs_r:
            ax.scatter(xs_r, ys_r, color=col, marker=mk, s=22, alpha=alpha,
                       label=f"{lab}" + (" (resolved)" if name != "certified" else ""))
        if xs_u:
            ax.scatter(xs_u, ys_u, facecolors="none", edgecolors=col, marker=mk, s=22, alpha=alpha,
                       label=f"{lab} (unresolved)")
    for name, (col, _mk, lab) in _EST_STYLE.items():
        if name == "excess":
            continue
        f = g.fits.get(name)
        if f is not None:
            Nf = np.geomspace(min(f.N_used), max(f.N_used), 30)
            ax.plot(Nf, f.predict(Nf), color=col, lw=1.6 if name == "reported" else 1.2,
                    label=f"fit {lab}: slope {f.slope:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]")
    fl = [(r.N, r.floor_mean()) for r in recs]
    fl = [(a, b) for a, b in fl if b is not None and b > 0]
    if fl:
        ax.scatter([a for a, _ in fl], [b for _, b in fl], color="0.5", marker="_", s=60,
                   label="floor (mean, Gaussian samples)")
    prim = g.verdicts.get("primary_estimator")
    f = g.fits.get(prim) if prim else None
    f = f or g.fits.get("reported") or g.fits.get("plug_in")
    if g.expected.get("d_MS") is not None and f is not None and Ns.size:
        N0 = f.N_used[0]
        y0 = float(f.predict(N0))
        ax.plot(Nline, y0 * (Nline / N0) ** g.expected["d_MS"], color="0.3", ls=":", lw=1,
                label=f"reference slope {g.expected['d_MS']:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("d_MS(P, P̂)")
    ax.set_title(f"d_MS vs N — {g.label}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    files["dms"] = _save(fig, out_dir, f"dms_{slug}.png")
    plt.close(fig)

    # bound terms
    fig, ax = plt.subplots(figsize=(7, 5))
    for b, (col, mk, lab) in _BOUND_STYLE.items():
        pts = [(r.N, r.bound(b)) for r in recs]
        pts = [(n, v) for n, v in pts if v is not None and v > 0]
        if not pts:
            continue
        ax.scatter([a for a, _ in pts], [v for _, v in pts], color=col, marker=mk, s=18, label=lab)
        f = g.bound_fits.get(b)
        if f is not None:
            ax.plot(Nline, f.predict(Nline), color=col, lw=1, label=f"fit: slope {f.slope:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("bound term (docs/theory.md §5)")
    ax.set_title(f"bound terms vs N — {g.label}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6.5, loc="best")
    files["bounds"] = _save(fig, out_dir, f"bounds_{slug}.png")
    plt.close(fig)

    # ratio: the reported d_MS per row (legacy rows: plug-in where resolved, certified bound elsewhere)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    kinds = (("plug-in", "C0", "s", "reported plug-in / bound"),
             ("edgeworth", "C1", "^", "reported Edgeworth / bound"),
             ("plug_in", "C0", "o", "resolved plug-in / bound (legacy)"),
             ("certified", "C3", "v", "certified upper bound / bound (legacy)"))
    for kind, col, mk, lab in kinds:
        pts = []
        for r in recs:
            d, which, res = r.dms_for_ratio()
            bt = r.bound("total")
            if which == kind and d is not None and bt:
                pts.append((r.N, d / bt, res))
        # the certified bound is an upper bound, drawn filled; unresolved estimates hollow
        filled = [(a, v) for a, v, rr in pts if rr or kind == "certified"]
        hollow = [(a, v) for a, v, rr in pts if not rr and kind != "certified"]
        if filled:
            ax.scatter([a for a, _ in filled], [v for _, v in filled], color=col, marker=mk, s=20, label=lab)
        if hollow:
            ax.scatter([a for a, _ in hollow], [v for _, v in hollow], color="none", edgecolors=col, marker=mk,
                       s=20, label=lab + " (unresolved)")
    if g.ratio_fit is not None:
        f = g.ratio_fit
        ax.plot(Nline, f.predict(Nline), color="k", lw=1, label=f"fit: slope {f.slope:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("d_MS / (sum of bound terms)")
    ax.set_title(f"d_MS / bound — {g.label}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    files["ratio"] = _save(fig, out_dir, f"ratio_{slug}.png")
    plt.close(fig)
    return files


def _save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    tmp = os.path.join(out_dir, f".{name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return name


def _markdown(data, groups, plots, command=None) -> str:
    spec = data["spec"]
    L = []
    L.append(f"# getheory rate report: {spec['name']}")
    L.append("")
    if spec.get("description"):
        L.append(spec["description"])
        L.append("")
    if data["tasks_done"] < data["tasks_total"]:
        L.append(f"**Partial results: {data['tasks_done']} of {data['tasks_total']} tasks finished.** Re-running the "
                 "sweep command resumes the missing tasks; then regenerate this report.")
        L.append("")
    L.append("How fast the local fields (λ, ν) of generator data become Gaussian, measured by d_MS "
             "(docs/theory.md §4), next to the terms of the theorem's bound (§5).")
    L.append("")
    if command:
        L.append("Regenerate with:")
        L.append("")
        L.append("```bash")
        L.append(command)
        L.append("```")
        L.append("")
    L.append("## Settings")
    L.append("")
    g = spec["grid"]
    sz = f"δ = D/N ∈ {g['delta']}" if "delta" in g else f"D ∈ {g['D']}"
    s = spec["samples"]
    L.append("- generators: " + ", ".join(
        f"{x['name']} ({'factory ' + x['factory'] if 'factory' in x else x['activation'] + ', depth ' + str(x['depth'])})"
        for x in spec["generator"]))
    L.append(f"- student weights: {', '.join(spec['weights']['student'])}; teacher weights: {spec['weights']['teacher']}")
    L.append(f"- N ∈ {g['N']}, {sz}, K = {g['K']}, M = {g['M']}, {g['seeds']} seeds (independent A, W, W̃, samples)")
    if s["mode"] == "plan" and "time_budget" in s:
        L.append(f"- samples planned per point by the shared planner (getheory.plan, as `getheory check --samples "
                 f"auto`): an independent pilot of at least {s['pilot']} rows measures the sampling rate and the "
                 f"held-out cumulants' |z|, then n is fixed in advance for an expected |z| of 6 (at least "
                 f"{s['min']} and the pilot's size), within a time budget of {s['time_budget']:g} s per point and "
                 f"max_samples = min({s['max']}, {s['max_work']:.3g}/(N·D)); each task's plan is in report.json")
    elif s["mode"] == "plan":
        L.append(f"- samples planned per point by the rules of thumb of an earlier getheory (docs/theory.md §4 "
                 f"Resolution: plug-in n ≳ 30/d², cumulant n ≳ 24(5/|κ4|)², κ3 analogue 6(5/|κ3|)²) from a pilot "
                 f"of {s['pilot']} samples, clipped to [{s['min']}, min({s['max']}, {s['max_work']:.3g}/(N·D))]; a "
                 "point that cannot be resolved in its budget is run at the cap and marked unresolved")
    else:
        L.append(f"- samples: fixed n = {s['n']}")
    e = spec["estimator"]
    run = f"backend {spec['run']['backend']}, {spec['run']['dtype']}; master seed {spec['seed']}"
    if "certify" in e:
        L.append(f"- d_MS: max-sliced W{e['p']}; the plug-in is tested against {e['floor_replicates']} Gaussian "
                 "floor replicates (rank test); each task reports one d_MS, the plug-in or the Edgeworth "
                 "(cumulant) value, chosen by the rule recorded with it (per group below); "
                 + (f"certified upper bound at confidence {e['confidence']}" if e["certify"]
                    else "no certified upper bound (estimator.certify = false)") + f"; {run}")
    else:
        L.append(f"- d_MS: max-sliced W{e['p']}, floor from {e['floor_replicates']} Gaussian replicates, "
                 f"confidence {e['confidence']}; {run}")
    ec = data.get("estimators") or {}
    if ec.get("counts"):
        L.append("- d_MS estimator of the rows: " + _estimator_counts(ec["counts"]))
    L.append(f"- moment check: Monte Carlo Q, R (up to {s['moment_samples']} samples, budget "
             f"{s['moment_max_work']:.3g} = n·N·(N+D)) against the exact ones")
    fs = data["fit_settings"]
    L.append(f"- fits: {fs['method']}; {fs['n_boot']} bootstrap replicates, {100 * fs['level']:.0f} % percentile intervals")
    L.append(f"- tasks: {data['tasks_done']} of {data['tasks_total']} finished"
             + (f", {len(data['failures'])} failed" if data["failures"] else "")
             + f"; task wall time summed over tasks {data['task_seconds_total'] / 60:.1f} min, longest task "
             f"{data['task_seconds_max']:.1f} s; getheory {', '.join(data['getheory_versions'])}")
    L.append("")
    L.append("## Fitted slopes (log d vs log N)")
    L.append("")
    L.append("Slope of the least-squares line through log d_MS against log N, with its bootstrap interval. "
             "\"reported d_MS\" fits each task's reported estimate (the estimator column says which one"
             + (f"; \"{LEGACY}\" rows have none and keep the per-estimator fits). " if ec.get("legacy_rows")
                else "). ")
             + "Estimator fits use resolved points only (listed in the per-group sections); the certified upper "
             "bound is fitted on every N where it was computed. \"expected\" is THEORY's rate for d_MS (odd σ: "
             "1/N; non-odd σ with |Gaussian| student weights: N^-1/2); \"bound\" is the fitted slope of the sum "
             "of the §5 terms (nominal −0.5).")
    L.append("")
    L.append("| group | d_MS estimator | reported d_MS | plug-in | Edgeworth | excess | certified | expected | "
             "bound (sum of terms) | d_MS/bound |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for gr in groups:
        def ff(name):
            f = gr.fits.get(name)
            return "—" if f is None else f"{_fit_txt(f)} (N {f.N_used[0]}–{f.N_used[-1]})"

        exp = gr.expected["d_MS"]
        L.append(f"| {gr.label} | {_estimator_counts(gr.estimators.get('counts', {}))} | {ff('reported')} | "
                 f"{ff('plug_in')} | {ff('edgeworth')} | {ff('excess')} | {ff('certified')} | "
                 f"{'—' if exp is None else f'{exp:g}'} | {_fit_txt(gr.bound_fits.get('total'))} | "
                 f"{_fit_txt(gr.ratio_fit)} |")
    L.append("")
    L.append("## Verdicts")
    L.append("")
    for gr in groups:
        v = gr.verdicts
        L.append(f"- **{gr.label}**: {v.get('rate')}" + (f"; {v['ratio']}" if "ratio" in v else "")
                 + ("" if "faster_than_bound" not in v else
                    ("; decays faster than the bound" if v["faster_than_bound"] else "; not shown to decay faster than the bound")))
    L.append("")
    for gr in groups:
        L.append(f"## {gr.label}")
        L.append("")
        L.append(f"Expected d_MS rate: {gr.expected['d_MS_reason']}. Bound: {gr.expected['bound_reason']}.")
        L.append("")
        L.extend(_estimator_lines(gr))
        L.append("")
        L.append("| N | D | seeds | n | d_MS (reported) | res. | estimator | plug-in | floor | excess | res. | "
                 "Edgeworth | res. | certified | \\|κ3\\| | \\|κ4\\| | M1 | M2 | teacher | N^-1/2 | d/bound | "
                 "MC err Q | MC err R | s/task |")
        L.append("|" + "---|" * 24)
        for row in gr.table:
            rep = "—" if row.get("reported") is None else (
                _fmt(row["reported"]) + ("" if row.get("reported_se") is None else f" ± {_fmt(row['reported_se'], 2)}"))
            L.append("| " + " | ".join([
                str(row["N"]), str(row["D"]), str(row["seeds"]), ",".join(str(x) for x in row["samples"]),
                rep, f"{row.get('reported_resolved', 0)}/{row['seeds']}",
                _estimator_counts(row.get("estimators") or {}, short=True),
                _fmt(row["plug_in"]), _fmt(row["floor_mean"]), _fmt(row["excess"]),
                f"{row['plug_in_resolved']}/{row['seeds']}", _fmt(row["edgeworth"]),
                f"{row['edgeworth_resolved']}/{row['seeds']}", _fmt(row["certified"]), _fmt(row["abs_kappa3"]),
                _fmt(row["abs_kappa4"]), _fmt(row["M1_term"]), _fmt(row["M2_term"]), _fmt(row["teacher_term"]),
                _fmt(row["n_term"]), _fmt(row["ratio"]), _fmt(row["moment_err_Q"], 2), _fmt(row["moment_err_R"], 2),
                f"{row['seconds']:.1f}"]) + " |")
        L.append("")
        L.append("Values are means over seeds; the reported d_MS's ± is the standard error of that mean from "
                 "each task's own SE; \"res.\" counts the seeds whose estimate resolves the signal (for the "
                 "reported d_MS: the test of the estimator that was chosen); d/bound uses the reported d_MS"
                 + (f" (\"{LEGACY}\" rows: the plug-in where resolved, the certified upper bound elsewhere)."
                    if gr.estimators.get("legacy") else "."))
        L.append("")
        L.append("| fit | slope [interval] | N used | points | left out |")
        L.append("|---|---|---|---|---|")
        for name in ["reported"] + [k for k in ESTIMATORS if k != "reported"]:
            f = gr.fits.get(name)
            if f is None and name == "reported" and gr.estimators.get("legacy") == sum(r["seeds"] for r in gr.table):
                L.append(f"| {name} | — ({LEGACY}) | — | — | every row |")
                continue
            if f is None:
                L.append(f"| {name} | — (fewer than 2 resolved N) | — | — | all unresolved or missing |")
                continue
            left = "; ".join(f"N={d['N']}: {d['reason']}" for d in f.left_out) or "none"
            L.append(f"| {name} | {_fit_txt(f)} | {f.N_used} | {f.n_points} | {left} |")
        for b in BOUND_TERMS:
            f = gr.bound_fits.get(b)
            if f is None:
                L.append(f"| bound {b} | — (identically zero) | — | — | — |")
            else:
                L.append(f"| bound {b} | {_fit_txt(f)} | {f.N_used} | {f.n_points} | none |")
        if gr.ratio_fit is not None:
            L.append(f"| d_MS / bound | {_fit_txt(gr.ratio_fit)} | {gr.ratio_fit.N_used} | {gr.ratio_fit.n_points} | none |")
        L.append("")
        for kind in ("dms", "bounds", "ratio"):
            L.append(f"![{kind} {gr.label}]({plots[gr.label][kind]})")
            L.append("")
    if data["failures"]:
        L.append("## Failed tasks")
        L.append("")
        for f in data["failures"]:
            L.append(f"- {f['task_id']}: {f['error']}")
        L.append("")
    L.append("All numbers are in report.json.")
    L.append("")
    return "\n".join(L)


def _estimator_counts(counts: dict, short: bool = False) -> str:
    """"edgeworth ×12, plug-in ×6" (legacy rows named in full, or "legacy" when ``short``)."""
    if not counts:
        return "—"
    return ", ".join(f"{'legacy' if short and k == LEGACY else k} ×{v}" for k, v in counts.items())


def _estimator_lines(gr) -> list:
    """What a group's rows used for d_MS, and by which rule."""
    est = gr.estimators or {}
    counts, rules, n_legacy = est.get("counts", {}), est.get("choice_rules", []), est.get("legacy", 0)
    out = [f"d_MS estimator per row: {_estimator_counts(counts)}."]
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
        slug = _slug(f"{g.key['generator']}_{g.key['weights']}_" + (f"delta{g.key['delta']:g}" if g.key.get("delta") is not None
                                                                   else f"D{g.key['D']}"))
        plots[g.label] = _plot_group(g, records, out_dir, slug) | {"slug": slug}
    data["plots"] = {k: {kk: vv for kk, vv in v.items() if kk != "slug"} for k, v in plots.items()}
    if command:
        data["command"] = command
    md = _markdown(data, groups, plots, command)
    for name, text in (("report.md", md), ("report.json", json.dumps(to_plain(data), indent=1, allow_nan=False))):
        tmp = os.path.join(out_dir, f".{name}.tmp")
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, os.path.join(out_dir, name))
    files = ["report.md", "report.json"] + [f for p in data["plots"].values() for f in p.values()]
    data["files"] = files
    return data

