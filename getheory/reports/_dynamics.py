"""Reports of `getheory dynamics`: learning-curve PNGs, report.md, report.json and problem.npz.

The presentation layer of the learning dynamics (docs/theory.md §7): everything here writes
files.  :mod:`getheory.dynamics` computes and writes no report; the one set of files it does
write itself is the SGD checkpoint (the state saved on disk with ``checkpoint=FOLDER``, written
while a run goes so that it can resume), an exception to "nothing below presentation writes files"
kept for now.  Every file here is written whole or not at all (:mod:`getheory._files`); report.md
and report.json are also fsynced, as the checkpoint's files are.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._files import replacing, write_text
from ..dynamics import DynamicsResult, save_problem

__all__ = ["write_dynamics_report"]


def write_dynamics_report(res: DynamicsResult, out, command=None):
    """Write report.md, report.json, learning-curve PNGs and problem.npz into ``out``."""
    import matplotlib  # heavy (fonts, a GUI backend): loaded only to draw, and switched to Agg first

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after the switch to Agg

    os.makedirs(out, exist_ok=True)
    t = res.t
    pos = t > 0
    files = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if res.ode.get("t") is not None:
        to = np.asarray(res.ode["t"])
        eo = np.asarray(res.ode["eps_full"])
        ax.plot(to[to > 0], eo[to > 0], "k-", lw=2, label="ODE (§7.5)")
    ax.plot(t[pos], res.eps_gen_order[pos], "o", ms=4, color="C0", mfc="none",
            label="SGD, generator data (order parameters)")
    ax.errorbar(t[pos], res.eps_gen_heldout[pos], yerr=res.eps_gen_heldout_se[pos], fmt=".", color="C0",
                alpha=0.6, label=f"SGD, generator data (held-out, n={res.settings['n_test']})")
    if res.eps_gauss_order is not None:
        ax.plot(t[pos], res.eps_gauss_order[pos], "s", ms=4, color="C1", mfc="none",
                label="SGD, Gaussian-equivalent data (order parameters)")
        ax.errorbar(t[pos], res.eps_gauss_heldout[pos], yerr=res.eps_gauss_heldout_se[pos], fmt="x",
                    color="C1", alpha=0.6, ms=3, label="SGD, Gaussian-equivalent data (held-out)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("test error ε_g")
    s = res.settings
    gk = s["generator"].get("kind", "")
    ax.set_title(f"{gk} {s['generator'].get('activation', '')}, N={s['N']}, D={s['D']}, K={s['K']}, "
                 f"M={s['M']}, η={s['eta']}", fontsize=9)
    if s["stopped_by_time_budget"] or s.get("diverged"):
        ax.axvline(s["t_reached"], color="grey", ls=":", lw=1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = os.path.join(out, "learning_curves.png")
    with replacing(p) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    files.append(p)
    if res.eps_ode is not None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(t[pos], (res.eps_gen_order - res.eps_ode)[pos], "o-", ms=3, label="SGD generator − ODE")
        if res.eps_gauss_order is not None:
            ax.plot(t[pos], (res.eps_gauss_order - res.eps_ode)[pos], "s-", ms=3, label="SGD Gaussian − ODE")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("t = steps / N")
        ax.set_ylabel("Δε_g (order parameters)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(out, "gaps.png")
        with replacing(p) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
        plt.close(fig)
        files.append(p)
    if res.problem.get("W0") is not None:  # the exact problem, for `getheory dynamics --problem`
        p = os.path.join(out, "problem.npz")
        save_problem(p, res.problem)
        files.append(p)
    d = res.to_dict()
    if command:
        d["command"] = command
    p = os.path.join(out, "report.json")
    write_text(p, json.dumps(d, indent=1), sync=True)
    files.append(p)
    p = os.path.join(out, "report.md")
    write_text(p, _markdown(res, command), sync=True)
    files.append(p)
    return files


def _divergence_text(s):
    parts = [f"seed {k} at t ≈ {d['t']:.4g} on {d['source']} data ({d['reason']})"
             for k, d in enumerate(s.get("divergence") or []) if d is not None]
    return "; ".join(parts) or "see the notes"


def _fmt(x, nd=4):
    if x is None:
        return "—"
    return f"{x:.{nd}g}"


def _markdown(res: DynamicsResult, command=None):
    s = res.settings
    L = ["# Learning dynamics: ODE vs SGD on generator data vs SGD on Gaussian-equivalent data", ""]
    L.append("Computed by `getheory dynamics` (docs/theory.md §7): one-pass SGD of a two-layer student "
             "(§7.1) on generator data and on Gaussian-equivalent data (§7.2) from the same initial weights "
             "and latents, and the ODEs over the spectrum of Ω (§7.3–§7.5).")
    L.append("")
    if s.get("diverged", False):
        L += [(f"> **SGD DIVERGED** ({_divergence_text(s)}). The curves end at t = {s['t_reached']:.4g} and "
               "every verdict below is **diverged**: a comparison over a diverged run is no evidence for or "
               "against Gaussian equivalence. Rerun with a smaller learning rate η."), ""]
    if command:
        L += ["Regenerate with:", "", "```", command, "```", ""]
    L += ["## Settings", "", "| quantity | value |", "|---|---|"]
    for k in ("generator", "N", "D", "delta", "K", "M", "eta", "g", "train_second_layer", "seed", "sgd_seeds",
              "t_max_requested", "t_reached", "stopped_by_time_budget", "diverged", "n_test", "moments"):
        L.append(f"| {k} | {s.get(k, '—')} |")
    L.append("")
    L += _md_stop(s)
    L += _md_gaps(res)
    L += _md_landmarks(res)
    L += _md_ode(res.ode)
    L += _md_throughput(res)
    L += ["## Learning curves", "", "![learning curves](learning_curves.png)", ""]
    if res.eps_ode is not None:
        L += ["![gaps](gaps.png)", ""]
    L += _md_table(res)
    if res.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in res.notes] + [""]
    return "\n".join(L)


def _md_stop(s) -> list:
    """The section "Where the run stopped"."""
    L = ["## Where the run stopped", ""]
    if s.get("diverged", False):
        L.append(f"SGD **diverged**: {_divergence_text(s)}. A diverged seed stops where its error exploded "
                 f"(the rule: non-finite weights, or an error on the latest samples above 10⁶ times the "
                 f"initial one); the curves end at **t = {s['t_reached']:.4g}**, the last record time every seed "
                 f"reached (requested t = {s['t_max_requested']:g}).")
    elif s["stopped_by_time_budget"]:
        L.append(f"SGD was stopped by the time budget ({s['time_budget_s']} s) at **t = {s['t_reached']:.4g}** "
                 f"(requested t = {s['t_max_requested']:g}); all comparisons are up to that time.")
    else:
        L.append(f"SGD ran to the requested t = {s['t_reached']:.4g}.")
    if s.get("resumed"):
        L.append("")
        L.append("The run was resumed from its checkpoint; each seed continued from its last saved state, which "
                 "gives the same numbers as an uninterrupted run.")
    L.append("")
    return L


def _md_gaps(res: DynamicsResult) -> list:
    """The section "Largest gaps over time": every comparison's largest gap and verdict."""
    s = res.settings
    L = ["## Largest gaps over time", "",
         (f"Curves are means over {s.get('sgd_seeds', 1)} SGD seeds; standard errors are over the seeds "
          "(held-out ones add the test set's error in quadrature; generator vs Gaussian uses the per-seed "
          f"paired differences). Verdict: the largest |gap|/SE over the record times against Student's t "
          f"with {s.get('sgd_seeds', 1) - 1} dof, Bonferroni over the record times, nominal level "
          f"{s.get('level', 0.05)} (docs/theory.md §7.7)."), "",
         "| comparison | max abs gap | at t | relative at max | largest gap in SEs | threshold | verdict |",
         "|---|---|---|---|---|---|---|"]
    for k, gp in res.gaps.items():
        L.append(f"| {k} | {_fmt(gp['max_abs'])} | {_fmt(gp['at_t'])} | {_fmt(gp['relative_at_max'], 3)} | "
                 f"{_fmt(gp.get('max_abs_in_stderr'), 3)} | {_fmt(gp.get('threshold_in_stderr'), 3)} | "
                 f"{gp.get('verdict', '—')} |")
    L.append("")
    return L


def _md_landmarks(res: DynamicsResult) -> list:
    """The section "Plateau, escape and final error" (docs/theory.md §7.10)."""
    lm = res.landmarks or {}
    if lm.get("t_plateau") is None:
        return []
    ref = "ODE" if res.eps_ode is not None else "mean SGD curve on generator data"
    L = ["## Plateau, escape and final error", "",
         (f"Landmarks of the order-parameter curves (docs/theory.md §7.10): the plateau is at the record time "
          f"t_p = {lm['t_plateau']:.4g} where the {ref} is flattest in log-log (from t = 1 on"
          + (", before it halves" if lm.get("escape_seen_in_reference") else "; it does not halve by the last "
             "record time") + "); the escape time is when a curve first falls below half its plateau value; "
          f"the final error is at t = {lm['t_last']:.4g}. SGD values are means ± SE over the seeds; "
          "the distance from the ODE in SEs is descriptive, not a calibrated verdict (those are the gaps "
          "above)."), "",
         "| curve | plateau ε(t_p) | escape time | final error |", "|---|---|---|---|"]
    r = lm["reference"]
    L.append(f"| {ref} | {_fmt(r['plateau'])} | {_fmt(r['escape_time'])} | {_fmt(r['final'])} |")
    for name, c in lm["curves"].items():
        cells = []
        for key in ("plateau", "escape_time", "final"):
            v = c[key]
            if v["mean"] is None:
                cells.append(f"not reached ({v['n']} of {v['of']} seeds)")
                continue
            cell = f"{v['mean']:.4g} ± {_fmt(v['se'], 2)}"
            if v["n"] < v["of"]:
                cell += f" ({v['n']} of {v['of']} seeds)"
            if res.eps_ode is not None and r[key] is not None and v["se"]:
                cell += f"; {(v['mean'] - r[key]) / v['se']:+.1f} SE from the ODE"
            cells.append(cell)
        L.append(f"| SGD, {name} data | " + " | ".join(cells) + " |")
    L.append("")
    return L


def _md_ode(ode) -> list:
    """The section "ODE integration" (none when the ODEs were not run)."""
    if not ode.get("run"):
        return []
    return ["## ODE integration", "",
            (f"Method {ode['method']} with {ode['tolerance']}; step-size check (a second integration "
             f"with a 100× tighter tolerance, or half the RK4 step): max |Δε_g| = {_fmt(ode['step_error_eps'], 3)}, "
             f"max |ΔQ|, |ΔR| = {_fmt(ode['step_error_QR'], 3)}; {ode['rhs_evaluations']} right-hand-side "
             f"evaluations in {ode['seconds']:.1f} s. Spectrum of Ω: ρ ∈ [{ode['rho_min']:.4g}, "
             f"{ode['rho_max']:.4g}]."), ""]


def _md_throughput(res: DynamicsResult) -> list:
    """The section "Throughput" and the timings."""
    sgd = res.sgd
    L = ["## Throughput", "",
         (f"{sgd['steps']:,} SGD steps per data source in {sgd['seconds']:.1f} s: "
          f"{sgd['steps_per_second_per_source']:,.0f} steps/s per source end to end (sampling both sources + "
          f"kernel), sampling {sgd['seconds_sampling']:.1f} s, kernel {sgd['seconds_kernel']:.1f} s "
          f"({sgd['kernel_steps_per_second']:,.0f} kernel steps/s); batch size {sgd['batch_size']}."), ""]
    L += ["Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items()), ""]
    return L


def _md_table(res: DynamicsResult) -> list:
    """The section "ε_g at selected times": up to 14 record times, every curve."""
    L = ["## ε_g at selected times", "",
         "| t | ODE | SGD gen (order) | SGD gen (held-out ± se) | SGD Gauss (order) | SGD Gauss (held-out ± se) |",
         "|---|---|---|---|---|---|"]
    idx = np.unique(np.linspace(0, len(res.t) - 1, min(len(res.t), 14)).round().astype(int))
    for i in idx:
        eo = res.eps_ode[i] if res.eps_ode is not None else None
        go = res.eps_gauss_order[i] if res.eps_gauss_order is not None else None
        gh = (f"{res.eps_gauss_heldout[i]:.4g} ± {res.eps_gauss_heldout_se[i]:.2g}"
              if res.eps_gauss_heldout is not None else "—")
        L.append(f"| {res.t[i]:.4g} | {_fmt(eo)} | {_fmt(res.eps_gen_order[i])} | "
                 f"{res.eps_gen_heldout[i]:.4g} ± {res.eps_gen_heldout_se[i]:.2g} | {_fmt(go)} | {gh} |")
    L.append("")
    return L
