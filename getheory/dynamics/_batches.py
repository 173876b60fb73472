"""The samples of one SGD batch, and the kernels that run on them (docs/theory.md §7.1, §7.8).

:class:`BatchMaker` makes a batch of latents c, labels y and each data source's inputs X from
the run's random streams.  On a host backend whose sources make their inputs in two stages
(``in_two_stages``: one BLAS product, then an in-place map of rows) it writes into buffers
made once per run, so that no batch pays for fresh memory, and runs the second stage on
every CPU: the row blocks of :class:`getheory.dynamics.NormalStream` (each with its own
generator) are shared out to the process's thread pool, a block at a time, a few rows at a
time so that they stay in cache.  The numbers are those of the one-stage path
(``source.inputs``) bit for bit: the same products, the same draws, the same sums.
Elsewhere (CuPy, the simulated device, deep generators) each source's ``inputs`` makes its
batch as one array.

:func:`run_kernels` runs one segment of steps of every source's kernel: on the host, with
several sources, each in its own thread (the numba loop releases the GIL).
"""

from __future__ import annotations

import contextlib
import time
from queue import Empty, SimpleQueue

import numpy as np

from .._cluster import single_blas_threads, thread_pool, usable_cpus
from ._data import _teacher_labels

__all__ = ["BatchMaker", "run_kernels"]

#: the products are made in this many column blocks (whatever the number of CPUs, so that float32 sums
#: do not depend on it)
PRODUCT_BLOCKS = 4
#: the products' column blocks start at multiples of this (a multiple of every BLAS kernel's column tile)
COLUMN_ALIGN = 64
#: bytes of one worker's scratch rows in the second stage (a few rows of ξ, in the core's cache)
SCRATCH_BYTES = 1 << 19


class BatchMaker:
    """Makes the batches of a :func:`getheory.dynamics.run_sgd` run (see module doc).

    ``bk``: the run's backend; ``sources``: its data sources; ``D``: latent dimension;
    ``batch_size``: the largest batch; ``teacher``: (W_teacher, v_teacher, g) on the device;
    ``dtype``: the inputs' dtype (``"float32"``: the latents are drawn and labelled in float64 and
    rounded to float32 for the products; the noise ξ' is drawn in float32).
    """

    def __init__(self, bk, sources, D: int, batch_size: int, teacher, dtype: str = "float64"):
        self.bk, self.sources, self.D, self.teacher = bk, list(sources), int(D), teacher
        self.dtype = str(dtype)
        self.host = bool(bk.host and bk.host_normals)
        self.workers = usable_cpus() if self.host else 1
        self._c = self._X = self._scratch = None
        #: seconds spent on the host's stages so far: latents and labels, products, maps (the two-stage path)
        self.seconds = {"latents": 0.0, "products": 0.0, "maps": 0.0}
        self._single = False  # BLAS is single-threaded, the workers share the stages (inside :meth:`running`)
        if self.host:
            N, dt = self.sources[0].N, np.dtype(self.dtype)
            self._c = np.empty((batch_size, self.D))
            self._c_in = np.empty((batch_size, self.D), dtype=dt) if dt != np.float64 else None
            self._X = [np.empty((batch_size, N), dtype=dt) if s.in_two_stages else None for s in self.sources]
            rows = max(1, SCRATCH_BYTES // (dt.itemsize * N))
            self._scratch = [np.empty((rows, N), dtype=dt) for _ in range(self.workers)]

    def make(self, c_rng, xi_streams, b: int):
        """A batch of ``b`` rows: (c, y, [X of each source]); ``c_rng`` draws the latents,
        ``xi_streams[i]`` source i's noise (a :class:`getheory.dynamics.NormalStream`)."""
        Wt, vt, g = self.teacher
        if not self.host:
            c = c_rng.standard_normal((b, self.D), dtype=np.float64)
            y = _teacher_labels(c, Wt, vt, g)
            c_in = c if self.dtype == "float64" else self.bk.xp.astype(c, self.bk.dtype(self.dtype))
            return c, y, [self.bk.contiguous(s.inputs(c_in, xi_streams[i])) for i, s in enumerate(self.sources)]
        t0 = time.perf_counter()
        c = self._c[:b]
        c_rng.standard_normal(out=c)
        y = _teacher_labels(c, Wt, vt, g)
        c_in = c
        if self._c_in is not None:
            c_in = self._c_in[:b]
            np.copyto(c_in, c, casting="same_kind")
        self.seconds["latents"] += time.perf_counter() - t0
        Xs, split = [], []
        for i, src in enumerate(self.sources):
            if self._X[i] is None:
                Xs.append(self.bk.contiguous(src.inputs(c_in, xi_streams[i])))
            else:
                Xs.append(self._X[i][:b])
                split.append((src, Xs[-1], xi_streams[i].blocks(b)))
        if split:
            self._two_stages(c_in, split)
        return c, y, Xs

    @contextlib.contextmanager
    def running(self):
        """The block in which the run makes its batches and steps: on a host, BLAS runs single-threaded
        in it, in the thread that calls it, so that this maker's workers share the CPUs among themselves
        (BLAS's own threads, which spin for a while after each call, would take the cores the second
        stage needs; the float64 sums are those of BLAS's threads)."""
        if not self.host:
            yield
            return
        with single_blas_threads() as single:
            self._single = single
            try:
                yield
            finally:
                self._single = False

    def _two_stages(self, c, split) -> None:
        """Both stages of each (source, X, row blocks) of ``split``: the products by column blocks, then
        the maps by row blocks, each stage shared out to the workers (in :meth:`running`).

        ``PRODUCT_BLOCKS`` column blocks (not row blocks) for the products, each starting at a
        multiple of ``COLUMN_ALIGN``: then OpenBLAS's float64 sums are those of one product of the
        whole batch, with any number of threads (its kernels tile the columns from the first one; a
        block starting at column 150 of 301 gave other last bits, and so did a call on 131 of 524
        rows).  Its float32 sums depend on the threads and the blocks, so the blocks are fixed, not one
        per worker: the float32 numbers are the same with any number of CPUs (not those of one
        product of the whole batch).
        """
        t0 = time.perf_counter()
        if not self._single:  # BLAS's own threads make the products (float32 sums then depend on them)
            for src, X, _ in split:
                src.linear_into(c, X)
        else:
            N = split[0][1].shape[1]
            edges = [min(N, -(-N * t // (PRODUCT_BLOCKS * COLUMN_ALIGN)) * COLUMN_ALIGN)
                     for t in range(PRODUCT_BLOCKS + 1)]
            cols = [slice(a, z) for a, z in zip(edges, edges[1:]) if z > a]
            self._share([(src, X, k) for src, X, _ in split for k in cols],
                        lambda t, job: job[0].linear_into(c, job[1][:, job[2]], job[2]))
        t1 = time.perf_counter()
        self._share([(src, X[lo:hi], noise) for src, X, blocks in split for lo, hi, noise in blocks],
                    lambda t, job: job[0].finish_rows(job[1], job[2], self._scratch[t]))
        self.seconds["products"] += t1 - t0
        self.seconds["maps"] += time.perf_counter() - t1

    def _share(self, jobs: list, do) -> None:
        """``do(t, job)`` for every job, on the workers t (each takes the next job when it is free)."""
        queue = SimpleQueue()
        for job in jobs:
            queue.put(job)

        def work(t):
            while True:
                try:
                    job = queue.get_nowait()
                except Empty:
                    return
                do(t, job)

        if self._single and self.workers > 1:
            list(thread_pool().map(work, range(self.workers)))
        else:
            work(0)


def run_kernels(kernel, parallel: bool, calls) -> list:
    """``kernel(*args)`` for each ``args`` of ``calls``; in the process's thread pool when ``parallel``
    (each call has its own weights and inputs), else one after the other.  Returns their results in order."""
    if parallel and len(calls) > 1:
        return list(thread_pool().map(lambda args: kernel(*args), calls))
    return [kernel(*args) for args in calls]
