"""Claim 2 -- Stein's lemma and the exact Φ of single-layer generators (docs/theory.md §2).

Claims
------
(a) Stein's lemma in one dimension, E[ζ f(sζ)] = s E f'(sζ), for tanh, erf2
    and relu (f' = 1{x > 0} almost everywhere) at several scales s.
(b) For sign the derivative is distributional: E sign'(sζ) = 2φ(0)/s =
    √(2/π)/s, i.e. E[ζ sign(sζ)] = √(2/π) for every s > 0; and the smooth
    approximations σ_ε(x) = erf(x/(ε√2)) have E σ_ε'(sζ) = √(2/π)/√(s²+ε²)
    → √(2/π)/s as ε → 0, with error O(ε²).
(c) The exact cross-covariance Φ = diag(E σ'(h_i)) A/√D (Stein's lemma in D
    dimensions): getheory's ``exact_moments(...).Phi`` against a 40-digit
    reference built from E[ζ σ(s_i ζ)]/s_i, and against Monte Carlo with
    derived error bars (Bonferroni over all N·D entries, family-wise level
    1e-3).

Method
------
mpmath panel quadrature (:mod:`getheory._claims._mpref`) at 40 digits;
``mpmath.quad`` with breakpoints at 0, ±ε, ±10ε for the narrow σ_ε'; plain
NumPy Monte Carlo (independent of getheory's samplers) for (c).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.special import erf
from scipy.stats import norm

from ..generators import SingleLayerGenerator
from ..moments import exact_moments
from ._mpref import MP_ACTIVATIONS, expect_mp, mp
from ._result import Result, Timer, verdict

CLAIM = "2-stein"
TITLE = "Stein's lemma and the exact Φ of single-layer generators"
SECTION = "docs/theory.md §2"
DPS = 40

_DERIV = {
    "tanh": lambda x: 1 - mp.tanh(x) ** 2,
    "erf2": lambda x: mp.sqrt(2 / mp.pi) * mp.exp(-x * x / 2),
    "relu": lambda x: mp.one if x > 0 else mp.zero,
}


def _stein_1d(full):
    scales = ("0.3", "1", "2.5", "4") if full else ("0.3", "1", "2.5")
    worst = mp.zero
    per = {}
    with Timer() as t, mp.workdps(DPS + 10):
        for name, d in _DERIV.items():
            f = MP_ACTIVATIONS[name]
            for s in scales:
                sm = mp.mpf(s)
                lhs = expect_mp(lambda x: x * f(sm * x), DPS)
                rhs = sm * expect_mp(lambda x: d(sm * x), DPS)
                e = abs(lhs - rhs) / max(abs(lhs), mp.mpf("1e-300"))
                per[f"{name}@s={s}"] = float(e)
                worst = max(worst, e)
    p = float(worst)
    return Result(
        CLAIM, f"Stein's lemma E[ζ f(sζ)] = s E f'(sζ) for tanh, erf2, relu, s ∈ {scales}", SECTION,
        f"mpmath panel quadrature at {DPS} digits (split at 0)", p, "max relative difference", 1e-30,
        verdict(p, 1e-30), per, seconds=t.seconds,
    )


def _sign_distributional(full):
    out = []
    with Timer() as t, mp.workdps(DPS + 10):
        worst = mp.zero
        for s in ("0.2", "1", "3"):
            sm = mp.mpf(s)
            lhs = expect_mp(lambda x: x * mp.sign(sm * x), DPS)
            worst = max(worst, abs(lhs - mp.sqrt(2 / mp.pi)))  # = s · (2φ(0)/s)
        # smoothing: E σ_ε'(sζ) with σ_ε' = √(2/π)/ε exp(-x²/(2ε²)), by mpmath.quad
        eps_list = ["1e-1", "1e-2", "1e-3", "1e-4"] + (["1e-5", "1e-6"] if full else [])
        s = mp.mpf(1)
        errs = []
        closed_err = mp.zero
        for e in eps_list:
            em = mp.mpf(e)

            def g(x, em=em):
                return mp.sqrt(2 / mp.pi) / em * mp.exp(-(s * x) ** 2 / (2 * em * em)) * mp.npdf(x)

            val = mp.quad(g, [-mp.inf, -10 * em, -em, 0, em, 10 * em, mp.inf])
            closed_err = max(closed_err, abs(val - mp.sqrt(2 / mp.pi) / mp.sqrt(s * s + em * em)))
            errs.append(float(abs(val - mp.sqrt(2 / mp.pi) / s)))
    rate = float(np.polyfit(np.log([float(e) for e in eps_list[1:]]), np.log(errs[1:]), 1)[0])
    p = float(worst)
    out.append(Result(
        CLAIM, "sign, distributional derivative: E[ζ sign(sζ)] = s · 2φ(0)/s = √(2/π) for s ∈ {0.2, 1, 3}",
        SECTION, f"mpmath panel quadrature at {DPS} digits, split at the jump", p, "max abs difference", 1e-30,
        verdict(p, 1e-30), {},
    ))
    p2 = max(abs(rate - 2.0), float(closed_err))
    out.append(Result(
        CLAIM, "sign as the limit of σ_ε = erf(x/(ε√2)): E σ_ε'(ζ) → √(2/π) with error O(ε²)", SECTION,
        "mpmath.quad with breakpoints at 0, ±ε, ±10ε; log-log slope of the error over ε = "
        + ", ".join(eps_list[1:]),
        p2, "max(|fitted slope − 2|, |quadrature − √(2/π)/√(1+ε²)|)", 1e-3, verdict(p2, 1e-3),
        {"eps": eps_list, "error": errs, "fitted_slope": rate, "closed_form_error": float(closed_err)},
        seconds=t.seconds,
    ))
    return out


def _exact_phi(full):
    """getheory's exact Φ against the 40-digit reference and against Monte Carlo."""
    N, D = (10, 7) if not full else (16, 12)
    n = 400_000 if not full else 2_000_000
    rng = np.random.default_rng(20240601)
    A = rng.standard_normal((N, D)) * rng.uniform(0.4, 2.0, size=(N, 1))  # unequal row scales
    out = []
    ref_err, z_max, se_max = 0.0, 0.0, 0.0
    per = {}
    alpha = 1e-3

    acts = ("sign", "erf2", "tanh", "relu")
    zcrit = float(norm.isf(alpha / (2 * N * D * len(acts) * 2)))  # Φ and E x, all activations
    with Timer() as t:
        C = rng.standard_normal((n, D))
        H = C @ A.T / math.sqrt(D)
        for name in acts:
            gen = SingleLayerGenerator(A, name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Ω's Mehler tail (tanh) is not the subject here
                mom = exact_moments(gen)
            s = np.linalg.norm(A, axis=1) / math.sqrt(D)
            f = MP_ACTIVATIONS[name]
            with mp.workdps(DPS):
                ed = [float(expect_mp(lambda x, si=mp.mpf(float(si)): x * f(si * x), 25) / mp.mpf(float(si)))
                      for si in s]
                em = [float(expect_mp(lambda x, si=mp.mpf(float(si)): f(si * x), 25)) for si in s]
            Phi_ref = np.array(ed)[:, None] * A / math.sqrt(D)
            e = float(np.max(np.abs(mom.Phi - Phi_ref)) / np.max(np.abs(Phi_ref)))
            e = max(e, float(np.max(np.abs(mom.mean - np.array(em)))))
            ref_err = max(ref_err, e)
            # Monte Carlo: Φ_ij = E[σ(h_i) c_j], entrywise standard errors from the sample
            X = {"sign": np.sign, "erf2": lambda h: erf(h / math.sqrt(2)),
                 "tanh": np.tanh, "relu": lambda h: np.maximum(h, 0.0)}[name](H)
            Xc = X - X.mean(axis=0)
            Phi_mc = Xc.T @ C / n
            se = np.sqrt(np.maximum((Xc**2).T @ (C**2) / n - Phi_mc**2, 0) / n)
            z = np.abs(Phi_mc - mom.Phi) / se
            zm = np.abs(X.mean(axis=0) - mom.mean) / (X.std(axis=0) / math.sqrt(n))
            per[name] = {"ref_rel_err": e, "max_z_Phi": float(z.max()), "max_z_mean": float(zm.max()),
                         "max_se_Phi": float(se.max())}
            z_max = max(z_max, float(z.max()), float(zm.max()))
            se_max = max(se_max, float(se.max()))
    out.append(Result(
        CLAIM, f"exact Φ = diag(E σ'(h_i)) A/√D and E x of getheory (N={N}, D={D}, unequal row scales)", SECTION,
        "getheory.exact_moments (float64) vs 25-digit mpmath E[ζσ(s_iζ)]/s_i and E σ(s_iζ)", ref_err,
        "max relative error on Φ / abs error on E x", 1e-13, verdict(ref_err, 1e-13), per, seconds=t.seconds,
    ))
    out.append(Result(
        CLAIM, f"exact Φ and E x against Monte Carlo, n = {n}", SECTION,
        f"entrywise z-scores with sample standard errors; Bonferroni critical value {zcrit:.2f} for family-wise "
        f"level {alpha} over {2 * N * D * len(acts)} tests (derived, not tuned)",
        se_max, "largest standard error of a Φ entry", None, "pass" if z_max < zcrit else "fail",
        {"max_abs_z": z_max, "critical_z": zcrit, "per_activation": per},
        note=(f"largest |z| = {z_max:.2f} < {zcrit:.2f}" if z_max < zcrit
              else f"largest |z| = {z_max:.2f} ≥ {zcrit:.2f}"),
    ))
    return out


def check(full: bool = False) -> list:
    """Run every check of claim 2 (docs/theory.md §2)."""
    return [_stein_1d(full), *_sign_distributional(full), *_exact_phi(full)]
