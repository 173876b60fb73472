"""Ridge learning curves over α, λ and seeds for three sources: generator data, its
Gaussian equivalent and the deterministic equivalent (docs/theory.md §8).

The generator and the teacher θ are fixed (drawn once from ``seed``); the seeds vary
the training and test data.  Both simulated sources see the same latents c and the same
labels y, so their difference is paired seed by seed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from .._json import to_plain
from .._repr import ShortRepr
from .._run import RunContext, start_run_context
from .._seeds import RIDGE, RIDGE_DATA, RIDGE_PROBLEM
from .._validation import positive_int
from ..backend import BACKEND_NAMES, USER_BACKENDS, Backend, get_backend
from ..generators import SingleLayerGenerator, random_single_layer
from ..moments import exact_moments, monte_carlo_moments
from ._solve import SOLVERS
from ._stream import (GaussianEquivalentSource, GeneratorSource, RidgeProblem, _Fit, check_ridge_memory,
                      stream_ridge_in, stream_test_error)
from ._theory import TEACHERS, get_teacher, ridge_spectrum, ridge_theory

__all__ = ["RidgeOptions", "RidgeResult", "ridge_curves", "ridge_finite_size", "FiniteSizeGap",
           "DEFAULT_ALPHAS", "DEFAULT_LAMBDAS", "draw_problem", "sample_sizes"]

#: 20 sample ratios log-spaced on [0.1, 10], the one just above 1 moved to α = 1 (the interpolation peak)
DEFAULT_ALPHAS = tuple(1.0 if k == 10 else round(float(a), 4) for k, a in enumerate(np.geomspace(0.1, 10.0, 20)))
DEFAULT_LAMBDAS = (1e-4, 1e-2, 1.0)
SOURCES = ("generator", "gaussian")


def _positive_floats(values, name):
    try:
        vals = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of positive numbers, got {values!r}") from None
    if not vals:
        raise ValueError(f"{name} is empty")
    bad = [v for v in vals if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"{name} must all be > 0 (and finite); got {bad[0]!r}")
    return vals


@dataclass(frozen=True, repr=False)
class RidgeOptions(ShortRepr):
    """What a ridge learning curve computes (docs/theory.md §8).

    Parameters
    ----------
    alphas, lambdas : tuple of float
        Sample ratios α = n/N and ridge penalties λ (> 0).
    seeds : int
        Number of data seeds (training and test sets); the generator and θ are fixed.
    teacher : str
        ``linear``, ``erf2`` or ``sign``.
    noise : float
        Label-noise variance Δ ≥ 0.
    n_test : int
        Fresh test samples per seed.
    sources : tuple of str
        A non-empty subset of ("generator", "gaussian") (a single name is taken as one source).
    theory : bool
        Compute the deterministic equivalent.
    solver : str
        "auto", "eigh" or "cholesky".
    batch_size : int, optional
        Rows per streamed batch (default from the device's memory budget).
    solve_threads : int, optional
        BLAS threads of the ridge solves (None: as configured; 1 avoids OpenBLAS's
        synchronisation cost on a busy machine, see :func:`getheory.ridge.ridge_predictors`).
    backend : str or Backend
        ``"numpy"`` or ``"cupy"`` (or a :class:`getheory.backend.Backend`): where the
        samples, XᵀX, Xᵀy and the test errors live (resolved once by
        :func:`ridge_curves`).  The per-size solves and the theory run on the host.
    """

    alphas: tuple = DEFAULT_ALPHAS
    lambdas: tuple = DEFAULT_LAMBDAS
    seeds: int = 4
    teacher: str = "sign"
    noise: float = 0.0
    n_test: int = 10_000
    sources: tuple = SOURCES
    theory: bool = True
    solver: str = "auto"
    batch_size: int | None = None
    solve_threads: int | None = None
    backend: str = "numpy"

    def __post_init__(self):
        object.__setattr__(self, "alphas", tuple(sorted(_positive_floats(self.alphas, "alphas (α)"))))
        object.__setattr__(self, "lambdas", _positive_floats(self.lambdas, "lambdas (λ)"))
        object.__setattr__(self, "seeds", positive_int(self.seeds, "seeds"))
        _check_labels(self.teacher, self.noise)
        object.__setattr__(self, "n_test", positive_int(self.n_test, "n_test", minimum=2))
        object.__setattr__(self, "sources", _sources(self.sources))
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", positive_int(self.batch_size, "batch_size"))
        if self.solve_threads is not None:
            object.__setattr__(self, "solve_threads", positive_int(self.solve_threads, "solve_threads"))
        if not isinstance(self.backend, Backend) and self.backend not in BACKEND_NAMES:
            raise ValueError(f"backend must be {' or '.join(map(repr, USER_BACKENDS))}, got {self.backend!r}")


def _check_labels(teacher, noise):
    """Refuse an unknown teacher or a label-noise variance Δ that is not a finite number >= 0."""
    if teacher not in TEACHERS:
        raise ValueError(f"unknown teacher {teacher!r}: choose one of {', '.join(TEACHERS)}")
    if not isinstance(noise, numbers.Real) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise (label-noise variance Δ) must be a finite number >= 0, got {noise!r}")


def _sources(sources) -> tuple:
    """The simulated sources as a tuple (a single name is one source), each known and named once."""
    src = (sources,) if isinstance(sources, str) else tuple(sources)
    bad = [s for s in src if s not in SOURCES]
    if bad:
        raise ValueError(f"unknown source {bad[0]!r}: choose from {', '.join(SOURCES)}")
    if not src or len(set(src)) != len(src):
        raise ValueError(f"sources must name each simulated source at most once and at least one of "
                         f"{', '.join(SOURCES)}; got {src!r}")
    return src


def _recorded(opts: RidgeOptions) -> RidgeOptions:
    """``opts`` with a backend object replaced by its label, for the JSON settings."""
    if isinstance(opts.backend, Backend):
        return dataclasses.replace(opts, backend=opts.backend.name)
    return opts


def _summary(a):
    """(mean, sd, se) over the seed axis 0."""
    S = a.shape[0]
    m = a.mean(axis=0)
    sd = a.std(axis=0, ddof=1) if S > 1 else np.full_like(m, np.nan)
    return m, sd, sd / math.sqrt(S)


@dataclass
class RidgeResult:
    """Learning curves ε_g(α, λ) per source and seed, and the theory (docs/theory.md §8).

    ``eps[source]`` and ``test_se[source]`` have shape (seeds, len(α), len(λ));
    ``theory`` holds arrays of shape (len(α), len(λ)) (``eps``, ``kappa``, ...).
    """

    settings: dict
    alphas: np.ndarray
    lambdas: np.ndarray
    eps: dict
    test_se: dict
    theory: dict | None
    decomposition: dict | None
    timings: dict
    notes: list = field(default_factory=list)
    spectrum: object = None  # the RidgeSpectrum behind the theory (not serialised)

    def summary(self, source):
        """(mean, sd, se) over seeds of ε_g, arrays (len(α), len(λ))."""
        return _summary(self.eps[source])

    def comparisons(self) -> dict:
        """Gaps between sources, per (α, λ): mean, its standard error and z = gap/se.

        ``generator − gaussian`` is paired over seeds (same c and y); a source against the
        theory uses that source's standard error over seeds.
        """
        out = {}
        srcs = list(self.eps)
        if "generator" in self.eps and "gaussian" in self.eps:
            d = self.eps["generator"] - self.eps["gaussian"]
            m, _sd, se = _summary(d)
            out["generator - gaussian"] = {"gap": m, "se": se, "z": m / se}
        if self.theory is not None:
            for s in srcs:
                m, _sd, se = _summary(self.eps[s])
                g = m - self.theory["eps"]
                out[f"{s} - theory"] = {"gap": g, "se": se, "z": g / se, "relative": g / self.theory["eps"]}
        return out

    def to_dict(self) -> dict:
        d = {"settings": self.settings, "alphas": self.alphas, "lambdas": self.lambdas, "sources": {},
             "theory": None, "decomposition": self.decomposition, "comparisons": self.comparisons(),
             "timings": self.timings, "notes": self.notes}
        for s in self.eps:
            m, sd, se = self.summary(s)
            d["sources"][s] = {"eps_per_seed": self.eps[s], "test_se_per_seed": self.test_se[s],
                               "mean": m, "sd_over_seeds": sd, "se": se}
        if self.theory is not None:
            d["theory"] = {k: v for k, v in self.theory.items() if k != "decomposition"}
        return to_plain(d)


def draw_problem(run: RunContext, generator, default, given):
    """(generator, moments, θ): the given generator or the default one, ``default`` = (activation,
    N, D); its moments and θ, from ``given`` = (moment_samples, theta, moments) or drawn from
    ``run.seeds.problem`` (:data:`getheory._seeds.RIDGE_PROBLEM`); θ rescaled to ‖θ‖² = D."""
    (activation, N, D), (moment_samples, theta, moments) = default, given
    ss_gen, ss_theta, ss_mom = RIDGE_PROBLEM.streams(run.seeds.problem)
    if generator is None:
        generator = random_single_layer(N, D, activation, seed=ss_gen)
    if moments is not None:
        mom = moments
        if mom.N != generator.N or mom.D != generator.D:
            raise ValueError(f"moments are for N={mom.N}, D={mom.D}, the generator has N={generator.N}, "
                             f"D={generator.D}")
    elif isinstance(generator, SingleLayerGenerator):
        if moment_samples is not None:
            raise ValueError(f"moment_samples = {moment_samples} sets Monte Carlo samples for a generator without "
                             "closed-form moments, but a single-layer generator's moments are exact: leave it out")
        mom = exact_moments(generator)
    else:
        n_mc = moment_samples if moment_samples is not None else 50 * generator.N
        mom = monte_carlo_moments(generator, n_mc, seed=ss_mom)
    if theta is None:
        theta = np.random.default_rng(ss_theta).standard_normal(generator.D)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    if theta.shape[0] != generator.D or not np.all(np.isfinite(theta)) or not np.any(theta):
        raise ValueError(f"theta must be a finite non-zero vector of length D = {generator.D}")
    theta = theta * math.sqrt(generator.D) / np.linalg.norm(theta)  # ‖θ‖² = D, so T = 1
    return generator, mom, theta


def ridge_curves(generator=None, *, activation="sign", N=None, D=None, options: RidgeOptions | None = None,
                 seed=0, moment_samples=None, theta=None, moments=None, progress=False) -> RidgeResult:
    """Ridge learning curves on generator data, its Gaussian equivalent and the theory (§8).

    Parameters
    ----------
    generator : Generator, optional
        Default: a random single-layer generator σ(A c/√D) with ``activation``, N, D.
    N, D : sizes of the default generator (D defaults to N/2)
    options : RidgeOptions
    seed : master seed (generator, θ, Monte Carlo moments, then the data seeds)
    moment_samples : Monte Carlo samples for (E x, Ω, Φ) of generators without closed forms
    theta : teacher vector (D,), rescaled to ‖θ‖² = D; default N(0, I_D)
    moments : precomputed :class:`getheory.moments.Moments` (skips their computation)

    Notes
    -----
    The backend of ``options.backend`` is resolved here, once; the sources, the latent
    and noise streams, XᵀX, Xᵀy and the test errors live on its device, the moments, the
    theory and the per-size solves on the host (see :mod:`getheory.ridge._stream`).

    Examples
    --------
    >>> import getheory as gt
    >>> options = gt.RidgeOptions(alphas=(0.5, 2.0), lambdas=(0.1,), seeds=2, n_test=1000)
    >>> result = gt.ridge_curves(activation="sign", N=40, D=20, options=options, seed=0)
    >>> result.eps["generator"].shape  # (seeds, α, λ)
    (2, 2, 1)
    >>> result.theory["eps"].round(2).ravel()  # the deterministic equivalent at α = 0.5, 2
    array([1.03, 0.87])
    """
    opts = options if options is not None else RidgeOptions()
    run = start_run_context(backend=opts.backend, layout=RIDGE, seed=seed, progress=progress)
    return _ridge_curves(run, opts, generator, (activation, N, D), (moment_samples, theta, moments), seed)


#: the stages of a :class:`RidgeResult`'s ``timings``, in order
TIMED_STAGES = ("moments", "theory", "gaussian_setup", "sampling", "accumulate", "solve", "evaluation")


def _ridge_curves(run: RunContext, opts: RidgeOptions, generator, default, given, seed) -> RidgeResult:
    """:func:`ridge_curves` in its run context; ``default`` = (activation, N, D) of the default generator,
    ``given`` = (moment_samples, theta, moments), ``seed`` the master seed (for the settings)."""
    activation, N, D = default
    N, D = _sizes(generator, N, D)
    sizes = sample_sizes(opts.alphas, N)
    n_pred = len(opts.alphas) * len(opts.lambdas)
    check_ridge_memory(N, D, len(opts.sources), n_pred, opts.batch_size or 4096, backend=run.backend)
    teacher = get_teacher(opts.teacher)
    run.timings.update(dict.fromkeys(TIMED_STAGES, 0.0))
    with run.stage("moments"):
        generator, mom, theta = draw_problem(run, generator, (activation, N, D), given)
    sources = _sources_of(run, opts.sources, generator, mom)
    theory, dec, spec = _theory_of(run, opts, mom, theta, teacher)
    problem = RidgeProblem(sources, theta, teacher, opts.noise, sizes)
    eps, tse = _seed_curves(run, problem, opts)
    gdesc = generator.describe()
    settings = {"generator": gdesc, "N": N, "D": D, "delta": D / N, "options": _recorded(opts), "seed": seed,
                "moments": mom.source, "sample_sizes": sizes}
    return RidgeResult(settings=to_plain(settings), alphas=np.array(opts.alphas), lambdas=np.array(opts.lambdas),
                       eps=eps, test_se=tse, theory=theory, decomposition=dec, timings=dict(run.timings),
                       notes=run.notes, spectrum=spec)


def _sizes(generator, N, D):
    """(N, D): the generator's, or the given ones (default N = 1000, D = N/2) for the default generator."""
    if generator is None:
        N = positive_int(N if N is not None else 1000, "N")
        D = positive_int(D if D is not None else max(1, N // 2), "D")
        return N, D
    for name, given in (("N", N), ("D", D)):
        if given is not None and given != getattr(generator, name):
            raise ValueError(f"{name} = {given} was given, but the generator given has {name} = "
                             f"{getattr(generator, name)}: leave out {name} (the generator sets it)")
    return generator.N, generator.D


def sample_sizes(alphas, N) -> list:
    """Training-set sizes n = round(α N), ascending; refuses n < 1 and two α with the same n."""
    sizes = [int(round(a * N)) for a in alphas]
    if sizes[0] < 1:
        raise ValueError(f"α = {alphas[0]} gives n = α N < 1 sample at N = {N}; raise α or N")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"two values of α give the same n = round(α N) at N = {N}; use fewer α or a larger N")
    return sizes


def _sources_of(run: RunContext, names, generator, mom) -> list:
    """The simulated sources named in ``names``: generator data and its Gaussian equivalent, on the run's backend."""
    bk = run.backend
    sources = []
    if "generator" in names:
        sources.append(GeneratorSource(generator, mom.mean, backend=bk))
    if "gaussian" in names:
        with run.stage("gaussian_setup"):
            ge = GaussianEquivalentSource(mom.Omega, mom.Phi, backend=bk)
            sources.append(ge)
        if ge.clipped:
            run.note(f"Ω − ΦΦᵀ had {ge.clipped} slightly negative eigenvalue(s), clipped to 0")
    return sources


def _theory_of(run: RunContext, opts: RidgeOptions, mom, theta, teacher):
    """(theory, label decomposition, spectrum) of the deterministic equivalent; all None without ``opts.theory``."""
    if not opts.theory:
        return None, None, None
    with run.stage("theory"):
        spec = ridge_spectrum(mom.Omega, mom.Phi, theta)
        theory = ridge_theory(spec, teacher, opts.noise, opts.alphas, opts.lambdas)
        dec = theory["decomposition"].to_dict()
    if spec.dropped:
        run.note(f"Ω has {spec.dropped} zero eigenvalue(s) (rank {mom.Omega.shape[0] - spec.dropped})")
    return theory, dec, spec


def _seed_curves(run: RunContext, problem: RidgeProblem, opts: RidgeOptions):
    """(eps, test_se): per source, arrays (seeds, len(α), len(λ)) of test errors over the data seeds
    (data seed ``i``: child ``i`` of ``run.seeds.data``)."""
    S, A, L = opts.seeds, len(opts.alphas), len(opts.lambdas)
    sizes = problem.sizes
    eps = {s.name: np.zeros((S, A, L)) for s in problem.sources}
    tse = {s.name: np.zeros((S, A, L)) for s in problem.sources}
    prog = run.progress_bar(S * sizes[-1], "ridge samples")
    data_seeds = run.seeds.data.spawn(S)
    for i, ss in enumerate(data_seeds):
        te = _one_seed(run, problem, opts, ss, lambda d, i=i: prog.update(i * sizes[-1] + d))
        for name, (m, se) in te.items():
            eps[name][i], tse[name][i] = m, se
    return eps, tse


def _one_seed(run: RunContext, problem: RidgeProblem, opts: RidgeOptions, ss, progress):
    """Train on one data seed's training set at every (n, λ) and return the test errors per source."""
    ss_train, ss_test = RIDGE_DATA.streams(ss)
    fit = _Fit(opts.lambdas, opts.solver, opts.solve_threads, opts.batch_size)
    preds = stream_ridge_in(run, problem, fit, ss_train, progress)
    with run.stage("evaluation", add=True):
        te = stream_test_error(problem.sources, preds, problem.theta, problem.teacher, problem.noise, opts.n_test,
                               seed=ss_test, batch_size=opts.batch_size)
    return te


@dataclass
class FiniteSizeGap:
    """Gaps between sources over N at fixed δ (docs/theory.md §8.4).

    ``gaps[name]`` (len(N),): the mean over the (α, λ) grid of |gap|/theory (for ``… − theory``)
    or |gap|/ε_g^gaussian (for ``generator − gaussian``); ``se[name]`` its standard error
    (propagated from the per-point standard errors, averaged).
    """

    Ns: list
    gaps: dict
    se: dict
    settings: dict

    def to_dict(self):
        return to_plain({"N": self.Ns, "gaps": self.gaps, "se": self.se, "settings": self.settings})


def ridge_finite_size(Ns, *, activation="sign", delta=0.5, options: RidgeOptions | None = None, seed=0,
                      progress=False) -> FiniteSizeGap:
    """Relative gaps generator − Gaussian, generator − theory and Gaussian − theory versus N (§8.4).

    The backend of ``options.backend`` is resolved once, here, and the object handed to
    every :func:`ridge_curves` run (each makes its own run context with it).
    """
    opts = options if options is not None else RidgeOptions()
    opts = dataclasses.replace(opts, backend=get_backend(opts.backend))
    Ns = [positive_int(n, "N") for n in Ns]
    gaps, ses = {}, {}
    for N in Ns:
        D = max(1, int(round(delta * N)))
        r = ridge_curves(activation=activation, N=N, D=D, options=opts, seed=seed, progress=progress)
        ref = r.theory["eps"] if r.theory is not None else r.summary("gaussian")[0]
        for k, c in r.comparisons().items():
            gaps.setdefault(k, []).append(float(np.mean(np.abs(c["gap"]) / ref)))
            ses.setdefault(k, []).append(float(np.sqrt(np.mean((c["se"] / ref) ** 2) / c["se"].size)))
    return FiniteSizeGap(Ns=Ns, gaps=gaps, se=ses, settings=to_plain({"activation": activation, "delta": delta,
                                                                       "options": _recorded(opts), "seed": seed}))
