"""The training and test sets of full-batch ERM (docs/theory.md §10.5).

One sample set of n rows: latents c ~ N(0, I_D) from a :class:`getheory.fields.LatentStream`, the
labels from ν = θ·c/√D (y = sign(ν + √Δ ε), or f(ν) + √Δ ε for the square loss's real teachers),
and, for every source, its inputs from the same c: generator data x = G(c) − E x and the Gaussian
equivalent x̂ in the eigenbasis of Ω − ΦΦᵀ (:class:`getheory.ridge.GaussianEquivalentSource`; ERM
with an ℓ2 penalty is rotation-equivariant, so the fit and its errors are those of x̂), the ξ from
their own stream.  The rows are made on the run's backend in batches and brought to the host once,
where the fits run (a full-batch fit needs every row at once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._run import RunContext
from .._seeds import ERM_SAMPLES
from ..fields import LatentStream, auto_batch_size

__all__ = ["ErmLabels", "SampleSet", "draw_set"]


@dataclass(frozen=True)
class ErmLabels:
    """How labels are made from ν = θ·c/√D: the teacher (a :class:`getheory.ridge.Teacher`), the label
    noise Δ and whether the labels are ±1 (y = sign(ν + √Δ ε)) or real (y = f(ν) + √Δ ε)."""

    theta: np.ndarray
    teacher: object
    noise: float
    binary: bool

    def __call__(self, nu: np.ndarray, eps: np.ndarray) -> np.ndarray:
        noisy = math.sqrt(self.noise) * eps
        if self.binary:
            y = np.sign(nu + noisy)
            y[y == 0] = 1.0  # probability 0; kept ±1
            return y
        return np.asarray(self.teacher(nu), float) + noisy


@dataclass(frozen=True)
class SampleSet:
    """n rows: the inputs of every source ``X[name]`` (n, N) and the labels ``y`` (n,), on the host."""

    X: dict
    y: np.ndarray


def draw_set(run: RunContext, sources: list, labels: ErmLabels, n: int, seed) -> SampleSet:
    """n rows of every source from the streams of ``seed`` (:data:`getheory._seeds.ERM_SAMPLES`)."""
    bk = run.backend
    D, N = labels.theta.shape[0], sources[0].N
    ss_c, ss_eps, ss_xi = ERM_SAMPLES.streams(seed)
    latents = LatentStream(D, seed=ss_c, backend=bk)
    xis = LatentStream(N, seed=ss_xi, backend=bk)  # ξ ~ N(0, I_N): a latent stream of width N
    theta = bk.asarray(labels.theta / math.sqrt(D))
    X = {s.name: np.empty((n, N)) for s in sources}
    nu = np.empty(n)
    batch = auto_batch_size(N, D, backend=bk)
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        c = latents.fill(bk.empty((hi - lo, D), "float64"))
        nu[lo:hi] = bk.to_numpy(c @ theta)
        xi = xis.fill(bk.empty((hi - lo, N), "float64")) if any(s.needs_xi for s in sources) else None
        for s in sources:
            X[s.name][lo:hi] = bk.to_numpy(s.inputs(c, xi if s.needs_xi else None))
    y = labels(nu, np.random.default_rng(ss_eps).standard_normal(n))
    return SampleSet(X, y)
