"""One-pass SGD of the student on several data sources side by side (docs/theory.md §7.1, §7.8).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .._run import RunContext, start_run_context
from .._seeds import SGD
from ..activations import get_network_activation
from ._checkpoint import CheckpointUnsupported, rng_state, set_rng_state
from ._checks import _check_eta, _check_g, _vector, _weights, check_inputs_dtype
from ._batches import BatchMaker, run_kernels
from ._data import NormalStream, _g_xp
from ._kernel_cpu import sgd_segment
from ._kernel_cuda import sgd_segment_cuda
from ._kernel_xp import sgd_segment_xp


def segment_kernel(bk):
    """The per-step SGD kernel of backend ``bk``: ``kernel(W, v, X, y, eta, code, train_v, start, stop)``.

    The compiled loop the backend names in ``compiled_kernels`` ("cpu": numba, which releases
    the GIL, so that the sources' kernels run side by side; "cuda": a CuPy RawKernel),
    otherwise the array-API reference step bound to ``bk``.
    """
    if bk.compiled_kernels == "cpu":
        return sgd_segment
    if bk.compiled_kernels == "cuda":
        return sgd_segment_cuda
    return partial(sgd_segment_xp, bk)


#: a seed's SGD has diverged when a source's error on its latest samples exceeds this many times
#: its error at the start (see :func:`run_sgd`)
DIVERGENCE_FACTOR = 1e6
#: the floor of the starting error in that rule
DIVERGENCE_FLOOR = 1e-6
#: the rule's error is read on at most this many samples: the last ones of each segment, the first
#: ones of the first batch (reading all of a 524-row batch at N = 8000 cost 14 µs a step, 7 % of a step)
HEALTH_ROWS = 64


def default_batch_size(N) -> int:
    """Samples made per BLAS-3 batch when none is given: about 32 MB per batch and source."""
    return int(min(4096, max(256, 2**25 // (8 * int(N)))))


@dataclass
class SGDTrajectory:
    """The recorded points of one SGD run's learning curve: steps, t = steps/N, and the weights at
    each record time, in the original input basis."""

    source: str
    steps: np.ndarray
    t: np.ndarray
    W: np.ndarray  # (n_records, K, N)
    v: np.ndarray  # (n_records, K)
    diverged: bool = False


def _health(bk, batch, weights, g, rows):
    """(ε̂, weights finite): ½ mean (φ(x) − y)² over rows a:b of the batch (X, y) with the weights
    (W, v), and whether W, v are finite; ``rows``: (a, b).

    One transfer to the host.  ε̂ is the divergence rule's error (see :func:`run_sgd`).
    """
    (X, y), (W, v), (a, b) = batch, weights, rows
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
    dtype="float64",
):
    """One-pass SGD of the student on each data source, side by side (§7.1).

    All sources see the *same* latents c (hence the same teacher labels) at
    every step and start from the same weights; sources that need extra
    noise (the Gaussian equivalent's ξ) draw it from a separate stream.
    Samples are made a batch at a time with BLAS-3 products on ``backend``,
    and the sequential updates run in the backend's kernel (``segment_kernel``):
    the numba loop :func:`getheory.dynamics._kernel_cpu.sgd_segment` on NumPy,
    the CUDA kernel :func:`getheory.dynamics._kernel_cuda.sgd_segment_cuda` (one
    launch per segment of steps) on CuPy, and the array-API reference step
    :func:`getheory.dynamics._kernel_xp.sgd_segment_xp` elsewhere.  Samples and
    weights stay on the device; only the recorded weights are copied to the host.  The sources must
    have been built for the same backend.

    ``t_points``: increasing record times t = steps/N at which W and v are recorded.
    ``dtype``: the inputs' dtype, ``"float64"`` or ``"float32"`` (docs/theory.md §7.8): in float32 the
    inputs and their products are made in float32 (the latents and labels stay float64, the noise ξ' is
    drawn in float32), and the update of W and v is the float64 one, on the float32 inputs.
    ``time_budget``: seconds; when exceeded the run stops at the end of the
    current batch and records W and v there too (the trajectories
    then end early: see ``SGDTrajectory.t``).

    Divergence: the run stops, and says so (``info["diverged"]``, ``info["divergence"]``,
    ``SGDTrajectory.diverged``), when for some source the weights or the output become
    non-finite, or when its error on the latest samples of the latest segment (at most
    ``HEALTH_ROWS``), ε̂_g = ½ mean (φ(x) − y)² with the weights at the segment's end, exceeds
    ``DIVERGENCE_FACTOR`` (10⁶) × max(ε̂_g(0), ``DIVERGENCE_FLOOR``), where ε̂_g(0) is the
    error of the initial weights on the first samples of the first batch.  The trajectories then end at the
    last record time before the divergence.  (Reading ε̂_g changes no number of the run.)

    ``checkpoint``: a :class:`getheory.dynamics._checkpoint.SeedCheckpoint` (the SGD state saved on disk).
    When it holds a state of this seed the run continues from it -- weights, random states, step
    count and the points of the curve recorded so far -- and ends with the same numbers as an
    uninterrupted run; the state is written (into the checkpoint's folder, by
    ``SeedCheckpoint.save``) at the end of a batch every ``checkpoint_every`` seconds, whenever
    a point of the curve was recorded, and when the run ends.
    Returns (list of SGDTrajectory, info dict with timings and steps/s).

    The backend and the seed's streams (:data:`getheory._seeds.SGD`) are resolved here, once, into
    a :class:`getheory._run.RunContext`; ``run_sgd_in`` runs with a context made by its caller.
    """
    run = start_run_context(backend=backend, layout=SGD, seed=seed, progress=progress)
    return run_sgd_in(run, sources, (W0, v0, W_teacher, v_teacher), t_points,
                      Controls(eta, g, train_second_layer, batch_size, time_budget, dtype), checkpoint)


def run_sgd_in(run: RunContext, sources, weights, t_points, ctl: "Controls", checkpoint=None,
               label: str = "SGD steps"):
    """:func:`run_sgd` in the run context ``run``: its backend, its :data:`getheory._seeds.SGD` streams
    (``run.seeds``) and its progress switch; ``weights``: (W0, v0, W_teacher, v_teacher); ``ctl``:
    the learning rule and run controls; ``label``: the progress line's (e.g. which of several seeds
    this is).  Warnings name the caller of :func:`run_sgd`."""
    setup = _set_up(run, sources, weights, t_points, ctl)
    st = _start(setup, run.seeds)
    saver = _Saver(checkpoint, setup)
    saver.resume(setup, st)
    st.t_start = time.perf_counter()
    prog = run.progress_bar(setup.steps_final - st.done, label, delay=5.0)
    with setup.maker.running():
        _run_batches(setup, st, saver, prog)
    if st.resumed_from is None or st.status == "running" or st.resumed_from != st.done:
        saver.save(setup, st, "stopped" if st.stopped_early else st.status, stacklevel=4)
    if st.stopped_early and (not st.rec_steps or st.rec_steps[-1] != st.done):
        _record(setup, st)  # out of time between record times: record where we are (this run's result only)
    if st.status == "diverged":
        dv = st.divergence
        warnings.warn(f"SGD diverged at t ≈ {dv['t']:.3g} on {dv['source']} data "
                      f"({dv['reason']}; η = {setup.eta} too large?); trajectories end at the record time before",
                      RuntimeWarning, stacklevel=3)
    return _trajectories(setup, st), _info(setup, st, checkpoint)


@dataclass(frozen=True)
class Controls:
    """The learning rule and run controls of :func:`run_sgd`, as given."""

    eta: float
    g: str
    train_second_layer: bool
    batch_size: int | None
    time_budget: float | None
    dtype: str = "float64"  # the inputs' (see run_sgd)


@dataclass(frozen=True)
class _Setup:
    """What fixes a :func:`run_sgd` run: the checked inputs, the backend's kernel and the schedule."""

    bk: object
    kernel: object
    parallel_kernels: bool  # the sources' kernels run in threads side by side (the compiled CPU loop)
    maker: BatchMaker
    sources: list
    N: int
    K: int
    D: int
    W0: np.ndarray
    v0: np.ndarray
    Wt_d: object  # teacher weights on the device
    vt_d: object
    eta: float
    g: str
    code: int  # the kernel's code of g
    train_v: bool
    steps_at: np.ndarray  # the record steps (W and v recorded there), the last one the run's end
    batch_size: int
    time_budget: float | None

    @property
    def names(self) -> list:
        return [src.name for src in self.sources]

    @property
    def steps_final(self) -> int:
        return int(self.steps_at[-1])


def _set_up(run: RunContext, sources, weights, t_points, ctl: Controls) -> _Setup:
    """Check the inputs of :func:`run_sgd` (in its order of messages) and fix its :class:`_Setup`."""
    W0, v0, W_teacher, v_teacher = weights
    bk = run.backend
    kernel = segment_kernel(bk)
    eta = _check_eta(ctl.eta)
    g = _check_g(ctl.g)
    dtype = check_inputs_dtype(ctl.dtype, bk)
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
    batch_size = ctl.batch_size if ctl.batch_size is not None else default_batch_size(N)
    code = get_network_activation(g).kernel_code
    Wt_d, vt_d = bk.asarray(Wt), bk.asarray(vt)
    maker = BatchMaker(bk, sources, D, batch_size, (Wt_d, vt_d, g), dtype)
    return _Setup(bk, kernel, bk.compiled_kernels == "cpu", maker, list(sources), N, K, D, W0, v0, Wt_d, vt_d,
                  eta, g, code, bool(ctl.train_second_layer), steps_at, batch_size, ctl.time_budget)


@dataclass
class _State:
    """Where a :func:`run_sgd` run stands: weights, random streams, step count, the curve recorded so far."""

    c_rng: object  # the latents' generator
    xi_rngs: list  # each source's noise stream
    Ws: list  # each source's W in its data basis, on the device
    vs: list
    recW: list  # each source's recorded W (input basis, host)
    recv: list
    rec_steps: list = field(default_factory=list)
    done: int = 0  # steps made
    ci: int = 0  # index of the next record step in steps_at
    eps0: list | None = None  # the divergence rule's starting error per source
    status: str = "running"
    divergence: dict | None = None
    stopped_early: bool = False
    resumed_from: int | None = None
    prior: dict = field(default_factory=lambda: {"seconds": 0.0, "seconds_sampling": 0.0, "seconds_kernel": 0.0})
    notes: list = field(default_factory=list)
    t_start: float = 0.0
    gen_time: float = 0.0
    kern_time: float = 0.0


def _start(setup: _Setup, streams) -> _State:
    """The state at step 0: the seed's random streams (:data:`getheory._seeds.SGD`: the latents, then
    each source's noise) and W0, v0."""
    bk, sources = setup.bk, setup.sources
    c_rng = bk.rng(streams.latents)
    xi_rngs = [NormalStream(s, bk) for s in streams.noise.spawn(len(sources))]
    Ws = [bk.contiguous(src.to_data_basis(bk.asarray(setup.W0))) for src in sources]
    vs = [bk.asarray(setup.v0.copy()) for _ in sources]
    return _State(c_rng, xi_rngs, Ws, vs, [[] for _ in sources], [[] for _ in sources])


def _record(setup: _Setup, st: _State) -> None:
    """Record W (in the input basis) and v of every source at the current step."""
    st.rec_steps.append(st.done)
    for i, src in enumerate(setup.sources):
        st.recW[i].append(setup.bk.to_numpy(src.from_data_basis(st.Ws[i])).copy())
        st.recv[i].append(setup.bk.to_numpy(st.vs[i]).copy())


def _record_due(setup: _Setup, st: _State) -> None:
    """Record the points of the curve whose record step is the current step."""
    while st.ci < len(setup.steps_at) and setup.steps_at[st.ci] == st.done:
        _record(setup, st)
        st.ci += 1


def _run_batches(setup: _Setup, st: _State, saver, prog) -> None:
    """Batch after batch until the last record step, a divergence or the time budget; the state saved (to the
    checkpoint, if any) as it goes."""
    done_start = st.done
    while st.status == "running":
        # the top of the loop is the end of a batch: record the points of the curve due here
        _record_due(setup, st)
        if st.ci >= len(setup.steps_at):
            st.status = "complete"
            break
        if setup.time_budget is not None and time.perf_counter() - st.t_start > setup.time_budget:
            st.stopped_early = True
            break
        _batch(setup, st)
        if st.status == "diverged":
            break
        prog.update(st.done - done_start)
        if saver.due(st):
            saver.save(setup, st, "running", stacklevel=5)


def _batch(setup: _Setup, st: _State) -> None:
    """One batch: its samples (BLAS-3 on the device), then the kernel segment by segment, recording the
    points of the curve inside it; stops at a divergence (``st.status``)."""
    bk = setup.bk
    b = int(min(setup.batch_size, setup.steps_at[-1] - st.done))
    tg = time.perf_counter()
    _, y, Xs = setup.maker.make(st.c_rng, st.xi_rngs, b)
    tk = time.perf_counter()
    st.gen_time += tk - tg
    if st.eps0 is None:  # the divergence rule's starting error: the initial weights on the first batch
        st.eps0 = [_health(bk, (Xs[i], y), (st.Ws[i], st.vs[i]), setup.g, (0, min(b, HEALTH_ROWS)))[0]
                   for i in range(len(setup.sources))]
    pos = 0
    while pos < b:
        nxt = int(min(b, pos + setup.steps_at[st.ci] - st.done))
        got = _segment(setup, st, Xs, y, pos, nxt)
        if st.divergence is not None:
            st.done += got
            st.status = "diverged"
            break
        st.done += nxt - pos
        pos = nxt
        _record_due(setup, st)
    bk.synchronize()
    st.kern_time += time.perf_counter() - tk


def _segment(setup: _Setup, st: _State, Xs, y, pos, nxt):
    """Steps pos:nxt of the batch on every source; returns the steps every source made before any diverged
    (and notes the first divergence in ``st.divergence``)."""
    got = nxt - pos
    made = run_kernels(setup.kernel, setup.parallel_kernels,
                       [(st.Ws[i], st.vs[i], Xs[i], y, setup.eta, setup.code, setup.train_v, pos, nxt)
                        for i in range(len(setup.sources))])
    for i, n_i in enumerate(made):
        reason = _divergence_reason(setup, st, i, (Xs[i], y), n_i, (pos, nxt))
        if reason is None:
            continue
        got = min(got, n_i)
        if st.divergence is None:
            st.divergence = {"source": setup.sources[i].name, "step": int(st.done + n_i),
                             "t": float((st.done + n_i) / setup.N), "reason": reason}
    return got


def _divergence_reason(setup: _Setup, st: _State, i, batch, n_i, rows):
    """Why source ``i`` diverged in the segment ``rows`` = (pos, nxt) of ``batch`` = (X of source ``i``,
    y) (its kernel made ``n_i`` steps), or None."""
    pos, nxt = rows
    err, finite = _health(setup.bk, batch, (st.Ws[i], st.vs[i]), setup.g, (max(pos, nxt - HEALTH_ROWS), nxt))
    limit = DIVERGENCE_FACTOR * max(st.eps0[i], DIVERGENCE_FLOOR)
    if n_i < nxt - pos or not finite or not math.isfinite(err):
        return "the weights or the output became non-finite"
    if err > limit:
        return (f"its error on the latest samples, {err:.3g}, exceeded {DIVERGENCE_FACTOR:g} × its "
                f"initial error {st.eps0[i]:.3g}")
    return None


class _Saver:
    """Reads and writes a run's :class:`~getheory.dynamics._checkpoint.SeedCheckpoint` (None: no checkpoint).

    Its :meth:`save` writes files (through ``SeedCheckpoint.save``: the seed's state and records
    in the checkpoint folder) -- the one place of the SGD that does.
    """

    def __init__(self, checkpoint, setup: _Setup):
        self.checkpoint = checkpoint
        self.on = checkpoint is not None
        self.digests = [src.basis_digest() for src in setup.sources] if self.on else None
        self.saved_n_rec = 0  # records in the checkpoint's records file

    def due(self, st: _State) -> bool:
        """A save is due: ``checkpoint_every`` seconds passed, or a point of the curve was recorded."""
        return self.on and (self.checkpoint.due() or len(st.rec_steps) != self.saved_n_rec)

    def resume(self, setup: _Setup, st: _State) -> None:
        """Continue ``st`` from the checkpoint's state of this seed, when it holds one."""
        state = self.checkpoint.load() if self.on else None
        if state is None:
            return
        meta, arrays, records = state["meta"], state["arrays"], state["records"]
        bk = setup.bk
        st.rec_steps = _check_resumable(setup, meta, records, self.checkpoint.state_file)
        for i, src in enumerate(setup.sources):
            st.Ws[i] = self._stored_weights(setup, src, i, meta, arrays, st.notes)
            st.vs[i] = bk.contiguous(bk.asarray(arrays[f"v{i}"]))
            st.recW[i] = list(records["W"][i]) if st.rec_steps else []
            st.recv[i] = list(records["v"][i]) if st.rec_steps else []
        set_rng_state(st.c_rng, meta["rng"]["c"], bk, arrays)
        for i, stream in enumerate(st.xi_rngs):
            for j, r in enumerate(stream.generators):
                set_rng_state(r, meta["rng"]["xi"][i][j], bk, arrays)
        st.done = st.resumed_from = int(meta["done"])
        st.ci = len(st.rec_steps)
        st.eps0 = meta["eps0"]
        st.status = "running" if meta["status"] == "stopped" else meta["status"]
        st.divergence = meta.get("divergence")
        st.prior = {k: float(meta[k]) for k in st.prior}
        self.saved_n_rec = len(st.rec_steps)

    def _stored_weights(self, setup: _Setup, src, i, meta, arrays, notes):
        """Source ``i``'s stored W, in this run's data basis."""
        bk = setup.bk
        if meta["basis"][i] == self.digests[i]:
            return bk.contiguous(bk.asarray(arrays[f"W{i}"]))
        # another eigenbasis of Ω − ΦΦᵀ (another machine or library): rotate into this one
        W = bk.contiguous(src.to_data_basis(bk.asarray(arrays[f"Win{i}"])))
        notes.append(f"the {src.name} source's eigenbasis differs from the checkpoint's (another machine "
                     "or linear-algebra library): its weights were rotated into this one, so the resumed "
                     "run equals an uninterrupted one to round-off, not bit for bit")
        return W

    def save(self, setup: _Setup, st: _State, final_status, *, stacklevel) -> None:
        """Write the state (and the records when new ones came) with status ``final_status``.

        ``stacklevel``: that of the warning when the backend's generators cannot be saved, so
        that it names the caller of :func:`run_sgd`.
        """
        if not self.on:
            return
        arrays = {}
        try:
            rng = _rng_states(setup.bk, st, arrays)
        except CheckpointUnsupported as exc:
            self.on = False
            st.notes.append(f"no checkpoint written: {exc}")
            warnings.warn(f"SGD checkpoints are off for this run: {exc}", RuntimeWarning, stacklevel=stacklevel)
            return
        for i, src in enumerate(setup.sources):
            arrays[f"W{i}"] = setup.bk.to_numpy(st.Ws[i])
            if self.digests[i] != "input":  # the input basis too, for a resume where the data basis differs
                arrays[f"Win{i}"] = setup.bk.to_numpy(src.from_data_basis(st.Ws[i]))
            arrays[f"v{i}"] = setup.bk.to_numpy(st.vs[i])
        meta = self._meta(setup, st, final_status, rng, time.perf_counter() - st.t_start)
        records = None
        if len(st.rec_steps) != self.saved_n_rec:
            records = {"steps": st.rec_steps, "W": [np.array(r) for r in st.recW],
                       "v": [np.array(r) for r in st.recv]}
        self.checkpoint.save(meta, arrays, records)
        self.saved_n_rec = len(st.rec_steps)

    def _meta(self, setup: _Setup, st: _State, final_status, rng, elapsed) -> dict:
        return {"done": int(st.done), "n_rec": len(st.rec_steps), "rec_steps": [int(x) for x in st.rec_steps],
                "status": final_status, "divergence": st.divergence, "eps0": st.eps0, "sources": setup.names,
                "basis": self.digests, "batch_size": int(setup.batch_size), "N": int(setup.N),
                "steps_final": setup.steps_final, "rng": rng, "seconds": st.prior["seconds"] + elapsed,
                "seconds_sampling": st.prior["seconds_sampling"] + st.gen_time,
        # this call's sampling by stage on the host (latents and labels, products, maps): where the time goes
        "seconds_sampling_stages": dict(setup.maker.seconds),
                "seconds_kernel": st.prior["seconds_kernel"] + st.kern_time}


def _check_resumable(setup: _Setup, meta, records, where) -> list:
    """The recorded steps of a stored state, after checking that it belongs to this run's schedule."""
    names, batch_size, N, final = setup.names, setup.batch_size, setup.N, setup.steps_final
    if meta["sources"] != names or meta["batch_size"] != batch_size or meta["N"] != N \
            or meta["steps_final"] != final:
        raise ValueError(f"checkpoint {where!r} is of a run with sources {meta['sources']}, batch size "
                         f"{meta['batch_size']}, N = {meta['N']} and {meta['steps_final']} steps; this run has "
                         f"{names}, {batch_size}, {N} and {final}")
    rec_steps = [int(x) for x in records["steps"]]
    if rec_steps != [int(x) for x in setup.steps_at[:len(rec_steps)]]:
        raise ValueError(f"checkpoint {where!r} recorded steps {rec_steps}, not this run's schedule")
    return rec_steps


def _rng_states(bk, st: _State, arrays) -> dict:
    """The states of the latents' and the noise generators (device buffers into ``arrays``)."""
    return {"c": rng_state(st.c_rng, bk, "rng_c", arrays),
            "xi": [[rng_state(r, bk, f"rng_xi{i}_{j}", arrays) for j, r in enumerate(stream.generators)]
                   for i, stream in enumerate(st.xi_rngs)]}


def _trajectories(setup: _Setup, st: _State) -> list:
    steps_rec = np.array(st.rec_steps, dtype=np.int64)
    empty_W, empty_v = np.zeros((0, setup.K, setup.N)), np.zeros((0, setup.K))
    return [SGDTrajectory(src.name, steps_rec, steps_rec / setup.N,
                          np.array(st.recW[i]) if st.rec_steps else empty_W,
                          np.array(st.recv[i]) if st.rec_steps else empty_v, st.status == "diverged")
            for i, src in enumerate(setup.sources)]


def _info(setup: _Setup, st: _State, checkpoint) -> dict:
    """The info dict of :func:`run_sgd`: steps, where it stopped and why, timings and rates."""
    seconds = st.prior["seconds"] + (time.perf_counter() - st.t_start)
    this_kernel = st.prior["seconds_kernel"] + st.kern_time
    done, N = st.done, setup.N
    return {
        "steps": int(done),
        "t_reached": float(st.rec_steps[-1] / N) if st.rec_steps else 0.0,
        "t_requested": float(setup.steps_at[-1] / N),
        "stopped_by_time_budget": bool(st.stopped_early),
        "seconds": seconds,
        "seconds_sampling": st.prior["seconds_sampling"] + st.gen_time,
        # this call's sampling by stage on the host (latents and labels, products, maps): where the time goes
        "seconds_sampling_stages": dict(setup.maker.seconds),
        "seconds_kernel": this_kernel,
        "steps_per_second_per_source": done / seconds if seconds > 0 else float("nan"),
        "kernel_steps_per_second": done * len(setup.sources) / this_kernel if this_kernel > 0 else float("nan"),
        "batch_size": setup.batch_size,
        "backend": setup.bk.name,
        "diverged": st.status == "diverged",
        "divergence": st.divergence,
        "status": "stopped" if st.stopped_early else st.status,
        "resumed_from_step": st.resumed_from,
        "checkpoint_saves": checkpoint.saves if checkpoint is not None else 0,
        "notes": st.notes,
    }
