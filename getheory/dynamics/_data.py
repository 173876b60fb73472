"""The SGD's random streams and labels (docs/theory.md §7.1, §7.2).

:class:`NormalStream` draws the Gaussian equivalent's ξ of each SGD step; the teacher's labels
and the activation g on any backend.  The data sources themselves (generator data and its
Gaussian equivalent) live in :mod:`getheory.equivalent`, shared with ridge.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..activations import get_network_activation
from ..backend import backend_of, get_backend

#: row blocks of a batch of host normals, each drawn from its own stream (fixed, so that
#: the numbers do not depend on the number of threads that draw them)
NORMAL_BLOCKS = 4


class NormalStream:
    """Standard normals for the host backend, drawn by up to ``NORMAL_BLOCKS`` threads.

    A batch of shape (n, N) is cut into ``NORMAL_BLOCKS`` row blocks and each
    block is filled from its own child stream of ``seed`` (NumPy's generators
    release the GIL while filling ``out=``), so the numbers depend only on the
    seed and the batch shapes, never on the thread count.  On backends without
    ``host_normals`` (CuPy) one device generator is used instead
    (:meth:`getheory.backend.Backend.rng`).
    """

    def __init__(self, seed, backend="numpy"):
        self.bk = get_backend(backend)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        if self.bk.host_normals:
            self._rngs = [np.random.default_rng(s) for s in ss.spawn(NORMAL_BLOCKS)]
        else:
            self._rngs = [self.bk.rng(ss)]

    @property
    def generators(self) -> tuple:
        """The underlying generators (``NORMAL_BLOCKS`` NumPy ones, or one device generator), whose
        states a checkpoint saves (:mod:`getheory.dynamics._checkpoint`)."""
        return tuple(self._rngs)

    def blocks(self, n) -> list:
        """The row blocks of a batch of ``n`` rows, as (first row, end row, generator) (host backends only):
        :meth:`standard_normal` fills rows a:b of a batch from generator r."""
        edges = np.linspace(0, n, NORMAL_BLOCKS + 1).astype(int)
        return [(int(a), int(b), r) for r, a, b in zip(self._rngs, edges[:-1], edges[1:]) if b > a]

    def standard_normal(self, shape, dtype="float64"):
        """An array of i.i.d. N(0, 1) of ``shape`` (n, N) and ``dtype`` (float64 or float32: NumPy's own
        float32 normals, not rounded float64 ones) on the stream's backend."""
        dtype = np.dtype(dtype)
        if not self.bk.host_normals:
            return self._rngs[0].standard_normal(shape, dtype=dtype)
        dev = self.bk.empty(shape, dtype.name)
        out = self.bk.host_view(dev)
        jobs = [(r, out[a:b]) for a, b, r in self.blocks(shape[0])]
        pool = _normal_pool()
        if pool is None:
            for r, o in jobs:
                r.standard_normal(out=o, dtype=dtype)
        else:
            list(pool.map(lambda job: job[0].standard_normal(out=job[1], dtype=dtype), jobs))
        return dev


_POOL = []


def _normal_pool():
    """One process-wide thread pool for :class:`NormalStream` (None on one core)."""
    workers = min(NORMAL_BLOCKS, os.cpu_count() or 1)
    if workers < 2:
        return None
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(workers, thread_name_prefix="getheory-normals"))
    return _POOL[0]


def _teacher_labels(c, W_teacher, v_teacher, g):
    """Labels y = Σ_m ṽ_m g(ν_m), ν = W̃ c/√D (docs/theory.md §7.1), on the backend of c."""
    bk = backend_of(c)
    Wt, vt = bk.asarray(W_teacher), bk.asarray(v_teacher)
    nu = c @ Wt.T / math.sqrt(Wt.shape[1])
    return _g_xp(nu, g) @ vt


def _g_xp(z, g):
    """The student/teacher activation g (a network activation's name) on the backend of z (§7.1)."""
    return get_network_activation(g).g(z)

