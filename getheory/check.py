"""`getheory check`: test one generator against the theorem (docs/theory.md §6).

:func:`check_generator` runs, for one generator and one draw of weights,

1. the moments (exact for single-layer generators, Monte Carlo otherwise),
   and the Gaussian match P̂ of (λ, ν) (§2);
2. n streamed samples of (λ, ν) (§1);
3. every d_MS estimate of §4: plug-in with floor, excess, certified upper
   bound, and the cumulant/Edgeworth estimate;
4. every bound term of §5 (single-layer generators);
5. each condition of §6 with its verdict and the numbers behind it.

It returns a :class:`CheckResult`; printing and JSON files are left to the
command line (:mod:`getheory.cli`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._seeds import CHECK
from ._deadline import Deadline
from ._version import __version__
from ._json import to_plain as _plain
from ._validation import finite_matrix, positive_int
from .activations import chaos_coefficients, get_activation, hermite_coefficients
from .backend import Backend, get_backend
from .bounds import BoundTerms, bound_terms
from .distances import DmsOptions, FieldStream, MomentNoise, StreamOptions, estimate_dms
from .fields import stream_fields
from .generators import Generator, SingleLayerGenerator, random_single_layer
from .moments import exact_moments, gaussian_match, monte_carlo_moments
from .plan import Plan, PlanOptions, plan_samples

__all__ = ["check_generator", "CheckResult", "Condition", "draw_weights"]


@dataclass
class Condition:
    """One condition of §6: its verdict (``pass``, ``warn``, ``fail``, ``info``) and numbers."""

    name: str
    verdict: str
    detail: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self):
        return {"name": self.name, "verdict": self.verdict, "detail": self.detail, "numbers": _plain(self.numbers)}


@dataclass
class CheckResult:
    """Everything :func:`check_generator` measured; ``to_dict()`` is JSON-ready."""

    generator: dict
    sizes: dict
    moments_source: str
    match: dict
    dms: object
    bounds: BoundTerms | None
    bounds_note: str
    conditions: list
    timings: dict
    settings: dict
    plan: Plan | None = None
    analytic: dict | None = None

    def to_dict(self) -> dict:
        return {
            "getheory_version": __version__,
            "generator": self.generator,
            "sizes": self.sizes,
            "settings": _plain(self.settings),
            "moments_source": self.moments_source,
            "gaussian_match": _plain(self.match),
            "d_MS": self.dms.to_dict(),
            "bound_terms": self.bounds.to_dict() if self.bounds is not None else None,
            "bound_terms_note": self.bounds_note,
            "conditions": [c.to_dict() for c in self.conditions],
            "timings_s": self.timings,
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "analytic": _plain(self.analytic),
        }

    def format(self) -> str:
        """A readable plain-text table of the result."""
        d = self.dms.to_dict()
        lines = []
        g = self.generator
        lines.append(f"getheory {__version__} check: {g.get('kind')} {g.get('activation', g.get('name', ''))}")
        lines.append("  sizes: " + ", ".join(f"{k}={v}" for k, v in self.sizes.items()))
        lines.append(f"  moments: {self.moments_source}")
        if self.plan is not None:
            lines.append(f"  samples: {self.plan.statement()}")
        lines.append("")
        lines.append("d_MS(P, P̂)  (docs/theory.md §4)")
        pl, fl, cu, ce = d["plug_in"], d["floor"], d["cumulant"], d["certified"]
        rows = [(f"d_MS ({d['estimator']})", f"{d['value']:.5g} ± {d['se']:.2g}")]
        if pl is not None:
            rows += [
                (f"plug-in max-sliced W{pl.get('p', 1)} (n = {d['n_plugin']:,})", f"{pl['value']:.5g}"),
                (f"floor, {fl['replicates']} Gaussian replicates (mean / threshold)",
                 f"{fl['mean']:.5g} / {fl['threshold']:.5g}"),
                ("excess = plug-in − floor mean", f"{d['excess']:.5g}"),
                (f"plug-in resolves the signal (level {fl['exact_level']:.3g})", "yes" if d["resolved"] else "no"),
                ("upper bound, plug-in + ε_n (searched sup)", f"{d['calibrated_upper_bound']:.5g}"),
            ]
        if ce is not None:
            rows.append((f"certified upper bound ({100 * ce['confidence']:.0f}%, rigorous gap)",
                         f"{ce['value']:.5g}  (search gap {ce['search_gap']:.3g})"))
        if cu is not None:
            rows += [
                (f"κ3, κ4 (held out: n = {cu['n_eval']:,}, {cu['groups_eval']} groups)",
                 f"{cu['kappa3']:.3g} ± {cu['se_kappa3']:.2g}, {cu['kappa4']:.3g} ± {cu['se_kappa4']:.2g}"),
                ("z of κ3, κ4 (jackknife SE)", f"{cu['z_kappa3']:.2f}, {cu['z_kappa4']:.2f}"),
                ("Edgeworth W1", f"{cu['edgeworth_w1']:.4g} ± {cu['edgeworth_se']:.2g}"),
                (f"cumulants resolve the signal (level {cu['level']:g})", "yes" if cu["resolved"] else "no"),
            ]
        w = max(len(r[0]) for r in rows)
        lines += [f"  {a:<{w}}  {b}" for a, b in rows]
        if "statement" in d:
            lines.append("  → " + d["statement"])
        if self.analytic is not None:
            a, smp = self.analytic["analytic"], self.analytic["sampled_along_analytic_direction"]
            lines.append("")
            lines.append("without sampling: leading-order cumulants  (docs/theory.md §4.2)")
            arows = [
                ("κ3 analytic / sampled (same direction)",
                 f"{a['kappa3']:.4g} ± {a['kappa3_truncation']:.2g} / {smp['kappa3']:.4g} ± {smp['se_kappa3']:.2g}"),
                ("κ4 analytic / sampled (same direction)",
                 f"{a['kappa4']:.4g} ± {a['kappa4_truncation']:.2g} / {smp['kappa4']:.4g} ± {smp['se_kappa4']:.2g}"),
                ("Edgeworth d_MS analytic (± truncation)", f"{a['edgeworth_w1']:.4g} ± {a['truncation_error']:.2g}"),
            ]
            z4 = self.analytic.get("z_kappa4_sampled_minus_analytic")
            if z4 is not None:
                arows.append(("sampled − analytic κ4, in combined SEs", f"{z4:.2f}"))
            lines += [f"  {x:<{w}}  {y}" for x, y in arows]
        lines.append("")
        lines.append("bound terms  (docs/theory.md §5)")
        if self.bounds is not None:
            b = self.bounds
            rows = [
                ("B(W, M1)  (even chaos)", b.M1_term),
                ("B(W, M2)  (odd chaos)", b.M2_term),
                ("teacher  N^-1/2 ‖W̃Aᵀ‖²/D²", b.teacher_term),
                ("N^-1/2", b.n_term),
            ]
            lines += [f"  {a:<{w}}  {v:.5g}" for a, v in rows]
            lines.append(f"  {'chaos order kept / tail bound':<{w}}  {b.chaos_order} / {b.truncation_error:.2g}")
        else:
            lines.append("  " + self.bounds_note)
        lines.append("")
        lines.append("conditions  (docs/theory.md §6)")
        for c in self.conditions:
            lines.append(f"  [{c.verdict.upper():4}] {c.name}: {c.detail}")
        lines.append("")
        lines.append("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))
        return "\n".join(lines)


def draw_weights(N: int, D: int, K: int, M: int, seed=None, *, ensemble="gaussian"):
    """Student (K, N) and teacher (M, D) weights with i.i.d. N(0, 1) entries (§1).

    ``ensemble="abs_gaussian"`` takes |N(0, 1)| student entries (non-zero third
    moment, §4 (c)).
    """
    rng = np.random.default_rng(seed)
    W_student = rng.standard_normal((K, N))
    if ensemble == "abs_gaussian":
        W_student = np.abs(W_student)
    elif ensemble != "gaussian":
        raise ValueError(f"unknown weight ensemble {ensemble!r}: use 'gaussian' or 'abs_gaussian'")
    W_teacher = rng.standard_normal((M, D))
    return W_student, W_teacher


def _weight_spread(W_student) -> Condition:
    """§6: no student unit dominated by a few weights (max_i |w_ki| / ‖w_k‖ small)."""
    N = W_student.shape[1]
    spread_w = float(np.max(np.abs(W_student) / np.linalg.norm(W_student, axis=1, keepdims=True)))
    # for Gaussian weights the largest of N |w_i|/‖w‖ is ≈ √(2 log N / N)
    refw = math.sqrt(2 * max(math.log(N), 1.0) / N)
    return Condition(
        "student weights spread",
        "pass" if spread_w <= 2 * refw and spread_w < 0.5 else "warn",
        f"max_k,i |w_ki|/‖w_k‖ = {spread_w:.4g} vs √(2 log N/N) = {refw:.4g} (pass if ≤ 2× and < 0.5)",
        {"max_weight_fraction": spread_w, "reference": refw},
    )


def _conditions_single_layer(gen: SingleLayerGenerator, W_student, bounds: BoundTerms) -> list:
    """The §6 checks for a single-layer generator, each with its numbers."""
    N, D = gen.N, gen.D
    act = gen.activation
    out = []
    mu0, mu1, mus = hermite_coefficients(act, 1.0)
    coeffs, tail = chaos_coefficients(act)
    Es2 = mu0**2 + mu1**2 + mus**2
    finite = math.isfinite(Es2)
    out.append(Condition(
        "finite second moment, Hermite series converges",
        "pass" if finite and tail < 0.1 * max(Es2, 1e-300) else ("warn" if finite else "fail"),
        f"E σ(ζ)² = {Es2:.6g} < ∞, so Σ μ_k²/k! converges (Parseval); tail mass beyond order "
        f"{len(coeffs) - 1}: {tail:.2g} (warn if > 10 % of E σ²)",
        {"E_sigma2": Es2, "tail_mass": float(tail), "order": len(coeffs) - 1},
    ))
    s2 = gen.row_scales**2
    spread = float(np.max(np.abs(s2 - s2.mean())) / s2.mean())
    # for Gaussian rows s_i² ~ χ²_D/D: max deviation ≈ 2√(log N / D)
    thr = 4 * math.sqrt(max(math.log(N), 1.0) / D)
    out.append(Condition(
        "row scales concentrated",
        "pass" if spread <= thr else "warn",
        f"s_i ∈ [{math.sqrt(s2.min()):.4g}, {math.sqrt(s2.max()):.4g}], max |s_i²/mean − 1| = {spread:.3g} "
        f"(threshold 4√(log N/D) = {thr:.3g})",
        {"s_min": math.sqrt(s2.min()), "s_max": math.sqrt(s2.max()), "spread": spread, "threshold": thr},
    ))
    coh = bounds.max_offdiag_rho
    ref = math.sqrt(max(math.log(N), 1.0) / D)
    out.append(Condition(
        "coherence max_{i≠j} |ρ_ij| small",
        "pass" if coh <= 3 * ref and coh < 0.9 else "fail" if coh >= 0.9 else "warn",
        f"max |ρ_ij| = {coh:.4g} vs √(log N/D) = {ref:.4g} (pass if ≤ 3× and < 0.9)",
        {"coherence": coh, "sqrt_logN_over_D": ref},
    ))
    out.append(Condition(
        "inputs centred (μ0 ≈ 0)",
        "pass" if abs(mu0) < 1e-12 else "info",
        f"μ0 = {mu0:.6g}" + ("" if abs(mu0) < 1e-12 else "; non-zero mean is carried by m = W E x/√N in P̂"),
        {"mu0": mu0},
    ))
    terms = {"M1": bounds.M1_term, "M2": bounds.M2_term, "teacher": bounds.teacher_term, "N^-1/2": bounds.n_term}
    big = max(terms.values())
    out.append(Condition(
        "bound terms small",
        "pass" if big < 0.5 else "warn",
        "largest term " + max(terms, key=terms.get) + f" = {big:.4g} (pass if < 0.5; the theorem's constant is unknown)",
        terms,
    ))
    out.append(_weight_spread(W_student))
    return out


def _conditions_general(moments, match, W_student) -> list:
    """The §6 checks for a generator without closed-form moments."""
    out = []
    Om, Ph = moments.Omega, moments.Phi
    resid = Om - Ph @ Ph.T  # covariance of x not explained linearly by c
    off = resid - np.diag(np.diag(resid))
    rel = float(np.linalg.norm(off, 2) / max(np.linalg.norm(Om, 2), 1e-300))
    out.append(Condition(
        "linearised Gaussian-equivalent covariance",
        "pass" if rel < 0.1 else "warn",
        f"‖offdiag(Ω − ΦΦᵀ)‖_op/‖Ω‖_op = {rel:.3g} (the linear model x ≈ Ex + Φc + noise assumes ≈ 0)",
        {"relative_offdiag_residual": rel},
    ))
    if match.stderr_cov is not None:
        se = float(np.max(match.stderr_cov))
        out.append(Condition(
            "Monte Carlo moment error",
            "info",
            f"largest standard error of Σ entries {se:.3g} (n = {moments.n_samples})",
            {"max_stderr_cov": se},
        ))
    out.append(_weight_spread(W_student))
    return out


def check_generator(
    generator: Generator | None = None,
    *,
    activation="sign",
    N: int = 2000,
    D: int = 1000,
    K: int = 2,
    M: int = 2,
    samples="auto",
    plan: PlanOptions | None = None,
    seed: int | None = 0,
    W_student=None,
    W_teacher=None,
    weights: str = "gaussian",
    moment_samples: int | None = None,
    dms: DmsOptions | None = None,
    stream: StreamOptions | None = None,
    analytic: bool = True,
    backend: str | Backend = "numpy",
    dtype: str = "float64",
    progress: bool = False,
) -> CheckResult:
    """Check a generator against the Gaussian Equivalence Theorem (§6).

    Parameters
    ----------
    generator : Generator, optional
        Default: a random single-layer generator σ(A c/√D), A_ij ~ N(0, 1),
        with the given ``activation``, ``N``, ``D`` and ``seed``.
    activation : str or callable
        Used only when ``generator`` is not given.
    N, D : int
        Input and latent dimension (ignored when ``generator`` is given).
    K, M : int
        Numbers of student and teacher fields.
    samples : int or "auto"
        Samples n of (λ, ν), streamed (never held in memory).  ``"auto"`` (default): an
        independent pilot fixes n in advance to reach |z| ≈ 6 on the held-out cumulants,
        or to fill the plan's time budget (:func:`getheory.plan.plan_samples`).
    plan : PlanOptions
        The planner's settings with ``samples="auto"`` (default: a 60 s budget for the
        moments, the pilot, the sampling and the estimation).
    seed : int
        Master seed: the generator, the weights, the moments, the pilot, the samples and
        the estimators each get an independent stream derived from it.
    W_student, W_teacher : array, optional
        Shapes (K, N) and (M, D); default i.i.d. N(0, 1) (``weights`` ensemble).
    moment_samples : int, optional
        Monte Carlo samples for the moments of non-single-layer generators (default
        ``max(samples, 20000)``, or 10^5 with ``samples="auto"``); an independent stream,
        so P̂ is not fitted to the samples it is compared with.  The floor replicates
        re-estimate their match the same way (:class:`getheory.distances.MomentNoise`).
    dms : DmsOptions
        The d_MS estimate (metric p, levels, floor replicates, search, certificate).
    stream : StreamOptions
        Groups of the streamed statistics and the plug-in reservoir.
    analytic : bool
        For single-layer generators, also the leading-order κ3, κ4 and Edgeworth d_MS
        without sampling (:func:`getheory.analytic.analytic_dms`, docs/theory.md §4.2), with
        the sampled κ3, κ4 along the same direction beside them.

    Returns
    -------
    CheckResult
    """
    times = {}
    auto = isinstance(samples, str)
    if auto and samples != "auto":
        raise ValueError(f"samples must be a positive integer or 'auto'; got {samples!r}")
    if not auto:
        samples = positive_int(samples, "samples", minimum=1024)
    dms = dms or DmsOptions()
    stream = stream or StreamOptions()
    bk = get_backend(backend)  # resolved once: the object travels below, never the name
    plan_opt = plan or PlanOptions()
    # with samples="auto" the budget bounds the moments, the pilot and the sampling (checked between
    # batches, a blocked batch stopped at 1.1 × the budget)
    deadline = Deadline(plan_opt.time_budget, "--time-budget") if auto else None
    s_gen, s_w, s_mom, s_fields, s_dms, s_pilot = CHECK.streams(seed)
    t0 = time.perf_counter()
    if generator is None:
        N = positive_int(N, "N")
        D = positive_int(D, "D")
        get_activation(activation)
        generator = random_single_layer(N, D, activation, seed=s_gen)
    elif not isinstance(generator, Generator):
        raise TypeError(f"generator must be a getheory Generator, got {type(generator).__name__}")
    N, D = generator.N, generator.D
    if W_student is None or W_teacher is None:
        K = positive_int(K, "K")
        M = positive_int(M, "M")
        Ws, Wt = draw_weights(N, D, K, M, s_w, ensemble=weights)
        W_student = Ws if W_student is None else W_student
        W_teacher = Wt if W_teacher is None else W_teacher
    W_student = finite_matrix(W_student, "W_student", (None, N))
    W_teacher = finite_matrix(W_teacher, "W_teacher", (None, D))
    K, M = W_student.shape[0], W_teacher.shape[0]
    if K + M > 8:
        raise ValueError(f"K + M = {K + M} fields; the streaming estimator takes at most 8 (lower K or M)")

    guard = deadline.guard("the moments, the pilot and the sampling") if auto else contextlib.nullcontext()
    with guard:
        noise = None
        if generator.exact_moments:
            moments = exact_moments(generator, backend=bk)
        else:
            nm = moment_samples or (100_000 if auto else max(samples, 20_000))
            moments = monte_carlo_moments(generator, nm, seed=s_mom, backend=bk, dtype=dtype,
                                          weights=(W_student, W_teacher), deadline=deadline)
            noise = MomentNoise(n_samples=nm, n_groups=20, K=K)
        match = gaussian_match(moments, W_student, W_teacher)
        times["moments"] = time.perf_counter() - t0

        plan = None
        if auto:
            t0 = time.perf_counter()
            budget = plan_opt.time_budget - times["moments"]
            if budget <= 0:
                raise ValueError(f"the moments alone took {times['moments']:.1f} s, the whole time budget of "
                                 f"{plan_opt.time_budget:g} s; raise the budget or give a fixed number of samples")
            plan = plan_samples(generator, W_student, W_teacher, match,
                                options=dataclasses.replace(plan_opt, time_budget=budget),
                                stream=stream, cumulant=dms.cumulant, seed=s_pilot, backend=bk, dtype=dtype,
                                progress=progress, deadline=deadline)
            samples = plan.n
            times["pilot"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        sink = FieldStream(match.mean, match.cov, options=stream, backend=bk)
        stream_fields(generator, W_student, W_teacher, samples, sink, seed=s_fields, backend=bk, dtype=dtype,
                      progress=progress, deadline=deadline, stage="the measured run's sampling")
        stats = sink.finish()
        times["sampling"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    est = estimate_dms(stats, match.mean, match.cov, options=dms, seed=s_dms, moment_noise=noise)
    times["d_MS"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if isinstance(generator, SingleLayerGenerator):
        bounds = bound_terms(generator, W_student, W_teacher, backend=bk)
        note = "single-layer generator: all terms of docs/theory.md §5"
        conditions = _conditions_single_layer(generator, W_student, bounds)
    else:
        bounds = None
        note = ("bound terms are defined for single-layer generators (docs/theory.md §5); "
                "for this generator d_MS is measured directly and bound_term(W, M) takes a user M")
        conditions = _conditions_general(moments, match, W_student)
    conditions.append(_resolution(est, plan))
    times["bounds"] = time.perf_counter() - t0

    analytic_d = None
    if analytic and isinstance(generator, SingleLayerGenerator):
        t0 = time.perf_counter()
        analytic_d = _analytic_beside_sampled(generator, W_student, W_teacher, stats, match.cov, bk)
        times["analytic"] = time.perf_counter() - t0

    match_d = {"mean": match.mean, "cov": match.cov, "exact": match.exact, "clipped_eigenvalues": match.clipped_eigenvalues}
    if match.stderr_cov is not None:
        match_d["stderr_cov"] = match.stderr_cov
    return CheckResult(
        generator=generator.describe(),
        sizes={"N": N, "D": D, "K": K, "M": M, "samples": samples},
        moments_source=moments.source,
        match=match_d,
        dms=est,
        bounds=bounds,
        bounds_note=note,
        conditions=conditions,
        timings=times,
        settings={"seed": seed, "samples": "auto" if auto else samples, "plan": plan_opt if auto else None,
                  "dms": dms, "stream": stream, "backend": bk.name, "dtype": dtype, "weights": weights},
        plan=plan,
        analytic=analytic_d,
    )


def _analytic_beside_sampled(generator, W_student, W_teacher, stats, cov, bk) -> dict:
    """The analytic leading-order cumulants (§4.2) and the sampled ones along the same direction.

    The analytic direction does not depend on the samples, so every group evaluates it
    (:func:`getheory.distances.kappas_along`); ``z_kappa4`` is the sampled-minus-analytic κ4
    in units of √(SE² + truncation²).
    """
    from .analytic import analytic_dms
    from .distances import kappas_along

    a = analytic_dms(generator, W_student, W_teacher, backend=bk)
    smp = kappas_along(stats, cov, a.direction)
    out = {"analytic": a.to_dict(), "sampled_along_analytic_direction": smp}
    for k, t in (("kappa3", a.kappa3_truncation), ("kappa4", a.kappa4_truncation)):
        den = math.hypot(smp[f"se_{k}"], t)
        out[f"z_{k}_sampled_minus_analytic"] = (smp[k] - getattr(a, k)) / den if den > 0 else None
    return out


def _resolution(est, plan: Plan | None) -> Condition:
    """§4: is the non-Gaussianity resolved, and what would resolving it at 5σ need."""
    cu = est.cumulant
    if cu is None:
        return Condition("d_MS resolved", "info", "too few samples for the cumulant estimator", {})
    z = cu.z_max
    need = math.inf if z <= 0 else est.n * (5.0 / z) ** 2
    numbers = {"z_max": z, "n": est.n, "n_for_5_sigma": need, "estimator": est.estimator}
    if est.resolved_any and z >= 5.0:
        return Condition("d_MS resolved", "pass", f"{est.estimator} estimate resolved, held-out |z| = {z:.2f} "
                         f">= 5 at n = {est.n:,}", numbers)
    tail = ""
    if plan is not None:
        tail = f" (about {plan.seconds_for(need):,.0f} s of sampling at {plan.rate:,.0f} rows/s)"
    verdict = "info" if est.resolved_any else "warn"
    return Condition("d_MS resolved", verdict,
                     f"held-out |z| = {z:.2f} at n = {est.n:,}"
                     + ("" if est.resolved_any else " (not resolved)")
                     + f"; |z| = 5 needs n ≈ {need:,.0f}{tail}", numbers)
