"""Streaming sampler of the local fields (λ, ν)  (docs/theory.md §1-2).

λ = W_student x / √N (student, K fields) and ν = W_teacher c / √D (teacher,
M fields) are drawn for n latents c ~ N(0, I_D) in batches: each batch costs
two matrix products (c Aᵀ, then x W_studentᵀ) and never more than
``batch_size × (N + D)`` numbers of working memory, so an n × N array of
inputs is never held.  Memory: O(batch_size·(N + D) + n·(K + M)).

On the host (NumPy), single-layer and deep generators with in-place activations
are sampled by worker threads, one per core, each with single-threaded BLAS: a
worker takes ``HOST_ROWS`` rows at a time from latent normals to fields, so
the rows stay in its cache between the products, and the batch holds only its
fields (memory O(T·HOST_ROWS·(D + N) + batch_size·(K + M)) for T workers).

This module also owns the batch loop (:func:`iter_latent_batches`) and the
automatic batch size (:func:`auto_batch_size`) that the Monte Carlo moment
estimators reuse.

A backend name is resolved only at the public entries (:func:`sample_fields`,
:func:`stream_fields`); below them the backend object, the dtype, the deadline and
the progress switch travel in one :class:`getheory._run.RunContext`
(:func:`stream_fields_in`, the twin a workflow calls within its run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from queue import Empty, SimpleQueue

import numpy as np

from ._cluster import blas_threads, single_blas_threads, thread_pool, usable_cpus
from ._run import RunContext, start_run_context
from ._validation import check_dtype, finite_matrix, positive_int
from .backend import Backend, backend_of
from .generators import DeepGenerator, Generator, SingleLayerGenerator

__all__ = ["sample_fields", "stream_fields", "stream_fields_in", "LatentDraw", "auto_batch_size", "check_memory",
           "iter_latent_batches", "LatentStream", "check_weights", "check_finite_samples"]

#: the stage a spent time budget names while (λ, ν) are drawn, unless the caller names it
FIELDS_STAGE = "sampling (λ, ν)"

#: default working-memory budget of one batch, bytes
DEFAULT_BATCH_BYTES = 256 * 1024**2


def _backend_object(backend) -> Backend:
    """The given :class:`~getheory.backend.Backend`, or the host's NumPy backend for ``None``.

    Names are resolved at the entry points (:func:`stream_fields`, :func:`sample_fields`, a
    workflow's :class:`~getheory._run.RunContext`); the helpers below them take the object.
    """
    if backend is None:
        return backend_of()  # no arrays: the host's (NumPy) backend
    if not isinstance(backend, Backend):
        raise TypeError(f"backend must be a getheory.backend.Backend here, got {backend!r}: resolve a name once "
                        "with getheory.backend.get_backend")
    return backend


def _float_dtype(dtype) -> np.dtype:
    """The samples' dtype, float32 or float64 (any other refused, naming them: :func:`check_dtype`)."""
    return np.dtype(check_dtype(dtype))


def auto_batch_size(N: int, D: int, *, dtype="float64", backend: Backend | None = None, budget_bytes=None) -> int:
    """Rows per batch so that a batch's arrays fit in ``budget_bytes``.

    A batch holds c (b × D), the pre-activations and the inputs (b × N each,
    counted twice for temporaries).  The default budget is a quarter of the
    device's free memory, capped at the backend's ``batch_cap_bytes`` (256 MiB on
    the CPU, where larger batches do not speed up BLAS, and 4 GiB on a GPU).  ``backend`` is
    the :class:`~getheory.backend.Backend` object (default: the host's NumPy).  (The host
    sampler's worker threads hold ``HOST_ROWS`` rows of inputs each, whatever the batch
    size; a batch there holds only its fields.)
    """
    bk = _backend_object(backend)
    item = np.dtype(dtype).itemsize
    if budget_bytes is None:
        budget_bytes = min(bk.batch_cap_bytes, bk.free_memory_bytes() // 4)
    per_row = item * (D + 3 * N + 16)
    b = int(budget_bytes // per_row)
    if b >= 2 * LATENT_BLOCK:
        b -= b % LATENT_BLOCK  # whole latent blocks: no block is drawn twice
    if b < 1:
        raise MemoryError(
            f"one sample needs {per_row} bytes of working memory but only {budget_bytes} are "
            "budgeted; lower N or D, or raise budget_bytes"
        )
    return max(1, min(b, 1 << 20))


def check_memory(n: int, N: int, D: int, K: int, M: int, *, run: RunContext | None = None) -> int:
    """Refuse, before any work, a sampling run that cannot fit in memory.

    Needs: the outputs n × (K + M), the generator weights N × D and at least
    one row of batch workspace, all on the device of ``run.backend``, in ``run.dtype``
    (default: float64 on the host).  Returns the bytes needed; raises :class:`MemoryError`
    naming them otherwise.
    """
    bk = run.backend if run is not None else backend_of()  # no run: the host's (NumPy) backend
    item = np.dtype(run.dtype if run is not None else "float64").itemsize
    need = item * (n * (K + M) + N * D + (D + 3 * N + 16))
    free = bk.free_memory_bytes()
    if need > free:
        raise MemoryError(
            f"sampling n={n:,} fields with N={N}, D={D}, K+M={K + M} needs {need / 2**30:.2f} GiB on "
            f"{bk.name} but only {free / 2**30:.2f} GiB is free; lower n (the fields alone take "
            f"{item * n * (K + M) / 2**30:.2f} GiB) or use dtype float32"
        )
    return need


def check_weights(W_student, W_teacher, N: int, D: int):
    """Validate the student (K, N) and teacher (M, D) weights; return float arrays."""
    W_student = finite_matrix(W_student, "W_student", (None, N))
    W_teacher = finite_matrix(W_teacher, "W_teacher", (None, D))
    return W_student, W_teacher


#: rows per independently seeded block of latents (CPU stream)
LATENT_BLOCK = 1024

class LatentStream:
    """A reproducible stream of latents c ~ N(0, I_D), filled batch by batch.

    On backends with ``host_normals`` (NumPy, and the simulated device, whose
    normals are NumPy's) the rows come in blocks of ``LATENT_BLOCK``; block j
    has its own SFC64 generator, seeded by the j-th child of ``seed``'s
    SeedSequence, that draws the block's rows one after the other.  Blocks are
    drawn in parallel threads (NumPy releases the GIL while filling) and the
    stream does not depend on the batch size: a batch that ends inside a block
    keeps that block's generator, and the next batch goes on drawing from it
    (:meth:`take`).  On a GPU one device generator fills each batch (the stream
    then depends on the batch size; it is equally random).  ``backend`` is the
    :class:`~getheory.backend.Backend` object (default: the host's NumPy).
    """

    def __init__(self, D: int, *, seed=None, backend: Backend | None = None, dtype="float64"):
        self.D = D
        self.bk = _backend_object(backend)
        self.dtype = np.dtype(dtype)
        self.pos = 0
        if self.bk.host_normals:
            self.root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
            self._open = None  # (block index, its generator part-way through the block)
        else:
            self.rng = self.bk.rng(seed)

    def _block_rng(self, j):
        ss = np.random.SeedSequence(self.root.entropy, spawn_key=tuple(self.root.spawn_key) + (j,))
        return np.random.Generator(np.random.SFC64(ss))  # SFC64: ~20 % faster normals than PCG64

    def take(self, b: int) -> list:
        """The next b rows as pieces ``(lo, hi, rng)`` (``host_normals`` backends only).

        Rows lo..hi of the batch are the next ``hi - lo`` rows that ``rng`` draws, row after
        row, in :attr:`dtype` (e.g. ``rng.standard_normal(out=c[lo:hi], dtype=...)``, in one
        call or in several consecutive ones).  Each piece lies in one block and has its own
        generator, so the pieces may be drawn in parallel; each must be drawn whole, in
        order, before the next :meth:`take`.
        """
        B = LATENT_BLOCK
        start, stop = self.pos, self.pos + b
        pieces = []
        j = start // B
        while j * B < stop:
            lo, hi = max(start, j * B), min(stop, (j + 1) * B)
            if lo == j * B:
                rng = self._block_rng(j)
            else:  # the block the previous batch ended in: go on with its generator
                if self._open is None or self._open[0] != j:  # pragma: no cover - internal invariant
                    raise RuntimeError("latent stream out of order: a block was resumed that was not left open")
                rng = self._open[1]
            pieces.append((lo - start, hi - start, rng))
            j += 1
        self._open = (stop // B, pieces[-1][2]) if pieces and stop % B else None
        self.pos = stop
        return pieces

    def fill(self, out):
        """Fill ``out`` (b, D) with the next b rows of the stream; returns ``out``."""
        b = int(out.shape[0])
        if not self.bk.host_normals:
            self.rng.standard_normal(out=out, dtype=self.dtype.type)
            self.pos += b
            return out
        self._fill_host(self.bk.host_view(out))
        return out

    def _fill_host(self, out):
        kind = self.dtype.type

        def draw(piece):
            lo, hi, rng = piece
            rng.standard_normal(out=out[lo:hi], dtype=kind)

        pieces = self.take(int(out.shape[0]))
        if len(pieces) > 1:
            list(thread_pool().map(draw, pieces))
        else:
            for piece in pieces:
                draw(piece)


def iter_latent_batches(run: RunContext, n: int, D: int, *, batch_size: int, seed=None, stage="sampling"):
    """Yield latent batches c ~ N(0, I_D), shape (b, D), totalling n rows, on ``run.backend`` in ``run.dtype``.

    The rows come from one :class:`LatentStream`, so on the CPU they do not
    depend on ``batch_size``.  Each batch is a fresh array.  With a deadline in
    ``run`` the loop stops between batches once it is spent, naming ``stage``.
    """
    bk, dtype = run.backend, run.dtype
    stream = LatentStream(D, seed=seed, backend=bk, dtype=dtype)
    done = 0
    while done < n:
        run.check_deadline(stage)
        b = min(batch_size, n - done)
        yield stream.fill(bk.empty((b, D), dtype))
        done += b


@dataclass(frozen=True)
class LatentDraw:
    """n latents c ~ N(0, I_D) to draw (and the inputs and fields they give): the latent stream's
    ``seed``, the rows per batch (``None``: :func:`auto_batch_size`) and the ``stage`` a spent time
    budget names (``None``: the sampler's own, e.g. "sampling (λ, ν)").

    With ``cut``, a spent time budget ends the draw at the next batch boundary instead of raising:
    the rows drawn so far are kept (a measured run's statistics are sums over rows, and when it
    stops does not depend on the data; docs/theory.md §4.1, "A run cut at its budget")."""

    n: int
    seed: object = None
    batch_size: int | None = None
    stage: str | None = None
    cut: bool = False


def sample_fields(
    generator: Generator,
    W_student,
    W_teacher,
    n: int,
    *,
    seed=None,
    batch_size: int | None = None,
    backend="numpy",
    dtype="float64",
    progress: bool = False,
    as_numpy: bool = True,
):
    """Draw n samples of the local fields (λ, ν) in batches.

    .. math:: λ = W x/√N,\\quad ν = \\tilde W c/√D,\\quad x = G(c),\\ c ∼ N(0, I_D)

    (docs/theory.md §1).

    Parameters
    ----------
    generator : Generator
        Maps latents (b, D) to inputs (b, N).
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)
    n : int
        Number of samples.
    seed : int, optional
        Seed of the latent stream.
    batch_size : int, optional
        Rows per batch; default from :func:`auto_batch_size`.
    backend : {"numpy", "cupy"} or Backend
    dtype : {"float64", "float32"}
    progress : bool
        Show a progress line on stderr for runs longer than 2 s.
    as_numpy : bool
        Return host NumPy arrays (default) or arrays on the backend.

    Returns
    -------
    lambda_ : array, shape (n, K)
    nu : array, shape (n, M)
    """
    n, W_student, W_teacher, dtype = _sampling_args(generator, W_student, W_teacher, n, dtype)
    run = start_run_context(backend=backend, dtype=dtype, progress=progress)  # the entry: the name resolved here
    bk, K, M = run.backend, W_student.shape[0], W_teacher.shape[0]
    check_memory(n, generator.N, generator.D, K, M, run=run)
    lam = bk.empty((n, K), run.dtype)
    nu = bk.empty((n, M), run.dtype)
    draw = LatentDraw(n, seed, batch_size)
    for start, z in _field_batches(run, generator, (W_student, W_teacher), draw):
        b = int(z.shape[0])
        lam[start : start + b, :] = z[:, :K]
        nu[start : start + b, :] = z[:, K:]
    if as_numpy:
        return bk.to_numpy(lam), bk.to_numpy(nu)
    return lam, nu


def _sampling_args(generator, W_student, W_teacher, n, dtype):
    """Validated (n, W_student, W_teacher, dtype) of a sampling call."""
    n = positive_int(n, "n")
    W_student, W_teacher = check_weights(W_student, W_teacher, generator.N, generator.D)
    return n, W_student, W_teacher, _float_dtype(dtype)


def _field_batches(run: RunContext, generator, weights, draw: LatentDraw, multiple=1):
    """Yield (start, z) with z = (λ, ν) of the next rows, shape (b, K + M), on ``run.backend``.

    z is a view of a reused buffer: consume it before the next iteration.  Batches hold
    a multiple of ``multiple`` rows (all but the last), so streamed groups stay balanced.
    """
    N, D, n = generator.N, generator.D, draw.n
    bk, dtype = run.backend, _float_dtype(run.dtype)
    batch_size = draw.batch_size
    if batch_size is None:
        batch_size = auto_batch_size(N, D, dtype=dtype, backend=bk)
    batch_size = positive_int(batch_size, "batch_size")
    if batch_size >= 2 * multiple:
        batch_size -= batch_size % multiple
    W_student, W_teacher = weights
    K, M = W_student.shape[0], W_teacher.shape[0]
    Ws = bk.asarray(W_student.T / math.sqrt(N), dtype=dtype)  # (N, K)
    Wt = bk.asarray(W_teacher.T / math.sqrt(D), dtype=dtype)  # (D, M)
    layers = _host_layers(run, generator)
    if layers is not None:
        workers = max(1, min(blas_threads(), usable_cpus()))
        if draw.batch_size is None:
            batch_size = _whole_blocks(batch_size, workers, multiple)
        yield from _host_field_batches(run, layers, (Ws, Wt), draw, min(batch_size, n), workers)
        return
    b0 = min(batch_size, n)
    z_buf = bk.empty((b0, K + M), dtype)
    prog = run.progress_bar(n, "sampling (λ, ν)")
    start = 0
    for c, x_or_h in _inputs(run, generator, draw, b0):
        b = int(c.shape[0])
        z = z_buf[:b, ...]
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below, by name
            z[:, :K] = x_or_h @ Ws
            z[:, K:] = c @ Wt
        check_finite_samples(bk, z, dtype, f"the fields (λ, ν) of rows {start:,} to {start + b - 1:,}")
        yield start, z
        start += b
        prog.update(start)


def check_finite_samples(bk: Backend, arr, dtype, what: str) -> None:
    """Refuse ``arr`` (samples, or sums over samples, in ``dtype``) when it holds NaN or infinity:
    in float32, naming float64 as the fix; ``what`` names it in the message.

    The sampler tests the b × (K + M) fields of each batch (a NaN or an infinity in the inputs x
    or the latents c makes its rows' λ or ν NaN or infinite), the Monte Carlo moments each
    group's sums: a cost far below the products that made them.
    """
    if bk.to_bool(bk.xp.all(bk.xp.isfinite(arr))):
        return
    if np.dtype(dtype) == np.float32:
        raise ValueError(f"{what} are NaN or infinite in float32: the generator's inputs, or sums of them, overflow "
                         f"float32 (beyond ±{float(np.finfo(np.float32).max):.1e}); run in float64 (dtype='float64'; "
                         "getheory check --dtype float64; [run] dtype = \"float64\" in a sweep)")
    raise ValueError(f"{what} are NaN or infinite in float64: the generator's inputs are not finite, or they or the "
                     f"weights are too large for these to be (beyond ±{float(np.finfo(np.float64).max):.1e}); check "
                     "the generator and rescale it")


def _inputs(run: RunContext, generator, draw: LatentDraw, b0: int):
    """Yield (c, x) batch by batch: the latents and the generator's inputs x = G(c), b0 rows at most.

    A single-layer generator with an in-place σ reuses preallocated buffers (no per-batch
    allocation of b×N arrays); its x is a view, consumed before the next batch.
    """
    N, D, n = generator.N, generator.D, draw.n
    bk, dtype = run.backend, _float_dtype(run.dtype)
    stage = draw.stage or FIELDS_STAGE
    if not (isinstance(generator, SingleLayerGenerator) and generator.activation.inplace_fn is not None):
        for c in iter_latent_batches(run, n, D, batch_size=b0, seed=draw.seed, stage=stage):
            yield c, generator.sample(c)
        return
    At = generator._cache.get(bk, "At", lambda: generator.A.T / math.sqrt(D), dtype)
    h_buf = bk.empty((b0, N), dtype)
    c_buf = bk.empty((b0, D), dtype)
    stream = LatentStream(D, seed=draw.seed, backend=bk, dtype=dtype)
    start = 0
    while start < n:
        run.check_deadline(stage)
        b = min(b0, n - start)
        c = stream.fill(c_buf[:b, ...])
        h = h_buf[:b, ...]
        bk.matmul_into(c, At, h)
        generator.activation.apply_(h, bk)
        yield c, h
        start += b


#: rows a worker of the host sampler takes through the layers and the fields at a time
HOST_ROWS = 512


def _host_layers(run: RunContext, generator) -> list | None:
    """The layers [(Aᵀ/√width, σ), ...] the host sampler takes the latents through, on ``run.backend``
    in ``run.dtype``; None where :func:`_host_field_batches` does not apply (not the host's NumPy,
    not a single-layer or deep generator, a σ without an in-place form)."""
    bk = run.backend
    if not (bk.host and bk.host_normals):
        return None
    if isinstance(generator, SingleLayerGenerator):
        pairs = [("At", generator.A, generator.activation)]
    elif isinstance(generator, DeepGenerator):
        pairs = [(l, A, act) for l, (A, act) in enumerate(generator.layers)]
    else:
        return None
    if any(act.inplace_fn is None for _, _, act in pairs):
        return None
    return [(generator._cache.get(bk, key, lambda A=A: A.T / math.sqrt(A.shape[1]), run.dtype), act) for key, A, act in pairs]


def _host_field_batches(run: RunContext, layers, weights, draw: LatentDraw, b0: int, workers: int):
    """Yield (start, z) as :func:`_field_batches` does, the rows computed by worker threads on the host.

    Each batch's latent pieces (:meth:`LatentStream.take`) go to ``workers`` threads, each taking
    the next piece left when it is free.  A worker takes a piece ``HOST_ROWS`` rows at a time through c → x = σ(c Aᵀ/√D) in
    place (layer by layer for a deep generator: ``layers``, from :func:`_host_layers`) →
    (x W_studentᵀ/√N, c W_teacherᵀ/√D), with single-threaded BLAS, in its own scratch of
    HOST_ROWS × (D + N_1 + ... + N_L) numbers: the rows stay in its cache between the products,
    and no b0 × N array is made.  The fields do not depend on the number of workers.
    Memory: workers·HOST_ROWS·(D + N_1 + ... + N_L) + b0·(K + M) numbers.
    """
    bk, dtype, n = run.backend, np.dtype(run.dtype), draw.n
    D = int(layers[0][0].shape[0])
    rows = min(HOST_ROWS, b0)
    scratch = [[np.empty((rows, D), dtype)] + [np.empty((rows, At.shape[1]), dtype) for At, _ in layers]
               for _ in range(workers)]
    z_buf = np.empty((b0, weights[0].shape[1] + weights[1].shape[1]), dtype)
    stream = LatentStream(D, seed=draw.seed, backend=bk, dtype=dtype)
    prog = run.progress_bar(n, "sampling (λ, ν)")
    start = 0
    while start < n:
        run.check_deadline(draw.stage or FIELDS_STAGE)
        z = z_buf[: min(b0, n - start), ...]
        queue = SimpleQueue()
        for piece in stream.take(int(z.shape[0])):
            queue.put(piece)

        def work(t, queue=queue, z=z):  # the next piece, until none is left: a slow worker takes fewer
            while True:
                try:
                    piece = queue.get_nowait()
                except Empty:
                    return
                _piece_fields(piece, scratch[t], layers, weights, z, bk)

        _run_workers(work, workers)
        check_finite_samples(bk, z, dtype, f"the fields (λ, ν) of rows {start:,} to {start + int(z.shape[0]) - 1:,}")
        yield start, z
        start += int(z.shape[0])
        prog.update(start)


def _whole_blocks(batch_size: int, workers: int, multiple: int) -> int:
    """The batch size cut down to whole latent blocks, as many for each worker, and still a multiple
    of ``multiple``, where it holds that many; else unchanged."""
    step = math.lcm(workers * LATENT_BLOCK, multiple)
    return batch_size - batch_size % step if batch_size >= step else batch_size


def _run_workers(work, workers: int):
    """``work(t)`` for t < workers: in the thread pool with single-threaded BLAS, or here, one after
    the other, with one worker or where this thread may not limit BLAS's threads."""
    if workers > 1:
        with single_blas_threads() as single:
            if single:
                list(thread_pool().map(work, range(workers)))
                return
    for t in range(workers):
        work(t)


def _piece_fields(piece, scratch, layers, weights, z, bk):
    """Rows lo..hi of z from the latent piece (lo, hi, rng), ``len(scratch[0])`` rows at a time."""
    lo, hi, rng = piece
    Ws, Wt = weights
    K = Ws.shape[1]
    kind = scratch[0].dtype.type
    # an overflow is refused by name after the batch (check_finite_samples); errstate is per thread
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(lo, hi, scratch[0].shape[0]):
            e = min(s + scratch[0].shape[0], hi)
            c = x = scratch[0][: e - s]
            rng.standard_normal(out=c, dtype=kind)
            for (At, act), buf in zip(layers, scratch[1:]):
                h = buf[: e - s]
                np.matmul(x, At, out=h)
                act.apply_(h, bk)
                x = h
            np.matmul(x, Ws, out=z[s:e, :K])
            np.matmul(c, Wt, out=z[s:e, K:])


def stream_fields(generator: Generator, W_student, W_teacher, n: int, sink, *, seed=None,
                  batch_size: int | None = None, backend="numpy", dtype="float64", progress: bool = False,
                  deadline=None, stage: str = FIELDS_STAGE):
    """Draw n samples of z = (λ, ν) batch by batch and hand each batch to ``sink.update``.

    Nothing of size n is kept here: memory is one batch (O(batch_size·(N + D))) plus what
    the sink keeps (for :class:`getheory.distances.FieldStream`, kilobytes of power sums
    and its reservoir).  The batches stay on the backend's device.

    Parameters
    ----------
    generator, W_student, W_teacher, n, seed, batch_size, backend, dtype, progress
        As in :func:`sample_fields`.
    sink : object with ``update(z)``
        Receives each batch z, shape (b, K + M), on the backend (a view: copy what you keep).
        Batch sizes are multiples of ``sink.options.groups`` when the sink has one.
    deadline : getheory._deadline.Deadline, optional
        Checked between batches: a spent budget stops the stream with
        :class:`getheory._deadline.TimeBudgetExceeded` naming ``stage``.

    Returns
    -------
    int
        The number of rows streamed (n).
    """
    n, W_student, W_teacher, dtype = _sampling_args(generator, W_student, W_teacher, n, dtype)
    run = start_run_context(backend=backend, dtype=dtype, progress=progress)  # the entry: the name resolved here
    draw = LatentDraw(n, seed, batch_size, stage)
    return stream_fields_in(run.with_(deadline=deadline), generator, W_student, W_teacher, draw, sink)


def stream_fields_in(run: RunContext, generator: Generator, W_student, W_teacher, draw: LatentDraw, sink) -> int:
    """:func:`stream_fields` within a run: ``draw.n`` rows of (λ, ν) on ``run.backend`` in ``run.dtype``,
    the progress and the deadline the run's, handed batch by batch to ``sink.update``.

    The weights are checked by the caller (:func:`stream_fields`, a check's problem); returns the
    rows streamed: n, or fewer when ``draw.cut`` and the run's time budget was spent first (the
    draw then ends at the first batch boundary past the budget, after at least one batch).
    """
    multiple = int(getattr(getattr(sink, "options", None), "groups", 1))
    deadline = run.deadline if draw.cut else None
    inner = run if deadline is None else run.with_(deadline=None)  # the deadline is checked here instead
    done = 0
    for start, z in _field_batches(inner, generator, (W_student, W_teacher), draw, multiple):
        sink.update(z)
        done = start + int(z.shape[0])
        if deadline is not None and deadline.remaining() < 0 and done < draw.n:
            break
    return done
