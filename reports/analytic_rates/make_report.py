"""Analytic d_MS rates of single-layer sign and erf2 generators (docs/theory.md §4.2).

    python reports/analytic_rates/make_report.py --out reports/analytic_rates/

K = M = 1, δ = 1/2, Gaussian weights, 3 seeds per (σ, N).  The analytic (leading-order
Edgeworth) d_MS at N = 16 … N_max; the streamed engine's held-out Edgeworth d_MS (its own
direction search) at N = 16 … 512 as the sampled overlay, marked where it resolves.
Writes analytic_rates.json (every point, appended as it goes: a rerun resumes),
report.md and dms.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

import getheory as gt
from getheory.analytic import analytic_dms

SEEDS = (0, 1, 2)


def problem(act, N, seed):
    D = N // 2
    gen = gt.random_single_layer(N, D, act, seed=10_000 * seed + N)
    W, Wt = gt.draw_weights(N, D, 1, 1, seed=10_000 * seed + N + 1)
    return gen, W, Wt


def analytic_point(act, N, seed):
    gen, W, Wt = problem(act, N, seed)
    r = analytic_dms(gen, W, Wt)
    return {"kind": "analytic", "activation": act, "N": N, "seed": seed, "dms": r.edgeworth_w1,
            "truncation": r.truncation_error, "kappa4": r.kappa4, "kappa4_truncation": r.kappa4_truncation,
            "direction": r.direction.tolist(), "seconds": r.seconds, "parts": r.parts}


def sampled_point(act, N, seed, n):
    gen, W, Wt = problem(act, N, seed)
    m = gt.gaussian_match(gt.exact_moments(gen), W, Wt)
    sink = gt.FieldStream(m.mean, m.cov)
    t0 = time.perf_counter()
    gt.stream_fields(gen, W, Wt, n, sink, seed=seed + 7)
    cr = gt.cumulants_from_stats(sink.finish(), m.cov, seed=seed + 8)
    return {"kind": "sampled", "activation": act, "N": N, "seed": seed, "n": n, "dms": cr.edgeworth_w1,
            "se": cr.edgeworth_se, "kappa4": cr.kappa4, "se_kappa4": cr.se_kappa4, "resolved": bool(cr.resolved),
            "seconds": time.perf_counter() - t0}


def fit(Ns, vals):
    """Weighted LS of log mean-over-seeds on log N; SEs of log means from the seeds."""
    Ns = np.asarray(Ns, float)
    v = np.asarray(vals, float)  # (len(Ns), seeds)
    y = np.log(v.mean(axis=1))
    se = v.std(axis=1, ddof=1) / math.sqrt(v.shape[1]) / v.mean(axis=1)
    w = 1 / se**2
    X = np.stack([np.ones_like(Ns), np.log(Ns)], axis=1)
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    b = cov @ X.T @ (w * y)
    chi2 = float(np.sum(w * (y - X @ b) ** 2))
    return float(b[1]), float(math.sqrt(cov[1, 1])), chi2, len(Ns) - 2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="reports/analytic_rates/")
    ap.add_argument("--n-max", type=int, default=16384)
    ap.add_argument("--sampled-n-max", type=int, default=512)
    ap.add_argument("--samples", type=float, default=3e6)
    ap.add_argument("--fit-from", type=int, default=256)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "analytic_rates.json")
    pts = json.load(open(path)) if os.path.exists(path) else []
    have = {(p["kind"], p["activation"], p["N"], p["seed"]) for p in pts}
    Ns = [2**k for k in range(4, int(math.log2(a.n_max)) + 1)]
    t_start = time.time()
    for act in ("sign", "erf2"):
        for N in Ns:
            for sd in SEEDS:
                if ("analytic", act, N, sd) not in have:
                    pts.append(analytic_point(act, N, sd))
                    json.dump(pts, open(path, "w"), indent=1)
                    print(f"analytic {act} N={N} seed={sd}: {pts[-1]['dms']:.4g} ({pts[-1]['seconds']:.1f} s)", flush=True)
                if N <= a.sampled_n_max and ("sampled", act, N, sd) not in have:
                    pts.append(sampled_point(act, N, sd, int(a.samples)))
                    json.dump(pts, open(path, "w"), indent=1)
                    print(f"sampled  {act} N={N} seed={sd}: {pts[-1]['dms']:.4g} ± {pts[-1]['se']:.2g}", flush=True)
    write(a, pts, Ns, time.time() - t_start)


def write(a, pts, Ns, seconds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# Analytic d_MS rates: single-layer sign and erf2 (docs/theory.md §4.2)", "",
             "Regenerate: `python reports/analytic_rates/make_report.py --out reports/analytic_rates/`", "",
             "K = M = 1, δ = D/N = 1/2, A, W, W̃ with i.i.d. N(0, 1) entries, 3 seeds per point. "
             "*Analytic*: the leading-order Edgeworth d_MS of `getheory.analytic.analytic_dms` "
             "(no sampling; ± its stated truncation error). *Sampled*: the streaming engine's held-out "
             f"Edgeworth d_MS (its own direction search, n = {a.samples:.0e} rows per point), "
             "shown where its cumulant test resolves.", ""]
    summary = {}
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, act in enumerate(("sign", "erf2")):
        an = {N: [p for p in pts if p["kind"] == "analytic" and p["activation"] == act and p["N"] == N] for N in Ns}
        sa = {N: [p for p in pts if p["kind"] == "sampled" and p["activation"] == act and p["N"] == N] for N in Ns}
        Nf = [N for N in Ns if N >= a.fit_from and len(an[N]) == len(SEEDS)]
        vals = [[p["dms"] for p in an[N]] for N in Nf]
        slope, sse, chi2, dof = fit(Nf, vals)
        Nd = np.array([[N * p["dms"] for p in an[N]] for N in Ns if an[N]])
        const = Nd[-1].mean()
        const_se = Nd[-1].std(ddof=1) / math.sqrt(Nd.shape[1])
        summary[act] = {"slope": slope, "slope_se": sse, "slope_ci95": [slope - 1.96 * sse, slope + 1.96 * sse],
                        "fit_N": Nf, "fit_chi2": chi2, "fit_dof": dof, "N_dms_at_Nmax": const,
                        "N_dms_se": const_se, "N_max": Ns[-1]}
        lines += [f"## {act}", "",
                  f"* fitted slope of the seed-mean analytic d_MS over N = {Nf[0]} … {Nf[-1]}: **{slope:.3f} ± {sse:.3f}** "
                  f"(95 % interval [{slope - 1.96 * sse:.3f}, {slope + 1.96 * sse:.3f}]; expected −1; "
                  f"χ² = {chi2:.1f} on {dof} dof, weights from the seed spread)",
                  f"* N·d_MS at N = {Ns[-1]}: **{const:.3f} ± {const_se:.3f}** (mean ± SE over 3 seeds)", "",
                  "| N | analytic d_MS (mean of 3) | N·d_MS | truncation (mean) | N·κ4 | sampled d_MS (resolved / 3) | s per analytic point |",
                  "|---|---|---|---|---|---|---|"]
        for N in Ns:
            if not an[N]:
                continue
            d = np.array([p["dms"] for p in an[N]])
            tr = np.mean([p["truncation"] for p in an[N]])
            k4 = np.mean([N * p["kappa4"] for p in an[N]])
            sec = np.mean([p["seconds"] for p in an[N]])
            if sa[N]:
                res = [p for p in sa[N] if p["resolved"]]
                sm = (f"{np.mean([p['dms'] for p in res]):.3g} ± {math.sqrt(sum(p['se']**2 for p in res)) / len(res):.2g} ({len(res)}/3)"
                      if res else f"not resolved (0/3)")
            else:
                sm = "—"
            lines.append(f"| {N} | {d.mean():.4g} | {N * d.mean():.3f} | {tr:.2g} | {k4:.2f} | {sm} | {sec:.2f} |")
        lines.append("")
        x = np.array([N for N in Ns if an[N]])
        y = np.array([np.mean([p["dms"] for p in an[N]]) for N in x])
        e = np.array([np.mean([p["truncation"] for p in an[N]]) for N in x])
        ax[k].errorbar(x, y, yerr=e, fmt="o-", ms=4, label="analytic (± truncation)")
        for N in Ns:
            for p in sa[N]:
                if p["resolved"]:
                    ax[k].errorbar([N * 1.05], [p["dms"]], yerr=[p["se"]], fmt="s", color="C3", ms=3,
                                   label="sampled, resolved" if N == Ns[0] and p["seed"] == 0 else None)
        xx = np.array([Nf[0], Ns[-1]], float)
        ax[k].plot(xx, const / xx, "k--", lw=0.8, label=f"{const:.2f}/N")
        ax[k].set_xscale("log")
        ax[k].set_yscale("log")
        ax[k].set_title(f"{act}: slope {slope:.3f} ± {sse:.3f}")
        ax[k].set_xlabel("N (δ = 1/2, K = M = 1)")
        ax[k].set_ylabel("d_MS")
        ax[k].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "dms.png"), dpi=110)
    an_all = {(p["activation"], p["N"], p["seed"]): p for p in pts if p["kind"] == "analytic"}
    zs = [(p["dms"] - an_all[(p["activation"], p["N"], p["seed"])]["dms"])
          / math.hypot(p["se"], an_all[(p["activation"], p["N"], p["seed"])]["truncation"])
          for p in pts if p["kind"] == "sampled" and p["resolved"] and (p["activation"], p["N"], p["seed"]) in an_all]
    if zs:
        summary["sampled_vs_analytic"] = {"points": len(zs), "chi2": float(np.sum(np.square(zs))),
                                          "max_abs_z": float(np.max(np.abs(zs)))}
        lines += [f"**Sampled vs analytic, same problem instance.** {len(zs)} resolved sampled points: "
                  f"z = (sampled − analytic)/√(se² + truncation²) has χ² = {np.sum(np.square(zs)):.1f} on "
                  f"{len(zs)} points, max |z| = {np.max(np.abs(zs)):.2f}. (The sampled value maximises over its "
                  "own held-out direction; at N ≤ 64 the truncation error dominates the denominator.)", ""]
    lines += ["![d_MS](dms.png)", "",
              f"Wall time of this run: {seconds:.0f} s (points already in analytic_rates.json are not recomputed; "
              "the committed points took 1332 s on 2 shared cores, with other jobs running).", ""]
    open(os.path.join(a.out, "report.md"), "w").write("\n".join(lines))
    json.dump(summary, open(os.path.join(a.out, "summary.json"), "w"), indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
