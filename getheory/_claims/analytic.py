"""Claim 10 -- leading-order cumulants without sampling (docs/theory.md §4.2).

Claims
------
(a) Exactness through O(ρ²): for N = 2 rows at correlation ρ = ε in D = 2 (plus a teacher),
    the exact κ4 of y = u·(λ, ν) minus the analytic one is O(ε³): at ε = 0 they agree to
    rounding, and the residual's log-log slope in ε is ≥ 2.5.  Reference: polar quadrature
    (Gauss-Legendre in the angle on the panels between the rows' zero lines, and in the
    radius on [0, 12]), independent of the code under test.  At N = 6, D = 2 (ρ = O(1), far
    outside the expansion) the residual is reported as information.
(b) Agreement with Monte Carlo: along the analytic direction u, the k-statistic κ4 of
    y = z·u on fresh samples (influence-function SEs) agrees with the analytic κ4 within
    √(se² + τ4²) (τ4 the stated truncation error); χ² of the residuals is reported with and
    without τ4.  N = 64, 128 (default), 64 … 512 with ``full``; sign and erf2, K = M = 1,
    δ = 1/2.
(c) Slope: N·κ4 approaches a constant: the weighted log-log slope of the seed-mean |κ4|
    (3 seeds, N = 128 … 1024; 256 … 4096 with ``full``) is within 3 standard errors of −1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2 as _chi2

from ..activations import get_activation
from ..analytic import analytic_dms, leading_cumulants
from ..check import draw_weights
from ..distances import k_statistics
from ..fields import sample_fields
from ..generators import SingleLayerGenerator, random_single_layer
from ._result import Result, Timer, verdict

CLAIM = "10-analytic"
TITLE = "Leading-order κ4 and d_MS without sampling"
SECTION = "docs/theory.md §4.2"


@dataclass(frozen=True)
class _PolarGrid:
    """The polar quadrature of :func:`exact_central_moments_d2`: Gauss-Legendre nodes per angular
    panel (``n_ang``) and on the radius [0, 12] (``n_rad``)."""

    n_ang: int = 64
    n_rad: int = 160


def exact_central_moments_d2(A, act, W, Wt, u, grid: _PolarGrid = _PolarGrid()):
    """E(y − Ey)^k, k = 2, 3, 4, for y = u·(λ, ν), c ∈ R², by polar quadrature.

    The integrand is smooth in the angle between consecutive zero lines of the rows
    (where a_i·e_θ = 0) and smooth in the radius: Gauss-Legendre panels in both, with
    ``grid.n_ang`` nodes per angular panel and ``grid.n_rad`` on the radius.
    """
    act = get_activation(act)
    A = np.asarray(A, float)
    N, D = A.shape
    assert D == 2
    K = W.shape[0]
    ang = np.arctan2(A[:, 1], A[:, 0])
    br = np.sort(np.mod(np.concatenate([ang + np.pi / 2, ang - np.pi / 2]), 2 * np.pi))
    br = np.unique(np.concatenate([[0.0], br, [2 * np.pi]]))
    xg, wg = np.polynomial.legendre.leggauss(grid.n_ang)
    th, wth = [], []
    for a, b in zip(br[:-1], br[1:]):
        if b - a < 1e-15:
            continue
        th.append(0.5 * (b - a) * (xg + 1) + a)
        wth.append(0.5 * (b - a) * wg)
    th, wth = np.concatenate(th), np.concatenate(wth) / (2 * np.pi)
    xr, wr = np.polynomial.legendre.leggauss(grid.n_rad)
    r = 6.0 * (xr + 1)
    wr = 6.0 * wr * r * np.exp(-0.5 * r * r)  # Rayleigh density
    c = np.stack([np.cos(th)[:, None] * r[None, :], np.sin(th)[:, None] * r[None, :]], axis=-1)  # (T, R, 2)
    wt = wth[:, None] * wr[None, :]
    h = c @ A.T / math.sqrt(D)
    x = np.asarray(act(h), float)
    y = (x @ (W.T @ u[:K])) / math.sqrt(N) + (c @ (Wt.T @ u[K:])) / math.sqrt(D)
    m = np.sum(wt * y)
    dy = y - m
    return {k: float(np.sum(wt * dy**k)) for k in (2, 3, 4)}


def exact_kappa4_d2(A, act, W, Wt, u):
    m = exact_central_moments_d2(A, act, W, Wt, u)
    return m[4] / m[2] ** 2 - 3.0, m[2]


def _two_rows(eps):
    # rows at correlation eps, unequal norms (so s_i ≠ 1 matters for erf2)
    t = math.asin(eps)
    return np.array([[1.3, 0.0], [0.8 * math.sin(t), 0.8 * math.cos(t)]]) * math.sqrt(2.0)


def check_exact():
    out = []
    W = np.array([[0.9, -1.4]])
    Wt = np.array([[0.7, 0.5]])
    u = np.array([0.8, 0.6])
    for act in ("sign", "erf2"):
        with Timer() as t:
            eps = [0.0] + [0.2 * 0.5**k for k in range(5)]
            res = []
            for e in eps:
                gen = SingleLayerGenerator(_two_rows(e), act)
                lc = leading_cumulants(gen, W, Wt)
                ka = float(lc.kappas(u)[1][0])
                ke, m2 = exact_kappa4_d2(gen.A, act, W, Wt, u)
                s2 = float(lc.sigma(u)[0] ** 2)
                res.append((e, ke, ka, abs(ke - ka), abs(m2 - s2)))
            r0 = res[0][3]
            e_arr = np.array([r[0] for r in res[1:]])
            d_arr = np.array([r[3] for r in res[1:]])
            slope = float(np.polyfit(np.log(e_arr), np.log(d_arr), 1)[0])
        out.append(Result(
            CLAIM, f"{act}: κ4 exact at ρ = 0 (N = 2, D = 2, teacher)", SECTION,
            "polar Gauss-Legendre quadrature (64 × panels, 160 radial) vs leading_cumulants",
            r0, "|κ4 exact − analytic| at ρ = 0", 1e-9, verdict(r0, 1e-9),
            {"rows": [dict(zip(("eps", "exact", "analytic", "abs_diff", "var_diff"), r)) for r in res]},
            seconds=t.seconds))
        out.append(Result(
            CLAIM, f"{act}: residual is O(ρ³) (exact through ρ²)", SECTION,
            "log-log slope of |κ4 exact − analytic| over ρ = 0.2 … 0.0125",
            -slope, "minus the slope", -2.5, "pass" if slope >= 2.5 else "fail",
            {"slope": slope, "eps": e_arr.tolist(), "residual": d_arr.tolist()}, seconds=t.seconds))
    # N = 6 in D = 2: far outside the expansion (ρ = O(1)); information only
    rng = np.random.default_rng(10)
    A6 = rng.standard_normal((6, 2))
    W6 = rng.standard_normal((1, 6))
    Wt6 = rng.standard_normal((1, 2))
    for act in ("sign", "erf2"):
        gen = SingleLayerGenerator(A6, act)
        lc = leading_cumulants(gen, W6, Wt6)
        ka = float(lc.kappas(u)[1][0])
        ke, _ = exact_kappa4_d2(A6, act, W6, Wt6, u)
        out.append(Result(CLAIM, f"{act}: N = 6, D = 2 (ρ = O(1), outside the expansion)", SECTION,
                          "polar quadrature vs leading_cumulants", abs(ke - ka), "|κ4 exact − analytic|", None,
                          "info", {"exact": ke, "analytic": ka}))
    return out


def mc_points(acts=("sign", "erf2"), Ns=(64, 128), n=1_000_000, seed=0):
    """Analytic vs Monte Carlo κ4 along the analytic direction (K = M = 1, δ = 1/2)."""
    rows = []
    for act in acts:
        for N in Ns:
            D = N // 2
            gen = random_single_layer(N, D, act, seed=seed + N)
            W, Wt = draw_weights(N, D, 1, 1, seed=seed + N + 1)
            r = analytic_dms(gen, W, Wt)
            lam, nu = sample_fields(gen, W, Wt, n, seed=seed + N + 2)
            y = np.concatenate([lam, nu], axis=1) @ r.direction
            ks = k_statistics(y)
            s4 = r.sigma_u**4
            rows.append({"activation": act, "N": N, "D": D, "n": n, "analytic": r.kappa4, "tau": r.kappa4_truncation,
                         "mc": ks["k4"] / s4, "se": ks["se_k4"] / s4})
    return rows


def chi2(rows, with_tau=True):
    return float(sum((r["mc"] - r["analytic"]) ** 2 / (r["se"] ** 2 + (r["tau"] ** 2 if with_tau else 0.0))
                     for r in rows))


def check_mc(full=False):
    out = []
    Ns = (64, 128, 256, 512) if full else (64, 128)
    n = 2_000_000 if full else 600_000
    with Timer() as t:
        rows = mc_points(Ns=Ns, n=n)
    c2, c2n = chi2(rows), chi2(rows, with_tau=False)
    k = len(rows)
    p = float(_chi2.sf(c2, k))
    worst = max(abs(r["mc"] - r["analytic"]) / math.sqrt(r["se"] ** 2 + r["tau"] ** 2) for r in rows)
    out.append(Result(CLAIM, f"κ4 analytic vs Monte Carlo, sign and erf2, N = {Ns[0]}…{Ns[-1]}", SECTION,
                      f"k-statistic of y = z·u, n = {n}, influence SEs; tolerance per point 3·√(se² + τ4²)",
                      worst, "max |MC − analytic| / √(se² + τ4²)", 3.0, verdict(worst, 3.0),
                      {"rows": rows, "chi2": c2, "chi2_without_tau": c2n, "dof": k, "p_value": p}, seconds=t.seconds))
    return out


def slope_points(act, Ns, seeds=(0, 1, 2)):
    """Analytic |κ4| at each N for each seed (K = M = 1, δ = 1/2): array (len(Ns), len(seeds))."""
    out = np.empty((len(Ns), len(seeds)))
    for a, N in enumerate(Ns):
        for b, sd in enumerate(seeds):
            gen = random_single_layer(N, N // 2, act, seed=1000 * sd + N)
            W, Wt = draw_weights(N, N // 2, 1, 1, seed=1000 * sd + N + 1)
            out[a, b] = abs(analytic_dms(gen, W, Wt).kappa4)
    return out


def check_slope(full=False):
    """(c): slope of the seed-mean |κ4| against −1, with its standard error from the seeds."""
    out = []
    Ns = (256, 512, 1024, 2048, 4096) if full else (128, 256, 512, 1024)
    for act in ("sign", "erf2"):
        with Timer() as t:
            k = slope_points(act, Ns)
            x = np.log(np.asarray(Ns, float))
            ym = np.log(k.mean(axis=1))
            se = k.std(axis=1, ddof=1) / np.sqrt(k.shape[1]) / k.mean(axis=1)  # SE of log mean
            w = 1.0 / se**2
            X = np.stack([np.ones_like(x), x], axis=1)
            cov = np.linalg.inv(X.T @ (w[:, None] * X))
            beta = cov @ X.T @ (w * ym)
            slope, sslope = float(beta[1]), float(math.sqrt(cov[1, 1]))
            z = abs(slope + 1.0) / sslope
        out.append(Result(CLAIM, f"{act}: |κ4| ~ N^-1 (N = {Ns[0]}…{Ns[-1]}, 3 seeds)", SECTION,
                          "weighted log-log fit of the seed-mean analytic |κ4|, SEs from the seeds",
                          z, "|slope + 1| / se(slope)", 3.0, verdict(z, 3.0),
                          {"N": list(Ns), "abs_kappa4": k.tolist(),
                           "N_kappa4_mean": (np.array(Ns) * k.mean(axis=1)).tolist(),
                           "slope": slope, "slope_se": sslope}, seconds=t.seconds))
    return out


def check(full: bool = False) -> list:
    """Run claim 10 (docs/theory.md §4.2)."""
    return check_exact() + check_mc(full) + check_slope(full)
