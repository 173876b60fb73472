"""One-pass SGD of the student on several data sources side by side (docs/theory.md §7.1, §7.8).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .._seeds import SGD
from .._progress import Progress
from ..activations import get_network_activation
from ..backend import get_backend
from ._checks import _check_eta, _check_g, _vector, _weights
from ._data import _g_xp, _teacher_labels


def segment_kernel(bk):
    """The per-step SGD kernel of backend ``bk``: ``kernel(W, v, X, y, eta, code, train_v, start, stop)``.

    The compiled loop the backend names in ``compiled_kernels`` ("cpu": numba, "cuda": a
    CuPy RawKernel), otherwise the array-API reference step bound to ``bk``.
    """
    if bk.compiled_kernels == "cpu":
        from ._kernel_cpu import sgd_segment

        return sgd_segment
    if bk.compiled_kernels == "cuda":
        from ._kernel_cuda import sgd_segment_cuda

        return sgd_segment_cuda
    from functools import partial

    from ._kernel_xp import sgd_segment_xp

    return partial(sgd_segment_xp, bk)


#: a seed's SGD has diverged when a source's error on its latest samples exceeds this many times
#: its error at the start (see :func:`run_sgd`)
DIVERGENCE_FACTOR = 1e6
#: the floor of the starting error in that rule
DIVERGENCE_FLOOR = 1e-6


def default_batch_size(N) -> int:
    """Samples made per BLAS-3 batch when none is given: about 32 MB per batch and source."""
    return int(min(4096, max(256, 2**25 // (8 * int(N)))))


@dataclass
class SGDTrajectory:
    """Checkpoints of one SGD run: weights in the original input basis."""

    source: str
    steps: np.ndarray
    t: np.ndarray
    W: np.ndarray  # (n_checkpoints, K, N)
    v: np.ndarray  # (n_checkpoints, K)
    diverged: bool = False


def _health(bk, X, y, W, v, g, a, b):
    """(ε̂, weights finite): ½ mean (φ(x) − y)² over rows a:b of X with W, v, and whether W, v are finite.

    One transfer to the host.  ε̂ is the divergence rule's error (see :func:`run_sgd`).
    """
    xp = bk.xp
    with np.errstate(all="ignore"):
        lam = X[a:b, :] @ W.T / math.sqrt(W.shape[1])
        d = _g_xp(lam, g) @ v - y[a:b]
        err = xp.mean(d * d) / 2
        ok = xp.logical_and(xp.all(xp.isfinite(W)), xp.all(xp.isfinite(v)))
        both = bk.to_numpy(xp.stack([err, xp.astype(ok, err.dtype)]))
    return float(both[0]), bool(both[1] == 1.0)


def run_sgd(
    sources,
    W0,
    v0,
    W_teacher,
    v_teacher,
    *,
    eta,
    t_points,
    g="erf2",
    train_second_layer=True,
    seed=0,
    batch_size=None,
    time_budget=None,
    progress=False,
    backend="numpy",
    checkpoint=None,
):
    """One-pass SGD of the student on each data source, side by side (§7.1).

    All sources see the *same* latents c (hence the same teacher labels) at
    every step and start from the same weights; sources that need extra
    noise (the Gaussian equivalent's ξ) draw it from a separate stream.
    Samples are made a batch at a time with BLAS-3 products on ``backend``,
    and the sequential updates run in the backend's kernel (:func:`segment_kernel`):
    the numba loop :func:`getheory.dynamics._kernel_cpu.sgd_segment` on NumPy,
    the CUDA kernel :func:`getheory.dynamics._kernel_cuda.sgd_segment_cuda` (one
    launch per segment of steps) on CuPy, and the array-API reference step
    :func:`getheory.dynamics._kernel_xp.sgd_segment_xp` elsewhere.  Samples and
    weights stay on the device; only the checkpoints are copied to the host.  The sources must
    have been built for the same backend.

    ``t_points``: increasing times t = steps/N at which W and v are recorded.
    ``time_budget``: seconds; when exceeded the run stops at the end of the
    current batch and records one last checkpoint there (the trajectories
    then end early: see ``SGDTrajectory.t``).

    Divergence: the run stops, and says so (``info["diverged"]``, ``info["divergence"]``,
    ``SGDTrajectory.diverged``), when for some source the weights or the output become
    non-finite, or when its error on the samples of the latest segment,
    ε̂_g = ½ mean (φ(x) − y)² with the weights at the segment's end, exceeds
    ``DIVERGENCE_FACTOR`` (10⁶) × max(ε̂_g(0), ``DIVERGENCE_FLOOR``), where ε̂_g(0) is the
    error of the initial weights on the first batch.  The trajectories then end at the
    last checkpoint before the divergence.  (Reading ε̂_g changes no number of the run.)

    ``checkpoint``: a :class:`getheory.dynamics._checkpoint.SeedCheckpoint`.  When it holds a
    state of this seed the run continues from it -- weights, random states, step count and the
    checkpoints recorded so far -- and ends with the same numbers as an uninterrupted run; the
    state is written at the end of a batch every ``checkpoint_every`` seconds, whenever a
    checkpoint of the curve was recorded, and when the run ends.
    Returns (list of SGDTrajectory, info dict with timings and steps/s).
    """
    from ._checkpoint import CheckpointUnsupported, rng_state, set_rng_state
    from ._data import NormalStream

    bk = get_backend(backend)
    sgd_segment = segment_kernel(bk)
    eta = _check_eta(eta)
    g = _check_g(g)
    if not sources:
        raise ValueError("give at least one data source")
    N = sources[0].N
    for s in sources:
        if s.N != N:
            raise ValueError("all data sources must have the same N")
    W0 = _weights(W0, "W0 (student first layer)", N)
    K = W0.shape[0]
    v0 = _vector(v0, "v0", K)
    Wt = _weights(W_teacher, "W_teacher")
    M, D = Wt.shape
    vt = _vector(v_teacher, "v_teacher", M)
    t_points = np.asarray(t_points, dtype=np.float64).reshape(-1)
    if t_points.size == 0 or np.any(np.diff(t_points) <= 0) or t_points[0] < 0:
        raise ValueError("t_points must be a non-empty increasing sequence of times >= 0")
    steps_at = np.unique(np.round(t_points * N).astype(np.int64))
    if batch_size is None:
        batch_size = default_batch_size(N)
    streams = SGD.streams(seed)
    c_rng = bk.rng(streams.latents)
    xi_rngs = [NormalStream(s, bk) for s in streams.noise.spawn(len(sources))]
    xp = bk.xp
    Wt_d, vt_d = bk.asarray(Wt), bk.asarray(vt)
    Ws = [bk.contiguous(src.to_data_basis(bk.asarray(W0))) for src in sources]
    vs = [bk.asarray(v0.copy()) for _ in sources]
    recW = [[] for _ in sources]
    recv = [[] for _ in sources]
    rec_steps = []
    names = [src.name for src in sources]
    code = get_network_activation(g).kernel_code
    done = 0
    ci = 0
    eps0 = None
    status = "running"
    divergence = None
    prior = {"seconds": 0.0, "seconds_sampling": 0.0, "seconds_kernel": 0.0}
    notes = []
    resumed_from = None
    saved_n_rec = 0
    ck_on = checkpoint is not None
    digests = [src.basis_digest() for src in sources] if ck_on else None

    state = checkpoint.load() if ck_on else None
    if state is not None:
        meta, arrays, records = state["meta"], state["arrays"], state["records"]
        where = checkpoint.state_file
        if meta["sources"] != names or meta["batch_size"] != batch_size or meta["N"] != N \
                or meta["steps_final"] != int(steps_at[-1]):
            raise ValueError(f"checkpoint {where!r} is of a run with sources {meta['sources']}, batch size "
                             f"{meta['batch_size']}, N = {meta['N']} and {meta['steps_final']} steps; this run has "
                             f"{names}, {batch_size}, {N} and {int(steps_at[-1])}")
        rec_steps = [int(x) for x in records["steps"]]
        if rec_steps != [int(x) for x in steps_at[:len(rec_steps)]]:
            raise ValueError(f"checkpoint {where!r} recorded steps {rec_steps}, not this run's schedule")
        for i, src in enumerate(sources):
            if meta["basis"][i] == digests[i]:
                Ws[i] = bk.contiguous(bk.asarray(arrays[f"W{i}"]))
            else:  # another eigenbasis of Ω − ΦΦᵀ (another machine or library): rotate into this one
                Ws[i] = bk.contiguous(src.to_data_basis(bk.asarray(arrays[f"Win{i}"])))
                notes.append(f"the {src.name} source's eigenbasis differs from the checkpoint's (another machine "
                             "or linear-algebra library): its weights were rotated into this one, so the resumed "
                             "run equals an uninterrupted one to round-off, not bit for bit")
            vs[i] = bk.contiguous(bk.asarray(arrays[f"v{i}"]))
            recW[i] = list(records["W"][i]) if rec_steps else []
            recv[i] = list(records["v"][i]) if rec_steps else []
        set_rng_state(c_rng, meta["rng"]["c"], bk, arrays)
        for i, stream in enumerate(xi_rngs):
            for j, r in enumerate(stream.generators):
                set_rng_state(r, meta["rng"]["xi"][i][j], bk, arrays)
        done = resumed_from = int(meta["done"])
        ci = len(rec_steps)
        eps0 = meta["eps0"]
        status = "running" if meta["status"] == "stopped" else meta["status"]
        divergence = meta.get("divergence")
        prior = {k: float(meta[k]) for k in prior}
        saved_n_rec = len(rec_steps)

    t_start = time.perf_counter()
    gen_time = kern_time = 0.0
    prog = Progress(int(steps_at[-1]) - done, "SGD steps", progress, delay=5.0)
    done_start = done
    stopped_early = False

    def record():
        rec_steps.append(done)
        for i, src in enumerate(sources):
            recW[i].append(bk.to_numpy(src.from_data_basis(Ws[i])).copy())
            recv[i].append(bk.to_numpy(vs[i]).copy())

    def save(final_status):
        nonlocal ck_on, saved_n_rec
        if not ck_on:
            return
        arrays = {}
        try:
            rng = {"c": rng_state(c_rng, bk, "rng_c", arrays),
                   "xi": [[rng_state(r, bk, f"rng_xi{i}_{j}", arrays) for j, r in enumerate(stream.generators)]
                          for i, stream in enumerate(xi_rngs)]}
        except CheckpointUnsupported as exc:
            ck_on = False
            notes.append(f"no checkpoint written: {exc}")
            warnings.warn(f"SGD checkpoints are off for this run: {exc}", RuntimeWarning, stacklevel=3)
            return
        for i, src in enumerate(sources):
            arrays[f"W{i}"] = bk.to_numpy(Ws[i])
            if digests[i] != "input":  # the input basis too, for a resume where the data basis differs
                arrays[f"Win{i}"] = bk.to_numpy(src.from_data_basis(Ws[i]))
            arrays[f"v{i}"] = bk.to_numpy(vs[i])
        elapsed = time.perf_counter() - t_start
        meta = {"done": int(done), "n_rec": len(rec_steps), "rec_steps": [int(x) for x in rec_steps],
                "status": final_status, "divergence": divergence, "eps0": eps0, "sources": names,
                "basis": digests, "batch_size": int(batch_size), "N": int(N), "steps_final": int(steps_at[-1]),
                "rng": rng, "seconds": prior["seconds"] + elapsed,
                "seconds_sampling": prior["seconds_sampling"] + gen_time,
                "seconds_kernel": prior["seconds_kernel"] + kern_time}
        records = None
        if len(rec_steps) != saved_n_rec:
            records = {"steps": rec_steps, "W": [np.array(r) for r in recW], "v": [np.array(r) for r in recv]}
        checkpoint.save(meta, arrays, records)
        saved_n_rec = len(rec_steps)

    def out_of_time():
        return time_budget is not None and time.perf_counter() - t_start > time_budget

    while status == "running":
        # the top of the loop is the end of a batch: record the checkpoints due here
        while ci < len(steps_at) and steps_at[ci] == done:
            record()
            ci += 1
        if ci >= len(steps_at):
            status = "complete"
            break
        if out_of_time():
            stopped_early = True
            break
        b = int(min(batch_size, steps_at[-1] - done))
        tg = time.perf_counter()
        c = c_rng.standard_normal((b, D), dtype=np.float64)
        y = _teacher_labels(c, Wt_d, vt_d, g)
        Xs = [bk.contiguous(src.inputs(c, xi_rngs[i])) for i, src in enumerate(sources)]
        tk = time.perf_counter()
        gen_time += tk - tg
        if eps0 is None:  # the divergence rule's starting error: the initial weights on the first batch
            eps0 = [_health(bk, Xs[i], y, Ws[i], vs[i], g, 0, b)[0] for i in range(len(sources))]
        pos = 0
        while pos < b:
            nxt = int(min(b, pos + steps_at[ci] - done))
            got = nxt - pos
            for i in range(len(sources)):
                n_i = sgd_segment(Ws[i], vs[i], Xs[i], y, eta, code, bool(train_second_layer), pos, nxt)
                err, finite = _health(bk, Xs[i], y, Ws[i], vs[i], g, pos, nxt)
                limit = DIVERGENCE_FACTOR * max(eps0[i], DIVERGENCE_FLOOR)
                if n_i < nxt - pos or not finite or not math.isfinite(err):
                    reason = "the weights or the output became non-finite"
                elif err > limit:
                    reason = (f"its error on the latest samples, {err:.3g}, exceeded {DIVERGENCE_FACTOR:g} × its "
                              f"initial error {eps0[i]:.3g}")
                else:
                    continue
                got = min(got, n_i)
                if divergence is None:
                    divergence = {"source": sources[i].name, "step": int(done + n_i),
                                  "t": float((done + n_i) / N), "reason": reason}
            if divergence is not None:
                done += got
                status = "diverged"
                break
            done += nxt - pos
            pos = nxt
            while ci < len(steps_at) and steps_at[ci] == done:
                record()
                ci += 1
        bk.synchronize()
        kern_time += time.perf_counter() - tk
        if status == "diverged":
            break
        prog.update(done - done_start)
        if ck_on and (checkpoint.due() or len(rec_steps) != saved_n_rec):
            save("running")
    if state is None or status == "running" or resumed_from != done:
        save("stopped" if stopped_early else status)
    if stopped_early and (not rec_steps or rec_steps[-1] != done):
        record()  # out of time between checkpoints: record where we are (this run's result only)
    if status == "diverged":
        warnings.warn(f"SGD diverged at t ≈ {divergence['t']:.3g} on {divergence['source']} data "
                      f"({divergence['reason']}; η = {eta} too large?); trajectories end at the checkpoint before",
                      RuntimeWarning, stacklevel=2)
    elapsed = time.perf_counter() - t_start
    seconds = prior["seconds"] + elapsed
    steps_rec = np.array(rec_steps, dtype=np.int64)
    empty_W, empty_v = np.zeros((0, K, N)), np.zeros((0, K))
    trajs = [SGDTrajectory(src.name, steps_rec, steps_rec / N, np.array(recW[i]) if rec_steps else empty_W,
                           np.array(recv[i]) if rec_steps else empty_v, status == "diverged")
             for i, src in enumerate(sources)]
    this_kernel = prior["seconds_kernel"] + kern_time
    info = {
        "steps": int(done),
        "t_reached": float(steps_rec[-1] / N) if rec_steps else 0.0,
        "t_requested": float(steps_at[-1] / N),
        "stopped_by_time_budget": bool(stopped_early),
        "seconds": seconds,
        "seconds_sampling": prior["seconds_sampling"] + gen_time,
        "seconds_kernel": this_kernel,
        "steps_per_second_per_source": done / seconds if seconds > 0 else float("nan"),
        "kernel_steps_per_second": done * len(sources) / this_kernel if this_kernel > 0 else float("nan"),
        "batch_size": batch_size,
        "backend": bk.name,
        "diverged": status == "diverged",
        "divergence": divergence,
        "status": "stopped" if stopped_early else status,
        "resumed_from_step": resumed_from,
        "checkpoint_saves": checkpoint.saves if checkpoint is not None else 0,
        "notes": notes,
    }
    return trajs, info
