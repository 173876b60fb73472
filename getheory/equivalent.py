"""The samples of a generator and of its Gaussian equivalent, from the same latents (docs/theory.md §2, §7.2, §8.1).

Two data sources make a batch of centred inputs from a batch of latents c (n, D) on the
latents' backend, so that the samples of a device run never leave the device:

* :class:`GeneratorData`: the generator's inputs x − E x, x = G(c);
* :class:`GaussianEquivalentData`: the Gaussian-equivalent inputs x̂ − E x = Φ c + (Ω − ΦΦᵀ)^{1/2} ξ
  of the same c, ξ ~ N(0, I_N), which match the generator's first two moments jointly with c (§2).

Both the learning dynamics (:mod:`getheory.dynamics`, one-pass SGD, §7.2) and full-batch ridge
(:mod:`getheory.ridge`, §8.1) train on these samples.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from .backend import backend_of, get_backend

__all__ = ["GaussianEquivalentData", "GeneratorData", "check_omega"]


def check_omega(Omega, N=None, *, name="Omega"):
    """Ω (N, N) as a symmetric float64 array: refuses a non-square, non-finite or asymmetric
    matrix (and one whose size is not ``N`` when given); returns (Ω + Ωᵀ)/2."""
    Omega = np.asarray(Omega, dtype=np.float64)
    if Omega.ndim != 2 or Omega.shape[0] != Omega.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {Omega.shape}")
    if N is not None and Omega.shape[0] != N:
        raise ValueError(
            f"{name} has size {Omega.shape[0]}×{Omega.shape[1]} but the student weights have N={N} "
            f"columns: Ω must be N×N with N the input dimension"
        )
    if not np.all(np.isfinite(Omega)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = max(float(np.max(np.abs(Omega))), 1e-300)
    if not np.allclose(Omega, Omega.T, rtol=0, atol=1e-10 * scale):
        raise ValueError(f"{name} is not symmetric (max |Ω − Ωᵀ| = {np.max(np.abs(Omega - Omega.T)):.3g})")
    return (Omega + Omega.T) / 2


class GeneratorData:
    """Centred generator inputs x − E x, for SGD and ridge (docs/theory.md §7.1, §8.1).

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
        self._casts = _Casts(self.bk, self)
        act = getattr(generator, "activation", None)
        self._fast = hasattr(generator, "preactivations") and getattr(act, "name", None) is not None

    def inputs(self, c, rng=None):
        """Inputs x − E x, shape (n, N), for latents c (n, D) on the backend of c, in the dtype of c."""
        if self._fast:
            h = self.generator.preactivations(c)
            if not self.generator.activation.apply_(h, self.bk):
                h = self.generator.activation(h)
        else:
            h = self.generator.sample(c)
            h = backend_of(h).xp.astype(h, c.dtype, copy=True)
        h -= self._casts.get("mean", h)
        return h

    @property
    def in_two_stages(self) -> bool:
        """True when :meth:`linear_into` and :meth:`finish_rows` make the inputs (a single-layer
        generator whose activation works in place); otherwise use :meth:`inputs`."""
        return self._fast and self.generator.activation.inplace_fn is not None

    def linear_into(self, c, out, cols=slice(None)):
        """The first stage of :meth:`inputs` on host arrays: ``out`` ← (c Aᵀ/√D)[:, cols] (one BLAS call;
        ``out``: (n, N) or its columns ``cols``)."""
        self.bk.matmul_into(c, self.generator.preactivations_matrix(self.bk, c)[:, cols], out)

    def finish_rows(self, h, noise=None, scratch=None):
        """The second stage, in place on a block of rows h of :meth:`linear_into`'s output:
        h ← σ(h) − E x (the same numbers as :meth:`inputs`); ``noise``, ``scratch`` are unused."""
        self.generator.activation.apply_(h, self.bk)
        h -= self._casts.get("mean", h)

    def to_data_basis(self, W):
        return W

    def from_data_basis(self, W):
        return W

    def basis_digest(self) -> str:
        """A fingerprint of the data basis (an SGD checkpoint stores weights in it): the input basis."""
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
        Omega = check_omega(Omega)
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
        self._casts = _Casts(bk, self)
        if basis == "eigen":
            self.PhiT = xp.asarray((U.T @ Phi_d).T, copy=True)  # (D, N): rows of c @ PhiT
        else:
            self.PhiT = xp.asarray(Phi_d.T, copy=True)
            self.S = (U * self.s) @ U.T

    def inputs(self, c, rng, xi=None):
        """Inputs (n, N) for latents c (n, D), in the dtype of c; ``rng`` draws ξ (a NumPy/CuPy generator
        or a NormalStream), in that dtype too."""
        cast = self._casts
        x = c @ cast.get("PhiT", c)
        if xi is None:  # a host rng's draws move here
            xi = self.bk.asarray(rng.standard_normal((c.shape[0], self.N), dtype=self.bk.dtype_name(c)))
            if self.basis == "eigen":
                xi *= cast.get("s", c)  # our own buffer: scale it in place
        elif self.basis == "eigen":
            xi = xi * cast.get("s", c)
        x += xi if self.basis == "eigen" else xi @ cast.get("S", c)
        return x

    @property
    def in_two_stages(self) -> bool:
        """True in the eigenbasis, where :meth:`linear_into` and :meth:`finish_rows` make the inputs."""
        return self.basis == "eigen"

    def linear_into(self, c, out, cols=slice(None)):
        """The first stage of :meth:`inputs` on host arrays: ``out`` ← (c (UᵀΦ)ᵀ)[:, cols] (one BLAS call;
        ``out``: (n, N) or its columns ``cols``)."""
        self.bk.matmul_into(c, self._casts.get("PhiT", c)[:, cols], out)

    def finish_rows(self, x, noise, scratch):
        """The second stage, in place on a block of rows x of :meth:`linear_into`'s output:
        x ← x + diag(s) ξ', ξ' drawn from the NumPy generator ``noise`` a few rows at a time
        through ``scratch`` (r, N), so that they stay in cache.  The draws are those of one
        ``noise.standard_normal(x.shape)`` and the sums those of :meth:`inputs` (ξ' scaled,
        then added), so the numbers equal the one-stage ones bit for bit."""
        r, s = scratch.shape[0], self._casts.get("s", x)
        for a in range(0, x.shape[0], r):
            xi = scratch[: min(r, x.shape[0] - a)]
            noise.standard_normal(out=xi, dtype=xi.dtype)
            xi *= s
            x[a:a + xi.shape[0]] += xi

    def to_data_basis(self, W):
        return W @ self.U if self.basis == "eigen" else W

    def from_data_basis(self, W):
        return W @ self.U.T if self.basis == "eigen" else W

    def basis_digest(self) -> str:
        """A fingerprint of the data basis (an SGD checkpoint stores weights in it): SHA-256 of the column
        sums and the first row of U, which change with any column's sign or order (the eigenbasis
        can differ between machines and linear-algebra libraries)."""
        if self.basis != "eigen":
            return "input"
        xp = self.bk.xp
        return _sha256(self.bk.to_numpy(xp.concat([xp.sum(self.U, axis=0), self.U[0, :]])))


class _Casts:
    """A source's matrices in the dtype of the samples: float64 ones are the source's own; others are
    cast once (float32 inputs, ``getheory dynamics --dtype float32``) and kept."""

    def __init__(self, bk, owner):
        self.bk, self.owner, self._made = bk, owner, {}

    def get(self, name, like):
        """The owner's attribute ``name`` in the dtype of the array ``like``."""
        dtype = self.bk.dtype_name(like)
        a = getattr(self.owner, name)
        if dtype == self.bk.dtype_name(a):
            return a
        if (name, dtype) not in self._made:
            self._made[(name, dtype)] = self.bk.xp.astype(a, self.bk.dtype(dtype))
        return self._made[(name, dtype)]


def _sha256(a) -> str:
    """SHA-256 of a host array's dtype, shape and bytes (the basis fingerprint's digest)."""
    a = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()
