"""ERM learning curves over α, λ and data seeds for generator data, its Gaussian equivalent and the
theory (docs/theory.md §10.5).

The generator and θ are fixed (drawn from the master seed exactly as :func:`getheory.ridge_curves`
draws them); each data seed draws a training set of n_max = α_max N rows and a fresh test set, the
same latents and labels for both simulated sources, so their gap is paired seed by seed.  At every
(α, λ) the first n = αN rows are fitted (:func:`._fit.fit_erm`, certified), the test error is
measured on the test set, and the training loss is the fit's own.

Backends: the latents, the noise and both sources' rows are made on ``ErmOptions.backend`` (as
:func:`getheory.ridge_curves` makes them) and each row is brought to the host once; the fits run
on the host (NumPy, SciPy), where the test errors and training losses are measured.

Checkpoint: with ``ErmOptions.checkpoint`` every finished data seed's numbers are saved there and a
run that finds its own checkpoint continues from it (:mod:`getheory.erm._checkpoint`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .._json import to_plain
from .._markdown import table_row, table_rule
from .._repr import ShortRepr
from .._run import RunContext, start_run_context
from .._seeds import ERM, ERM_DATA
from .._validation import positive_int
from ..backend import BACKEND_NAMES, USER_BACKENDS, Backend
from ..ridge import GaussianEquivalentSource, GeneratorSource, draw_problem, get_teacher, sample_sizes
from ._checkpoint import FIELDS, ErmCheckpoint
from ._data import ErmLabels, draw_set
from ._fit import fit_erm
from ._losses import LOSSES, get_loss
from ._theory import _check_grid, _check_pair, erm_theory

__all__ = ["ErmOptions", "ErmResult", "erm_curves"]

SOURCES = ("generator", "gaussian")


@dataclass(frozen=True, repr=False)
class ErmOptions(ShortRepr):
    """What an ERM learning curve computes (docs/theory.md §10).

    Parameters
    ----------
    loss : {"logistic", "hinge", "square"}
    alphas, lambdas : tuple of float
        Sample ratios α = n/N and penalties λ (> 0).
    seeds : int
        Data seeds (training and test sets); the generator and θ are fixed.
    teacher : {"sign", "linear", "erf2"}
        Labels sign(ν + √Δ ε) (every loss), or f(ν) + √Δ ε (square loss only).
    noise : float
        Label noise Δ >= 0.
    n_test : int
        Fresh test rows per seed.
    sources : tuple of str
        A non-empty subset of ("generator", "gaussian").
    theory : bool
        Compute :func:`getheory.erm_theory` at the same grid.
    backend : str or Backend
        ``"numpy"`` or ``"cupy"`` (or a :class:`getheory.backend.Backend`): where the latents, the noise
        and the rows of both sources are made (resolved once by :func:`erm_curves`); each row comes to
        the host once, where the fits, test errors and training losses are computed.
    checkpoint : str, optional
        A folder where every finished data seed's fits are saved; a run that finds its own checkpoint
        there continues from it (:mod:`getheory.erm._checkpoint`).  None: no checkpoint.
    """

    loss: str = "logistic"
    alphas: tuple = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    lambdas: tuple = (0.01, 0.1, 1.0)
    seeds: int = 5
    teacher: str = "sign"
    noise: float = 0.0
    n_test: int = 10_000
    sources: tuple = SOURCES
    theory: bool = True
    backend: str = "numpy"
    checkpoint: str | None = None

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}: choose one of {', '.join(LOSSES)}")
        _check_pair(get_loss(self.loss), self.teacher)
        alphas, lambdas = _check_grid(self.alphas, self.lambdas, float(self.noise))
        object.__setattr__(self, "alphas", tuple(sorted(float(a) for a in alphas)))
        object.__setattr__(self, "lambdas", tuple(float(v) for v in lambdas))
        object.__setattr__(self, "seeds", positive_int(self.seeds, "seeds"))
        object.__setattr__(self, "n_test", positive_int(self.n_test, "n_test", minimum=2))
        src = (self.sources,) if isinstance(self.sources, str) else tuple(self.sources)
        if not src or len(set(src)) != len(src) or any(s not in SOURCES for s in src):
            raise ValueError(f"sources must name each of {', '.join(SOURCES)} at most once (at least one); got {src!r}")
        object.__setattr__(self, "sources", src)
        if not isinstance(self.backend, Backend) and self.backend not in BACKEND_NAMES:
            raise ValueError(f"backend must be {' or '.join(map(repr, USER_BACKENDS))}, got {self.backend!r}")
        if self.checkpoint is not None:
            if not isinstance(self.checkpoint, (str, os.PathLike)) or not os.fspath(self.checkpoint):
                raise ValueError(f"checkpoint must be a folder path, got {self.checkpoint!r}")
            object.__setattr__(self, "checkpoint", os.fspath(self.checkpoint))

    def recorded(self) -> ErmOptions:
        """These options with a backend object replaced by its name (for the JSON settings)."""
        return dataclasses.replace(self, backend=self.backend.name) if isinstance(self.backend, Backend) else self


def _summary(a):
    """(mean, se) over the seed axis 0 (se NaN with one seed)."""
    S = a.shape[0]
    return a.mean(axis=0), (a.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.full(a.shape[1:], np.nan))


@dataclass
class ErmResult:
    """Test errors and training losses per source, seed, α and λ, the fits' certificates, and the theory.

    ``test_error[source]``, ``train_loss[source]``, ``certificate[source]`` have shape
    (seeds, len(α), len(λ)); ``theory`` holds :func:`getheory.erm_theory`'s arrays (len(α), len(λ)).
    """

    settings: dict
    alphas: np.ndarray
    lambdas: np.ndarray
    test_error: dict
    train_loss: dict
    certificate: dict
    converged: dict
    theory: dict | None
    timings: dict
    notes: list = field(default_factory=list)
    problem: tuple = ()  # (Ω, Φ, θ) behind the theory (not serialised)

    def comparisons(self) -> dict:
        """Per (α, λ): generator − gaussian (paired over seeds) and each source − theory, of the test
        error: the gap, its standard error over seeds and z = gap/se."""
        out = {}
        if "generator" in self.test_error and "gaussian" in self.test_error:
            m, se = _summary(self.test_error["generator"] - self.test_error["gaussian"])
            out["generator - gaussian"] = {"gap": m, "se": se, "z": m / se}
        if self.theory is not None:
            for s, e in self.test_error.items():
                m, se = _summary(e)
                g = m - self.theory["test_error"]
                out[f"{s} - theory"] = {"gap": g, "se": se, "z": g / se}
        return out

    def to_dict(self) -> dict:
        d = {"settings": self.settings, "alphas": self.alphas, "lambdas": self.lambdas, "sources": {},
             "theory": self.theory, "comparisons": self.comparisons(), "timings": self.timings, "notes": self.notes}
        for s in self.test_error:
            m, se = _summary(self.test_error[s])
            tm, tse = _summary(self.train_loss[s])
            d["sources"][s] = {"test_error_per_seed": self.test_error[s], "test_error": m, "test_error_se": se,
                               "train_loss_per_seed": self.train_loss[s], "train_loss": tm, "train_loss_se": tse,
                               "certificate_per_seed": self.certificate[s], "converged": self.converged[s]}
        return to_plain(d)

    def to_table(self) -> str:
        """A Markdown table: per (α, λ) the test error of each source (mean ± se) and the theory."""
        head = ["α", "λ"] + [f"{s} (± se)" for s in self.test_error] + (["theory"] if self.theory else [])
        rows = []
        for i, a in enumerate(self.alphas):
            for j, lam in enumerate(self.lambdas):
                row = [f"{a:g}", f"{lam:g}"]
                for s in self.test_error:
                    m, se = _summary(self.test_error[s][:, i:i + 1, j:j + 1])
                    row.append(f"{float(m[0, 0]):.4f} ± {float(se[0, 0]):.4f}")
                if self.theory:
                    row.append(f"{self.theory['test_error'][i, j]:.4f}")
                rows.append(row)
        return "\n".join([table_row(head), table_rule(len(head))] + [table_row(r) for r in rows]) + "\n"

    def _repr_markdown_(self) -> str:
        loss = self.settings.get("options", {}).get("loss", "")
        return f"**getheory ERM** ({loss} loss, N = {self.settings.get('N')})\n\n" + self.to_table()


def erm_curves(generator=None, options: ErmOptions | None = None, *, activation="sign", N=None, D=None, seed=0,
               moment_samples=None, theta=None, moments=None, progress=False) -> ErmResult:
    """ERM learning curves on generator data, its Gaussian equivalent and the theory (§10).

    Parameters
    ----------
    generator : Generator, optional
        Default: a random single-layer generator σ(A c/√D) with ``activation``, N (default 1000)
        and D (default N/2), drawn from ``seed`` as :func:`getheory.ridge_curves` draws it.
    options : ErmOptions
    seed : the master seed (generator, θ, Monte Carlo moments, then the data seeds)
    moment_samples, theta, moments : as for :func:`getheory.ridge_curves`

    Returns
    -------
    ErmResult
        A notebook shows its table.

    Notes
    -----
    Where it runs: the latents, the noise and the rows of both sources are made on
    ``options.backend`` (resolved here, once); each row is brought to the host once, and the fits
    (NumPy and SciPy: host arrays only), the test errors and the training losses run on
    the host, as do the moments and the theory.  With ``options.checkpoint`` each finished data
    seed is saved there and a rerun continues from the seeds found (``settings['resumed_seeds']``);
    a checkpoint of other settings is refused before any fit, naming each difference.

    Examples
    --------
    >>> import getheory as gt
    >>> options = gt.ErmOptions(loss="logistic", alphas=(1.0,), lambdas=(0.1,), seeds=2, n_test=1000)
    >>> result = gt.erm_curves(activation="sign", N=30, D=15, options=options, seed=0)
    >>> result.test_error["generator"].shape  # (seeds, α, λ)
    (2, 1, 1)
    >>> {source: bool(ok.all()) for source, ok in result.converged.items()}  # every fit certified
    {'generator': True, 'gaussian': True}
    >>> round(float(result.theory["test_error"][0, 0]), 2)  # the replica prediction
    0.32
    """
    opts = options if options is not None else ErmOptions()
    run = start_run_context(backend=opts.backend, layout=ERM, seed=seed, progress=progress)
    if generator is None:
        N = positive_int(N if N is not None else 1000, "N")
        D = positive_int(D if D is not None else max(1, N // 2), "D")
    else:
        N, D = generator.N, generator.D
    sizes = sample_sizes(opts.alphas, N)
    with run.stage("moments"):
        generator, mom, theta = draw_problem(run, generator, (activation, N, D), (moment_samples, theta, moments))
    ck = _open_checkpoint(run, opts, (generator, mom, theta), seed)
    sources = _sources(run, opts.sources, generator, mom)
    labels = ErmLabels(theta, get_teacher(opts.teacher), float(opts.noise), opts.teacher == "sign")
    theory = None
    if opts.theory:
        with run.stage("theory"):
            theory = erm_theory(mom.Omega, mom.Phi, theta, loss=opts.loss, alphas=opts.alphas, lambdas=opts.lambdas,
                                teacher=opts.teacher, noise=opts.noise)
    arrays, resumed = _seed_curves(run, (sources, labels, sizes), opts, ck)
    settings = {"generator": generator.describe(), "N": N, "D": D, "delta": D / N, "options": opts.recorded(),
                "seed": seed, "moments": mom.source, "sample_sizes": sizes, "backend": run.backend.name,
                "resumed_seeds": resumed}
    return ErmResult(to_plain(settings), np.array(opts.alphas), np.array(opts.lambdas), *arrays,
                     theory=theory, timings=dict(run.timings), notes=run.notes, problem=(mom.Omega, mom.Phi, theta))


def _open_checkpoint(run: RunContext, opts: ErmOptions, problem, seed):
    """The run's :class:`ErmCheckpoint` (None without ``opts.checkpoint``), opened: a new one writes its
    ``run.json``, one of other settings is refused naming each difference."""
    if opts.checkpoint is None:
        return None
    ck = ErmCheckpoint(opts.checkpoint)
    if ck.open(ErmCheckpoint.settings(problem, opts, run.backend.name, seed)):
        run.status(f"getheory erm: continuing the run checkpointed in {opts.checkpoint}")
    return ck


def _sources(run: RunContext, names, generator, mom) -> list:
    out = []
    if "generator" in names:
        out.append(GeneratorSource(generator, mom.mean, backend=run.backend))
    if "gaussian" in names:
        ge = GaussianEquivalentSource(mom.Omega, mom.Phi, backend=run.backend)
        if ge.clipped:
            run.note(f"Ω − ΦΦᵀ had {ge.clipped} slightly negative eigenvalue(s), clipped to 0")
        out.append(ge)
    return out


def _seed_curves(run: RunContext, problem, opts: ErmOptions, ck) -> tuple:
    """((test_error, train_loss, certificate, converged): per source, (seeds, len(α), len(λ))), and the
    number of seeds read from the checkpoint ``ck``; ``problem`` = (sources, labels, sizes)."""
    sources, _, sizes = problem
    shape = (opts.seeds, len(sizes), len(opts.lambdas))
    out = {k: {s.name: np.zeros(shape, bool if k == "converged" else float) for s in sources} for k in FIELDS}
    per_seed = len(sizes) * len(opts.lambdas) * len(sources)
    prog, fits = run.progress_bar(opts.seeds * per_seed, f"{opts.loss} fits"), [0]

    def tick(k=1):
        fits[0] += k
        prog.update(fits[0])

    resumed = 0
    for i, ss in enumerate(run.seeds.data.spawn(opts.seeds)):
        done = ck.load_seed(i, [s.name for s in sources]) if ck is not None else None
        if done is None:
            done = _one_seed(run, problem, opts, ss, tick)
            if ck is not None:
                ck.save_seed(i, done)
        else:
            resumed += 1
            tick(per_seed)
        for k in FIELDS:
            for name, v in done[k].items():
                out[k][name][i] = v
    if resumed:
        run.note(f"resumed from the checkpoint in {opts.checkpoint}: {resumed} of {opts.seeds} data seeds read "
                 "from it (the same numbers as an uninterrupted run)")
    bad = sum(int((~c).sum()) for c in out["converged"].values())
    if bad:
        run.note(f"{bad} fit(s) missed their certificate's tolerance (see certificate_per_seed); their points "
                 "are reported but flagged")
    return tuple(out[k] for k in FIELDS), resumed


def _one_seed(run: RunContext, problem, opts: ErmOptions, ss, tick) -> dict:
    """``{field: {source: (len α, len λ)}}`` of one data seed: its sets drawn, every fit made and measured."""
    sources, labels, sizes = problem
    ss_train, ss_test = ERM_DATA.streams(ss)
    with run.stage("sampling", add=True):
        train = draw_set(run, sources, labels, sizes[-1], ss_train)
        test = draw_set(run, sources, labels, opts.n_test, ss_test)
    out = {k: {s.name: np.zeros((len(sizes), len(opts.lambdas)), bool if k == "converged" else float)
               for s in sources} for k in FIELDS}
    for s in sources:
        for a, n in enumerate(sizes):
            for j, lam in enumerate(opts.lambdas):
                with run.stage("fits", add=True):
                    fit = fit_erm(train.X[s.name][:n], train.y[:n], opts.loss, lam)
                z = test.X[s.name] @ fit.w / math.sqrt(s.N)
                for k, v in zip(FIELDS, (_test_error(test.y, z, labels), fit.train_loss, fit.value, fit.converged)):
                    out[k][s.name][a, j] = v
                tick()
    return out


def _test_error(y, z, labels: ErmLabels) -> float:
    """The classification error P(y ≠ sign z) for ±1 labels, else the mean squared error."""
    if labels.binary:
        return float(np.mean(np.where(z >= 0, 1.0, -1.0) != y))
    return float(np.mean((y - z) ** 2))

