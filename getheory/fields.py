"""Streaming sampler of the local fields (λ, ν)  (docs/theory.md §1-2).

λ = W_student x / √N (student, K fields) and ν = W_teacher c / √D (teacher,
M fields) are drawn for n latents c ~ N(0, I_D) in batches: each batch costs
two matrix products (c Aᵀ, then x W_studentᵀ) and never more than
``batch_size × (N + D)`` numbers of working memory, so an n × N array of
inputs is never held.  Memory: O(batch_size·(N + D) + n·(K + M)).

This module also owns the batch loop (:func:`iter_latent_batches`) and the
automatic batch size (:func:`auto_batch_size`) that the Monte Carlo moment
estimators reuse.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ._validation import finite_matrix, positive_int
from .backend import get_backend
from .generators import Generator, SingleLayerGenerator

__all__ = ["sample_fields", "auto_batch_size", "check_memory", "iter_latent_batches", "check_weights"]

#: default working-memory budget of one batch, bytes
DEFAULT_BATCH_BYTES = 256 * 1024**2


def auto_batch_size(N: int, D: int, *, dtype="float64", backend="numpy", budget_bytes=None) -> int:
    """Rows per batch so that a batch's arrays fit in ``budget_bytes``.

    A batch holds c (b × D), the pre-activations and the inputs (b × N each,
    counted twice for temporaries).  The default budget is a quarter of the
    device's free memory, capped at 256 MiB on the CPU (larger batches do not
    speed up BLAS there) and 4 GiB on a GPU.
    """
    bk = get_backend(backend)
    item = np.dtype(dtype).itemsize
    if budget_bytes is None:
        cap = DEFAULT_BATCH_BYTES if bk.name == "numpy" else 16 * DEFAULT_BATCH_BYTES
        budget_bytes = min(cap, bk.free_memory_bytes() // 4)
    per_row = item * (D + 3 * N + 16)
    b = int(budget_bytes // per_row)
    if b < 1:
        raise MemoryError(
            f"one sample needs {per_row} bytes of working memory but only {budget_bytes} are "
            "budgeted; lower N or D, or raise budget_bytes"
        )
    return max(1, min(b, 1 << 20))


def check_memory(n: int, N: int, D: int, K: int, M: int, *, dtype="float64", backend="numpy") -> int:
    """Refuse, before any work, a sampling run that cannot fit in memory.

    Needs: the outputs n × (K + M), the generator weights N × D and at least
    one row of batch workspace, all on the backend's device.  Returns the
    bytes needed; raises :class:`MemoryError` naming them otherwise.
    """
    bk = get_backend(backend)
    item = np.dtype(dtype).itemsize
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


def iter_latent_batches(n: int, D: int, *, batch_size: int, seed=None, backend="numpy", dtype="float64"):
    """Yield latent batches c ~ N(0, I_D), shape (b, D), totalling n rows.

    One random generator (seeded by ``seed``) feeds all batches in order, so
    on NumPy the stream does not depend on ``batch_size``.
    """
    bk = get_backend(backend)
    rng = bk.rng(seed)
    done = 0
    while done < n:
        b = min(batch_size, n - done)
        yield rng.standard_normal((b, D), dtype=np.dtype(dtype).type)
        done += b


class _Progress:
    """A minimal progress line on stderr for long loops (shown after 2 s)."""

    def __init__(self, total, label, enabled):
        self.total, self.label, self.enabled = total, label, enabled
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done):
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        if el < 2.0 and done < self.total:
            return
        if not self.shown and done >= self.total:
            return
        rate = done / el if el > 0 else float("nan")
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        sys.stderr.write(
            f"\r{self.label}: {done:,}/{self.total:,} ({100 * done / self.total:5.1f} %), "
            f"{rate:,.0f}/s, ETA {eta:5.1f} s "
        )
        self.shown = True
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


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
    backend : {"numpy", "cupy"}
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
    n = positive_int(n, "n")
    N, D = generator.N, generator.D
    W_student, W_teacher = check_weights(W_student, W_teacher, N, D)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    bk = get_backend(backend)
    xp = bk.xp
    if batch_size is None:
        batch_size = auto_batch_size(N, D, dtype=dtype, backend=bk)
    batch_size = positive_int(batch_size, "batch_size")
    K, M = W_student.shape[0], W_teacher.shape[0]
    check_memory(n, N, D, K, M, dtype=dtype, backend=bk)
    Ws = bk.asarray(W_student.T / math.sqrt(N), dtype=dtype)  # (N, K)
    Wt = bk.asarray(W_teacher.T / math.sqrt(D), dtype=dtype)  # (D, M)
    lam = xp.empty((n, K), dtype=dtype)
    nu = xp.empty((n, M), dtype=dtype)
    prog = _Progress(n, "sampling (λ, ν)", progress)
    fast = isinstance(generator, SingleLayerGenerator) and generator.activation.builtin
    if fast:
        # preallocated buffers and in-place σ: no per-batch allocation of b×N arrays
        raw = bk.raw
        b0 = min(batch_size, n)
        At = generator._cache.get(bk, "At", generator.A.T / math.sqrt(D), dtype)
        h_buf = raw.empty((b0, N), dtype=dtype)
        c_buf = raw.empty((b0, D), dtype=dtype)
        rng = bk.rng(seed)
        start = 0
        while start < n:
            b = min(b0, n - start)
            c = c_buf[:b]
            rng.standard_normal(out=c, dtype=dtype.type)
            h = h_buf[:b]
            raw.matmul(c, At, out=h)
            bk.inplace(generator.activation.name, h)
            lam[start : start + b, :] = h @ Ws
            nu[start : start + b, :] = c @ Wt
            start += b
            prog.update(start)
    else:
        start = 0
        for c in iter_latent_batches(n, D, batch_size=batch_size, seed=seed, backend=bk, dtype=dtype):
            b = c.shape[0]
            x = generator.sample(c)
            lam[start : start + b, :] = x @ Ws
            nu[start : start + b, :] = c @ Wt
            start += b
            prog.update(start)
    if as_numpy:
        return bk.to_numpy(lam), bk.to_numpy(nu)
    return lam, nu
