"""Claim 1 -- Hermite facts (docs/theory.md §3).

Claims
------
(a) Orthogonality: E[He_k(ζ) He_l(ζ)] = k! δ_kl for the probabilists' Hermite
    polynomials, ζ ~ N(0, 1).
(b) The table of §3 at s = 1: μ0, μ1, E σ², μ*² = E σ² − μ0² − μ1² are
    sign (0, √(2/π), 1, 1 − 2/π), erf2 = erf(x/√2) (0, 1/√π, 1/3, 1/3 − 1/π),
    relu (1/√(2π), 1/2, 1/2, 1/4 − 1/(2π)), tanh (0, ≈0.6057, ≈0.3943, ≈0.0274),
    and plain erf has μ1 = 2/√(3π) -- to 30 digits.
(c) getheory's float64 coefficients (hermite_coefficients, hermite_mu,
    chaos_coefficients) agree with the 40-digit reference.
(d) Parseval: Σ_k μ_k²/k! = E σ(ζ)²; the number of terms needed for a tail
    below 1e-12 for each built-in activation, and the slow tail of sign
    (∼ (2√2/π^{3/2}) K^{-1/2}) and relu (∼ K^{-3/2}).

Method
------
References come from :mod:`getheory._claims._mpref` (composite
Gauss--Legendre panels in mpmath, split at 0, 40 digits; Hermite
polynomials by their recursion, cross-checked against ``mpmath.hermite``).
Closed-form coefficient sequences for the Parseval sums use only
He_{k+1}(0) = −k He_{k-1}(0), written out here.
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import chaos_coefficients, hermite_coefficients, hermite_mu_normalized
from ._mpref import gauss_rule, hermite_values, mp, mu_mp, second_mp
from ._result import Result, Timer, verdict

CLAIM = "1-hermite"
TITLE = "Hermite facts: orthogonality, the μ0/μ1/μ* table, Parseval"
SECTION = "docs/theory.md §3"

DPS = 40


def _orthogonality(full):
    K = 40 if full else 20
    with Timer() as t, mp.workdps(DPS + 10):
        xs, ws = gauss_rule(DPS, math.ceil(math.sqrt(4 * K + 2)) + 14.0)
        G = [[mp.zero] * (K + 1) for _ in range(K + 1)]
        for x, w in zip(xs, ws):
            H = hermite_values(x, K)
            for k in range(K + 1):
                wk = w * H[k]
                for l in range(k, K + 1):
                    G[k][l] += wk * H[l]
        err = mp.zero
        for k in range(K + 1):
            for l in range(k, K + 1):
                ref = mp.factorial(k) if k == l else mp.zero
                err = max(err, abs(G[k][l] - ref) / mp.sqrt(mp.factorial(k) * mp.factorial(l)))
        # the recursion against mpmath's physicists' Hermite: He_k(x) = 2^{-k/2} H_k(x/√2)
        rec = mp.zero
        for x in (mp.mpf("-3.7"), mp.mpf("0.3"), mp.mpf("5.1")):
            H = hermite_values(x, K)
            for k in range(K + 1):
                ref = mp.hermite(k, x / mp.sqrt(2)) / mp.power(2, mp.mpf(k) / 2)
                rec = max(rec, abs(H[k] - ref) / max(1, abs(ref)))
    prec = float(max(err, rec))
    return Result(
        CLAIM, f"orthogonality E[He_k He_l] = k! δ_kl for k, l ≤ {K}", SECTION,
        f"mpmath composite Gauss–Legendre (48 nodes/unit panel, {DPS} digits); recursion checked "
        "against mpmath.hermite",
        prec, "max |E[He_k He_l]/√(k! l!) − δ_kl|", 1e-30, verdict(prec, 1e-30),
        {"K": K, "gram_error": float(err), "recursion_error": float(rec)}, seconds=t.seconds,
    )


def _table():
    """The §3 table at 30 digits, and getheory's float64 hermite_coefficients against it."""
    pi = mp.pi
    out = []
    with Timer() as t, mp.workdps(DPS + 10):
        closed = {
            "sign": (mp.zero, mp.sqrt(2 / pi), mp.one, 1 - 2 / pi),
            "erf2": (mp.zero, 1 / mp.sqrt(pi), mp.one / 3, mp.one / 3 - 1 / pi),
            "relu": (1 / mp.sqrt(2 * pi), mp.mpf(1) / 2, mp.mpf(1) / 2, mp.mpf(1) / 4 - 1 / (2 * pi)),
        }
        ref = {}
        err30 = mp.zero
        rows = {}
        for name in ("sign", "erf2", "relu", "tanh"):
            mu = mu_mp(name, 1, 1, DPS)
            e2 = second_mp(name, 1, DPS)
            star2 = e2 - mu[0] ** 2 - mu[1] ** 2
            ref[name] = (mu[0], mu[1], e2, star2)
            rows[name] = {k: mp.nstr(v, 32) for k, v in zip(("mu0", "mu1", "E_sigma2", "mu_star2"), ref[name])}
            if name in closed:
                for a, b in zip(ref[name], closed[name]):
                    err30 = max(err30, abs(a - b))
        # plain erf: μ1 = 2/√(3π)
        mu_erf = mu_mp(lambda x: mp.erf(x), 1, 1, DPS)[1]
        err30 = max(err30, abs(mu_erf - 2 / mp.sqrt(3 * pi)))
        rows["erf"] = {"mu1": mp.nstr(mu_erf, 32), "closed_2_over_sqrt_3pi": mp.nstr(2 / mp.sqrt(3 * pi), 32)}
        # tanh: the table's 4-digit values
        tanh_table = (0, 0.6057, 0.3943, 0.0274)
        tanh_dev = max(abs(float(a) - b) for a, b in zip(ref["tanh"], tanh_table))
    p30 = float(err30)
    out.append(Result(
        CLAIM, "§3 table closed forms (sign, erf2, relu, plain erf μ1 = 2/√(3π)) at s = 1", SECTION,
        f"mpmath panel quadrature at {DPS} digits against the closed forms",
        p30, "max |quadrature − closed form|", 1e-30, verdict(p30, 1e-30), {"values_32_digits": rows},
        seconds=t.seconds,
    ))
    out.append(Result(
        CLAIM, "§3 table, tanh row (numerical values ≈0.6057, ≈0.3943, ≈0.0274)", SECTION,
        "mpmath panel quadrature at 40 digits, compared with the 4-digit table entries",
        tanh_dev, "max |value − table entry|", 5e-5, verdict(tanh_dev, 5e-5),
        {"tanh_32_digits": rows["tanh"]},
    ))
    # getheory float64 against the reference
    with Timer() as t:
        worst = 0.0
        per = {}
        for name in ("sign", "erf2", "relu", "tanh"):
            mu0, mu1, mus = hermite_coefficients(name, 1.0)
            r = ref[name]
            e = max(abs(mu0 - float(r[0])), abs(mu1 - float(r[1])), abs(mus - float(mp.sqrt(r[3]))))
            per[name] = e
            worst = max(worst, e)
    out.append(Result(
        CLAIM, "getheory.hermite_coefficients (float64) at s = 1 against the 40-digit reference", SECTION,
        "float64 implementation vs mpmath reference", worst, "max abs error on (μ0, μ1, μ*)", 1e-14,
        verdict(worst, 1e-14), {"per_activation": per}, seconds=t.seconds,
    ))
    return out, ref


def _higher_orders(full):
    """getheory.hermite_mu (closed and quad) at unequal scales, orders ≤ K, vs mpmath."""
    K = 40 if full else 24
    scales = (0.5, 1.0, 2.0) if full else (0.5, 2.0)
    worst = 0.0
    per = {}
    with Timer() as t:
        for name in ("sign", "erf2", "relu", "tanh"):
            for s in scales:
                with mp.workdps(DPS + 10):
                    mu = mu_mp(name, K, s, DPS)
                    ref = np.array([float(m / mp.sqrt(mp.factorial(k))) for k, m in enumerate(mu)])
                for method in ("closed", "quad") if name != "tanh" else ("quad",):
                    got = hermite_mu_normalized(name, K, s, method=method)
                    e = float(np.max(np.abs(got - ref)))
                    per[f"{name}@s={s}/{method}"] = e
                    worst = max(worst, e)
    return Result(
        CLAIM, f"getheory Hermite coefficients μ_k(s)/√k!, k ≤ {K}, s ∈ {scales}, closed forms and quadrature",
        SECTION, "float64 implementation vs mpmath panel quadrature at 40 digits",
        worst, "max abs error on μ_k/√k!", 1e-13, verdict(worst, 1e-13), {"per_case": per}, seconds=t.seconds,
    )


def _closed_c2(name, K):
    """c_k = μ_k(1)²/k! for k ≤ K from He_{k+1}(0) = −k He_{k-1}(0), in mpmath."""
    c = [mp.zero] * (K + 1)
    if name == "sign" or name == "erf2":
        # μ_k = √(2/π) He_{k-1}(0) t^k (odd k), t = 1 (sign) or 1/√2 (erf2)
        t2 = mp.one if name == "sign" else mp.mpf(1) / 2
        h = mp.one  # He_{k-1}(0) for k = 1
        fact = mp.one  # k!
        for k in range(1, K + 1):
            fact *= k
            if k % 2 == 1:
                if k >= 3:
                    h = -(k - 2) * h
                c[k] = 2 / mp.pi * h * h / fact * t2**k
        return c
    if name == "relu":
        c[0] = 1 / (2 * mp.pi)
        if K >= 1:
            c[1] = mp.mpf(1) / 4
        h = mp.one  # He_{k-2}(0), k = 2
        fact = mp.mpf(2)
        for k in range(2, K + 1):
            if k > 2:
                fact *= k
            if k % 2 == 0:
                if k >= 4:
                    h = -(k - 3) * h
                c[k] = h * h / (2 * mp.pi) / fact
        return c
    raise KeyError(name)


def _tail_law(name, Ks):
    """tail(K) = E σ² − Σ_{k≤K} c_k for several K (mpmath, exact recursion), sign or relu."""
    Kmax = max(Ks)
    e2 = mp.one if name == "sign" else mp.mpf(1) / 2
    out = {}
    # ratio recursion in mpmath (no factorials): c_{k+2}/c_k
    if name == "sign":
        ck, k, S = 2 / mp.pi, 1, 2 / mp.pi
        while k < Kmax:
            ck = ck * k * k / ((k + 1) * (k + 2))
            k += 2
            S += ck
            if k in Ks or k + 1 in Ks:
                out[k if k in Ks else k + 1] = e2 - S
    else:
        ck, k, S = 1 / (4 * mp.pi), 2, 1 / (2 * mp.pi) + mp.mpf(1) / 4 + 1 / (4 * mp.pi)
        while k < Kmax:
            ck = ck * (k - 1) ** 2 / ((k + 1) * (k + 2))
            k += 2
            S += ck
            if k in Ks or k + 1 in Ks:
                out[k if k in Ks else k + 1] = e2 - S
    return out


def _erf2_partial_sums():
    """(terms for a relative tail of 1e-12, |1/3 − Σ_{k≤200} c_k|) of erf2's closed-form c_k (geometric decay)."""
    with mp.workdps(DPS + 10):
        c = _closed_c2("erf2", 200)
        S = mp.zero
        K12 = None
        for k, ck in enumerate(c):
            S += ck
            if K12 is None and mp.mpf(1) / 3 - S <= mp.mpf("1e-12") / 3:
                K12 = k
        return K12, abs(S - mp.mpf(1) / 3)


def _tanh_partial_sums(Kt, e2):
    """(μ_0..μ_Kt of tanh, terms for a relative tail of 1e-12, |E tanh² − Σ_{k≤Kt} c_k|), mpmath at 40 digits."""
    with mp.workdps(DPS + 10):
        mu = mu_mp("tanh", Kt, 1, DPS)
        S = mp.zero
        Kt12 = None
        for k, m in enumerate(mu):
            S += m * m / mp.factorial(k)
            if Kt12 is None and e2 - S <= mp.mpf("1e-12") * e2:
                Kt12 = k
        return mu, Kt12, abs(e2 - S)


def _kinked_tails(full):
    """Parseval tails of sign and relu at K = 10^j + 1, j = 2..4 (2..5 with ``full``), exact in mpmath."""
    Ks = [10**j + 1 for j in range(2, 6 if full else 5)]
    with mp.workdps(DPS + 10):
        return {n: _tail_law(n, set(Ks)) for n in ("sign", "relu")}


def _tail_fits(tails):
    """Local log-log slopes of the last decade of the tails, and the asymptotic constants (C_sign, C_relu)."""
    fits = {}
    for n, law in (("sign", -0.5), ("relu", -1.5)):
        ks = np.array(sorted(tails[n]), float)
        tl = np.array([float(tails[n][int(k)]) for k in ks])
        slope = float(np.polyfit(np.log(ks[-2:]), np.log(tl[-2:]), 1)[0])
        fits[n] = {"K": ks.tolist(), "tail": tl.tolist(), "local_slope_last_decade": slope, "expected": law}
    # asymptotic constants: sign tail ≈ (2√2/π^{3/2}) K^{-1/2}; relu tail ≈ C K^{-3/2}
    C_sign = 2 * math.sqrt(2) / math.pi**1.5
    ks, tl = fits["sign"]["K"], fits["sign"]["tail"]
    fits["sign"]["tail_times_sqrtK_last"] = tl[-1] * math.sqrt(ks[-1])
    fits["sign"]["predicted_constant"] = C_sign
    fits["sign"]["K_for_1e-12"] = (C_sign / 1e-12) ** 2
    ksr, tlr = fits["relu"]["K"], fits["relu"]["tail"]
    C_relu = tlr[-1] * ksr[-1] ** 1.5
    fits["relu"]["K_for_1e-12"] = (C_relu / (0.5e-12)) ** (2 / 3)
    return fits, C_sign, C_relu


def _erf2_result(K12, err_erf2, seconds):
    return Result(
        CLAIM, "Parseval Σ μ_k²/k! = E σ² for erf2, summed to convergence", SECTION,
        "closed-form c_k = (2/π) He_{k-1}(0)² 2^{-k}/k! in mpmath at 40 digits, k ≤ 200",
        float(err_erf2), "|E σ² − Σ c_k|", 1e-30, verdict(float(err_erf2), 1e-30),
        {"erf2_terms_for_rel_tail_1e-12": K12, "erf2_error": float(err_erf2)},
        note=f"erf2 reaches a relative tail of 1e-12 after K = {K12} terms", seconds=seconds,
    )


def _tanh_result(Kt, Kt12, rel_t):
    return Result(
        CLAIM, f"Parseval for tanh: relative tail below 1e-12 within K = {Kt} terms", SECTION,
        f"μ_k by mpmath panel quadrature at 40 digits up to order {Kt}; E tanh² at 40 digits",
        rel_t, "relative tail (E σ² − Σ_{k≤K} c_k)/E σ²", 1e-12, verdict(rel_t, 1e-12),
        {"tanh_terms_for_rel_tail_1e-12": Kt12, "tanh_rel_tail_at_K": rel_t, "tanh_K": Kt},
        note=f"tanh reaches a relative tail of 1e-12 after K = {Kt12} terms (coefficients decay like exp(-c√k))",
    )


def _kinked_result(full, fits, C_sign, C_relu):
    slope_err = max(abs(fits["sign"]["local_slope_last_decade"] + 0.5),
                    abs(fits["relu"]["local_slope_last_decade"] + 1.5))
    const_err = abs(fits["sign"]["tail_times_sqrtK_last"] / C_sign - 1)
    return Result(
        CLAIM, "Parseval tails of the kinked activations: sign ∼ K^{-1/2}, relu ∼ K^{-3/2}", SECTION,
        "exact partial sums in mpmath (c_{k+2}/c_k recursion) at K = 1e2..1e" + ("5" if full else "4")
        + "; local log-log slope of the last decade",
        float(max(slope_err, const_err)), "max(|slope − law|, |tail·√K/(2√2/π^{3/2}) − 1|)", 1e-2,
        verdict(float(max(slope_err, const_err)), 1e-2), fits,
        note=(f"sign: the tail is (2√2/π^{{3/2}}) K^{{-1/2}} ≈ {C_sign:.4f}/√K, so a tail of 1e-12 needs "
              f"K ≈ {fits['sign']['K_for_1e-12']:.1e} terms (never reachable by summation); relu: tail ≈ "
              f"{C_relu:.4f} K^{{-3/2}}, K ≈ {fits['relu']['K_for_1e-12']:.1e} terms for a relative tail 1e-12."),
    )


def _chaos_errors(name, mu, e2_tanh):
    """getheory's chaos_coefficients(name) against the exact c_k and tail (tanh: from its 40-digit μ_k)."""
    coeffs, tail = chaos_coefficients(name)
    K = len(coeffs) - 1
    if name == "tanh":
        Kc = min(K, len(mu) - 1)
        exact = [mu[k] ** 2 / mp.factorial(k) for k in range(Kc + 1)]
        e2n = e2_tanh
    else:
        Kc = K
        exact = _closed_c2(name, K)
        e2n = {"sign": mp.one, "erf2": mp.one / 3, "relu": mp.mpf(1) / 2}[name]
    ec = max(abs(float(coeffs[k]) - float(exact[k])) for k in range(Kc + 1))
    et = abs(tail - float(e2n - mp.fsum(exact[: K + 1]))) if Kc == K else float("nan")
    return {"K": K, "tail": tail, "coef_err": ec, "tail_err": et}


def _chaos_result(mu, ref):
    """getheory's chaos_coefficients against the exact c_k and tails, for every built-in."""
    with Timer() as t, mp.workdps(DPS + 10):
        per = {name: _chaos_errors(name, mu, ref["tanh"][2]) for name in ("sign", "erf2", "relu", "tanh")}
    worst_c, worst_tail = 0.0, 0.0
    for v in per.values():
        worst_c = max(worst_c, v["coef_err"])
        if v["tail_err"] == v["tail_err"]:
            worst_tail = max(worst_tail, v["tail_err"])
    p = max(worst_c, worst_tail)
    return Result(
        CLAIM, "getheory.chaos_coefficients: c_k = μ_k²/k! and the reported tail mass", SECTION,
        "float64 implementation vs closed-form c_k (sign, erf2, relu) and 40-digit quadrature (tanh)",
        p, "max abs error on c_k and on the tail", 1e-13, verdict(p, 1e-13), per, seconds=t.seconds,
        note="sign and relu stop at max_order with the tail reported: " + ", ".join(
            f"{k}: K={v['K']}, tail={v['tail']:.3g}" for k, v in per.items()),
    )


def _parseval(full, ref):
    """Parseval for each built-in, the terms needed for 1e-12, and the slow tails."""
    Kt = 140 if full else 110
    e2 = ref["tanh"][2]
    with Timer() as t:
        K12, err_erf2 = _erf2_partial_sums()
        mu, Kt12, tail_tanh = _tanh_partial_sums(Kt, e2)
        tails = _kinked_tails(full)
    fits, C_sign, C_relu = _tail_fits(tails)
    # the relative tail at mpmath's working precision outside the 40-digit blocks, as it always was
    rel_t = float(tail_tanh / e2)
    return [_erf2_result(K12, err_erf2, t.seconds), _tanh_result(Kt, Kt12, rel_t),
            _kinked_result(full, fits, C_sign, C_relu), _chaos_result(mu, ref)]


def check(full: bool = False) -> list:
    """Run every check of claim 1 (docs/theory.md §3)."""
    res = [_orthogonality(full)]
    table, ref = _table()
    res += table
    res.append(_higher_orders(full))
    res += _parseval(full, ref)
    return res
