"""Data sources of the SGD: generator data and its Gaussian equivalent (docs/theory.md §7.2).

Both sources make a batch of inputs from a batch of latents c (n, D) on the
latents' backend (NumPy or CuPy), so that the samples of a CuPy run never
leave the device.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..activations import get_network_activation
from ..backend import backend_of, get_backend
from ._odes import _check_omega

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

    def standard_normal(self, shape):
        """An array of i.i.d. N(0, 1) of ``shape`` (n, N) on the stream's backend."""
        if not self.bk.host_normals:
            return self._rngs[0].standard_normal(shape, dtype=np.float64)
        dev = self.bk.empty(shape, "float64")
        out = self.bk.host_view(dev)
        edges = np.linspace(0, shape[0], NORMAL_BLOCKS + 1).astype(int)
        jobs = [(r, out[a:b]) for r, a, b in zip(self._rngs, edges[:-1], edges[1:]) if b > a]
        pool = _normal_pool()
        if pool is None:
            for r, o in jobs:
                r.standard_normal(out=o)
        else:
            list(pool.map(lambda job: job[0].standard_normal(out=job[1]), jobs))
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


class GeneratorData:
    """Centred generator inputs x − E x for SGD (docs/theory.md §7.1).

    For a single-layer generator σ(A c/√D) with a built-in σ the activation is
    applied in place and the mean subtracted in the same buffer (one pass less
    than ``generator.sample``; sign uses copysign, equal to sign except at
    h = ±0 exactly, which has probability 0).
    """

    name = "generator"

    def __init__(self, generator, mean, *, backend="numpy"):
        self.generator = generator
        self.N = generator.N
        self.bk = get_backend(backend)
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        if mean.shape[0] != self.N:
            raise ValueError(f"mean has {mean.shape[0]} entries, the generator has N={self.N}")
        self.mean = self.bk.asarray(mean)
        act = getattr(generator, "activation", None)
        self._fast = hasattr(generator, "preactivations") and getattr(act, "name", None) is not None

    def inputs(self, c, rng=None):
        """Inputs x − E x, shape (n, N), for latents c (n, D) on the backend of c."""
        if self._fast:
            h = self.generator.preactivations(c)
            if not self.generator.activation.apply_(h, self.bk):
                h = self.generator.activation(h)
        else:
            h = self.generator.sample(c)
            h = backend_of(h).xp.astype(h, self.bk.xp.float64, copy=True)
        h -= self.mean
        return h

    def to_data_basis(self, W):
        return W

    def from_data_basis(self, W):
        return W

    def basis_digest(self) -> str:
        """A fingerprint of the data basis (checkpoints store weights in it): the input basis."""
        return "input"


class GaussianEquivalentData:
    """Gaussian-equivalent inputs x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ (docs/theory.md §7.2).

    ``basis="eigen"`` (default) generates the inputs in the orthonormal
    eigenbasis U of S² = Ω − ΦΦᵀ: x' = Uᵀx̂ = (UᵀΦ) c + diag(s) ξ', which costs
    one N×D product per sample instead of an N×N one.  SGD is equivariant
    under the rotation (λ = W x/√N = (W U)(Uᵀ x)/√N and the update is along
    x), so a run from W U on x' is the same run as from W on x̂ (tested);
    weights are rotated in and out with :meth:`to_data_basis` and
    :meth:`from_data_basis`.  ``basis="direct"`` forms x̂ itself.  Negative
    eigenvalues of Ω − ΦΦᵀ that are round-off or Monte Carlo noise are
    clipped to zero (``clipped`` counts them, ``clipped_mass`` their sum).
    The eigendecomposition and the matrices live on ``backend`` (CuPy: on the
    device).
    """

    name = "gaussian"

    def __init__(self, Omega, Phi, *, basis="eigen", rtol=1e-6, backend="numpy"):
        Omega = _check_omega(Omega)
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[0] != Omega.shape[0]:
            raise ValueError(f"Phi must have shape (N, D) with N={Omega.shape[0]}, got {Phi.shape}")
        if basis not in ("eigen", "direct"):
            raise ValueError(f"basis must be 'eigen' or 'direct', got {basis!r}")
        bk = self.bk = get_backend(backend)
        xp = bk.xp
        self.N = Omega.shape[0]
        self.basis = basis
        Phi_d = bk.asarray(Phi)
        S2 = bk.asarray(Omega) - Phi_d @ Phi_d.T
        w, U = xp.linalg.eigh((S2 + S2.T) / 2)
        del S2
        w_host = bk.to_numpy(w)
        top = max(float(np.max(np.diag(Omega))), 1e-300)  # scale for the round-off tolerance
        neg = w_host < 0
        self.clipped = int(np.sum(neg))
        self.clipped_mass = float(-np.sum(w_host[neg]))
        if w_host[0] < -rtol * top:
            warnings.warn(
                f"Ω − ΦΦᵀ has {self.clipped} negative eigenvalue(s) down to {w_host[0]:.3g} (relative "
                f"{w_host[0] / top:.2g}); expected only from Monte Carlo error in (Ω, Φ); clipped to 0",
                RuntimeWarning,
                stacklevel=2,
            )
        self.s = xp.sqrt(xp.clip(w, 0, None))
        self.U = U
        if basis == "eigen":
            self.PhiT = xp.asarray((U.T @ Phi_d).T, copy=True)  # (D, N): rows of c @ PhiT
        else:
            self.PhiT = xp.asarray(Phi_d.T, copy=True)
            self.S = (U * self.s) @ U.T

    def inputs(self, c, rng, xi=None):
        """Inputs (n, N) for latents c (n, D); ``rng`` draws ξ (a NumPy/CuPy generator or a NormalStream)."""
        x = c @ self.PhiT
        if self.basis == "eigen":
            if xi is None:
                xi = self.bk.asarray(rng.standard_normal((c.shape[0], self.N)))  # a host rng's draws move here
                xi *= self.s  # our own buffer: scale it in place
            else:
                xi = xi * self.s
            x += xi
        else:
            x += self.bk.asarray(rng.standard_normal((c.shape[0], self.N)) if xi is None else xi) @ self.S
        return x

    def to_data_basis(self, W):
        return W @ self.U if self.basis == "eigen" else W

    def from_data_basis(self, W):
        return W @ self.U.T if self.basis == "eigen" else W

    def basis_digest(self) -> str:
        """A fingerprint of the data basis (checkpoints store weights in it): SHA-256 of the column
        sums and the first row of U, which change with any column's sign or order (the eigenbasis
        can differ between machines and linear-algebra libraries)."""
        if self.basis != "eigen":
            return "input"
        from ._checkpoint import array_digest

        xp = self.bk.xp
        return array_digest(self.bk.to_numpy(xp.concat([xp.sum(self.U, axis=0), self.U[0, :]])))


def _teacher_labels(c, W_teacher, v_teacher, g):
    """Labels y = Σ_m ṽ_m g(ν_m), ν = W̃ c/√D (docs/theory.md §7.1), on the backend of c."""
    bk = backend_of(c)
    Wt, vt = bk.asarray(W_teacher), bk.asarray(v_teacher)
    nu = c @ Wt.T / math.sqrt(Wt.shape[1])
    return _g_xp(nu, g) @ vt


def _g_xp(z, g):
    """The student/teacher activation g (a network activation's name) on the backend of z (§7.1)."""
    return get_network_activation(g).g(z)

