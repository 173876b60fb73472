"""Presentation of ERM learning curves (docs/theory.md §10): report.md, report.json and PNGs.

The only module of the ERM feature that writes files, each whole or not at all
(:mod:`getheory._files`); the numbers come from :func:`getheory.erm_curves`,
:func:`getheory.erm.validate_erm`, :func:`getheory.erm.paired_gap` and
:func:`getheory.erm.erm_finite_size`.
"""

from __future__ import annotations

import os

import numpy as np

from .._files import write_json, write_text
from .._json import to_plain
from ..erm import FIT_TOL, erm_theory, paired_gap, validate_erm
from ._figures import pyplot, save_png

__all__ = ["erm_verdicts", "write_erm_report"]


def erm_verdicts(result) -> dict:
    """The verdicts a report states: measured (Gaussian source) against the theory, and the paired gap;
    each None where the result cannot support it (no theory, one seed, one source)."""
    out = {"validation": None, "paired_gap": None}
    seeds = next(iter(result.test_error.values())).shape[0]
    if result.theory is not None and "gaussian" in result.test_error and seeds >= 2:
        v = validate_erm(result)
        out["validation"] = {"passed": v.passed, "q": v.q, "level": v.level,
                             "failures": v.failures(result.alphas, result.lambdas)}
    if {"generator", "gaussian"} <= set(result.test_error) and seeds >= 2:
        g = paired_gap(result)
        out["paired_gap"] = {"statement": g.statement(), "gap": g.gap, "se": g.se, "resolved": g.resolved,
                             "q": g.q, "level": g.level}
    return out


def _dense_theory(result, j):
    """(α, test error, training loss) of the theory on a fine α grid at λ_j, or None."""
    if result.theory is None or not result.problem:
        return None
    o = result.settings["options"]
    ag = np.geomspace(result.alphas.min(), result.alphas.max(), 60)
    th = erm_theory(*result.problem, loss=o["loss"], alphas=ag, lambdas=[result.lambdas[j]], teacher=o["teacher"],
                    noise=o["noise"])
    return ag, th["test_error"][:, 0], th["train_loss"][:, 0]


def _plot_curves(result, path):
    plt = pyplot()
    L = len(result.lambdas)
    fig, axes = plt.subplots(2, L, figsize=(4.2 * L, 7), squeeze=False)
    for j, lam in enumerate(result.lambdas):
        dense = _dense_theory(result, j)
        for row, (key, label) in enumerate((("test_error", "test error"), ("train_loss", "training loss"))):
            ax = axes[row, j]
            if dense is not None:
                ax.plot(dense[0], dense[1 + row], "k-", lw=1.5, label="theory (§10.3)")
            for s, mk, col in (("generator", "o", "C0"), ("gaussian", "s", "C1")):
                data = getattr(result, key).get(s)
                if data is None:
                    continue
                m = data.mean(axis=0)[:, j]
                se = data.std(axis=0, ddof=1)[:, j] / np.sqrt(data.shape[0]) if data.shape[0] > 1 else None
                ax.errorbar(result.alphas, m, yerr=se, fmt=mk, ms=4, mfc="none", color=col, capsize=2,
                            label=f"{s} data ({data.shape[0]} seeds)")
            ax.set_xscale("log")
            ax.set_xticks(result.alphas, [f"{a:g}" for a in result.alphas])
            ax.minorticks_off()
            ax.set_xlabel("α = n/N")
            ax.set_title(f"λ = {lam:g}", fontsize=9)
            if j == 0:
                ax.set_ylabel(label)
                ax.legend(fontsize=7)
    s = result.settings
    fig.suptitle(f"{s['options']['loss']} loss on {s['generator'].get('activation', '')} generator features, "
                 f"N = {s['N']}, D = {s['D']}, teacher {s['options']['teacher']}", fontsize=9)
    fig.tight_layout()
    save_png(fig, path)


def _plot_gaps(result, verdicts, path):
    plt = pyplot()
    g = verdicts["paired_gap"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for j, lam in enumerate(result.lambdas):
        ax.errorbar(result.alphas, g["gap"][:, j], yerr=g["q"] * g["se"][:, j], fmt="o-", ms=3, capsize=2,
                    label=f"λ = {lam:g}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(result.alphas, [f"{a:g}" for a in result.alphas])
    ax.minorticks_off()
    ax.set_xlabel("α = n/N")
    ax.set_ylabel("generator − Gaussian test error")
    ax.set_title(f"paired gap ± {g['q']:.2f} se (Bonferroni, family level {g['level']:g})", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    save_png(fig, path)


def _plot_finite_size(fs, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(fs.Ns, fs.mean_abs_gap, "o-", label="mean |generator − Gaussian| over the grid")
    ax.plot(fs.Ns, fs.noise_floor, "k--", lw=1, label="noise floor (mean se·√(2/π))")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(fs.Ns, [str(n) for n in fs.Ns])
    ax.minorticks_off()
    ax.set_xlabel("N (δ = D/N fixed)")
    ax.set_title(fs.statement(), fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def write_erm_report(result, out, *, finite_size=None, command=None) -> list:
    """Write report.md, report.json, learning_curves.png, gaps.png (with both sources) and finite_size.png."""
    os.makedirs(out, exist_ok=True)
    verdicts = erm_verdicts(result)
    files = [os.path.join(out, "learning_curves.png")]
    _plot_curves(result, files[-1])
    if verdicts["paired_gap"] is not None:
        files.append(os.path.join(out, "gaps.png"))
        _plot_gaps(result, verdicts, files[-1])
    if finite_size is not None:
        files.append(os.path.join(out, "finite_size.png"))
        _plot_finite_size(finite_size, files[-1])
    d = result.to_dict()
    d["verdicts"] = verdicts
    if finite_size is not None:
        d["finite_size"] = finite_size.to_dict()
    if command:
        d["command"] = command
    files.append(os.path.join(out, "report.json"))
    write_json(files[-1], to_plain(d), indent=1)
    files.append(os.path.join(out, "report.md"))
    write_text(files[-1], _markdown(result, verdicts, finite_size, command, [os.path.basename(f) for f in files]))
    return files


def _md_intro(result, command):
    loss = result.settings["options"]["loss"]
    L = [f"# ERM learning curves ({loss} loss): generator data, Gaussian equivalent, theory", "",
         ("Computed by `getheory erm` (docs/theory.md §10): ŵ = argmin Σ ℓ(y, w·x/√N) + (λ/2)‖w‖² on the "
         "generator's centred features and on Gaussian-equivalent features built from the same latents and "
         "labels, test errors on fresh samples, every fit certified (§10.5), and the replica-symmetric "
         "prediction from (Ω, Φ, θ) alone (§10.3)."), ""]
    if command:
        L += ["Regenerate with:", "", "```", command, "```", ""]
    return L


def _md_settings(result):
    s, o = result.settings, result.settings["options"]
    rows = [("generator", s["generator"]), ("N, D, δ", f"{s['N']}, {s['D']}, {s['delta']:.3g}"),
            ("loss, teacher, label noise Δ", f"{o['loss']}, {o['teacher']}, {o['noise']}"),
            ("α", ", ".join(f"{a:g}" for a in o["alphas"])), ("λ", ", ".join(f"{x:g}" for x in o["lambdas"])),
            ("seeds (data; generator and θ fixed)", o["seeds"]), ("fresh test samples per seed", o["n_test"]),
            ("moments", s["moments"]), ("master seed", s["seed"])]
    return ["## Settings", "", "| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]


def _md_verdicts(result, verdicts):
    L = ["## Verdicts", ""]
    v = verdicts["validation"]
    if v is None:
        L.append("- Gaussian data against the theory: no verdict (it needs the theory, the Gaussian source and at "
                 "least 2 seeds).")
    elif v["passed"]:
        L.append(f"- **Gaussian data agree with the theory** at every point, test error and training loss "
                 f"(family level {v['level']:g}: {v['q']:.2f} se + the finite-N allowance of §10.6).")
    else:
        L.append(f"- **Gaussian data disagree with the theory** at {len(v['failures'])} test(s) "
                 f"(family level {v['level']:g}, §10.6):")
        L += [f"  - {f}" for f in v["failures"]]
    g = verdicts["paired_gap"]
    L.append(f"- Generator against Gaussian: {g['statement']}." if g is not None else
             "- Generator against Gaussian: no verdict (it needs both sources and at least 2 seeds).")
    certs = {s: float(np.max(c)) for s, c in result.certificate.items()}
    tol = FIT_TOL[result.settings["options"]["loss"]]
    L.append("- Fits: largest certificate " + ", ".join(f"{s} {c:.1e}" for s, c in certs.items()) +
             f" (tolerance {tol:g}; " + ("all met)." if all(c.all() for c in result.converged.values())
                                         else "some missed: see the notes)."))
    return L + ["", "![learning curves](learning_curves.png)", ""]


def _md_table(result):
    th = result.theory
    L = ["## Test error and training loss per (α, λ)", "",
         "| α | λ | " + " | ".join(f"{s} test (± se) | {s} train" for s in result.test_error) +
         (" | theory test | theory train |" if th is not None else " |"),
         "|---|---|" + "---|---|" * len(result.test_error) + ("---|---|" if th is not None else "")]
    for i, a in enumerate(result.alphas):
        for j, lam in enumerate(result.lambdas):
            cells = []
            for s, e in result.test_error.items():
                S = e.shape[0]
                se = e[:, i, j].std(ddof=1) / np.sqrt(S) if S > 1 else float("nan")
                cells += [f"{e[:, i, j].mean():.4f} ± {se:.4f}", f"{result.train_loss[s][:, i, j].mean():.4f}"]
            if th is not None:
                cells += [f"{th['test_error'][i, j]:.4f}", f"{th['train_loss'][i, j]:.4f}"]
            L.append(f"| {a:g} | {lam:g} | " + " | ".join(cells) + " |")
    return L + [""]


def _md_finite_size(fs):
    if fs is None:
        return []
    L = ["## The gap against N", "", f"{fs.statement()}.", "",
         "| N | mean abs gap | noise floor |", "|---|---|---|"]
    L += [f"| {N} | {g:.4f} | {f:.4f} |" for N, g, f in zip(fs.Ns, fs.mean_abs_gap, fs.noise_floor)]
    return L + ["", "![finite size](finite_size.png)", ""]


def _markdown(result, verdicts, fs, command, files):
    t = result.timings
    L = _md_intro(result, command) + _md_settings(result) + _md_verdicts(result, verdicts)
    if "gaps.png" in files:
        L += ["![paired gap](gaps.png)", ""]
    L += _md_table(result) + _md_finite_size(fs)
    L += ["## Time", "", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()) +
          f"; total {sum(t.values()):.1f}.", ""]
    if result.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    return "\n".join(L)
