"""The experiment: ODE, SGD on generator data and on Gaussian-equivalent data (docs/theory.md §7).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as _t_dist

from .._progress import status
from .._validation import check_level as _check_level
from .._validation import positive_int
from ._checks import _ODE_G, _check_eta, _check_g, _vector, _weights
from ._data import GaussianEquivalentData, GeneratorData, _g_np, _teacher_labels
from ._integrals import generalisation_error
from ._odes import _check_omega, _eigh_psd, integrate_odes, spectral_projections
from ._sgd import run_sgd

def identity_moments(N):
    """(E x, Ω, Φ) = (0, I, I) of the identity generator x = c (D = N)."""
    from ..moments import Moments

    N = positive_int(N, "N")
    return Moments(mean=np.zeros(N), Omega=np.eye(N), Phi=np.eye(N), exact=True,
                   source="exact (identity generator x = c)")


def identity_generator(N):
    """The identity generator x = c with D = N (the classic teacher–student setting)."""
    from ..generators import CallableGenerator

    def identity(c):
        return np.array(c, dtype=np.float64, copy=True)

    return CallableGenerator(identity, D=N, N=N, name="identity")


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
            "timings_seconds": self.timings,
            "notes": self.notes,
        }



def _log_times(t_max, n_points, t_min=None):
    t_min = t_min if t_min is not None else min(0.01, t_max / 10)
    t = np.unique(np.concatenate([[0.0], np.geomspace(t_min, t_max, n_points)]))
    return t


def _heldout_eps(W, v, X, y, g):
    lam = X @ W.T / math.sqrt(W.shape[1])
    err = 0.5 * (_g_np(lam, g) @ v - y) ** 2
    return float(err.mean()), float(err.std(ddof=1) / math.sqrt(err.size))


def run_dynamics(
    generator=None,
    *,
    activation="sign",
    N=1000,
    D=None,
    depth=1,
    widths=None,
    K=2,
    M=2,
    eta=0.2,
    t_max=10.0,
    points=40,
    g="erf2",
    train_second_layer=True,
    seed=0,
    moments=None,
    moment_samples=None,
    W0=None,
    v0=None,
    W_teacher=None,
    v_teacher=None,
    n_test=10_000,
    gaussian=True,
    ode=True,
    ode_method="DOP853",
    ode_rtol=1e-8,
    step_check=True,
    time_budget=None,
    batch_size=None,
    progress=False,
    sgd_seeds=5,
    level=0.05,
):
    """Run ODE, SGD on generator data and SGD on Gaussian-equivalent data (§7).

    Parameters
    ----------
    generator : a getheory generator, or None to build one: a random
        single-layer generator σ(A c/√D) with σ = ``activation`` (``depth`` 1),
        a random deep one (``depth`` L > 1, widths ``widths`` or
        [D, N, ..., N]), or the identity x = c (``activation="identity"``,
        D = N).
    moments : (E x, Ω, Φ) as :class:`getheory.moments.Moments`; by default
        exact for single-layer generators and Monte Carlo with
        ``moment_samples`` samples otherwise.
    W0, v0, W_teacher, v_teacher : initial weights; default i.i.d. N(0, 1)
        (docs/theory.md §7.1 [paper]) for W0, v0, W̃ and ṽ = 1.
    t_max, points : log-spaced checkpoint times in (0, t_max], plus t = 0.
    time_budget : seconds for the SGD part (shared by the seeds); it stops at a
        checkpoint when exceeded, and the report says where (``settings['t_reached']``).
    sgd_seeds : independent SGD runs per data source (default 5), from the same
        initial weights with independent sample streams. The curves are their means,
        with standard errors over the seeds (held-out errors also add the test set's
        own standard error in quadrature); every gap and verdict uses these.
    level : nominal false-positive rate of each "consistent" verdict: the largest
        |gap|/SE over the checkpoints against Student's t with sgd_seeds − 1 degrees of
        freedom, Bonferroni over the checkpoints (docs/theory.md §7.7).
    """
    from ..generators import SingleLayerGenerator, random_deep, random_single_layer
    from ..moments import exact_moments, monte_carlo_moments

    timings = {}
    notes = []
    eta = _check_eta(eta)
    g = _check_g(g)
    K = positive_int(K, "K")
    M = positive_int(M, "M")
    t0 = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0].generate_state(2))
    if generator is None:
        N = positive_int(N, "N")
        if activation == "identity":
            if D is not None and D != N:
                raise ValueError("the identity generator has D = N")
            D = N
            generator = identity_generator(N)
            if moments is None:
                moments = identity_moments(N)
        else:
            D = positive_int(D if D is not None else max(1, N // 2), "D")
            if depth == 1:
                generator = random_single_layer(N, D, activation, seed=rng.integers(2**63))
            else:
                depth = positive_int(depth, "depth")
                w = list(widths) if widths is not None else [D] + [N] * depth
                if len(w) != depth + 1 or w[0] != D or w[-1] != N:
                    raise ValueError(f"widths must be [D, ..., N] with {depth + 1} entries, got {w}")
                generator = random_deep(w, activation, seed=rng.integers(2**63))
    N, D = generator.N, generator.D
    if moments is None:
        if isinstance(generator, SingleLayerGenerator):
            moments = exact_moments(generator)
        else:
            ns = moment_samples or max(100_000, 50 * N)
            if progress:
                status(f"getheory dynamics: Monte Carlo moments with {ns} samples ...", True)
            moments = monte_carlo_moments(generator, ns, seed=rng.integers(2**63))
            notes.append(
                f"(E x, Ω, Φ) are Monte Carlo estimates from {ns} samples (N/n = {N / ns:.3g}); the sampling "
                "error of Ω biases tr(Ω²)/N, which enters the η² term, by about that fraction"
            )
    timings["moments"] = time.perf_counter() - t0
    Omega, Phi, mean = moments.Omega, moments.Phi, moments.mean
    if Omega.shape != (N, N) or Phi.shape != (N, D):
        raise ValueError(f"moments have Ω {Omega.shape}, Φ {Phi.shape}; the generator has N={N}, D={D}")
    wr = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[1])
    W0 = _weights(W0, "W0", N) if W0 is not None else wr.standard_normal((K, N))
    K = W0.shape[0]
    v0 = _vector(v0, "v0", K) if v0 is not None else wr.standard_normal(K)
    Wt = _weights(W_teacher, "W_teacher", D) if W_teacher is not None else wr.standard_normal((M, D))
    M = Wt.shape[0]
    vt = _vector(v_teacher, "v_teacher", M) if v_teacher is not None else np.ones(M)
    T = Wt @ Wt.T / D
    # checkpoints on whole SGD steps, so that the ODE is read at exactly the same times
    t_eval = np.unique(np.round(_log_times(float(t_max), int(points)) * N)) / N

    # --- ODE (§7.3-§7.5) ---
    t1 = time.perf_counter()
    if progress:
        status(f"getheory dynamics: eigen-decomposition of Ω ({N}×{N}) ...", True)
    rho, U, clipped = _eigh_psd(_check_omega(Omega, N), "Omega")
    timings["eigh_Omega"] = time.perf_counter() - t1
    # --- SGD (§7.1, §7.2) ---
    sources = [GeneratorData(generator, mean)]
    t1 = time.perf_counter()
    if gaussian:
        if progress:
            status("getheory dynamics: Gaussian-equivalent sampler (eigh of Ω − ΦΦᵀ) ...", True)
        with warnings.catch_warnings(record=True) as wlist:
            warnings.simplefilter("always")
            gsrc = GaussianEquivalentData(Omega, Phi)
        for w_ in wlist:
            notes.append(str(w_.message))
        sources.append(gsrc)
    timings["gaussian_setup"] = time.perf_counter() - t1
    test_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    c_test = test_rng.standard_normal((n_test, D))
    y_test = _teacher_labels(c_test, Wt, vt, g)
    X_test = [src.inputs(c_test, test_rng) for src in sources]
    if progress:
        status(f"getheory dynamics: SGD to t = {t_eval[-1]:g} (N = {N}) ...", True)
    S = positive_int(sgd_seeds, "sgd_seeds")
    level = _check_level(level)
    seed_states = np.random.SeedSequence(seed).spawn(4)[3].generate_state(S, dtype=np.uint64)
    runs = []
    for k in range(S):
        runs.append(run_sgd(sources, W0, v0, Wt, vt, eta=eta, t_points=t_eval, g=g,
                            train_second_layer=train_second_layer, seed=int(seed_states[k]), batch_size=batch_size,
                            time_budget=None if time_budget is None else time_budget / S, progress=progress))
    nrec = min(len(r[0][0].t) for r in runs)
    trajs, sgd_info = runs[0]
    sgd_info = dict(sgd_info)
    for key in ("steps", "seconds", "seconds_sampling", "seconds_kernel"):
        sgd_info[key] = sum(r[1][key] for r in runs)
    sgd_info["steps_per_second_per_source"] = sgd_info["steps"] / max(sgd_info["seconds"], 1e-300)
    sgd_info["stopped_by_time_budget"] = any(r[1]["stopped_by_time_budget"] for r in runs)
    sgd_info["seeds"] = S
    timings["sgd"] = sgd_info["seconds"]
    t_rec = trajs[0].t[:nrec]
    # ODE after SGD: read at the checkpoint times SGD reached, and on the whole requested grid
    t_ode = np.union1d(t_eval, t_rec)
    ode_res = None
    ode_info = {"run": False}
    if ode and g in _ODE_G:
        rho_, Gamma, B = spectral_projections(Omega, Phi, W0, Wt, eig=(rho, U))
        t1 = time.perf_counter()
        if progress:
            status("getheory dynamics: integrating the ODEs ...", True)
        ode_res = integrate_odes(rho_, Gamma, B, v0, vt, D=D, eta=eta, t_eval=t_ode, T=T, g=g,
                                 train_second_layer=train_second_layer, method=ode_method, rtol=ode_rtol,
                                 step_check=step_check)
        timings["ode"] = time.perf_counter() - t1
        ode_info = {"run": True, "method": ode_res.method, "tolerance": ode_res.tolerance,
                    "step_error_eps": ode_res.step_error, "step_error_QR": ode_res.step_error_QR,
                    "rhs_evaluations": ode_res.nfev, "seconds": ode_res.seconds,
                    "clipped_negative_eigenvalues": clipped, "rho_min": float(rho.min()),
                    "rho_max": float(rho.max())}
    elif ode:
        notes.append(f"no ODE for g={g}: closed-form integrals exist for erf2 and linear only")

    # evaluate every seed, then mean and standard error over the seeds
    t1 = time.perf_counter()
    Qd, Rd, vd = {}, {}, {}
    per_seed = {}
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
                m_, s_ = _heldout_eps(src.to_data_basis(W), v, Xt, y_test, g)
                eh.append(m_)
                es.append(s_)
            if k == 0:
                Qd[src.name], Rd[src.name], vd[src.name] = np.array(Qs), np.array(Rs), tr.v[:nrec]
            eo_s.append(eo)
            eh_s.append(eh)
            es_s.append(es)
        per_seed[src.name] = (np.array(eo_s), np.array(eh_s), np.array(es_s))  # (S, n_t) each
    timings["evaluation"] = time.perf_counter() - t1
    if ode_res is not None:
        at = np.searchsorted(ode_res.t, t_rec)
        Qd["ode"], Rd["ode"], vd["ode"] = ode_res.Q[at], ode_res.R[at], ode_res.v[at]
    eps_ode = ode_res.eps[at] if ode_res is not None else None

    def summary(name):
        if name not in per_seed:
            return None, None, None, None
        eo, eh, es = per_seed[name]
        se_o = eo.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eo.shape[1])
        se_h = eh.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else np.zeros(eh.shape[1])
        # the test set is shared by the seeds: its own error adds in quadrature
        return eo.mean(0), se_o, eh.mean(0), np.sqrt(se_h**2 + es.mean(0) ** 2)

    go, go_se, gh, gs = summary("generator")
    ga = summary("gaussian")

    def gap(a, b, se, paired=None):
        """Largest gap between two curves, in SEs; verdict at ``level`` (Bonferroni over checkpoints).

        ``paired`` (S, n_t): per-seed differences, whose spread gives the SE of the mean difference.
        """
        if a is None or b is None:
            return None
        d = np.abs(a - b)
        i = int(np.argmax(d))
        out = {"max_abs": float(d[i]), "at_t": float(t_rec[i]), "relative_at_max": float(d[i] / max(abs(b[i]), 1e-300)),
               "max_relative": float(np.max(d / np.maximum(np.abs(b), 1e-300)))}
        if paired is not None:
            se = paired.std(axis=0, ddof=1) / math.sqrt(S) if S > 1 else None
        if se is None or S < 2:
            out["verdict"] = "needs >= 2 SGD seeds"
            return out
        ok = se > 0
        zero_se_gap = bool(np.any((~ok) & (d > 1e-12 * np.maximum(np.abs(b), 1e-300))))
        if not np.any(ok):  # no spread at all: the curves are identical or differ deterministically
            out["verdict"] = "inconsistent" if zero_se_gap else "consistent"
            return out
        z = np.where(ok, d / np.where(ok, se, 1.0), 0.0)
        n_t = int(ok.sum())
        thr = float(_t_dist.isf(level / (2 * n_t), S - 1))
        zi = int(np.argmax(z))
        out.update({"max_abs_in_stderr": float(z[zi]), "at_t_in_stderr": float(t_rec[zi]),
                    "threshold_in_stderr": thr, "checkpoints": n_t, "level": level, "dof": S - 1,
                    "verdict": "inconsistent" if (z[zi] > thr or zero_se_gap) else "consistent"})
        return out

    pg = per_seed.get("generator")
    pa = per_seed.get("gaussian")
    gaps = {
        "ode_vs_sgd_generator_order_parameters": gap(go, eps_ode, go_se),
        "ode_vs_sgd_generator_heldout": gap(gh, eps_ode, gs),
        "ode_vs_sgd_gaussian_order_parameters": gap(ga[0], eps_ode, ga[1]),
        "ode_vs_sgd_gaussian_heldout": gap(ga[2], eps_ode, ga[3]),
        "sgd_generator_vs_sgd_gaussian_order_parameters": gap(go, ga[0], None, None if pa is None else pg[0] - pa[0]),
        "sgd_generator_vs_sgd_gaussian_heldout": gap(gh, ga[2], None, None if pa is None else pg[1] - pa[1]),
    }
    gaps = {k: v for k, v in gaps.items() if v is not None}
    desc = generator.describe() if hasattr(generator, "describe") else {"kind": type(generator).__name__}
    settings = {
        "generator": desc,
        "N": N,
        "D": D,
        "delta": D / N,
        "K": K,
        "M": M,
        "eta": eta,
        "g": g,
        "train_second_layer": bool(train_second_layer),
        "seed": seed,
        "t_max_requested": float(t_eval[-1]),
        "t_reached": float(t_rec[-1]),
        "stopped_by_time_budget": sgd_info["stopped_by_time_budget"],
        "time_budget_s": time_budget,
        "n_test": n_test,
        "sgd_seeds": S,
        "level": level,
        "moments": moments.source,
        "T": T.tolist(),
        "v_teacher": vt.tolist(),
    }
    if sgd_info["stopped_by_time_budget"]:
        notes.append(f"SGD stopped by the time budget of {time_budget} s at t = {t_rec[-1]:.4g} "
                     f"(requested {t_eval[-1]:g}); the ODE ran to the end and is compared up to there")
    if gaussian:
        ode_info["gaussian_sampler_clipped_eigenvalues"] = sources[1].clipped
        ode_info["gaussian_sampler_clipped_mass"] = sources[1].clipped_mass
    timings["total"] = time.perf_counter() - t0
    res = DynamicsResult(
        settings=settings,
        t=t_rec,
        eps_ode=eps_ode,
        eps_gen_order=go,
        eps_gen_heldout=gh,
        eps_gen_heldout_se=gs,
        eps_gauss_order=ga[0],
        eps_gauss_heldout=ga[2],
        eps_gauss_heldout_se=ga[3],
        eps_gen_order_se=go_se,
        eps_gauss_order_se=ga[1],
        eps_per_seed={k: {"order_parameters": v[0], "heldout": v[1]} for k, v in per_seed.items()},
        Q=Qd,
        R=Rd,
        v=vd,
        ode={**ode_info, "t": ode_res.t.tolist() if ode_res is not None else None,
             "eps_full": ode_res.eps.tolist() if ode_res is not None else None},
        sgd=sgd_info,
        gaps=gaps,
        timings=timings,
        notes=notes,
        problem={"A": generator.A if isinstance(generator, SingleLayerGenerator) else None,
                 "activation": generator.activation.name if isinstance(generator, SingleLayerGenerator) else None,
                 "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt},
    )
    return res


#: arrays of a problem file (``getheory dynamics --problem FILE.npz``)
PROBLEM_KEYS = ("A", "W0", "v0", "W_teacher", "v_teacher")


def load_problem(path, activation):
    """Read a problem file: a single-layer generator σ(A c/√D) and the initial and teacher weights.

    The ``.npz`` holds ``A`` (N, D), ``W0`` (K, N), ``v0`` (K,), ``W_teacher`` (M, D) and
    ``v_teacher`` (M,) (docs/theory.md §7.1); σ is ``activation``.  Returns a dict with
    ``generator``, ``W0``, ``v0``, ``W_teacher``, ``v_teacher`` for :func:`run_dynamics`.
    """
    from ..generators import SingleLayerGenerator

    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"problem file {path!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"problem file {path!r} is not a readable .npz archive: {exc}") from None
    with data:
        missing = [k for k in PROBLEM_KEYS if k not in data.files]
        if missing:
            raise ValueError(f"problem file {path!r} lacks {missing}; it needs the arrays {list(PROBLEM_KEYS)} "
                             f"(A: (N, D), W0: (K, N), v0: (K,), W_teacher: (M, D), v_teacher: (M,)); "
                             f"it has {list(data.files)}")
        arr = {k: np.asarray(data[k], dtype=np.float64) for k in PROBLEM_KEYS}
    A = arr["A"]
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise ValueError(f"problem file: A must be a finite (N, D) matrix, got shape {A.shape}")
    N, D = A.shape
    W0 = _weights(arr["W0"], "W0 (problem file)", N)
    v0 = _vector(arr["v0"], "v0 (problem file)", W0.shape[0])
    Wt = _weights(arr["W_teacher"], "W_teacher (problem file)", D)
    vt = _vector(arr["v_teacher"], "v_teacher (problem file)", Wt.shape[0])
    return {"generator": SingleLayerGenerator(A, activation), "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt}


def save_problem(path, problem: dict):
    """Write ``problem`` (the arrays of :data:`PROBLEM_KEYS`) as an ``.npz`` for ``--problem``."""
    np.savez(path, **{k: np.asarray(problem[k]) for k in PROBLEM_KEYS})



# ---------------------------------------------------------------------------
# Finite-size check
# ---------------------------------------------------------------------------
@dataclass
class FiniteSizeResult:
    """Gap between ODE and SGD on generator data as N grows at fixed δ."""

    Ns: list
    seeds: list
    gaps: np.ndarray  # (len(Ns), len(seeds))
    slope: float
    slope_ci: tuple
    intercept: float
    settings: dict

    def to_dict(self):
        return {"N": self.Ns, "seeds": self.seeds, "gaps": self.gaps.tolist(), "slope": self.slope,
                "slope_ci95": list(self.slope_ci), "intercept": self.intercept, "settings": self.settings}


def finite_size_check(Ns, seeds=(0, 1, 2), *, activation="sign", delta=0.5, K=2, M=2, eta=0.2, t_max=5.0,
                      points=12, g="erf2", train_second_layer=True, metric="mean", progress=False):
    """Gap between the ODE and SGD on generator data versus N at fixed δ (§7).

    For each N and seed: a random single-layer generator, exact moments,
    fresh weights; the gap is the mean (``metric="mean"``) or largest
    (``"max"``) |ε_g^SGD − ε_g^ODE| over the checkpoints in (0, t_max], with
    ε_g^SGD from the order parameters.  Fits log gap = a + b log N by least
    squares over all (N, seed) pairs; ``slope_ci`` is the 95 % t-interval of
    b.  Finite-N fluctuations predict b ≈ −1/2.
    """
    from scipy import stats

    Ns = [positive_int(n, "N") for n in Ns]
    if len(Ns) < 2:
        raise ValueError("need at least two values of N to fit an exponent")
    seeds = list(seeds)
    gaps = np.zeros((len(Ns), len(seeds)))
    for i, N in enumerate(Ns):
        D = max(1, int(round(delta * N)))
        for j, sd in enumerate(seeds):
            r = run_dynamics(activation=activation, N=N, D=D, K=K, M=M, eta=eta, t_max=t_max, points=points, g=g,
                             train_second_layer=train_second_layer, seed=sd, gaussian=False, n_test=2,
                             step_check=False, sgd_seeds=1)  # one run's fluctuation is what scales as N^-1/2
            d = np.abs(r.eps_gen_order - r.eps_ode)[r.t > 0]
            gaps[i, j] = d.mean() if metric == "mean" else d.max()
            if progress:
                status(f"  N={N} seed={sd}: gap {gaps[i, j]:.3g}", True)
    x = np.repeat(np.log(Ns), len(seeds))
    y = np.log(gaps).ravel()
    fit = stats.linregress(x, y)
    tq = stats.t.ppf(0.975, len(x) - 2)
    ci = (float(fit.slope - tq * fit.stderr), float(fit.slope + tq * fit.stderr))
    settings = {"activation": activation, "delta": delta, "K": K, "M": M, "eta": eta, "t_max": t_max,
                "g": g, "metric": metric}
    return FiniteSizeResult(Ns, seeds, gaps, float(fit.slope), ci, float(fit.intercept), settings)
