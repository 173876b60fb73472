"""One-pass SGD of the student on several data sources side by side (docs/theory.md §7.1, §7.8).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .._progress import Progress
from ..backend import get_backend
from ._checks import _check_eta, _check_g, _vector, _weights
from ._data import _teacher_labels


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


@dataclass
class SGDTrajectory:
    """Checkpoints of one SGD run: weights in the original input basis."""

    source: str
    steps: np.ndarray
    t: np.ndarray
    W: np.ndarray  # (n_checkpoints, K, N)
    v: np.ndarray  # (n_checkpoints, K)
    diverged: bool = False



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
    Returns (list of SGDTrajectory, info dict with timings and steps/s).
    """
    from ._data import NormalStream
    from ._kernel_cpu import G_CODES

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
        batch_size = int(min(4096, max(256, 2**25 // (8 * N))))  # ~32 MB per batch and source
    ss = np.random.SeedSequence(seed)
    c_seed, xi_seed = ss.spawn(2)
    c_rng = bk.rng(c_seed)
    xi_rngs = [NormalStream(s, bk) for s in xi_seed.spawn(len(sources))]
    xp = bk.xp
    Wt_d, vt_d = bk.asarray(Wt), bk.asarray(vt)
    Ws = [bk.contiguous(src.to_data_basis(bk.asarray(W0))) for src in sources]
    vs = [bk.asarray(v0.copy()) for _ in sources]
    recW = [[] for _ in sources]
    recv = [[] for _ in sources]
    code = G_CODES[g]
    done = 0
    ci = 0
    diverged = False
    t_start = time.perf_counter()
    gen_time = kern_time = 0.0
    prog = Progress(int(steps_at[-1]), "SGD steps", progress, delay=5.0)
    stopped_early = False
    rec_steps = []

    def record():
        rec_steps.append(done)
        for i, src in enumerate(sources):
            recW[i].append(bk.to_numpy(src.from_data_basis(Ws[i])).copy())
            recv[i].append(bk.to_numpy(vs[i]).copy())

    def out_of_time():
        return time_budget is not None and time.perf_counter() - t_start > time_budget and ci < len(steps_at)

    while ci < len(steps_at):
        while ci < len(steps_at) and steps_at[ci] == done:
            record()
            ci += 1
            if out_of_time():
                stopped_early = True
                break
        if ci >= len(steps_at) or stopped_early:
            break
        b = int(min(batch_size, steps_at[-1] - done))
        tg = time.perf_counter()
        c = c_rng.standard_normal((b, D), dtype=np.float64)
        y = _teacher_labels(c, Wt_d, vt_d, g)
        Xs = [bk.contiguous(src.inputs(c, xi_rngs[i])) for i, src in enumerate(sources)]
        tk = time.perf_counter()
        gen_time += tk - tg
        pos = 0
        while pos < b:
            nxt = int(min(b, pos + steps_at[ci] - done)) if ci < len(steps_at) else b
            for i in range(len(sources)):
                got = sgd_segment(Ws[i], vs[i], Xs[i], y, eta, code, bool(train_second_layer), pos, nxt)
                if got < nxt - pos or not bk.to_bool(xp.all(xp.isfinite(Ws[i]))):
                    diverged = True
            done += nxt - pos
            pos = nxt
            if diverged:
                break
            while ci < len(steps_at) and steps_at[ci] == done:
                record()
                ci += 1
                if out_of_time():
                    stopped_early = True
                    break
            if stopped_early:
                break
        bk.synchronize()
        kern_time += time.perf_counter() - tk
        if diverged or stopped_early:
            break
        if out_of_time():
            # out of time between checkpoints: record where we are and stop
            if not rec_steps or rec_steps[-1] != done:
                record()
            stopped_early = True
            break
        prog.update(done)
    if diverged:
        warnings.warn(f"SGD diverged at t ≈ {done / N:.3g} (η = {eta} too large?); trajectories end there",
                      RuntimeWarning, stacklevel=2)
    elapsed = time.perf_counter() - t_start
    nrec = min(len(r) for r in recW)
    steps_rec = np.array(rec_steps[:nrec], dtype=np.int64)
    trajs = [SGDTrajectory(src.name, steps_rec, steps_rec / N, np.array(recW[i][:nrec]), np.array(recv[i][:nrec]),
                           diverged) for i, src in enumerate(sources)]
    info = {
        "steps": int(done),
        "t_reached": float(steps_rec[-1] / N) if nrec else 0.0,
        "t_requested": float(steps_at[-1] / N),
        "stopped_by_time_budget": bool(stopped_early),
        "seconds": elapsed,
        "seconds_sampling": gen_time,
        "seconds_kernel": kern_time,
        "steps_per_second_per_source": done / elapsed if elapsed > 0 else float("nan"),
        "kernel_steps_per_second": done * len(sources) / kern_time if kern_time > 0 else float("nan"),
        "batch_size": batch_size,
        "backend": bk.name,
        "diverged": diverged,
    }
    return trajs, info
