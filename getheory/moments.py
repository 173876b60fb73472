"""First and second moments of a generator and the Gaussian match of (λ, ν)
(docs/theory.md §2).

The generator enters the theorem only through

* E x        (N,)    the mean input,
* Ω = Cov(x) (N, N)  the input covariance,
* Φ = E[(x − E x) cᵀ] (N, D) the input–latent cross-covariance.

:func:`exact_moments` computes them in closed form for a single-layer
generator (Stein's lemma for Φ, bivariate-normal kernels for Ω);
:func:`monte_carlo_moments` estimates them by streaming for any generator,
with batch-means standard errors (:func:`monte_carlo_moments_in` is its twin within a
workflow's :class:`getheory._run.RunContext`).  :func:`gaussian_match` turns moments and
weights into the mean m and covariance Σ = [[Q, R], [Rᵀ, T]] of P̂.

Where only P̂ is needed, :func:`monte_carlo_match` (and its twin :func:`monte_carlo_match_in`)
estimates it from the fields (λ, ν) themselves, O((K+M)²) work a row on top of sampling instead
of the O(N²) of Ω: in exact arithmetic the same estimator as
``gaussian_match(monte_carlo_moments(...))`` on the same latents (docs/theory.md §2, The match
from the fields).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import array_api_compat.numpy as npx
import numpy as np

from ._run import RunContext, start_run_context
from ._seeds import seedseq, shard_seed
from ._validation import check_cov, positive_int
from .activations import moments_at_scales, omega_kernel
from .backend import get_backend
from .fields import (LatentDraw, auto_batch_size, check_finite_samples, check_weights, iter_latent_batches,
                     stream_fields_in)
from .generators import Generator, SingleLayerGenerator

__all__ = [
    "Moments",
    "GaussianMatch",
    "exact_moments",
    "monte_carlo_moments",
    "monte_carlo_moments_in",
    "monte_carlo_match",
    "monte_carlo_match_in",
    "gaussian_match",
    "check_covariance",
]


@dataclass
class Moments:
    """(E x, Ω, Φ) of a generator, exact or Monte Carlo (§2).

    Attributes
    ----------
    mean : ndarray, shape (N,)
    Omega : ndarray, shape (N, N)
    Phi : ndarray, shape (N, D)
    exact : bool
        True for closed forms, False for Monte Carlo estimates.
    source : str
        How they were obtained, in words.
    n_samples : int or None
        Monte Carlo sample size.
    stderr_mean, stderr_Omega, stderr_Phi : ndarray or None
        Batch-means standard errors of each entry (Monte Carlo only).
    """

    mean: np.ndarray
    Omega: np.ndarray
    Phi: np.ndarray
    exact: bool
    source: str
    n_samples: int | None = None
    stderr_mean: np.ndarray | None = None
    stderr_Omega: np.ndarray | None = None
    stderr_Phi: np.ndarray | None = None
    group_match_covs: list | None = None

    @property
    def N(self) -> int:
        return self.Omega.shape[0]

    @property
    def D(self) -> int:
        return self.Phi.shape[1]


@dataclass
class GaussianMatch:
    """The Gaussian P̂ = N(mean, cov) of the (K+M)-vector (λ, ν) (§2).

    ``cov`` is [[Q, R], [Rᵀ, T]]; ``stderr_cov`` is set when the moments were
    Monte Carlo estimates.  ``clipped_eigenvalues`` counts eigenvalues of Σ
    that were slightly negative from rounding and set to zero.
    """

    mean: np.ndarray
    cov: np.ndarray
    K: int
    M: int
    exact: bool
    stderr_cov: np.ndarray | None = None
    clipped_eigenvalues: int = 0

    @property
    def Q(self):
        return self.cov[: self.K, : self.K]

    @property
    def R(self):
        return self.cov[: self.K, self.K :]

    @property
    def T(self):
        return self.cov[self.K :, self.K :]


def check_covariance(cov, name="cov"):
    """Check a covariance is symmetric positive semi-definite (§2); returns (cov, n_clipped).

    One tolerance for the whole package: :func:`getheory._validation.check_cov`.
    """
    C, _w, _V, clipped = check_cov(cov, None, name)
    return C, clipped


def _omega_route(activation) -> str:
    """How :func:`omega_kernel` computes Ω for this σ: a closed form, or the Mehler series (§2)."""
    return "closed form" if activation.closed() is not None else "Mehler series"


def exact_moments(generator: SingleLayerGenerator, *, backend="numpy") -> Moments:
    """Closed-form (E x, Ω, Φ) of a single-layer generator (§2).

    .. math::
        E x_i = E σ(s_i ζ),\\quad Φ = \\mathrm{diag}(E σ'(h_i)) A/√D,\\quad
        Ω_{ij} = \\mathrm{Cov}(σ(h_i), σ(h_j)),\\ (h_i, h_j) ∼ N(0, C),\\ C = A Aᵀ/D

    with s_i² = C_ii.  Ω uses the closed kernels (sign, erf, relu, linear) or
    the Mehler series (tanh, user callables): see :func:`getheory.activations.omega_kernel`.
    Cost O(N² D) for C; memory O(N²).
    """
    if not isinstance(generator, SingleLayerGenerator):
        raise TypeError(
            f"exact moments exist only for SingleLayerGenerator, not {type(generator).__name__}; "
            "use monte_carlo_moments"
        )
    bk = get_backend(backend)
    A = generator.A
    D = generator.D
    N = generator.N
    need = 8 * (3 * N * N + 2 * N * D)  # C, Ω and a temporary; A and Φ
    if need > bk.free_memory_bytes():
        raise MemoryError(
            f"exact moments at N={N}, D={D} need {need / 2**30:.2f} GiB (three N×N float64 "
            f"matrices) but only {bk.free_memory_bytes() / 2**30:.2f} GiB is free on {bk.name}"
        )
    s = generator.row_scales
    if np.any(s == 0):
        raise ValueError("A has an all-zero row: its unit's input is constant; remove it")
    scal = moments_at_scales(generator.activation, s)
    Ad = bk.asarray(A / math.sqrt(D))
    C = Ad @ Ad.T  # THEORY §2: C_ij = a_i·a_j / D
    s_d = bk.asarray(s)
    Omega = omega_kernel(generator.activation, C, s_d, s_d)
    Omega = bk.to_numpy(Omega).copy()
    np.fill_diagonal(Omega, scal["variance"])  # the diagonal exactly, not via ρ = 1 rounding
    Phi = scal["mean_derivative"][:, None] * (A / math.sqrt(D))  # Stein's lemma, §2
    return Moments(
        mean=np.asarray(scal["mean"], dtype=np.float64),
        Omega=Omega,
        Phi=Phi,
        exact=True,
        source=f"exact ({_omega_route(generator.activation)} for {generator.activation.name}; docs/theory.md §2)",
    )


#: the stage a spent time budget names during the Monte Carlo moments, unless the caller names it
MOMENTS_STAGE = "Monte Carlo moments"


@dataclass(frozen=True, eq=False)
class _MonteCarloRun:
    """What every group of a Monte Carlo moment run shares: the run (its backend, the samples'
    dtype, its deadline), the generator, the batch size and the stage the deadline names."""

    run: RunContext
    generator: Generator
    batch_size: int
    stage: str


class _BatchMeans:
    """Running sums over groups of each group estimate and of its square (batch means), in float64
    on the device; only the means and their standard errors move to the host."""

    def __init__(self, bk):
        self.bk = bk
        self.sums = {}

    def add(self, **estimates) -> None:
        xp, f64 = self.bk.xp, self.bk.xp.float64
        for key, val in estimates.items():
            val = xp.astype(val, f64)
            if key not in self.sums:
                self.sums[key], self.sums[key + "2"] = xp.asarray(val, copy=True), val**2
            else:
                self.sums[key] += val
                self.sums[key + "2"] += val**2

    def mean_se(self, key: str, G: int):
        """The mean of ``G`` group estimates and its batch-means standard error, on the host."""
        xp = self.bk.xp
        mu = self.sums[key] / G
        var = xp.clip(self.sums[key + "2"] / G - mu**2, min=0.0) * (G / (G - 1))
        return self.bk.to_numpy(mu), self.bk.to_numpy(xp.sqrt(var / G))


def _group_moments(mc: _MonteCarloRun, ng: int, seed):
    """One group's (E x, Ω, Φ) from ``ng`` samples by batched sums (xᵀx, xᵀc), and the
    :func:`time.perf_counter` reading at which its sampling started.

    The products run in the run's dtype (float32: a batch's xᵀx and xᵀc are single-precision
    GEMMs); the sums over batches and the row sums of x accumulate in float64, so the rounding
    of a float32 run does not grow with the number of batches.
    """
    bk, N, D = mc.run.backend, mc.generator.N, mc.generator.D
    xp = bk.xp
    f64 = xp.float64
    sx = xp.zeros((N,), dtype=f64)
    sxx = xp.zeros((N, N), dtype=f64)
    sxc = xp.zeros((N, D), dtype=f64)
    sc = xp.zeros((D,), dtype=f64)
    t_group = time.perf_counter()
    for c in iter_latent_batches(mc.run, ng, D, batch_size=mc.batch_size, seed=seed, stage=mc.stage):
        x = mc.generator.sample(c)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, by name
            sx += xp.sum(xp.astype(x, f64, copy=False), axis=0)
            sxx += xp.astype(x.T @ x, f64, copy=False)
            sxc += xp.astype(x.T @ c, f64, copy=False)
            sc += xp.sum(xp.astype(c, f64, copy=False), axis=0)
    check_finite_samples(bk, sxx, mc.run.dtype, "the Monte Carlo sums xᵀx of the generator's inputs")
    mg = sx / ng
    Og = (sxx - ng * (mg[:, None] * mg[None, :])) / (ng - 1)
    # Φ = E[(x − Ex) cᵀ] (= E[x cᵀ], E c = 0), estimated centred: Σ (x_i − x̄) c_iᵀ/(n_g − 1) is unbiased,
    # and unlike Σ x_i c_iᵀ/n_g its error does not carry Ex c̄ᵀ, whose spread grows with |Ex| (§2)
    Pg = (sxc - ng * (mg[:, None] * (sc / ng)[None, :])) / (ng - 1)
    return mg, Og, Pg, t_group


#: how a refused Monte Carlo run is fixed, unless the caller says otherwise
MOMENTS_FIX = ", or lower --moment-samples (moment_samples=)"


def _refuse_the_rest(run: RunContext, t_group: float, sizes: list, stage: str, fix: str) -> None:
    """After the first group (``sizes[0]`` of ``sum(sizes)`` samples, sampling from ``t_group``): refuse the
    run, named ``stage``, when the rest would not fit in half of what is left of the time budget."""
    run.backend.synchronize()
    ng, n = sizes[0], sum(sizes)
    need = (time.perf_counter() - t_group) * (n - ng) / ng
    run.deadline.refuse(f"{stage} (n = {n:,} in {len(sizes)} groups)", need, share=0.5, fix=fix)


def _group_sizes(n: int, n_groups: int) -> list:
    """n split into ``n_groups`` groups whose sizes differ by at most one."""
    n = positive_int(n, "n")
    n_groups = positive_int(n_groups, "n_groups", minimum=2)
    if n < 2 * n_groups:
        raise ValueError(f"n={n} is too small for {n_groups} groups; use n >= {2 * n_groups}")
    return [n // n_groups + (1 if g < n % n_groups else 0) for g in range(n_groups)]


def monte_carlo_moments(
    generator: Generator,
    n: int,
    *,
    seed=None,
    batch_size=None,
    n_groups: int = 20,
    backend="numpy",
    dtype="float64",
    weights=None,
    deadline=None,
) -> Moments:
    """Streaming Monte Carlo estimate of (E x, Ω, Φ) for any generator (§2).

    The n samples are split into ``n_groups`` groups; each group's moments are
    computed with batched sums (BLAS-3: xᵀx, xᵀc) and the standard error of
    every entry is the spread of the group estimates / √n_groups (batch
    means).  Memory O(N² + N D) plus one batch.

    With ``weights=(W_student, W_teacher)`` the covariance Σ_g of the Gaussian
    match is also recorded for each group, so that :func:`gaussian_match`
    reports batch-means standard errors of Q and R that account for the
    correlations between entries of Ω̂.

    With a :class:`getheory._deadline.Deadline` the first group measures the rate and the
    run is refused when the rest would not fit in half of what is left of the budget
    (the other half is the sampling's); every batch checks the deadline.
    """
    sizes = _group_sizes(n, n_groups)  # checked before the backend is resolved
    run = start_run_context(backend=backend, dtype=dtype).with_(deadline=deadline)  # the entry: the name resolved here
    return monte_carlo_moments_in(run, generator, LatentDraw(n, seed, batch_size), len(sizes), weights)


def monte_carlo_moments_in(run: RunContext, generator: Generator, draw: LatentDraw, n_groups: int = 20,
                           weights=None, *, fix: str = MOMENTS_FIX) -> Moments:
    """:func:`monte_carlo_moments` within a run: ``draw.n`` samples (from ``draw.seed``, in batches of
    ``draw.batch_size``) in ``n_groups`` groups, on ``run.backend`` in ``run.dtype``, under its deadline
    (a refusal names ``draw.stage`` and ends with ``fix``)."""
    sizes = _group_sizes(draw.n, n_groups)
    n, n_groups = sum(sizes), len(sizes)
    bk, seed, batch_size = run.backend, draw.seed, draw.batch_size
    if batch_size is None:
        batch_size = auto_batch_size(generator.N, generator.D, dtype=run.dtype, backend=bk)
    mc = _MonteCarloRun(run, generator, batch_size, draw.stage or MOMENTS_STAGE)
    acc = _BatchMeans(bk)
    group_covs = [] if weights is not None else None
    rng_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    if weights is not None:
        W_d, Wt_d = (bk.asarray(w, dtype=bk.xp.float64) for w in weights)
    for g, ng in enumerate(sizes):
        mg, Og, Pg, t_group = _group_moments(mc, ng, rng_seq.spawn(1)[0])
        if run.deadline is not None and g == 0:
            _refuse_the_rest(run, t_group, sizes, mc.stage, fix)
        if weights is not None:  # the group's match covariance, formed on the device: (K+M)² numbers move
            xp, f64 = bk.xp, bk.xp.float64
            group_covs.append(bk.to_numpy(_match_cov_xp(xp, xp.astype(Og, f64), xp.astype(Pg, f64), W_d, Wt_d)))
        acc.add(m=mg, O=Og, P=Pg)
    return _moments_from(acc, n, n_groups, group_covs)


def _moments_from(acc: _BatchMeans, n: int, G: int, group_covs) -> Moments:
    """The batch means of ``G`` groups of ``n`` samples in all, with their standard errors (§2)."""
    mean, se_m = acc.mean_se("m", G)
    Omega, se_O = acc.mean_se("O", G)
    Phi, se_P = acc.mean_se("P", G)
    Omega = (Omega + Omega.T) / 2
    return Moments(
        mean=mean,
        Omega=Omega,
        Phi=Phi,
        exact=False,
        source=f"Monte Carlo, n={n} in {G} groups (batch-means standard errors; docs/theory.md §2)",
        n_samples=n,
        stderr_mean=se_m,
        stderr_Omega=se_O,
        stderr_Phi=se_P,
        group_match_covs=group_covs,
    )


def _match_cov(moments, W, Wt):
    return _match_cov_xp(npx, moments.Omega, moments.Phi, W, Wt)


def _match_cov_xp(xp, Omega, Phi, W, Wt):
    """Σ = [[Q, R], [Rᵀ, T]] of the Gaussian match (§2) on any backend."""
    N, D = int(Omega.shape[0]), int(Phi.shape[1])
    Q = W @ Omega @ W.T / N  # §2
    R = W @ Phi @ Wt.T / math.sqrt(N * D)
    T = Wt @ Wt.T / D
    return xp.concat([xp.concat([Q, R], axis=1), xp.concat([R.T, T], axis=1)], axis=0)


def gaussian_match(moments: Moments, W_student, W_teacher) -> GaussianMatch:
    """Mean and covariance of the Gaussian match P̂ of (λ, ν) (§2).

    .. math::
        m = (W E x/√N, 0),\\quad Q = W Ω Wᵀ/N,\\quad R = W Φ \\tilde Wᵀ/√(N D),
        \\quad T = \\tilde W \\tilde Wᵀ/D

    Parameters
    ----------
    moments : Moments
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    """
    N, D = moments.N, moments.D
    W, Wt = check_weights(W_student, W_teacher, N, D)
    cov = _match_cov(moments, W, Wt)
    # batch means over the Monte Carlo groups (the groups used these same weights)
    return _finish_match(cov, W @ moments.mean / math.sqrt(N), Wt.shape[0], moments.exact,
                         moments.group_match_covs)


def _finish_match(cov, mean_lambda, M: int, exact: bool, group_covs) -> GaussianMatch:
    """The :class:`GaussianMatch` of covariance ``cov`` and student mean ``mean_lambda`` (teacher mean 0), Σ
    checked PSD (rounding's negative eigenvalues clipped, with a warning) and, given the groups' Σ_g, the
    batch-means standard errors of its entries (§2)."""
    cov, clipped = check_covariance(cov, "covariance of the Gaussian match Σ")
    if clipped:
        warnings.warn(f"Σ had {clipped} slightly negative eigenvalue(s) from rounding; clipped to 0")
    mean_lambda = np.asarray(mean_lambda, dtype=np.float64)
    mean = np.concatenate([mean_lambda, np.zeros(M)])
    se = None
    if group_covs:
        G = np.array(group_covs)
        if G.shape[1:] == cov.shape:
            se = G.std(axis=0, ddof=1) / math.sqrt(G.shape[0])
    return GaussianMatch(mean=mean, cov=cov, K=mean_lambda.shape[0], M=M, exact=exact, stderr_cov=se,
                         clipped_eigenvalues=clipped)


# ---------------------------------------------------------------------------------------------------
# The match from the fields (§2, The match from the fields)


class _FieldSums:
    """A sink for :func:`getheory.fields.stream_fields_in`: the row count, Σ z and Σ z zᵀ of the fields
    z = (λ, ν) of one group, accumulated in float64 on the device whatever the samples' dtype
    (O((K+M)²) work a row)."""

    def __init__(self, bk, d: int):
        self.bk, self.n = bk, 0
        xp = bk.xp
        self.s = xp.zeros((d,), dtype=xp.float64)
        self.ss = xp.zeros((d, d), dtype=xp.float64)

    def update(self, z) -> None:
        xp = self.bk.xp
        z = xp.astype(z, xp.float64)
        self.n += int(z.shape[0])
        self.s += xp.sum(z, axis=0)
        self.ss += z.T @ z

    def group_estimates(self, K: int):
        """(λ̄, Q_g, R_g) of the group on the host: the mean of λ, the within-group covariance of λ
        and the within-group cross-covariance of λ and ν (both divisor n_g − 1), as
        :func:`monte_carlo_moments` gives W E x/√N, W Ω̂_g Wᵀ/N and W Φ̂_g W̃ᵀ/√(ND) (§2).  R is centred
        although E ν = 0: the uncentred mean of λ νᵀ carries m_λ ν̄ᵀ, whose spread |m_λ|/√n_g grows
        like √N for a generator with E x ≠ 0 (a deep relu network)."""
        s, ss, n = self.bk.to_numpy(self.s), self.bk.to_numpy(self.ss), self.n
        zbar = s / n
        C = (ss - n * np.outer(zbar, zbar)) / (n - 1)
        return zbar[:K], 0.5 * (C[:K, :K] + C[:K, :K].T), C[:K, K:]


def monte_carlo_match(generator: Generator, W_student, W_teacher, n: int, *, seed=None, batch_size=None,
                      n_groups: int = 20, backend="numpy", dtype="float64", deadline=None) -> GaussianMatch:
    """The Gaussian match P̂ = N(m, Σ) of (λ, ν) estimated from the fields of n latents (§2).

    The n rows are split into ``n_groups`` groups exactly as :func:`monte_carlo_moments` splits
    them, and group g draws its latents from child g of ``seed`` (as there), so on the same seed
    both see the same latents.  Each group accumulates, in float64, Σ z and Σ z zᵀ of its
    fields z = (λ, ν); then, with the within-group (co)variances of divisor n_g − 1,

    .. math::
        m_λ = \\overline{\\bar λ_g},\\quad Q = \\overline{\\widehat{\\mathrm{Cov}}_g(λ)},\\quad
        R = \\overline{\\widehat{\\mathrm{Cov}}_g(λ, ν)},\\quad T = \\tilde W \\tilde W^\\top/D,\\quad m_ν = 0,

    which is, in exact arithmetic, ``gaussian_match(monte_carlo_moments(...), W_student, W_teacher)``
    (Q = W Ω̂ Wᵀ/N with Ω̂ the mean within-group covariance, R = W Φ̂ W̃ᵀ/√(ND) with Φ̂ the mean
    within-group cross-covariance of x and c), without ever
    forming the N × N Ω̂: O((K+M)²) work a row on top of sampling the fields, instead of
    O(N² + N D).  ``stderr_cov`` are the batch-means standard errors of Σ's entries from the
    spread of the groups' Σ_g.  Its noise is what :class:`getheory.distances.MomentNoise`
    re-draws in the floor replicates (docs/theory.md §4.1, Monte Carlo matches).

    Parameters
    ----------
    generator : Generator
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    n : int
        Rows in all (at least 2 per group).
    seed, batch_size, backend, dtype
        As in :func:`monte_carlo_moments`; the fields are sampled in ``dtype`` and summed in float64.
    n_groups : int
        Batch-means groups (default 20).
    deadline : getheory._deadline.Deadline, optional
        As in :func:`monte_carlo_moments`: the first group measures the rate, and the run is
        refused when the rest would not fit in half of what is left of the budget.

    Returns
    -------
    GaussianMatch
    """
    sizes = _group_sizes(n, n_groups)  # checked before the backend is resolved
    W, Wt = check_weights(W_student, W_teacher, generator.N, generator.D)
    run = start_run_context(backend=backend, dtype=dtype).with_(deadline=deadline)  # the entry: the name resolved here
    return monte_carlo_match_in(run, generator, (W, Wt), LatentDraw(n, seed, batch_size), len(sizes))


def monte_carlo_match_in(run: RunContext, generator: Generator, weights, draw: LatentDraw,
                         n_groups: int = 20, *, fix: str = MOMENTS_FIX) -> GaussianMatch:
    """:func:`monte_carlo_match` within a run: ``draw.n`` rows (latents from ``draw.seed``) in ``n_groups``
    groups, on ``run.backend`` in ``run.dtype``, under its deadline; ``weights`` = (W_student, W_teacher),
    checked by the caller; a refusal names ``draw.stage`` and ends with ``fix``."""
    sizes = _group_sizes(draw.n, n_groups)
    G = len(sizes)
    W, Wt = weights
    K, M, D = W.shape[0], Wt.shape[0], generator.D
    bk = run.backend
    batch_size = draw.batch_size
    if batch_size is None:
        batch_size = auto_batch_size(generator.N, D, dtype=run.dtype, backend=bk)
    quiet = run.with_(progress=False)  # twenty groups: no progress bar of their own, as Ω's
    root = seedseq(draw.seed)
    T = Wt @ Wt.T / D  # §2, exact
    lam, Q, R, covs = np.zeros(K), np.zeros((K, K)), np.zeros((K, M)), []
    for g, ng in enumerate(sizes):
        sums = _FieldSums(bk, K + M)
        t_group = time.perf_counter()
        # group g's latents: child g of the seed, as monte_carlo_moments' g-th spawn of a fresh seed
        group = LatentDraw(ng, shard_seed(root, g), batch_size, draw.stage or MOMENTS_STAGE)
        stream_fields_in(quiet, generator, W, Wt, group, sums)
        if run.deadline is not None and g == 0:
            _refuse_the_rest(run, t_group, sizes, group.stage, fix)
        lam_g, Q_g, R_g = sums.group_estimates(K)
        lam, Q, R = lam + lam_g / G, Q + Q_g / G, R + R_g / G
        covs.append(np.block([[Q_g, R_g], [R_g.T, T]]))
    return _finish_match(np.block([[Q, R], [R.T, T]]), lam, M, False, covs)
