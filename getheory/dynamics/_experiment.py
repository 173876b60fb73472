"""The experiment: ODE, SGD on generator data and on Gaussian-equivalent data (docs/theory.md §7).

:func:`run_dynamics` resolves its run context once (:func:`getheory._run.start_run_context`: the
backend, the :data:`getheory._seeds.DYNAMICS` streams, the time budget, progress, and the timings
and notes of the result) and passes it whole to every step below.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from .._run import RunContext, start_run_context
from .._seeds import DYNAMICS, SGD
from ..equivalent import GaussianEquivalentData, GeneratorData, check_omega
from ..generators import SingleLayerGenerator
from ._checkpoint import COMPUTED_ARRAYS, SUMS_RTOL, RunCheckpoint, array_digest, array_sums
from ._checks import _ODE_G
from ._compare import curve_landmarks, curve_summary, largest_gap
from ._data import _g_xp, _teacher_labels
from ._integrals import generalisation_error
from ._odes import _eigh_psd, integrate_odes, spectral_projections
from ._options import DynamicsOptions
from ._problem import SGDProblem, build_problem
from ._sgd import Controls, default_batch_size, run_sgd_in

__all__ = ["DynamicsResult", "run_dynamics"]

#: keywords of :func:`run_dynamics` that describe the random generator it builds when given none
GENERATOR_KEYWORDS = ("activation", "N", "D", "depth", "widths")


def _order_params(W, Omega, Phi, Wt):
    N, D = Phi.shape
    Q = W @ Omega @ W.T / N  # docs/theory.md §7.3
    R = W @ Phi @ Wt.T / math.sqrt(N * D)
    return (Q + Q.T) / 2, R


@dataclass
class DynamicsResult:
    """The three learning curves side by side (docs/theory.md §7)."""

    settings: dict
    t: np.ndarray
    eps_ode: np.ndarray | None
    eps_gen_order: np.ndarray
    eps_gen_heldout: np.ndarray
    eps_gen_heldout_se: np.ndarray
    eps_gauss_order: np.ndarray | None
    eps_gauss_heldout: np.ndarray | None
    eps_gauss_heldout_se: np.ndarray | None
    Q: dict
    R: dict
    v: dict
    ode: dict
    sgd: dict
    gaps: dict
    timings: dict
    notes: list = field(default_factory=list)
    eps_gen_order_se: np.ndarray | None = None
    eps_gauss_order_se: np.ndarray | None = None
    eps_per_seed: dict = field(default_factory=dict)
    problem: dict = field(default_factory=dict)
    landmarks: dict = field(default_factory=dict)  # plateau, escape time, final error (§7.10)

    def to_dict(self):
        def arr(a):
            return None if a is None else np.asarray(a).tolist()

        return {
            "settings": self.settings,
            "t": arr(self.t),
            "eps_g": {
                "ode": arr(self.eps_ode),
                "sgd_generator_order_parameters": arr(self.eps_gen_order),
                "sgd_generator_heldout": arr(self.eps_gen_heldout),
                "sgd_generator_heldout_stderr": arr(self.eps_gen_heldout_se),
                "sgd_gaussian_order_parameters": arr(self.eps_gauss_order),
                "sgd_gaussian_heldout": arr(self.eps_gauss_heldout),
                "sgd_gaussian_heldout_stderr": arr(self.eps_gauss_heldout_se),
                "sgd_generator_order_parameters_stderr": arr(self.eps_gen_order_se),
                "sgd_gaussian_order_parameters_stderr": arr(self.eps_gauss_order_se),
                "per_seed": {k: {kk: arr(vv) for kk, vv in v.items()} for k, v in self.eps_per_seed.items()},
            },
            "Q": {k: arr(v) for k, v in self.Q.items()},
            "R": {k: arr(v) for k, v in self.R.items()},
            "v": {k: arr(v) for k, v in self.v.items()},
            "ode": self.ode,
            "sgd": self.sgd,
            "largest_gaps": self.gaps,
            "landmarks": self.landmarks,
            "timings_seconds": self.timings,
            "notes": self.notes,
        }


def _log_times(t_max, n_points, t_min=None):
    t_min = t_min if t_min is not None else min(0.01, t_max / 10)
    t = np.unique(np.concatenate([[0.0], np.geomspace(t_min, t_max, n_points)]))
    return t


def _heldout_eps(W, v, X, y, g):
    lam = X @ W.T / math.sqrt(W.shape[1])
    err = 0.5 * (_g_xp(lam, g) @ v - y) ** 2
    return float(err.mean()), float(err.std(ddof=1) / math.sqrt(err.size))


def run_dynamics(generator=None, options: DynamicsOptions | None = None, *, moments=None, W0=None, v0=None,
                 W_teacher=None, v_teacher=None, progress=False, **keywords):
    """Run ODE, SGD on generator data and SGD on Gaussian-equivalent data (docs/theory.md §7).

    Parameters
    ----------
    generator : a getheory generator, or None to build one with
        :func:`getheory.dynamics.random_generator` from the keywords ``activation``
        (default ``"sign"``), ``N`` (1000), ``D`` (N/2), ``depth`` (1) and ``widths``
        (which a given generator ignores: its sizes are its own).
    options : :class:`DynamicsOptions`, the protocol and run controls; any of its
        fields may also be given as a keyword (``run_dynamics(gen, t_max=50)``),
        which overrides ``options``.
    moments : (E x, Ω, Φ) as :class:`getheory.moments.Moments`; by default exact
        for single-layer generators and Monte Carlo with ``options.moment_samples``
        samples otherwise.
    W0 (K, N), v0 (K,), W_teacher (M, D), v_teacher (M,) : initial student and teacher
        weights; default i.i.d. N(0, 1) (docs/theory.md §7.1 [paper]), ṽ = 1.  When
        given, their shapes set K and M.
    progress : report progress on stderr.

    The curves are recorded at the record times (``points`` log-spaced times on whole SGD steps)
    and are means over ``sgd_seeds`` independent SGD runs from the same initial
    weights with independent sample streams, with standard errors over the seeds
    (held-out errors also add the test set's own standard error in quadrature); each
    comparison's verdict is the largest |gap|/SE over the record times against Student's
    t with sgd_seeds − 1 degrees of freedom, Bonferroni over the record times, at the
    nominal level ``level`` (docs/theory.md §7.7).  With ``time_budget`` SGD stops at the end
    of a batch when the budget (shared by the seeds) is spent, and the result says
    where (``settings['t_reached']``).

    Divergence: a seed whose SGD diverges (non-finite weights, or an error on its latest
    samples above 10⁶ times its initial one: :func:`getheory.dynamics.run_sgd`) stops there;
    ``settings['diverged']`` and ``settings['divergence']`` (per seed) say where and why, a note
    says so, the curves end at the last record time every seed reached, and every comparison's
    verdict is ``"diverged"``, never ``"consistent"``.

    Checkpoint (the SGD state saved on disk): with ``checkpoint=FOLDER`` SGD saves its state there
    as it goes, and a run that finds its own checkpoint there continues from it
    (``settings['resumed']``); see :class:`DynamicsOptions` and :mod:`getheory.dynamics._checkpoint`.

    Examples
    --------
    >>> import getheory as gt
    >>> from getheory.dynamics import DynamicsOptions
    >>> options = DynamicsOptions(K=2, M=2, t_max=1.0, points=3, sgd_seeds=2, n_test=1000)
    >>> result = gt.run_dynamics(options=options, activation="sign", N=50, D=25, seed=0)
    >>> result.t
    array([0. , 0.1, 1. ])
    >>> result.eps_ode.round(2)  # the ODEs' generalisation error at those times
    array([0.58, 0.56, 0.41])
    >>> bool(abs(result.eps_gen_heldout[-1] - result.eps_ode[-1]) < 0.05)  # SGD follows them
    True
    """
    opts, gen_kw = _split_keywords(options, keywords)
    _refuse_generator_keywords(generator, gen_kw)
    run = start_run_context(backend=opts.backend, layout=DYNAMICS, seed=opts.seed, time_budget=opts.time_budget,
                            budget_option="time_budget", progress=progress)
    return _run_dynamics(run, opts, generator, moments, gen_kw, (W0, v0, W_teacher, v_teacher))


@dataclass(frozen=True)
class _Data:
    """The data sources on the run's backend (generator data, and its Gaussian equivalent if asked:
    §7.2) and their held-out test set: (X_test per source on the host, y_test)."""

    sources: list
    test: tuple


@dataclass(frozen=True)
class _SGDRuns:
    """The SGD seeds' runs ((trajectories, info) each), their summed info, and the record times
    ``t_rec`` every seed reached."""

    runs: list
    info: dict
    t_rec: np.ndarray

    @property
    def diverged(self) -> bool:
        return self.info["diverged"]


def _run_dynamics(run: RunContext, opts: DynamicsOptions, generator, moments, gen_kw, weights) -> DynamicsResult:
    """:func:`run_dynamics` in its run context; ``weights``: the given (W0, v0, W_teacher, v_teacher)."""
    pb = build_problem(run, opts, generator, moments, gen_kw, weights)
    ck, resumed = _open_checkpoint(pb, opts, run)
    # record times on whole SGD steps, so that the ODE is read at exactly the same times
    t_eval = np.unique(np.round(_log_times(opts.t_max, opts.points) * pb.N)) / pb.N
    eig = _eigh_omega(pb, run)
    sources = _sources(pb, opts, run)
    data = _Data(sources, _test_set(pb, opts, sources, run))
    sgd = _sgd_over_seeds(pb, opts, sources, t_eval, run, ck)
    ode_res, ode_info = _ode(pb, opts, eig, t_eval, sgd, run)
    curves = _curves(pb, opts, data, sgd, ode_res, run)
    settings = _settings(pb, opts, t_eval, sgd.t_rec, sgd.info)
    settings["checkpoint"] = opts.checkpoint
    settings["resumed"] = resumed
    run.notes.extend(_stop_notes(sgd.info, opts, t_eval, sgd.t_rec))
    if opts.gaussian:
        ode_info["gaussian_sampler_clipped_eigenvalues"] = sources[1].clipped
        ode_info["gaussian_sampler_clipped_mass"] = sources[1].clipped_mass
    run.timings.record("total", run.elapsed())
    return _result(pb, run, settings, curves, sgd, (ode_res, ode_info))


def _eigh_omega(pb: SGDProblem, run: RunContext):
    """(ρ, U, clipped): the eigen-decomposition of Ω on the run's backend (docs/theory.md §7.3)."""
    N, bk = pb.N, run.backend
    with run.stage("eigh_Omega"):
        run.status(f"getheory dynamics: eigen-decomposition of Ω ({N}×{N}) on {bk.name} ...")
        rho, U, clipped = _eigh_psd(check_omega(pb.moments.Omega, N), "Omega", bk)
    return rho, U, clipped


def _test_set(pb: SGDProblem, opts: DynamicsOptions, sources, run: RunContext):
    """(X_test per source on the host, y_test): held-out samples from the same latents for every source."""
    bk = run.backend
    test_rng = np.random.default_rng(run.seeds.test)
    c_test = test_rng.standard_normal((opts.n_test, pb.D))
    y_test = _teacher_labels(c_test, pb.Wt, pb.vt, opts.g)
    X_test = [bk.to_numpy(src.inputs(bk.asarray(c_test), test_rng)) for src in sources]
    return X_test, y_test


def _ode(pb: SGDProblem, opts: DynamicsOptions, eig, t_eval, sgd: _SGDRuns, run: RunContext):
    """(ODEResult or None, the report's ODE info): the ODEs of §7.5 when asked for and g has them."""
    if not opts.ode:
        return None, {"run": False}
    if opts.g not in _ODE_G:
        run.note(f"no ODE for g={opts.g}: closed-form integrals exist for {' and '.join(_ODE_G)} only")
        return None, {"run": False}
    rho, U, clipped = eig
    with run.stage("ode"):
        run.status("getheory dynamics: integrating the ODEs ...")
        # read at the record times SGD reached, and on the whole requested grid (up to where SGD
        # diverged, if it did: beyond, there is nothing to compare, and the ODE may blow up too)
        t_ode = sgd.t_rec if sgd.diverged else np.union1d(t_eval, sgd.t_rec)
        ode_res = _integrate(pb, (rho, U), t_ode, opts)
    ode_info = {"run": True, "method": ode_res.method, "tolerance": ode_res.tolerance,
                "step_error_eps": ode_res.step_error, "step_error_QR": ode_res.step_error_QR,
                "rhs_evaluations": ode_res.nfev, "seconds": ode_res.seconds,
                "clipped_negative_eigenvalues": clipped, "rho_min": float(rho.min()),
                "rho_max": float(rho.max())}
    return ode_res, ode_info


def _curves(pb: SGDProblem, opts: DynamicsOptions, data: _Data, sgd: _SGDRuns, ode_res, run: RunContext) -> dict:
    """The curves at the record times ``sgd.t_rec`` every seed reached: per seed and summed over the seeds,
    Q, R, v per source (and the ODE's), the ODE's ε_g, and every comparison's largest gap."""
    t_rec = sgd.t_rec
    with run.stage("evaluation"):
        per_seed, Qd, Rd, vd = _evaluate(data.sources, sgd.runs, len(t_rec), data.test, pb, opts.g)
    eps_ode = None
    if ode_res is not None:
        at = np.searchsorted(ode_res.t, t_rec)
        Qd["ode"], Rd["ode"], vd["ode"] = ode_res.Q[at], ode_res.R[at], ode_res.v[at]
        eps_ode = ode_res.eps[at]
    summary = {"generator": curve_summary(*per_seed["generator"]),
               "gaussian": curve_summary(*per_seed["gaussian"]) if "gaussian" in per_seed else (None,) * 4}
    gaps = _gaps(summary, eps_ode, per_seed, t_rec, opts, sgd.diverged)
    return {"per_seed": per_seed, "Q": Qd, "R": Rd, "v": vd, "eps_ode": eps_ode, **summary, "gaps": gaps}


def _stop_notes(sgd_info, opts, t_eval, t_rec) -> list:
    """The notes on where SGD stopped early: a divergence, or the time budget."""
    notes = []
    if sgd_info["diverged"]:
        for k, dv in enumerate(sgd_info["divergence"]):
            if dv is not None:
                notes.append(f"SGD DIVERGED on seed {k} at t ≈ {dv['t']:.4g} (step {dv['step']}) on {dv['source']} "
                             f"data: {dv['reason']}; that seed stopped there")
        notes.append(f"the curves end at t = {t_rec[-1]:.4g}, the last record time every seed reached, and every "
                     "comparison's verdict is 'diverged': a comparison over a diverged run is no evidence either way")
    if sgd_info["stopped_by_time_budget"]:
        notes.append(f"SGD stopped by the time budget of {opts.time_budget} s at t = {t_rec[-1]:.4g} "
                     f"(requested {t_eval[-1]:g}); the ODE ran to the end and is compared up to there")
    return notes


def _result(pb: SGDProblem, run: RunContext, settings, curves, sgd: _SGDRuns, ode) -> DynamicsResult:
    """The :class:`DynamicsResult`; ``ode``: (ODEResult or None, the report's ODE info)."""
    ode_res, ode_info = ode
    go, go_se, gh, gs = curves["generator"]
    ga = curves["gaussian"]
    return DynamicsResult(
        settings=settings, t=sgd.t_rec, eps_ode=curves["eps_ode"],
        eps_gen_order=go, eps_gen_heldout=gh, eps_gen_heldout_se=gs,
        eps_gauss_order=ga[0], eps_gauss_heldout=ga[2], eps_gauss_heldout_se=ga[3],
        eps_gen_order_se=go_se, eps_gauss_order_se=ga[1],
        eps_per_seed={k: {"order_parameters": v[0], "heldout": v[1]} for k, v in curves["per_seed"].items()},
        Q=curves["Q"], R=curves["R"], v=curves["v"],
        ode={**ode_info, "t": ode_res.t.tolist() if ode_res is not None else None,
             "eps_full": ode_res.eps.tolist() if ode_res is not None else None},
        sgd=sgd.info, gaps=curves["gaps"], timings=dict(run.timings), notes=run.notes,
        problem=_problem_arrays(pb.generator, pb.W0, pb.v0, pb.Wt, pb.vt),
        landmarks=curve_landmarks(sgd.t_rec, curves["eps_ode"] if curves["eps_ode"] is not None else go,
                                  {k: v[0] for k, v in curves["per_seed"].items()}),
    )


def _refuse_generator_keywords(generator, gen_kw) -> None:
    """Refuse random-generator keywords given with a generator, which has its own layers and sizes (an N
    or D equal to the generator's is accepted)."""
    if generator is None:
        return
    clash = [f"{k}={v!r}" for k, v in gen_kw.items()
             if v is not None and not (k in ("N", "D") and v == getattr(generator, k))]
    if clash:
        raise ValueError(f"{', '.join(clash)} shape(s) the random generator, but a generator (N = {generator.N}, "
                         f"D = {generator.D}) was given, which has its own: leave {'them' if len(clash) > 1 else 'it'}"
                         " out")


def _split_keywords(options, keywords):
    """(options with keyword overrides, random-generator keywords); unknown names are refused."""
    opts = options if options is not None else DynamicsOptions()
    if not isinstance(opts, DynamicsOptions):
        raise TypeError(f"options must be a DynamicsOptions, got {type(opts).__name__}")
    names = DynamicsOptions.names()
    unknown = [k for k in keywords if k not in names and k not in GENERATOR_KEYWORDS]
    if unknown:
        raise TypeError(f"run_dynamics got unknown keyword(s) {unknown}; options are {list(names)} and the "
                        f"random generator takes {list(GENERATOR_KEYWORDS)}")
    gen_kw = {k: v for k, v in keywords.items() if k in GENERATOR_KEYWORDS}  # for a random generator only
    over = {k: v for k, v in keywords.items() if k in names}
    return (replace(opts, **over) if over else opts), gen_kw


def _sources(pb: SGDProblem, opts: DynamicsOptions, run: RunContext):
    """The data sources on the backend: generator data, and its Gaussian equivalent (§7.2) if asked."""
    bk, moments = run.backend, pb.moments
    with run.stage("gaussian_setup"):
        sources = [GeneratorData(pb.generator, moments.mean, backend=bk)]
        if opts.gaussian:
            run.status("getheory dynamics: Gaussian-equivalent sampler (eigh of Ω − ΦΦᵀ) ...")
            with warnings.catch_warnings(record=True) as wlist:
                warnings.simplefilter("always")
                sources.append(GaussianEquivalentData(moments.Omega, moments.Phi, backend=bk))
            run.notes.extend(str(w_.message) for w_ in wlist)
    return sources


def _sgd_over_seeds(pb: SGDProblem, opts: DynamicsOptions, sources, t_eval, run: RunContext, ck=None) -> _SGDRuns:
    """``sgd_seeds`` independent runs of :func:`run_sgd`, the time budget split evenly over the seeds
    still to run; their summed info's notes go to the run's.  ``ck``: the run's
    ``RunCheckpoint`` (the SGD state on disk) or None.

    Seed ``k`` runs in ``run`` with the :data:`getheory._seeds.SGD` streams of the ``k``-th state of
    ``run.seeds.sgd``.
    """
    S = opts.sgd_seeds
    run.status(f"getheory dynamics: SGD to t = {t_eval[-1]:g} (N = {pb.N}, {S} seeds) ...")
    seed_states = run.seeds.sgd.generate_state(S, dtype=np.uint64)
    finished = [ck is not None and ck.seed_status(k) in ("complete", "diverged") for k in range(S)]
    budget = None if run.deadline is None else run.deadline.seconds / max(1, S - sum(finished))
    ctl = Controls(opts.eta, opts.g, opts.train_second_layer, opts.batch_size, budget, opts.dtype)
    weights = (pb.W0, pb.v0, pb.Wt, pb.vt)
    with warnings.catch_warnings():  # a divergence is in the result (settings, notes, verdicts) instead
        warnings.filterwarnings("ignore", message="SGD diverged", category=RuntimeWarning)
        runs = [run_sgd_in(run.with_(seeds=SGD.streams(int(seed_states[k]))), sources, weights, t_eval, ctl,
                           None if ck is None else ck.seed(k, seed_states[k]), f"SGD steps of seed {k + 1} of {S}")
                for k in range(S)]
    info = _summed_info(runs, S)
    run.timings.record("sgd", info["seconds"])
    run.notes.extend(info.pop("notes"))
    t_rec = runs[0][0][0].t[:min(len(r[0][0].t) for r in runs)]  # the record times every seed reached
    return _SGDRuns(runs, info, t_rec)


def _summed_info(runs, S) -> dict:
    """The seeds' :func:`run_sgd` infos in one: sums, any-of, and per-seed lists."""
    info = dict(runs[0][1])
    for key in ("steps", "seconds", "seconds_sampling", "seconds_kernel", "checkpoint_saves"):
        info[key] = sum(r[1][key] for r in runs)
    info["steps_per_second_per_source"] = info["steps"] / max(info["seconds"], 1e-300)
    info["stopped_by_time_budget"] = any(r[1]["stopped_by_time_budget"] for r in runs)
    info["diverged"] = any(r[1]["diverged"] for r in runs)
    for key in ("divergence", "status", "resumed_from_step"):
        info[key] = [r[1][key] for r in runs]
    info["notes"] = list(dict.fromkeys(n for r in runs for n in r[1]["notes"]))
    info["seeds"] = S
    return info


def _open_checkpoint(pb: SGDProblem, opts: DynamicsOptions, run: RunContext):
    """The run's ``RunCheckpoint`` (None without ``opts.checkpoint``) and whether it continues one.

    ``run.json`` holds what fixes the SGD's numbers (see :mod:`getheory.dynamics._checkpoint`);
    a checkpoint of a run with other settings is refused before any long computation.  Opening a
    new checkpoint writes its folder and ``run.json`` (:meth:`RunCheckpoint.open`).
    """
    moments = pb.moments
    N, D, W0, v0, Wt, vt = pb.N, pb.D, pb.W0, pb.v0, pb.Wt, pb.vt
    if opts.checkpoint is None:
        return None, False
    desc = _describe(pb.generator)
    settings = {
        "N": N, "D": D, "K": int(W0.shape[0]), "M": int(Wt.shape[0]), "eta": opts.eta, "g": opts.g,
        "train_second_layer": opts.train_second_layer, "t_max": opts.t_max, "points": opts.points,
        "seed": opts.seed, "sgd_seeds": opts.sgd_seeds, "gaussian": opts.gaussian,
        "batch_size": opts.batch_size or default_batch_size(N), "dtype": opts.dtype, "backend": run.backend.name,
        "generator": desc, "moments": moments.source,
    }
    for name, a in (("W0", W0), ("v0", v0), ("W_teacher", Wt), ("v_teacher", vt), ("E x", moments.mean),
                    ("Omega", moments.Omega), ("Phi", moments.Phi)):
        settings[f"{name} (SHA-256)"] = array_digest(np.asarray(a, dtype=np.float64))[:20]
        if name in COMPUTED_ARRAYS:
            settings[f"{name} (sums)"] = array_sums(a)
    ck = RunCheckpoint(opts.checkpoint, every=opts.checkpoint_every)
    resumed = ck.open(settings)
    if resumed:
        run.status(f"getheory dynamics: continuing the run checkpointed in {opts.checkpoint}")
        run.note(f"resumed from the checkpoint in {opts.checkpoint}: each SGD seed continued from its last "
                 "saved state, which gives the same numbers as an uninterrupted run")
    if resumed and ck.near_misses:
        names = ", ".join(k.split(" (")[0] for k in ck.near_misses)
        run.note(f"{names} differ from the checkpoint's in their last bits only (their sums agree to "
                 f"{SUMS_RTOL:g}): made by another machine's BLAS; the resumed run equals an uninterrupted one "
                 "to round-off, not bit for bit")
    return ck, resumed


def _integrate(pb: SGDProblem, eig, t_ode, opts: DynamicsOptions):
    """The ODEs of §7.5 from the spectral projections of the initial weights (§7.3)."""
    rho, Gamma, B = spectral_projections(pb.moments.Omega, pb.moments.Phi, pb.W0, pb.Wt, eig=eig)
    return integrate_odes(rho, Gamma, B, pb.v0, pb.vt, D=pb.D, eta=opts.eta, t_eval=t_ode, T=pb.T, g=opts.g,
                          train_second_layer=opts.train_second_layer, method=opts.ode_method, rtol=opts.ode_rtol,
                          step_check=opts.step_check)


def _evaluate(sources, runs, nrec, test, pb: SGDProblem, g):
    """Per source and seed, ε_g from the order parameters (§7.1) and held out, at every record time.

    ``test``: (X_test per source, y_test).  Returns ``per_seed[name] = (order (S, n_t), held-out
    (S, n_t), held-out SE (S, n_t))`` and the first seed's Q, R, v per source.
    """
    X_test, y_test = test
    Omega, Phi, Wt, T, vt = pb.moments.Omega, pb.moments.Phi, pb.Wt, pb.T, pb.vt
    Qd, Rd, vd, per_seed = {}, {}, {}, {}
    for i, (src, Xt) in enumerate(zip(sources, X_test)):
        eo_s, eh_s, es_s = [], [], []
        for k, (trs, _info) in enumerate(runs):
            tr = trs[i]
            Qs, Rs, eo, eh, es = [], [], [], [], []
            for W, v in zip(tr.W[:nrec], tr.v[:nrec]):
                Q, R = _order_params(W, Omega, Phi, Wt)
                Qs.append(Q)
                Rs.append(R)
                eo.append(generalisation_error(Q, R, T, v, vt, g))
                m_, s_ = _heldout_eps(src.bk.to_numpy(src.to_data_basis(src.bk.asarray(W))), v, Xt, y_test, g)
                eh.append(m_)
                es.append(s_)
            if k == 0:
                Qd[src.name], Rd[src.name], vd[src.name] = np.array(Qs), np.array(Rs), tr.v[:nrec]
            eo_s.append(eo)
            eh_s.append(eh)
            es_s.append(es)
        per_seed[src.name] = (np.array(eo_s), np.array(eh_s), np.array(es_s))
    return per_seed, Qd, Rd, vd


def _gaps(summary, eps_ode, per_seed, t, opts: DynamicsOptions, diverged=False):
    """Every comparison's largest gap and verdict (docs/theory.md §7.7); ``"diverged"`` when a seed diverged.

    ``summary[source]``: (order-parameter ε_g, its SE, held-out ε_g, its SE) over the seeds at the
    record times ``t`` (``(None,) * 4`` for a source not run).
    """
    S, level = opts.sgd_seeds, opts.level
    (go, go_se, gh, gs), ga = summary["generator"], summary["gaussian"]
    pg, pa = per_seed.get("generator"), per_seed.get("gaussian")
    gaps = {
        "ode_vs_sgd_generator_order_parameters": largest_gap(go, eps_ode, go_se, t, seeds=S, level=level),
        "ode_vs_sgd_generator_heldout": largest_gap(gh, eps_ode, gs, t, seeds=S, level=level),
        "ode_vs_sgd_gaussian_order_parameters": largest_gap(ga[0], eps_ode, ga[1], t, seeds=S, level=level),
        "ode_vs_sgd_gaussian_heldout": largest_gap(ga[2], eps_ode, ga[3], t, seeds=S, level=level),
        "sgd_generator_vs_sgd_gaussian_order_parameters": largest_gap(
            go, ga[0], None, t, seeds=S, level=level, paired=None if pa is None else pg[0] - pa[0]),
        "sgd_generator_vs_sgd_gaussian_heldout": largest_gap(
            gh, ga[2], None, t, seeds=S, level=level, paired=None if pa is None else pg[1] - pa[1]),
    }
    gaps = {k: v for k, v in gaps.items() if v is not None}
    if diverged:  # the curves end where SGD blew up: whatever the numbers say, no comparison passes
        for v in gaps.values():
            v["verdict_up_to_divergence"] = v.get("verdict")
            v["verdict"] = "diverged"
    return gaps


def _describe(generator) -> dict:
    return generator.describe() if hasattr(generator, "describe") else {"kind": type(generator).__name__}


def _settings(pb: SGDProblem, opts, t_eval, t_rec, sgd_info):
    N, D, K, M = pb.N, pb.D, int(pb.W0.shape[0]), int(pb.Wt.shape[0])
    return {
        "generator": _describe(pb.generator), "N": N, "D": D, "delta": D / N, "K": K, "M": M, "eta": opts.eta,
        "g": opts.g,
        "train_second_layer": opts.train_second_layer, "seed": opts.seed,
        "t_max_requested": float(t_eval[-1]), "t_reached": float(t_rec[-1]),
        "stopped_by_time_budget": sgd_info["stopped_by_time_budget"], "time_budget_s": opts.time_budget,
        "diverged": sgd_info["diverged"], "divergence": sgd_info["divergence"],
        "n_test": opts.n_test, "sgd_seeds": opts.sgd_seeds, "level": opts.level, "moments": pb.moments.source,
        "backend": opts.backend if isinstance(opts.backend, str) else opts.backend.name, "T": pb.T.tolist(),
        "v_teacher": pb.vt.tolist(),
    }


def _problem_arrays(generator, W0, v0, Wt, vt):
    """The arrays of a problem file (§7.1), so that the run can be repeated exactly."""
    single = isinstance(generator, SingleLayerGenerator)
    return {"A": generator.A if single else None, "activation": generator.activation.name if single else None,
            "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt}
