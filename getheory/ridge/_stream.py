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

Devices: the sources carry their backend (:mod:`getheory.backend`), resolved once by
the workflow (:func:`getheory.ridge.ridge_curves`).  Latents, label noise, ξ, the
inputs, the running XᵀX and Xᵀy and the test-error sums live on that backend's
device.  Only the per-size solve runs on the host (SciPy's LAPACK): XᵀX and Xᵀy come
over once per sample size and source (N² + N numbers, whatever n is) and the
predictors go back once per test stream.  On backends with ``host_normals`` (NumPy
and the simulated device) every random number is NumPy's, so a run gives the same
numbers there as on NumPy.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh

from .._run import RunContext, start_run_context
from .._seeds import RIDGE_SAMPLES
from ..backend import Backend, get_backend, host_backend
from ..equivalent import GeneratorData
from ..fields import LatentStream, auto_batch_size
from ._solve import ridge_predictors

__all__ = ["GeneratorSource", "GaussianEquivalentSource", "RidgeProblem", "RidgeStatistics", "stream_ridge",
           "stream_test_error", "ridge_memory_bytes", "check_ridge_memory"]


class GeneratorSource(GeneratorData):
    """Centred generator inputs x − E x (docs/theory.md §8.1): the data source the dynamics uses too
    (:class:`getheory.equivalent.GeneratorData`); it needs no ξ.

    Parameters
    ----------
    generator : Generator
        The generator G; its weights are copied once to the backend's device.
    mean : array_like (N,)
        E x, on the host; kept on the device.
    backend : str or Backend, default "numpy"
        Where the inputs are made: ``inputs(c)`` takes latents c (n, D) on that
        device and returns x − E x (n, N) there.
    """

    needs_xi = False


class GaussianEquivalentSource:
    """x̂ = Φc + (Ω − ΦΦᵀ)^{1/2}ξ, generated in the eigenbasis U of S² = Ω − ΦΦᵀ.

    As in :class:`getheory.equivalent.GaussianEquivalentData` (docs/theory.md §7.2, §8.1):
    the rotated inputs x' = Uᵀx̂ = (UᵀΦ)c + diag(s)ξ cost one N × D product per sample
    instead of an N × N one.  Ridge is equivariant under the rotation (ŵ' = Uᵀŵ, same
    predictions, same test error), so learning curves are computed in that basis
    directly.  Negative eigenvalues of S² from rounding (or Monte Carlo error) are
    clipped to 0 and counted.

    Parameters
    ----------
    Omega : array_like (N, N)
        Ω = E[(x − E x)(x − E x)ᵀ], on the host.
    Phi : array_like (N, D)
        Φ = E[(x − E x) cᵀ], on the host.
    rtol : float, default 1e-6
        Eigenvalues of S² below −rtol·max diag Ω are warned about (then clipped).
    backend : str or Backend, default "numpy"
        The device of the per-batch matrices.

    Attributes
    ----------
    U : numpy.ndarray (N, N)
        Eigenvectors of S², on the host (the eigendecomposition is done once, there).
    PhiT : array (D, N)
        (UᵀΦ)ᵀ, on the backend's device.
    s : array (N,)
        The square roots of the clipped eigenvalues of S², on the backend's device.
    clipped : int
        Number of negative eigenvalues clipped to 0.
    """

    name = "gaussian"
    needs_xi = True

    def __init__(self, Omega, Phi, *, rtol=1e-6, backend="numpy"):
        self.bk = bk = get_backend(backend)
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
        self.U = U
        self.s = bk.asarray(np.sqrt(np.clip(w, 0, None)))
        self.PhiT = bk.asarray(np.ascontiguousarray((U.T @ Phi).T))  # (D, N)

    def inputs(self, c, xi):
        """Rotated inputs x' = c (UᵀΦ)ᵀ + ξ diag(s) (docs/theory.md §7.2), shape (n, N).

        Parameters
        ----------
        c : array (n, D)
            Latents, on the backend's device.
        xi : array (n, N)
            Standard normals on the device; overwritten (scaled by s in place).

        Returns
        -------
        array (n, N)
            The inputs, a new array on the device.
        """
        x = c @ self.PhiT
        xi *= self.s
        x += xi
        return x


class _Normals:
    """A stream of i.i.d. N(0, 1) device arrays from one child seed.

    On backends with ``host_normals`` (NumPy, the simulated device) the numbers are
    those of NumPy's SFC64 generator seeded by ``seed``, written straight into the
    device array's memory (:meth:`getheory.backend.Backend.host_view`), so NumPy and
    the simulated device draw the same numbers (and NumPy the ones it always drew).
    Elsewhere (CuPy) the backend's own generator draws them on the device.  Rows come
    in order, so the stream does not depend on the batch sizes.
    """

    def __init__(self, seed, bk):
        self.bk = bk
        if bk.host_normals:
            self._rng = np.random.Generator(np.random.SFC64(seed))
        else:
            self._rng = bk.rng(seed)

    def standard_normal(self, shape):
        """A new device array of ``shape`` filled with the stream's next normals."""
        if not self.bk.host_normals:
            return self._rng.standard_normal(shape, dtype=np.float64)
        out = self.bk.empty(shape, "float64")
        self._rng.standard_normal(out=self.bk.host_view(out))
        return out


@dataclass(frozen=True)
class RidgeProblem:
    """What every data seed of a ridge run shares (docs/theory.md §8.1): the simulated sources (all on
    one backend), the teacher of the labels y = f(θ·c/√D) + √Δ ε (θ (D,) on the host, f, the
    label-noise variance Δ) and the increasing training-set sizes."""

    sources: list
    theta: np.ndarray
    teacher: object
    noise: float
    sizes: list

    @property
    def labels(self) -> tuple:
        """(θ, f, Δ): what makes the labels."""
        return self.theta, self.teacher, self.noise


@dataclass(frozen=True)
class _Fit:
    """What :func:`stream_ridge` fits at each size: the λs, :func:`ridge_predictors`' solver and BLAS
    threads, and the rows per streamed batch (None: from the device's memory)."""

    lambdas: object
    solver: str
    threads: int | None
    batch_size: int | None


def _random_streams(bk: Backend, seed, D, N, batch_size):
    """Latents, label noise and ξ from three children of ``seed``, on ``bk``; the batch size."""
    ss_c, ss_eps, ss_xi = RIDGE_SAMPLES.streams(seed)
    batch = auto_batch_size(N, D, backend=bk) if batch_size is None else batch_size
    return LatentStream(D, seed=ss_c, backend=bk), _Normals(ss_eps, bk), _Normals(ss_xi, bk), batch


@dataclass(frozen=True)
class _Draws:
    """The random streams of one pass over samples (latents c, label noise ε, ξ) and the labels' parameters."""

    stream: LatentStream
    normals_eps: _Normals
    normals_xi: _Normals
    theta_scaled: object
    teacher: object
    noise_sd: float
    N: int

    def latents_and_labels(self, c_buf):
        """(c, y): the next rows of latents, written into ``c_buf``, and their labels y = f(ν) + √Δ ε."""
        c = self.stream.fill(c_buf)
        return c, _labels(c, self.theta_scaled, self.teacher, self.noise_sd, self.normals_eps)

    def inputs(self, source, c):
        """The source's inputs for latents c (b, D), drawing ξ (b, N) first where the source needs it."""
        xi = self.normals_xi.standard_normal((c.shape[0], self.N)) if source.needs_xi else None
        return source.inputs(c, xi)


def _draws(bk: Backend, seed, labels, N, batch_size):
    """(:class:`_Draws`, batch size) of one pass on ``bk``: three children of ``seed``, θ/√D uploaded
    once, √Δ; ``labels``: (θ, f, Δ)."""
    theta, teacher, noise = labels
    D = theta.shape[0]
    stream, normals_eps, normals_xi, batch_size = _random_streams(bk, seed, D, N, batch_size)
    theta_scaled = bk.asarray(np.asarray(theta, dtype=np.float64) / math.sqrt(D))
    return _Draws(stream, normals_eps, normals_xi, theta_scaled, teacher, math.sqrt(noise), N), batch_size


def _sources_backend(sources):
    """The one backend that all ``sources`` live on."""
    bk = sources[0].bk
    if any(s.bk is not bk for s in sources[1:]):
        raise ValueError("the ridge sources live on different backends; make them all with the same backend")
    return bk


def ridge_memory_bytes(N: int, D: int, n_sources: int, n_predictors: int, batch: int) -> int:
    """Bytes held by :func:`stream_ridge` on a host backend (docs/theory.md §8.1).

    XᵀX per source, a work matrix, eigenvectors of the moments (Ω's and S²'s), the batch
    and the predictors.
    """
    return 8 * ((n_sources + 3) * N * N + 2 * N * D + batch * (D + 3 * N) + n_sources * n_predictors * N)


def _device_and_host_bytes(N, D, n_sources, n_predictors, batch):
    """(device, host) bytes of a run on a device backend: XᵀX per source, (UᵀΦ)ᵀ, s, the
    batch and the uploaded predictors on the device; the work matrix, the eigenvectors,
    one downloaded XᵀX, Φ and the predictors on the host."""
    device = 8 * (n_sources * N * N + N * D + N + batch * (D + 3 * N) + n_sources * n_predictors * N)
    host = 8 * (3 * N * N + N * D + n_sources * n_predictors * N)
    return device, host


def check_ridge_memory(N: int, D: int, n_sources: int, n_predictors: int, batch: int, *, backend="numpy") -> int:
    """Refuse, before any work, sizes whose XᵀX (and the rest) do not fit in memory.

    Parameters
    ----------
    N, D : int
        Input and latent dimensions.
    n_sources : int
        Simulated sources (one XᵀX each).
    n_predictors : int
        Predictors per source (len(α) · len(λ)).
    batch : int
        Rows per streamed batch.
    backend : str or Backend, default "numpy"
        On a host backend everything is checked against host memory; on a device
        backend the device's part against the device's free memory and the host's
        part (the solve) against the host's.

    Returns
    -------
    int
        The bytes needed (both parts on a device backend).

    Raises
    ------
    MemoryError
        Naming the N × N matrices and the free memory, when a part does not fit.
    """
    bk = get_backend(backend)
    if bk.host:
        parts = [("", ridge_memory_bytes(N, D, n_sources, n_predictors, batch), bk.free_memory_bytes())]
    else:
        device, host = _device_and_host_bytes(N, D, n_sources, n_predictors, batch)
        parts = [(f" on the {bk.name} device", device, bk.free_memory_bytes()),
                 (" on the host (the solves)", host, host_backend().free_memory_bytes())]
    for where, need, free in parts:
        if need > free:
            raise MemoryError(
                f"ridge at N={N}, D={D} with {n_sources} source(s) holds {n_sources} + 3 matrices of N×N "
                f"({need / 2**30:.2f} GiB{where}) but only {free / 2**30:.2f} GiB is free; lower N"
            )
    return sum(p[1] for p in parts)


class RidgeStatistics:
    """Running XᵀX (N × N) and Xᵀy (N) of one source (docs/theory.md §8.1).

    Parameters
    ----------
    N : int
        Input dimension.
    backend : str or Backend, default "numpy"
        The device holding ``G`` = XᵀX and ``r`` = Xᵀy; :meth:`update` takes a batch
        there and adds to them in place.
    """

    def __init__(self, N: int, *, backend="numpy"):
        bk = get_backend(backend)
        self.G = bk.xp.zeros((N, N), dtype=bk.xp.float64)
        self.r = bk.xp.zeros((N,), dtype=bk.xp.float64)
        self.n = 0

    def update(self, x, y):
        """Add a batch: G += xᵀx, r += xᵀy for inputs x (b, N) and labels y (b,) on the device."""
        self.G += x.T @ x
        self.r += x.T @ y
        self.n += x.shape[0]


def _labels(c, theta_scaled, teacher, noise_sd, normals):
    """y = f(ν) + √Δ ε with ν = c θ/√D (docs/theory.md §8), on the device of c."""
    nu = c @ theta_scaled
    y = teacher(nu)
    if noise_sd > 0:
        y = y + noise_sd * normals.standard_normal((c.shape[0],))
    return y


def stream_ridge(sources, theta, teacher, noise: float, sizes, lambdas, *, seed, batch_size=None,
                 solver="auto", solve_threads=None, progress=None, timings=None):
    """Predictors at every sample size in ``sizes`` (increasing) and every λ, per source (§8.1).

    Parameters
    ----------
    sources : list of GeneratorSource / GaussianEquivalentSource
        The sources, all on one backend: sampling and the running XᵀX, Xᵀy stay on its
        device.
    theta : numpy.ndarray (D,)
        Teacher vector (host); uploaded once.
    teacher : Teacher
        f of y = f(ν) + √Δ ε.
    noise : float
        Label-noise variance Δ.
    sizes : sequence of int
        Increasing sample sizes n_1 < n_2 < ...
    lambdas : sequence of float
        Ridge penalties λ.
    seed : numpy.random.SeedSequence
        Its three children give the latents, the label noise and ξ.
    batch_size : int, optional
        Rows per batch (default from the device's memory).
    solver, solve_threads
        Passed to :func:`getheory.ridge.ridge_predictors`, which runs on the host on
        XᵀX and Xᵀy brought over once per size and source (:meth:`Backend.to_numpy`).
    progress : callable, optional
        Called with the number of samples done after each batch.
    timings : dict, optional
        Receives seconds of ``sampling``, ``accumulate`` (XᵀX, Xᵀy) and ``solve``.

    Returns
    -------
    dict
        ``{source.name: numpy.ndarray (len(sizes), len(λ), N)}`` of predictors v
        (ŷ = v·x), on the host.

    Notes
    -----
    The run context (the sources' backend, the timings) is made here; ``stream_ridge_in``
    runs in one made by its caller (:func:`getheory.ridge.ridge_curves`).
    """
    run = start_run_context(backend=_sources_backend(sources))
    problem = RidgeProblem(list(sources), theta, teacher, noise, _increasing(sizes))
    out = stream_ridge_in(run, problem, _Fit(lambdas, solver, solve_threads, batch_size), seed, progress)
    if timings is not None:
        for key in _STREAM_STAGES:
            timings[key] = timings.get(key, 0.0) + run.timings[key]
    return out


#: the stages :func:`stream_ridge` times
_STREAM_STAGES = ("sampling", "accumulate", "solve")


def stream_ridge_in(run: RunContext, problem: RidgeProblem, fit: _Fit, seed, progress=None) -> dict:
    """:func:`stream_ridge` in the run context ``run`` (its backend, which holds ``problem.sources``; its
    timings receive ``sampling``, ``accumulate`` and ``solve``), for ``problem``'s sources, labels and
    sizes, fitting ``fit``; ``seed`` and ``progress`` as for :func:`stream_ridge`."""
    bk, sources, sizes = run.backend, problem.sources, problem.sizes
    D = problem.theta.shape[0]
    N = sources[0].N
    n_max = sizes[-1]
    draws, batch_size = _draws(bk, seed, problem.labels, N, fit.batch_size)
    stats = {s.name: RidgeStatistics(N, backend=bk) for s in sources}
    out = {s.name: np.empty((len(sizes), len(fit.lambdas), N)) for s in sources}
    solve = _Solve(fit.lambdas, N, fit.solver, fit.threads, np.empty((N, N)))  # host: the solve's Cholesky factor
    for key in _STREAM_STAGES:
        run.timings.setdefault(key, 0.0)
    c_buf = bk.empty((min(batch_size, n_max), D), "float64")
    done, k = 0, 0
    while done < n_max:
        b = min(batch_size, sizes[k] - done)
        t0 = time.perf_counter()
        c, y = draws.latents_and_labels(c_buf[:b, ...])
        xs = [draws.inputs(s, c) for s in sources]
        bk.synchronize()
        t1 = time.perf_counter()
        for s, x in zip(sources, xs):
            stats[s.name].update(x, y)
        del xs
        done += b
        bk.synchronize()
        t2 = time.perf_counter()
        if done == sizes[k]:
            for s in sources:
                out[s.name][k] = solve(bk, stats[s.name])
            k += 1
        _add_times(run.timings, t0, t1, t2)
        if progress is not None:
            progress(done)
    return out


def _increasing(sizes) -> list:
    """The sample sizes as ints; refuses sizes that do not increase."""
    sizes = [int(s) for s in sizes]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError("sample sizes must increase")
    return sizes


@dataclass(frozen=True)
class _Solve:
    """The per-size solve on the host: λs, N, :func:`ridge_predictors`' solver and threads, its work matrix."""

    lambdas: object
    N: int
    solver: str
    threads: int | None
    work: np.ndarray

    def __call__(self, bk, st):
        """Predictors (len(λ), N) from the running XᵀX and Xᵀy of ``st``, brought to the host."""
        return ridge_predictors(bk.to_numpy(st.G), bk.to_numpy(st.r), self.lambdas, self.N, solver=self.solver,
                                work=self.work, threads=self.threads)


def _add_times(timings, t0, t1, t2):
    """Add the seconds of one batch: sampling t0..t1, accumulation t1..t2, the solves t2..now."""
    timings["sampling"] += t1 - t0
    timings["accumulate"] += t2 - t1
    timings["solve"] += time.perf_counter() - t2


def stream_test_error(sources, predictors, theta, teacher, noise: float, n_test: int, *, seed, batch_size=None):
    """Test error of every predictor on n_test fresh samples, with its standard error (§8.1).

    The same fresh latents and labels serve every source.  Sampling and the sums of the
    squared residuals stay on the sources' device; the predictors are uploaded once and
    only the sums (one number per predictor, twice) come back.

    Parameters
    ----------
    sources : list of GeneratorSource / GaussianEquivalentSource
        The sources, all on one backend.
    predictors : dict
        ``predictors[name]``: host array of shape (..., N), as :func:`stream_ridge` returns.
    theta, teacher, noise
        As for :func:`stream_ridge`.
    n_test : int
        Fresh samples.
    seed : numpy.random.SeedSequence
        Its three children give the latents, the label noise and ξ.
    batch_size : int, optional
        Rows per batch.

    Returns
    -------
    dict
        ``{name: (mean, se)}``, host arrays of the predictors' leading shape: the mean of
        (y − v·x)² and its standard error sd/√n_test over the fresh samples.
    """
    bk = _sources_backend(sources)
    N = sources[0].N
    draws, batch_size = _draws(bk, seed, (theta, teacher, noise), N, batch_size)
    return _test_errors(bk, sources, predictors, draws, n_test, batch_size)


def _test_errors(bk: Backend, sources, predictors, draws: _Draws, n_test, batch_size) -> dict:
    """:func:`stream_test_error` on ``bk`` with the pass's random streams and labels ``draws``."""
    xp = bk.xp
    D = draws.theta_scaled.shape[0]
    N = sources[0].N
    flat = {s.name: bk.asarray(np.asarray(predictors[s.name]).reshape(-1, N)) for s in sources}
    s1 = {k: xp.zeros((v.shape[0],), dtype=xp.float64) for k, v in flat.items()}
    s2 = {k: xp.zeros((v.shape[0],), dtype=xp.float64) for k, v in flat.items()}
    c_buf = bk.empty((min(batch_size, n_test), D), "float64")
    done = 0
    while done < n_test:
        b = min(batch_size, n_test - done)
        c, y = draws.latents_and_labels(c_buf[:b, ...])
        for s in sources:
            x = draws.inputs(s, c)
            res = x @ flat[s.name].T  # (b, P)
            del x
            res -= y[:, None]
            res *= res  # squared residuals, in place
            s1[s.name] += xp.sum(res, axis=0)
            res *= res
            s2[s.name] += xp.sum(res, axis=0)
        done += b
    out = {}
    for s in sources:
        shape = np.asarray(predictors[s.name]).shape[:-1]
        m = bk.to_numpy(s1[s.name]) / n_test
        var = np.maximum(bk.to_numpy(s2[s.name]) / n_test - m**2, 0.0) * n_test / max(n_test - 1, 1)
        out[s.name] = (m.reshape(shape), np.sqrt(var / n_test).reshape(shape))
    return out
