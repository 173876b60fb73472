"""Streamed ridge statistics on generator and Gaussian-equivalent data (docs/theory.md §8.1).

The n × N input matrix is never formed: latents c come in batches from
:class:`getheory.fields.LatentStream`; each batch gives the inputs of every source
(generator x = G(c) − E x; Gaussian equivalent x̂ = Φc + (Ω − ΦΦᵀ)^{1/2}ξ from the
same c) and the labels y = f(ν) + √Δ ε, ν = θ·c/√D (the same y for every source), and
is folded into XᵀX (N × N) and Xᵀy (N) per source.  At each requested sample size
n_1 < n_2 < ... (the α grid, nested) the predictors for every λ are solved from the
running sums, so one pass over n_max samples gives the whole learning curve.

Memory: per source XᵀX and one N × N work buffer, plus one batch
(O(batch·(N + D))).  Test errors are measured on fresh samples, also streamed.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ..dynamics._data import GeneratorData
from ..fields import LatentStream, auto_batch_size
from ._solve import ridge_predictors

__all__ = ["GeneratorSource", "GaussianEquivalentSource", "RidgeStatistics", "stream_ridge", "stream_test_error",
           "ridge_memory_bytes", "check_ridge_memory"]


class GeneratorSource(GeneratorData):
    """Centred generator inputs x − E x (docs/theory.md §8.1): the dynamics' data source
    (:class:`getheory.dynamics.GeneratorData`); it needs no ξ."""

    needs_xi = False


class GaussianEquivalentSource:
    """x̂ = Φc + (Ω − ΦΦᵀ)^{1/2}ξ, generated in the eigenbasis U of S² = Ω − ΦΦᵀ.

    As in :class:`getheory.dynamics.GaussianEquivalentData` (docs/theory.md §7.2): the
    rotated inputs x' = Uᵀx̂ = (UᵀΦ)c + diag(s)ξ cost one N × D product per sample
    instead of an N × N one.  Ridge is equivariant under the rotation (ŵ' = Uᵀŵ, same
    predictions, same test error), so learning curves are computed in that basis
    directly.  Negative eigenvalues of S² from rounding (or Monte Carlo error) are
    clipped to 0 and counted.
    """

    name = "gaussian"
    needs_xi = True

    def __init__(self, Omega, Phi, *, rtol=1e-6):
        from scipy.linalg import eigh

        Omega = np.asarray(Omega, dtype=np.float64)
        Phi = np.asarray(Phi, dtype=np.float64)
        if Omega.ndim != 2 or Omega.shape[0] != Omega.shape[1] or Phi.ndim != 2 or Phi.shape[0] != Omega.shape[0]:
            raise ValueError(f"Omega must be (N, N) and Phi (N, D); got {Omega.shape} and {Phi.shape}")
        self.N = Omega.shape[0]
        S2 = Omega - Phi @ Phi.T
        w, U = eigh((S2 + S2.T) / 2, driver="evd")
        top = max(float(np.max(np.diag(Omega))), 1e-300)
        neg = w < 0
        self.clipped = int(np.sum(neg))
        if w[0] < -rtol * top:
            warnings.warn(f"Ω − ΦΦᵀ has {self.clipped} negative eigenvalue(s) down to {w[0]:.3g}; clipped to 0",
                          RuntimeWarning, stacklevel=2)
        self.s = np.sqrt(np.clip(w, 0, None))
        self.U = U
        self.PhiT = np.ascontiguousarray((U.T @ Phi).T)  # (D, N)

    def inputs(self, c, xi):
        x = c @ self.PhiT
        xi *= self.s
        x += xi
        return x


def _random_streams(seed, D, N, batch_size):
    """Latents, label noise and ξ from three children of ``seed``; the batch size."""
    ss_c, ss_eps, ss_xi = seed.spawn(3)
    rng_eps = np.random.Generator(np.random.SFC64(ss_eps))
    rng_xi = np.random.Generator(np.random.SFC64(ss_xi))
    return LatentStream(D, seed=ss_c), rng_eps, rng_xi, (auto_batch_size(N, D) if batch_size is None else batch_size)


def ridge_memory_bytes(N: int, D: int, n_sources: int, n_predictors: int, batch: int) -> int:
    """Bytes held by :func:`stream_ridge`: XᵀX per source, a work matrix, eigenvectors of the
    moments (Ω's and S²'s), the batch and the predictors."""
    return 8 * ((n_sources + 3) * N * N + 2 * N * D + batch * (D + 3 * N) + n_sources * n_predictors * N)


def check_ridge_memory(N: int, D: int, n_sources: int, n_predictors: int, batch: int) -> int:
    """Refuse, before any work, sizes whose XᵀX (and the rest) do not fit in memory."""
    from ..backend import get_backend

    need = ridge_memory_bytes(N, D, n_sources, n_predictors, batch)
    free = get_backend("numpy").free_memory_bytes()
    if need > free:
        raise MemoryError(
            f"ridge at N={N}, D={D} with {n_sources} source(s) holds {n_sources} + 3 matrices of N×N "
            f"({need / 2**30:.2f} GiB in all) but only {free / 2**30:.2f} GiB is free; lower N"
        )
    return need


class RidgeStatistics:
    """Running XᵀX (N × N) and Xᵀy (N) of one source."""

    def __init__(self, N: int):
        self.G = np.zeros((N, N))
        self.r = np.zeros(N)
        self.n = 0

    def update(self, x, y):
        self.G += x.T @ x
        self.r += x.T @ y
        self.n += x.shape[0]


def _labels(c, theta_scaled, teacher, noise_sd, rng):
    nu = c @ theta_scaled
    y = teacher(nu)
    if noise_sd > 0:
        y = y + noise_sd * rng.standard_normal(y.shape[0])
    return y


def stream_ridge(sources, theta, teacher, noise: float, sizes, lambdas, *, seed, batch_size=None,
                 solver="auto", solve_threads=None, progress=None, timings=None):
    """Predictors at every sample size in ``sizes`` (increasing) and every λ, per source.

    Returns ``{source.name: array (len(sizes), len(λ), N)}`` of predictors v (ŷ = v·x).
    ``seed`` is a SeedSequence: children give the latents, the label noise and ξ.
    ``timings`` (a dict) receives seconds of ``sampling``, ``accumulate`` (XᵀX, Xᵀy) and ``solve``.
    """
    D = theta.shape[0]
    N = sources[0].N
    sizes = [int(s) for s in sizes]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError("sample sizes must increase")
    n_max = sizes[-1]
    stream, rng_eps, rng_xi, batch_size = _random_streams(seed, D, N, batch_size)
    theta_scaled = theta / math.sqrt(D)
    noise_sd = math.sqrt(noise)
    stats = {s.name: RidgeStatistics(N) for s in sources}
    out = {s.name: np.empty((len(sizes), len(lambdas), N)) for s in sources}
    work = np.empty((N, N))
    timings = timings if timings is not None else {}
    for key in ("sampling", "accumulate", "solve"):
        timings.setdefault(key, 0.0)
    c_buf = np.empty((min(batch_size, n_max), D))
    done, k = 0, 0
    while done < n_max:
        b = min(batch_size, sizes[k] - done)
        t0 = time.perf_counter()
        c = stream.fill(c_buf[:b])
        y = _labels(c, theta_scaled, teacher, noise_sd, rng_eps)
        xs = []
        for s in sources:
            xi = rng_xi.standard_normal((b, N)) if s.needs_xi else None
            xs.append(s.inputs(c, xi))
        t1 = time.perf_counter()
        for s, x in zip(sources, xs):
            stats[s.name].update(x, y)
        del xs
        done += b
        t2 = time.perf_counter()
        if done == sizes[k]:
            for s in sources:
                st = stats[s.name]
                out[s.name][k] = ridge_predictors(st.G, st.r, lambdas, N, solver=solver, work=work,
                                                   threads=solve_threads)
            k += 1
        timings["sampling"] += t1 - t0
        timings["accumulate"] += t2 - t1
        timings["solve"] += time.perf_counter() - t2
        if progress is not None:
            progress(done)
    return out


def stream_test_error(sources, predictors, theta, teacher, noise: float, n_test: int, *, seed, batch_size=None):
    """Test error of every predictor on n_test fresh samples, with its standard error.

    ``predictors[name]`` has shape (..., N); returns ``{name: (mean, se)}`` of that leading
    shape: mean of (y − v·x)² and its standard error sd/√n_test over the fresh samples.
    The same fresh latents and labels serve every source.
    """
    D = theta.shape[0]
    N = sources[0].N
    stream, rng_eps, rng_xi, batch_size = _random_streams(seed, D, N, batch_size)
    theta_scaled = theta / math.sqrt(D)
    noise_sd = math.sqrt(noise)
    flat = {s.name: predictors[s.name].reshape(-1, N) for s in sources}
    s1 = {k: np.zeros(v.shape[0]) for k, v in flat.items()}
    s2 = {k: np.zeros(v.shape[0]) for k, v in flat.items()}
    c_buf = np.empty((min(batch_size, n_test), D))
    done = 0
    while done < n_test:
        b = min(batch_size, n_test - done)
        c = stream.fill(c_buf[:b])
        y = _labels(c, theta_scaled, teacher, noise_sd, rng_eps)
        for s in sources:
            xi = rng_xi.standard_normal((b, N)) if s.needs_xi else None
            x = s.inputs(c, xi)
            res = (x @ flat[s.name].T - y[:, None]) ** 2  # (b, P)
            s1[s.name] += res.sum(axis=0)
            s2[s.name] += (res**2).sum(axis=0)
        done += b
    out = {}
    for s in sources:
        shape = predictors[s.name].shape[:-1]
        m = s1[s.name] / n_test
        var = np.maximum(s2[s.name] / n_test - m**2, 0.0) * n_test / max(n_test - 1, 1)
        out[s.name] = (m.reshape(shape), np.sqrt(var / n_test).reshape(shape))
    return out
