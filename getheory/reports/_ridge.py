"""Presentation of ridge learning curves (docs/theory.md §8): report.md, report.json and PNGs.

The only module of the ridge feature that writes files, each whole or not at all
(:mod:`getheory._files`); the numbers come from :func:`getheory.ridge.ridge_curves` and
:func:`getheory.ridge.ridge_finite_size`.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import stats

from .._files import write_json, write_text
from .._json import to_plain
from ..ridge import ridge_theory
from ._figures import pyplot, save_png

__all__ = ["write_ridge_report", "agreement_table"]

#: two-sided level per point at which a gap counts as resolved
LEVEL = 0.01


def z_resolved(seeds: int) -> float:
    """|gap|/se above which a gap is resolved: Student t with S − 1 dof (se is from S seeds)."""
    return float(stats.t.ppf(1 - LEVEL / 2, max(seeds - 1, 1)))


def _fmt(x, nd=4):
    return "—" if x is None or not np.isfinite(x) else f"{x:.{nd}g}"


def agreement_table(result) -> dict:
    """Per comparison: points resolved (|z| > 2.576), largest relative gap and where."""
    out = {}
    th = result.theory["eps"] if result.theory is not None else None
    zc = z_resolved(next(iter(result.eps.values())).shape[0])
    for k, c in result.comparisons().items():
        ref = th if th is not None else result.summary("gaussian")[0]
        rel = np.abs(c["gap"]) / ref
        z = np.abs(c["z"])
        i, j = np.unravel_index(np.nanargmax(rel), rel.shape)
        res = np.argwhere(z > zc)
        out[k] = {"resolved": int(len(res)), "points": int(z.size), "threshold": zc, "max_relative": float(rel[i, j]),
                  "at_alpha": float(result.alphas[i]), "at_lambda": float(result.lambdas[j]),
                  "z_at_max": float(c["z"][i, j]), "median_relative": float(np.median(rel)),
                  "resolved_at": [(float(result.alphas[a]), float(result.lambdas[b]),
                                   float(c["gap"][a, b] / ref[a, b]), float(c["z"][a, b])) for a, b in res]}
    return out


def _plot_curves(result, path):
    plt = pyplot()
    L = len(result.lambdas)
    fig, axes = plt.subplots(1, L, figsize=(4.2 * L, 4), squeeze=False)
    a = result.alphas
    for j, lam in enumerate(result.lambdas):
        ax = axes[0, j]
        if result.theory is not None:
            ag = np.geomspace(a.min(), a.max(), 200)
            if result.spectrum is not None:
                dense = ridge_theory(result.spectrum, result.settings["options"]["teacher"],
                                     result.settings["options"]["noise"], ag, [lam])["eps"][:, 0]
                ax.plot(ag, dense, "k-", lw=1.5, label="deterministic equivalent")
            else:
                ax.plot(a, result.theory["eps"][:, j], "k-", lw=1.5, label="deterministic equivalent")
        for s, mk, col in (("generator", "o", "C0"), ("gaussian", "s", "C1")):
            if s in result.eps:
                m, _sd, se = result.summary(s)
                ax.errorbar(a, m[:, j], yerr=se[:, j], fmt=mk, ms=4, mfc="none", color=col, capsize=2,
                            label=f"{s} data (mean ± se, {result.eps[s].shape[0]} seeds)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("α = n/N")
        ax.set_title(f"λ = {lam:g}")
        if j == 0:
            ax.set_ylabel("test error ε_g")
            ax.legend(fontsize=7)
    s = result.settings
    fig.suptitle(f"ridge on {s['generator'].get('kind', '')} {s['generator'].get('activation', '')} features, "
                 f"N={s['N']}, D={s['D']}, teacher {s['options']['teacher']}, Δ={s['options']['noise']}", fontsize=9)
    fig.tight_layout()
    save_png(fig, path)


def _plot_gaps(result, path):
    plt = pyplot()
    comps = result.comparisons()
    fig, axes = plt.subplots(1, len(comps), figsize=(4.2 * len(comps), 3.6), squeeze=False)
    for ax, (k, c) in zip(axes[0], comps.items()):
        for j, lam in enumerate(result.lambdas):
            ax.plot(result.alphas, c["z"][:, j], "o-", ms=3, label=f"λ = {lam:g}")
        zc = z_resolved(next(iter(result.eps.values())).shape[0])
        ax.axhspan(-zc, zc, color="grey", alpha=0.2)
        ax.set_xscale("log")
        ax.set_xlabel("α")
        ax.set_title(f"{k}: gap / se", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def _plot_finite_size(fs, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for k in fs.gaps:
        ax.errorbar(fs.Ns, fs.gaps[k], yerr=fs.se[k], fmt="o-", ms=4, capsize=2, label=k)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (δ = D/N fixed)")
    ax.set_ylabel("mean |relative gap| over (α, λ)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def write_ridge_report(result, out, *, finite_size=None, command=None) -> list:
    """Write report.md, report.json, learning_curves.png, gaps.png (and finite_size.png)."""
    os.makedirs(out, exist_ok=True)
    files = []
    p = os.path.join(out, "learning_curves.png")
    _plot_curves(result, p)
    files.append(p)
    p = os.path.join(out, "gaps.png")
    _plot_gaps(result, p)
    files.append(p)
    if finite_size is not None:
        p = os.path.join(out, "finite_size.png")
        _plot_finite_size(finite_size, p)
        files.append(p)
    agree = agreement_table(result)
    d = result.to_dict()
    d["agreement"] = agree
    if finite_size is not None:
        d["finite_size"] = finite_size.to_dict()
    if command:
        d["command"] = command
    p = os.path.join(out, "report.json")
    write_json(p, to_plain(d), indent=1)
    files.append(p)
    p = os.path.join(out, "report.md")
    write_text(p, _markdown(result, agree, finite_size, command))
    files.append(p)
    return files


def _md_intro(command):
    L = ["# Ridge learning curves: generator data, Gaussian equivalent, deterministic equivalent", "",
         "Computed by `getheory ridge` (docs/theory.md §8): ridge regression ŵ = argmin Σ(y − w·x/√N)² + λ‖w‖² "
         "on the generator's centred features and on Gaussian-equivalent features x̂ = Φc + (Ω − ΦΦᵀ)^{1/2}ξ "
         "built from the same latents and labels, test errors on fresh samples, and the deterministic "
         "equivalent from (Ω, Φ, θ, f, Δ, λ, α) alone (§8.3).", ""]
    if command:
        L += ["Regenerate with:", "", "```", command, "```", ""]
    return L


def _md_settings(s):
    o = s["options"]
    rows = [("generator", s["generator"]), ("N, D, δ", f"{s['N']}, {s['D']}, {s['delta']:.3g}"),
            ("teacher f, label noise Δ", f"{o['teacher']}, {o['noise']}"),
            ("α", ", ".join(f"{a:g}" for a in o["alphas"])),
            ("λ", ", ".join(f"{x:g}" for x in o["lambdas"])), ("seeds (data; generator and θ fixed)", o["seeds"]),
            ("fresh test samples per seed", o["n_test"]), ("moments", s["moments"]), ("master seed", s["seed"])]
    return ["## Settings", "", "| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]


def _md_decomposition(dec):
    if not dec:
        return []
    return ["## Labels: linear part and effective noise (§8.2)", "",
            f"y = b·x̂ + noise with Var(b·x̂) = μ₁² q = {dec['linear']:.4f} (μ₁ = {dec['mu1']:.4f}, "
            f"q = {dec['q']:.4f}) "
            f"and σ² = {dec['sigma2']:.4f} = {dec['nu_orthogonal']:.4f} (ν not linear in x̂) + "
            f"{dec['nonlinear']:.4f} (non-linear part of f) + {dec['label_noise']:.4f} (Δ).", ""]


def _md_agreement(agree, seeds):
    L = ["## Where the three agree and where not", "",
         f"A gap is *resolved* when |gap| > {z_resolved(seeds):.3g} standard errors over the seeds "
         f"(Student t with S − 1 = {seeds - 1} degrees of freedom, 1 % two-sided per point, so about 1 % of "
         "the points by chance; "
         "generator − Gaussian is paired seed by seed). Relative gaps are |gap| / ε_g(theory).", "",
         "| comparison | resolved points | median relative gap | largest relative gap | at (α, λ) | z there |",
         "|---|---|---|---|---|---|"]
    for k, a in agree.items():
        L.append(f"| {k} | {a['resolved']} / {a['points']} | {a['median_relative']:.2%} | {a['max_relative']:.2%} | "
                 f"({a['at_alpha']:g}, {a['at_lambda']:g}) | {a['z_at_max']:.2f} |")
    L.append("")
    for k, a in agree.items():
        if a["resolved"]:
            pts = "; ".join(f"α={al:g}, λ={la:g}: {rg:+.2%} (z={z:.1f})" for al, la, rg, z in a["resolved_at"])
            L.append(f"- **{k}** resolved at: {pts}")
    return L + ["", "![learning curves](learning_curves.png)", "", "![gaps](gaps.png)", ""]


def _md_eps_table(result):
    L = ["## ε_g per (α, λ)", "", "| α | λ | generator (± se) | Gaussian (± se) | theory |", "|---|---|---|---|---|"]
    gm = result.summary("generator") if "generator" in result.eps else None
    ga = result.summary("gaussian") if "gaussian" in result.eps else None
    for i, al in enumerate(result.alphas):
        for j, la in enumerate(result.lambdas):
            g1 = f"{gm[0][i, j]:.4g} ± {gm[2][i, j]:.2g}" if gm else "—"
            g2 = f"{ga[0][i, j]:.4g} ± {ga[2][i, j]:.2g}" if ga else "—"
            th = _fmt(result.theory["eps"][i, j]) if result.theory is not None else "—"
            L.append(f"| {al:g} | {la:g} | {g1} | {g2} | {th} |")
    return L + [""]


def _md_finite_size(fs):
    if fs is None:
        return []
    alphas = ", ".join(f"{a:g}" for a in fs.settings["options"]["alphas"])
    L = ["## Finite-size gap against N", "",
         f"Mean over the (α, λ) grid of |gap| / ε_g(theory) at δ = {fs.settings['delta']}, "
         f"{fs.settings['options']['seeds']} seeds, α ∈ {{{alphas}}}. "
         "A gap that is only seed noise also shrinks like N^{-1/2}; compare with its se.", "",
         "| N | " + " | ".join(fs.gaps) + " |", "|---|" + "---|" * len(fs.gaps)]
    for n_i, N in enumerate(fs.Ns):
        L.append(f"| {N} | " + " | ".join(f"{fs.gaps[k][n_i]:.3%} (se {fs.se[k][n_i]:.2%})" for k in fs.gaps) + " |")
    return L + ["", "![finite size](finite_size.png)", ""]


def _md_time_and_notes(result):
    t = result.timings
    L = ["## Time", "", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()) +
         f"; total {sum(t.values()):.1f}.", ""]
    if result.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in result.notes] + [""]
    return L


def _markdown(result, agree, fs, command):
    s = result.settings
    return "\n".join(_md_intro(command) + _md_settings(s) + _md_decomposition(result.decomposition)
                     + _md_agreement(agree, s["options"]["seeds"]) + _md_eps_table(result) + _md_finite_size(fs)
                     + _md_time_and_notes(result))
