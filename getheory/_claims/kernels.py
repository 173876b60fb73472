"""Claim 3 -- Mehler's formula and the closed-form kernels (docs/theory.md §2, §3).

For (h_i, h_j) centred bivariate normal with Var h_i = s_i², Var h_j = s_j²
and correlation ρ (C_ij = ρ s_i s_j):

(a) sign:  Cov(sign h_i, sign h_j) = (2/π) arcsin ρ            (arcsine law);
(b) erf2:  Cov = (2/π) arcsin(C_ij / √((1+s_i²)(1+s_j²)));
(c) relu:  Cov = (s_i s_j/2π)(sin θ + (π−θ) cos θ) − s_i s_j/2π, θ = arccos ρ
           (arc-cosine kernel minus the product of the means);
(d) Mehler: Cov(σ(h_i), σ(h_j)) = Σ_{k≥1} μ_k(s_i) μ_k(s_j) ρ^k / k!, checked
    for tanh (no closed form) with 40-digit coefficients, and for sign,
    erf2, relu with their closed-form coefficients;
(e) getheory's float64 ``omega_kernel`` agrees with these references across
    ρ ∈ (−1, 1) and unequal row scales.

Method
------
The reference is 2-D quadrature at high precision
(:func:`getheory._claims._mpref.cov_mp`): h_i = s_i z1,
h_j = s_j(ρ z1 + √(1−ρ²) z2); the outer integral over z1 is a 40-digit
composite Gauss--Legendre rule split at 0; the inner one over z2 is the
standard 1-D Gaussian integral (E sign(a+bz) = erf(a/(b√2)),
E erf((a+bz)/√2) = erf(a/√(2(1+b²))), E relu(a+bz) = aΦ(a/b) + bφ(a/b)) for
sign, erf2, relu, and a second 24-node-per-panel rule for tanh
(≈ 20 digits at s ≤ 2; dps 25).  The closed forms are evaluated in mpmath
from the formulas of §2 as written there.
"""

from __future__ import annotations

import numpy as np

from ..activations import omega_kernel
from ._mpref import cov_mp, mp, mu_mp
from ._result import Result, Timer, verdict

CLAIM = "3-kernels"
TITLE = "Mehler's formula and the closed-form kernels (arcsine, erf2, arc-cosine)"
SECTION = "docs/theory.md §2, §3"
DPS = 30


def _closed(name, rho, si, sj):
    pi = mp.pi
    if name == "sign":
        return 2 / pi * mp.asin(rho)
    if name == "erf2":
        C = rho * si * sj
        return 2 / pi * mp.asin(C / mp.sqrt((1 + si * si) * (1 + sj * sj)))
    if name == "relu":
        th = mp.acos(rho)
        return si * sj / (2 * pi) * (mp.sin(th) + (pi - th) * mp.cos(th)) - si * sj / (2 * pi)
    raise KeyError(name)


def _grid(full):
    rhos = ["-0.999", "-0.9", "-0.5", "-0.1", "0", "0.3", "0.7", "0.95", "0.999"]
    scales = [("1", "1"), ("0.5", "2"), ("1.7", "0.3")]
    if not full:
        rhos = ["-0.99", "-0.5", "0.3", "0.999"]
        scales = [("1", "1"), ("0.5", "2")]
    return rhos, scales


def _closed_forms(full):
    rhos, scales = _grid(full)
    out = []
    refs = {}
    with Timer() as t, mp.workdps(DPS + 10):
        worst = {}
        for name in ("sign", "erf2", "relu"):
            w = mp.zero
            for si, sj in scales:
                for r in rhos:
                    ref = cov_mp(name, r, si, sj, DPS)
                    refs[(name, r, si, sj)] = ref
                    w = max(w, abs(ref - _closed(name, mp.mpf(r), mp.mpf(si), mp.mpf(sj))))
            worst[name] = float(w)
    p = max(worst.values())
    out.append(Result(
        CLAIM, f"closed-form kernels (arcsine for sign, erf2, arc-cosine for relu), ρ ∈ {{{', '.join(rhos)}}}, "
        f"(s_i, s_j) ∈ {scales}", SECTION,
        f"iterated 2-D quadrature in mpmath ({DPS} digits; inner integral closed form) vs the §2 formulas",
        p, "max abs difference", 1e-25, verdict(p, 1e-25), {"per_activation": worst}, seconds=t.seconds,
    ))
    # getheory's float64 kernel against the reference
    with Timer() as t:
        worst_g = {}
        for name in ("sign", "erf2", "relu"):
            w = 0.0
            for si, sj in scales:
                for r in rhos:
                    C = np.array([[float(r) * float(si) * float(sj)]])
                    got = float(omega_kernel(name, C, np.array([float(si)]), np.array([float(sj)]))[0, 0])
                    ref = refs[(name, r, si, sj)]
                    w = max(w, abs(got - float(ref)) / max(float(si) * float(sj), 1.0) if name == "relu"
                            else abs(got - float(ref)))
            worst_g[name] = w
    p = max(worst_g.values())
    out.append(Result(
        CLAIM, "getheory.omega_kernel (float64) for sign, erf2, relu on the same grid", SECTION,
        "float64 implementation vs the mpmath 2-D quadrature", p, "max abs error (relu: relative to s_i s_j ∨ 1)",
        1e-14, verdict(p, 1e-14), {"per_activation": worst_g}, seconds=t.seconds,
    ))
    return out


def _mehler_closed_coeffs(name, K, s):
    """μ_k(s)/√k! for k ≤ K from the closed forms (He_{k+1}(0) = −k He_{k-1}(0)), mpmath."""
    c = [mp.zero] * (K + 1)
    if name in ("sign", "erf2"):
        t = mp.one if name == "sign" else s / mp.sqrt(1 + s * s)
        h, f = mp.one, mp.one
        for k in range(1, K + 1):
            f *= k
            if k % 2:
                if k >= 3:
                    h = -(k - 2) * h
                c[k] = mp.sqrt(2 / mp.pi) * h * t**k / mp.sqrt(f)
    elif name == "relu":
        c[0], c[1] = s / mp.sqrt(2 * mp.pi), s / 2
        h, f = mp.one, mp.mpf(2)
        for k in range(2, K + 1):
            if k > 2:
                f *= k
            if k % 2 == 0:
                if k >= 4:
                    h = -(k - 3) * h
                c[k] = s * h / mp.sqrt(2 * mp.pi) / mp.sqrt(f)
    return c


def _mehler(full):
    """Mehler's series against the 2-D quadrature (and getheory's Mehler path for tanh)."""
    out = []
    # closed-form coefficients, |ρ| ≤ 0.9: Σ_{k≤K} until the tail is below 1e-28
    pts = [("0.9", "1", "1"), ("-0.6", "0.5", "2"), ("0.3", "1.7", "0.3")]
    with Timer() as t, mp.workdps(DPS + 10):
        worst = mp.zero
        Kused = {}
        for name in ("sign", "erf2", "relu"):
            for r, si, sj in pts:
                rm, a, b = mp.mpf(r), mp.mpf(si), mp.mpf(sj)
                K = 1400 if name != "erf2" else 300
                ca, cb = _mehler_closed_coeffs(name, K, a), _mehler_closed_coeffs(name, K, b)
                S = mp.fsum(ca[k] * cb[k] * rm**k for k in range(1, K + 1))
                worst = max(worst, abs(S - cov_mp(name, r, si, sj, DPS)))
                Kused[f"{name}@{r},{si},{sj}"] = K
    p = float(worst)
    out.append(Result(
        CLAIM, "Mehler's formula with closed-form coefficients (sign, erf2, relu), unequal scales, |ρ| ≤ 0.9", SECTION,
        f"Σ_{{k≤K}} μ_k(s_i)μ_k(s_j)ρ^k/k! in mpmath (K = 1400, tail < 0.9^1400) vs 2-D quadrature ({DPS} digits)",
        p, "max abs difference", 1e-25, verdict(p, 1e-25), {"K": Kused}, seconds=t.seconds,
    ))
    # tanh: 40-digit quadrature coefficients vs genuine 2-D quadrature
    tpts = [("-0.7", "0.6", "1.5")]
    if full:
        tpts += [("0.5", "1", "1"), ("0.9", "1.2", "0.8"), ("0.2", "2", "0.5")]
    K = 110
    with Timer() as t2:
        w_m, w_g = mp.zero, 0.0
        per = {}
        coef_cache = {}
        for r, si, sj in tpts:
            with mp.workdps(DPS + 10):
                for s in (si, sj):
                    if s not in coef_cache:
                        mu = mu_mp("tanh", K, s, 40)
                        coef_cache[s] = [m / mp.sqrt(mp.factorial(k)) for k, m in enumerate(mu)]
                rm = mp.mpf(r)
                S = mp.fsum(coef_cache[si][k] * coef_cache[sj][k] * rm**k for k in range(1, K + 1))
                ref = cov_mp("tanh", r, si, sj, 25)
                e = abs(S - ref)
            C = np.array([[float(r) * float(si) * float(sj)]])
            got = float(omega_kernel("tanh", C, np.array([float(si)]), np.array([float(sj)]))[0, 0])
            eg = abs(got - float(ref))
            per[f"rho={r},s=({si},{sj})"] = {"mehler_vs_2d": float(e), "getheory_vs_2d": eg,
                                             "reference": mp.nstr(ref, 22)}
            w_m = max(w_m, e)
            w_g = max(w_g, eg)
    p = float(w_m)
    out.append(Result(
        CLAIM, f"Mehler's formula for tanh (no closed form) at {len(tpts)} points, unequal scales", SECTION,
        f"Σ_{{k≤{K}}} with 40-digit quadrature coefficients vs genuine 2-D tensor Gauss–Legendre quadrature "
        "(dps 25, ≈ 20 correct digits)",
        p, "max abs difference", 1e-18, verdict(p, 1e-18), per, seconds=t2.seconds,
    ))
    out.append(Result(
        CLAIM, "getheory.omega_kernel for tanh (float64 Mehler path) vs the 2-D quadrature", SECTION,
        "float64 implementation vs mpmath 2-D quadrature", w_g, "max abs error", 1e-12, verdict(w_g, 1e-12), per,
        note="tolerance = omega_kernel's documented Mehler truncation tol (1e-12 relative to √(V_i V_j), "
        "V ≤ 1 for tanh) -- the implementation's own contract, not a tuned value",
    ))
    return out


def check(full: bool = False) -> list:
    """Run every check of claim 3 (docs/theory.md §2, §3)."""
    return _closed_forms(full) + _mehler(full)
