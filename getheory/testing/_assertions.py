"""Assertion helpers for the suite's checks (docs/theory.md §2, §4, §5).  No Hypothesis here.

Statistical assertions (each takes a ``level`` and documents its false-positive rate, the
probability that it fails when what it asserts is true):

* :func:`assert_moments_match` -- exact moments against Monte Carlo within CLT error (§2);
* :func:`assert_dms_within_bound` -- d_MS against a bound, or a known d_MS against the
  calibrated upper bound plug-in + ε_n (§4);
* :func:`assert_bound_scaling` -- the exponent in N of a bound term (§5).

Exact assertions (tolerances for rounding only; no level):

* :func:`assert_rotation_invariant` -- c → O c with W_teacher → W_teacher O (§1);
* :func:`assert_permutation_invariant` -- relabelling the generator's units (§1).

``tests/properties/test_false_positive_rates.py`` measures each statistical assertion's
false-positive rate on data where its null holds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .._seeds import seedseq
from .._validation import check_level, finite_matrix, positive_int
from ..backend import backend_of
from ..bounds import bound_terms, teacher_term
from ..check import draw_weights
from ..distances import MomentNoise, SearchOptions, max_sliced_w1, sampling_floor
from ..fields import sample_fields
from ..generators import CallableGenerator, DeepGenerator, Generator, SingleLayerGenerator
from ..moments import Moments, exact_moments, gaussian_match, monte_carlo_match, monte_carlo_moments

__all__ = [
    "Evidence",
    "ScalingFit",
    "assert_bound_scaling",
    "assert_dms_within_bound",
    "assert_moments_match",
    "assert_permutation_invariant",
    "assert_rotation_invariant",
    "match_covariance",
    "permute_units",
    "rotate_latents",
]


@dataclass(frozen=True)
class Evidence:
    """What a statistical assertion measured; returned when it passes.

    Attributes
    ----------
    statistic : float
        The test statistic (its definition is in the assertion's docstring).
    threshold : float
        The assertion fails when ``statistic > threshold``.
    level : float
        The nominal level asked for.
    false_positive_rate : float
        The rate the assertion guarantees (or states) under its null: ``level`` or the
        exact rate of a rank test.
    details : dict
        The numbers behind the statistic.
    """

    statistic: float
    threshold: float
    level: float
    false_positive_rate: float
    details: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# exact moments against Monte Carlo (§2)
# ------------------------------------------------------------------------------------------
def _expected_moments(generator, expected):
    if expected is None:
        if not isinstance(generator, SingleLayerGenerator):
            raise TypeError(
                f"no closed-form moments for {type(generator).__name__}; pass expected=Moments(...) or "
                "expected=(mean, Omega, Phi) with the moments you know")
        return exact_moments(generator)
    if isinstance(expected, Moments):
        mean, Om, Ph = expected.mean, expected.Omega, expected.Phi
    else:
        try:
            mean, Om, Ph = expected
        except (TypeError, ValueError):
            raise TypeError("expected must be a Moments or a (mean, Omega, Phi) triple") from None
    N, D = generator.N, generator.D
    mean = np.asarray(mean, dtype=np.float64)
    if mean.shape != (N,):
        raise ValueError(f"expected mean has shape {mean.shape}; the generator needs ({N},)")
    Om = finite_matrix(Om, "expected Omega", (N, N))
    Ph = finite_matrix(Ph, "expected Phi", (N, D))
    return Moments(mean, Om, Ph, exact=True, source="expected")


def assert_moments_match(generator, expected=None, *, n: int = 100_000, level: float = 0.01, seed=0,
                         n_groups: int = 20, backend="numpy") -> Evidence:
    r"""Assert that Monte Carlo (E x, Ω, Φ) agree with the expected moments within CLT error (§2).

    :func:`~getheory.monte_carlo_moments` splits ``n`` samples into G = ``n_groups``
    groups; for every entry e of E x (N), the upper triangle of Ω (N(N+1)/2) and Φ (N D),
    m entries in all,

    .. math::
        t_e = \frac{\bar e_{\mathrm{MC}} - e}{\mathrm{se}_e},\qquad
        \mathrm{se}_e = \frac{\mathrm{sd}_g(\hat e_g)}{\sqrt G},

    is Student t with G − 1 degrees of freedom when the group estimates are normal (CLT
    within a group).  The assertion fails when

    .. math::
        \max_e |t_e| > q,\qquad q = t_{G-1}^{-1}\Big(1 - \frac{\text{level}}{2m}\Big)

    (Bonferroni).  On the diagonal of Ω the group estimate carries −n_g(m̂_g − μ)²/(n_g − 1),
    a scaled χ²_1 that is far from normal when x_i² is nearly constant (sign: x_i² ≡ 1), so
    se_ii is floored at its exact standard deviation √2 Ω_ii/((n_g − 1)√G).

    **False-positive rate**: at most ``level`` when the expected moments are the true ones
    (Bonferroni; below ``level`` when the entries are correlated, as they are), up to the
    normal approximation within each group of n/G samples.

    Parameters
    ----------
    generator : Generator
        Any generator; x of shape (n, N) from c of shape (n, D).
    expected : Moments or (mean, Omega, Phi), optional
        Shapes (N,), (N, N), (N, D).  Default: :func:`~getheory.exact_moments` (single-layer
        generators only).
    n : int
        Monte Carlo samples (at least 2 per group and, for t, many more: n/G ≳ 100).
    level : float
        Family-wise level in (0, 1).
    seed : int or SeedSequence
        Seed of the Monte Carlo stream.
    n_groups : int
        G >= 2.
    backend : str

    Returns
    -------
    Evidence
        statistic max |t_e|, threshold q, and the worst entry in ``details``.

    Raises
    ------
    AssertionError
        When max |t_e| > q, naming the worst entry.
    """
    level = check_level(level, "level")
    n = positive_int(n, "n")
    G = positive_int(n_groups, "n_groups", minimum=2)
    exp = _expected_moments(generator, expected)
    mc = monte_carlo_moments(generator, n, seed=seed, n_groups=G, backend=backend)
    blocks = _moment_blocks(generator, exp, mc, n // G, G)
    m = sum(v[0].size for v in blocks.values())
    q = float(stats.t.isf(level / (2 * m), G - 1))
    tmax, where = _worst_entry(blocks)
    details = {**where, "entries": m, "n": n, "groups": G, "dof": G - 1}
    if not tmax <= q:
        w = where
        raise AssertionError(
            f"Monte Carlo moments of {generator.describe()} disagree with the expected ones: "
            f"{w['block']}{list(w['index'])} = {w['monte_carlo']:.6g} ± {w['stderr']:.2g} (Monte Carlo, n = {n}) "
            f"vs {w['expected']:.6g} expected, |t| = {tmax:.2f} > {q:.2f} = t_{G - 1} quantile at level {level:g} "
            f"Bonferroni-corrected over {m} entries (docs/theory.md §2)")
    return Evidence(tmax, q, level, level, details)


def _moment_blocks(generator, exp, mc, n_g, G) -> dict:
    """Per block (mean, Omega's upper triangle, Phi): (expected, Monte Carlo, standard error, entry indices).

    The diagonal of Ω's standard error is floored at √2 Ω_ii/((n_g − 1)√G), the exact sd of its χ²_1 part.
    """
    N = generator.N
    se_O = mc.stderr_Omega.copy()
    diag_floor = math.sqrt(2.0) * np.abs(np.diag(exp.Omega)) / ((n_g - 1) * math.sqrt(G))
    np.fill_diagonal(se_O, np.maximum(np.diag(se_O), diag_floor))
    iu = np.triu_indices(N)
    return {
        "mean": (exp.mean, mc.mean, mc.stderr_mean, [(i,) for i in range(N)]),
        "Omega": (exp.Omega[iu], mc.Omega[iu], se_O[iu], list(zip(*iu))),
        "Phi": (exp.Phi.ravel(), mc.Phi.ravel(), mc.stderr_Phi.ravel(),
                [divmod(k, generator.D) for k in range(exp.Phi.size)]),
    }


def _worst_entry(blocks):
    """(max |t_e|, the entry where it is reached) over every block's entries (standard errors floored at 1e-12)."""
    worst = (-1.0, None)
    for name, (e, est, se, idx) in blocks.items():
        se = np.maximum(se, 1e-12 * np.maximum(1.0, np.abs(e)))
        t = np.abs(est - e) / se
        k = int(np.argmax(t))
        if t[k] > worst[0]:
            worst = (float(t[k]), {"block": name, "index": tuple(int(i) for i in idx[k]), "expected": float(e[k]),
                                   "monte_carlo": float(est[k]), "stderr": float(se[k])})
    return worst


# ------------------------------------------------------------------------------------------
# d_MS against a bound (§4)
# ------------------------------------------------------------------------------------------
def assert_dms_within_bound(generator, W_student, W_teacher, *, bound: float | None = None,
                            known_dms: float | None = None, n: int = 20_000, level: float = 0.05, seed=0,
                            search: SearchOptions | None = None, moments: Moments | None = None,
                            backend="numpy") -> Evidence:
    r"""Assert d_MS(P, P̂) ≤ ``bound``, or a known d_MS ≤ its calibrated upper bound (§4).

    From n samples of z = (λ, ν) and the Gaussian match P̂ = N(m, Σ) (§2), the plug-in
    d̂ = W_1(u*#P_n, u*#P̂) along the searched direction u* and ε_n, the k-th largest of R
    Gaussian replicates of the same estimator (same n, Σ, search; the floor of §4 step 3;
    R = max(19, ⌈1/level⌉ − 1), k = ⌊level (R + 1)⌋) bracket the truth:

    .. math::
        d̂ - ε_n \;\le\; d_{\mathrm{MS}}(P, \hat P) \;\le\; d̂ + ε_n
        \quad\text{unless } d_{\mathrm{MS}}(P_n, P) > ε_n

    (triangle inequality; the upper side also needs the search to reach the sup; d̂ + ε_n
    is :attr:`~getheory.distances.DmsEstimate.calibrated_upper_bound`).

    * ``bound=b`` (the default, b = 0: "indistinguishable from its Gaussian match at this
      n"): fails when d̂ − ε_n > b.
    * ``known_dms=d`` (a d_MS you know, e.g. by quadrature): fails when d > d̂ + ε_n.

    **False-positive rate**: with ``bound=0`` and P exactly Gaussian, exactly k/(R + 1)
    (= ``level`` for level = 1/(R+1), e.g. 0.05 or 0.01): the plug-in and the replicates are
    exchangeable, a rank test whatever the search (§4.1).  Otherwise at most about ``level``
    when the bracket's premise holds (P near a Gaussian, so its sampling error is like the
    replicates'; the search reaching the sup for ``known_dms``); the seeded tests measure it.

    Parameters
    ----------
    generator : Generator
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    bound : float, optional
        Claimed upper bound of d_MS (>= 0).
    known_dms : float, optional
        The true d_MS, known by other means (>= 0).  Give ``bound`` or ``known_dms``, not both.
    n : int
        Samples of (λ, ν) (in memory: n (K + M) numbers).
    level : float
    seed : int or SeedSequence
    search : SearchOptions, optional
        The plug-in's search, also run by every replicate (default: guided, as
        :func:`~getheory.estimate_dms`).  Any search keeps the rank test exact; a cheaper one
        costs power and, for ``known_dms``, coverage.
    moments : Moments, optional
        Default: exact for single-layer generators, else the match estimated from the fields
        of an independent stream of n samples (§2), whose error the replicates then reproduce (§4.1).
    backend : str
        Where the fields are sampled.

    Returns
    -------
    Evidence
        statistic d̂ − ε_n (bound) or d (known_dms), threshold b or d̂ + ε_n; ``details``
        holds the plug-in, ε_n, both ends of the bracket, R, k and the exact rank-test level.
    """
    mode, ref = _claimed(bound, known_dms)
    level = check_level(level, "level")
    n = positive_int(n, "n", minimum=16)
    W, Wt = _generator_weights(generator, W_student, W_teacher)
    R = max(19, math.ceil(1.0 / level - 1.0 - 1e-9))
    s_mom, s_fields, s_plug, s_floor = seedseq(seed).spawn(4)
    match, noise = _match_and_noise(generator, moments, (W, Wt), n, s_mom, backend)
    lam, nu = sample_fields(generator, W, Wt, n, seed=s_fields, backend=backend)
    z = np.concatenate([lam, nu], axis=1)
    search = search or SearchOptions(mode="guided")
    plug = max_sliced_w1(z, match.mean, match.cov, seed=s_plug, search=search).value
    floor = sampling_floor(n, match.cov, mean=match.mean, replicates=R, level=level, seed=s_floor, search=search,
                           moment_noise=noise)
    eps = floor.threshold
    details = {"plug_in": plug, "epsilon_n": eps, "lower": plug - eps, "calibrated_upper_bound": plug + eps,
               "replicates": R, "rank": floor.rank, "exact_level": floor.exact_level, "n": n,
               "floor_mean": floor.mean}
    return _bracket_verdict(mode, ref, level, floor, details)


def _claimed(bound, known_dms):
    """(mode, reference): ("bound", b) with b = 0 by default, or ("known", d); refuses both and bad values."""
    if bound is not None and known_dms is not None:
        raise ValueError("give bound (a claimed upper bound of d_MS) or known_dms (its true value), not both")
    mode = "known" if known_dms is not None else "bound"
    ref = float(known_dms if known_dms is not None else (0.0 if bound is None else bound))
    if not (math.isfinite(ref) and ref >= 0):
        raise ValueError(f"{'known_dms' if mode == 'known' else 'bound'} must be a finite number >= 0; got {ref}")
    return mode, ref


def _generator_weights(generator, W_student, W_teacher):
    """(W_student, W_teacher) checked against a getheory Generator's N and D."""
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a getheory Generator, got {type(generator).__name__}")
    return (finite_matrix(W_student, "W_student", (None, generator.N)),
            finite_matrix(W_teacher, "W_teacher", (None, generator.D)))


def _match_and_noise(generator, moments, weights, n, seed, backend):
    """(the Gaussian match, its MomentNoise or None): from the given or exact moments, or estimated from the
    fields of an independent stream (``seed``, 20 groups; :func:`getheory.moments.monte_carlo_match`)."""
    W, Wt = weights
    if moments is not None:
        return gaussian_match(moments, W, Wt), None
    if generator.exact_moments:
        return gaussian_match(exact_moments(generator), W, Wt), None
    n_mc = max(n, 40 * (W.shape[0] + Wt.shape[0] + 1))
    match = monte_carlo_match(generator, W, Wt, n_mc, seed=seed, n_groups=20, backend=backend)
    return match, MomentNoise(n_samples=n_mc, n_groups=20, K=W.shape[0])


def _bracket_verdict(mode, ref, level, floor, details) -> Evidence:
    """The Evidence of plug-in ± ε_n against the claimed bound (mode "bound") or the known d_MS ("known")."""
    plug, eps, n, R = details["plug_in"], details["epsilon_n"], details["n"], details["replicates"]
    lower, upper = details["lower"], details["calibrated_upper_bound"]
    if mode == "bound":
        if lower > ref:
            raise AssertionError(
                f"d_MS exceeds the bound {ref:.4g}: plug-in {plug:.4g} − ε_n {eps:.4g} = {lower:.4g} > {ref:.4g} "
                f"(ε_n the {floor.rank}-th largest of {R} Gaussian replicates, rank-test level "
                f"{floor.exact_level:.3g}; n = {n}; docs/theory.md §4)")
        return Evidence(lower, ref, level, floor.exact_level, details)
    if ref > upper:
        raise AssertionError(
            f"the known d_MS {ref:.4g} exceeds its calibrated upper bound plug-in {plug:.4g} + ε_n {eps:.4g} = "
            f"{upper:.4g} (n = {n}, {R} replicates, level {floor.exact_level:.3g}; docs/theory.md §4 (a)): the "
            "plug-in search missed the sup, or the samples are not from this generator")
    return Evidence(ref, upper, level, floor.exact_level, details)


# ------------------------------------------------------------------------------------------
# scaling of a bound term in N (§5)
# ------------------------------------------------------------------------------------------
_TERMS = ("M1_term", "M2_term", "teacher_term", "n_term")


@dataclass(frozen=True)
class ScalingFit:
    """Least-squares fit log(term) = a + b log N with a t-interval for b.

    Attributes
    ----------
    slope, intercept, se : float
        b, a and the standard error of b.
    ci : (float, float)
        The (1 − level) t-interval of b with ``dof`` degrees of freedom.
    dof : int
        Points − 2.
    level : float
    sizes : tuple of int
    values : ndarray, shape (len(sizes), draws)
    """

    slope: float
    intercept: float
    se: float
    ci: tuple
    dof: int
    level: float
    sizes: tuple
    values: np.ndarray


@dataclass(frozen=True)
class _Ensemble:
    """The random problems a built-in bound term is drawn on: σ, δ = D/N, K student and M teacher units
    (A i.i.d. N(0, 1) of shape (N, round(δ N)), weights by :func:`~getheory.check.draw_weights`)."""

    activation: object
    delta: float
    K: int
    M: int


def _term_values(term, sizes, draws, seed, ensemble: _Ensemble):
    """The term at each N of ``sizes`` (rows) for ``draws`` independent draws (columns), draw ``b`` at
    size ``a`` from child ``a · draws + b`` of ``seed``; a built-in term on a problem of ``ensemble``."""
    activation, delta, K, M = ensemble.activation, ensemble.delta, ensemble.K, ensemble.M
    kids = iter(seedseq(seed).spawn(len(sizes) * draws))
    vals = np.empty((len(sizes), draws))
    for a, N in enumerate(sizes):
        D = max(1, round(delta * N))
        for b in range(draws):
            rng = np.random.default_rng(next(kids))
            if callable(term):
                v = term(N, rng)
            elif term == "n_term":
                v = 1.0 / math.sqrt(N)
            else:
                A = rng.standard_normal((N, D))
                Ws, Wt = draw_weights(N, D, K, M, seed=rng)
                v = teacher_term(Wt, A) if term == "teacher_term" else getattr(
                    bound_terms(SingleLayerGenerator(A, activation), Ws, Wt), term)
            vals[a, b] = float(v)
    return vals


def assert_bound_scaling(term, exponent: float, *, sizes=(64, 128, 256, 512), draws: int = 4,
                         tolerance: float = 0.0, level: float = 0.01, seed=0, activation="sign",
                         delta: float = 0.5, K: int = 2, M: int = 2) -> ScalingFit:
    r"""Assert that a bound term falls like N^exponent (docs/theory.md §5).

    For each N in ``sizes`` and ``draws`` independent draws (i.i.d. N(0, 1) A (N, D),
    D = round(δ N), W_student (K, N), W_teacher (M, D)), the term is computed and

    .. math::
        \log \text{term} = a + b \log N + \varepsilon

    is fitted by least squares; the (1 − level) interval b ± t_{dof}^{-1}(1 − level/2) se_b,
    dof = points − 2, must meet [exponent − tolerance, exponent + tolerance].

    **False-positive rate**: exactly ``level`` when log(term) is linear in log N with
    i.i.d. normal scatter over draws and slope exactly ``exponent`` (the t-interval is exact);
    at most ``level`` for a true slope inside the tolerance.  Finite-N curvature (a slope
    that depends on the N range, §5) is not scatter: give it a ``tolerance``.

    Parameters
    ----------
    term : {"M1_term", "M2_term", "teacher_term", "n_term"} or callable
        A :class:`~getheory.BoundTerms` field, or ``term(N, rng) -> float > 0`` with ``rng`` a
        seeded ``numpy.random.Generator`` (your own term or ensemble).
    exponent : float
        The expected exponent b.
    sizes : sequence of int
        At least two distinct N.
    draws : int
        Draws per N (points = len(sizes) · draws >= 3).
    tolerance : float
        Half-width of the accepted exponents (>= 0).
    level : float
    seed : int or SeedSequence
    activation : str or Activation
        σ of the generator (the M1, M2 terms depend on it).
    delta : float
        δ = D/N.
    K, M : int

    Returns
    -------
    ScalingFit

    Raises
    ------
    AssertionError
        When the interval misses [exponent ± tolerance].
    ValueError
        For a term that is not positive (e.g. M1 ≡ 0 for odd σ, M2 ≡ 0 for relu).
    """
    if not callable(term) and term not in _TERMS:
        raise ValueError(f"term must be one of {', '.join(_TERMS)} or a callable term(N, rng); got {term!r}")
    level = check_level(level, "level")
    draws = positive_int(draws, "draws")
    sizes = _scaling_sizes(sizes, draws)
    tolerance = float(tolerance)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0; got {tolerance}")
    vals = _term_values(term, sizes, draws, seed, _Ensemble(activation, float(delta), int(K), int(M)))
    _check_positive(term, vals, sizes)
    fit = _fit_exponent(sizes, draws, vals, level)
    lo, hi = fit.ci
    slack = 1e-9  # rounding of an exact power law (the N^{-1/2} term)
    if hi < exponent - tolerance - slack or lo > exponent + tolerance + slack:
        name = getattr(term, "__name__", term)
        raise AssertionError(
            f"{name} falls like N^{fit.slope:.3f}, {100 * (1 - level):g}% interval [{lo:.3f}, {hi:.3f}] "
            f"({fit.dof} dof, N = {sizes[0]}..{sizes[-1]}, {draws} draws), which misses the expected exponent "
            f"{exponent:g} ± {tolerance:g} (docs/theory.md §5)")
    return fit


def _scaling_sizes(sizes, draws) -> tuple:
    """The sizes N as positive ints: at least two distinct, and three points with ``draws``."""
    sizes = tuple(positive_int(N, "sizes[i]") for N in sizes)
    if len(set(sizes)) < 2 or len(sizes) * draws < 3:
        raise ValueError(f"a slope with an interval needs at least two distinct N and three points; got "
                         f"sizes={sizes}, draws={draws}")
    return sizes


def _check_positive(term, vals, sizes):
    """Refuse a term that is not positive and finite at every N and draw (its logarithm is fitted)."""
    if not np.all(np.isfinite(vals) & (vals > 0)):
        a, b = np.argwhere(~(np.isfinite(vals) & (vals > 0)))[0]
        name = getattr(term, "__name__", term)
        raise ValueError(f"{name} is {vals[a, b]:.3g} at N = {sizes[a]} (draw {b}); a scaling needs positive "
                         "values (M1 ≡ 0 for odd σ, M2 ≡ 0 for relu: docs/theory.md §5)")


def _fit_exponent(sizes, draws, vals, level) -> ScalingFit:
    """Least squares of log(term) on log N over every draw, with the (1 − level) t-interval of the slope."""
    x = np.repeat(np.log(sizes), draws)
    y = np.log(vals).ravel()
    xc = x - x.mean()
    b = float(xc @ (y - y.mean()) / (xc @ xc))
    a = float(y.mean() - b * x.mean())
    dof = x.size - 2
    resid = y - a - b * x
    se = math.sqrt(float(resid @ resid) / dof / float(xc @ xc))
    q = float(stats.t.isf(level / 2, dof))
    return ScalingFit(b, a, se, (b - q * se, b + q * se), dof, level, sizes, vals)


# ------------------------------------------------------------------------------------------
# invariances (§1)
# ------------------------------------------------------------------------------------------
def _haar_rotation(D, rng):
    Q, R = np.linalg.qr(rng.standard_normal((D, D)))
    return Q * np.sign(np.diag(R))


def rotate_latents(generator, W_teacher, rotation):
    r"""The same problem in rotated latent coordinates: G'(c) = G(O c), W̃' = W̃ O (§1).

    c' = Oᵀ c is again N(0, I_D), and x' = G'(c') = G(c), ν' = W̃' c'/√D = ν, so the law of
    (λ, ν) is unchanged.  Single-layer: A' = A O; deep: A_1' = A_1 O; any other generator
    is wrapped in a :class:`~getheory.CallableGenerator` (rows: c ↦ c Oᵀ).

    Parameters
    ----------
    generator : Generator
    W_teacher : array, shape (M, D)
    rotation : array, shape (D, D)
        Orthogonal O.

    Returns
    -------
    (Generator, ndarray)
        G' and W̃' = W̃ O, shape (M, D).
    """
    D = generator.D
    O = finite_matrix(rotation, "rotation", (D, D))
    if not np.allclose(O @ O.T, np.eye(D), atol=1e-10):
        raise ValueError("rotation must be orthogonal (O Oᵀ = I); draw one with numpy.linalg.qr")
    Wt = finite_matrix(W_teacher, "W_teacher", (None, D)) @ O
    if isinstance(generator, SingleLayerGenerator):
        return SingleLayerGenerator(generator.A @ O, generator.activation), Wt
    if isinstance(generator, DeepGenerator):
        (A1, act1), *rest = generator.layers
        return DeepGenerator([(A1 @ O, act1), *rest]), Wt

    def rotated(c, _g=generator, _O=O):
        return _g.sample(c @ backend_of(c).asarray(_O.T, dtype=c.dtype))

    return CallableGenerator(rotated, D=D, N=generator.N, name=f"rotated {generator.describe().get('kind')}"), Wt


def permute_units(generator, W_student, permutation, *, hidden_permutations=()):
    r"""The same problem with the generator's units relabelled (§1).

    x' = P x (x'_i = x_{π(i)}) and W' = W Pᵀ (W'_{:, i} = W_{:, π(i)}) give λ' = W' x'/√N = λ.
    For a deep generator, relabelling hidden layer l (rows of A_l and columns of A_{l+1})
    leaves G itself unchanged.

    Parameters
    ----------
    generator : Generator
    W_student : array, shape (K, N)
    permutation : array of int, shape (N,)
        π for the input units.
    hidden_permutations : sequence of arrays
        Deep generators only: one permutation of each hidden layer's N_l units, l = 1..L−1.

    Returns
    -------
    (Generator, ndarray)
        G' and W' = W[:, π], shape (K, N).
    """
    N = generator.N
    perm = np.asarray(permutation)
    if perm.shape != (N,) or not np.array_equal(np.sort(perm), np.arange(N)):
        raise ValueError(f"permutation must be a permutation of range(N = {N})")
    W = finite_matrix(W_student, "W_student", (None, N))[:, perm]
    if isinstance(generator, SingleLayerGenerator):
        if len(hidden_permutations):
            raise ValueError("a single-layer generator has no hidden layers to permute")
        return SingleLayerGenerator(generator.A[perm], generator.activation), W
    if isinstance(generator, DeepGenerator):
        layers = [(A.copy(), act) for A, act in generator.layers]
        L = len(layers)
        if len(hidden_permutations) not in (0, L - 1):
            raise ValueError(f"give {L - 1} hidden permutations (one per hidden layer) or none")
        for l, p in enumerate(hidden_permutations):
            p = np.asarray(p)
            if not np.array_equal(np.sort(p), np.arange(layers[l][0].shape[0])):
                raise ValueError(f"hidden_permutations[{l}] must be a permutation of range({layers[l][0].shape[0]})")
            layers[l] = (layers[l][0][p], layers[l][1])
            layers[l + 1] = (layers[l + 1][0][:, p], layers[l + 1][1])
        layers[-1] = (layers[-1][0][perm], layers[-1][1])
        return DeepGenerator(layers), W
    if len(hidden_permutations):
        raise ValueError(f"{type(generator).__name__} has no hidden layers getheory can permute")

    def permuted(c, _g=generator, _p=perm):
        return _g.sample(c)[:, _p]

    return CallableGenerator(permuted, D=generator.D, N=N, name=f"permuted {generator.describe().get('kind')}"), W


def match_covariance(generator, W_student, W_teacher, *, n: int = 20_000, seed=0) -> np.ndarray:
    """Σ of the Gaussian match (§2): exact moments where they exist, else Monte Carlo from the fields (n, seed).

    The default quantity of the invariance assertions.  Monte Carlo with a fixed seed is
    a deterministic function of the generator, so a relabelling of units that keeps each
    sample (permutations) leaves it unchanged up to rounding; a rotation does not (it
    changes the samples, not their law).

    Returns
    -------
    ndarray, shape (K + M, K + M)
    """
    if generator.exact_moments:
        return gaussian_match(exact_moments(generator), W_student, W_teacher).cov
    return monte_carlo_match(generator, W_student, W_teacher, n, seed=seed).cov  # from the fields (§2)


def _flatten(obj, prefix="value"):
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return _flatten(obj.to_dict(), prefix)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _flatten(dataclasses.asdict(obj), prefix)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}"))
        return out
    if isinstance(obj, (list, tuple)) and not all(isinstance(v, (int, float, np.number)) for v in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    if obj is None or isinstance(obj, (str, bool)):
        return {prefix: obj}
    return {prefix: np.asarray(obj, dtype=np.float64)}


def _assert_same(before, after, rtol, atol, what):
    a, b = _flatten(before), _flatten(after)
    if a.keys() != b.keys():
        raise AssertionError(f"{what}: the quantity returned different fields ({sorted(a)} vs {sorted(b)})")
    bad = []
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=atol):
                diff = float(np.max(np.abs(x - y))) if x.shape == y.shape else math.inf
                bad.append(f"{k}: max |difference| {diff:.3g} (shapes {x.shape}, {y.shape})")
        elif x != y:
            bad.append(f"{k}: {x!r} vs {y!r}")
    if bad:
        raise AssertionError(f"{what} (rtol={rtol:g}, atol={atol:g}): " + "; ".join(bad[:5]))


def assert_rotation_invariant(generator, W_student, W_teacher, quantity=None, *, rotation=None, seed=0,
                              rtol: float = 1e-9, atol: float = 1e-12):
    r"""Assert quantity(G, W, W̃) = quantity(G∘O, W, W̃ O) for a rotation O of the latent space (§1).

    Any function of the law of (λ, ν) — the Gaussian match (Q, R, T), d_MS, the bound
    terms (§5: ρ, ‖W̃Aᵀ‖ are rotation invariant) — is invariant, because Oc ~ N(0, I_D)
    (:func:`rotate_latents`).  Exact up to rounding: not a statistical assertion, no level.
    Monte Carlo quantities are invariant only in law; test them with the statistical
    assertions instead.

    Parameters
    ----------
    generator : Generator
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    quantity : callable, optional
        ``quantity(generator, W_student, W_teacher)`` returning a number, an array, a dict, a
        dataclass or anything with ``to_dict()`` (e.g. :func:`~getheory.bound_terms`).
        Default :func:`match_covariance` (exact moments).
    rotation : array, shape (D, D), optional
        Default: a Haar-random O from ``seed``.
    rtol, atol : float
        Rounding tolerances of the comparison.

    Returns
    -------
    (before, after)
        The two values of the quantity.
    """
    quantity = quantity or match_covariance
    O = _haar_rotation(generator.D, np.random.default_rng(seed)) if rotation is None else rotation
    g2, Wt2 = rotate_latents(generator, W_teacher, O)
    before = quantity(generator, W_student, W_teacher)
    after = quantity(g2, W_student, Wt2)
    _assert_same(before, after, rtol, atol,
                 f"{getattr(quantity, '__name__', 'quantity')} changed under a rotation of the latent space")
    return before, after


def assert_permutation_invariant(generator, W_student, W_teacher, quantity=None, *, seed=0, hidden: bool = True,
                                 rtol: float = 1e-9, atol: float = 1e-12):
    r"""Assert that relabelling the generator's units leaves quantity unchanged (§1).

    The input units are permuted together with the columns of W_student
    (:func:`permute_units`), and, for a deep generator with ``hidden=True``, every hidden
    layer's units too.  Each sample of (λ, ν) is unchanged (up to the order of a sum), so
    exact quantities and Monte Carlo ones with a fixed seed are both invariant up to
    rounding.  Not a statistical assertion, no level.

    Parameters
    ----------
    generator : Generator
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    quantity : callable, optional
        As in :func:`assert_rotation_invariant`; default :func:`match_covariance`.
    seed : int
        Seed of the random permutations.
    hidden : bool
        Also permute the hidden layers of a deep generator.
    rtol, atol : float

    Returns
    -------
    (before, after)
    """
    quantity = quantity or match_covariance
    rng = np.random.default_rng(seed)
    hid = ()
    if hidden and isinstance(generator, DeepGenerator):
        hid = [rng.permutation(A.shape[0]) for A, _ in generator.layers[:-1]]
    g2, W2 = permute_units(generator, W_student, rng.permutation(generator.N), hidden_permutations=hid)
    before = quantity(generator, W_student, W_teacher)
    after = quantity(g2, W2, W_teacher)
    _assert_same(before, after, rtol, atol,
                 f"{getattr(quantity, '__name__', 'quantity')} changed under a permutation of the generator's units")
    return before, after
