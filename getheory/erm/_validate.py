"""The verdict "the measured curves agree with the theory" on exactly Gaussian inputs (docs/theory.md §10.6).

For one source (normally the Gaussian equivalent, whose inputs are exactly Gaussian), at every
(α, λ) of the grid and for both readings (test error, training loss), the mean over S seeds must
be within

    q · se + b,   q = t_{S−1}(1 − level/(2 · 2G)),

of the theory: se the standard error over seeds (which holds the test-set noise and the fits'
spread), q the Bonferroni t-quantile over the 2G tests of the grid (family level ``level``,
default 1 %), and b the finite-N bias allowance fixed in advance: ε_th/N for the test error and
(ℓ_th + 1/α)/N for the training loss (the theory's O(1/N) relative correction, and for the
training loss also the resolution 1/n of a mean over n = αN rows, which matters where the
theory's loss is nearly 0 and every seed's is exactly 0).  The verdict's family-wise false-positive
rate is measured by ``benchmarks/bench_erm_calibration.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as t_dist

__all__ = ["ErmValidation", "PairedGap", "paired_gap", "validate_erm"]


@dataclass(frozen=True)
class ErmValidation:
    """Per reading ("test_error", "train_loss"): arrays (len(α), len(λ)) of the gap |mean − theory| and
    the tolerance; ``passed`` whether every gap is within its tolerance; ``q`` the quantile."""

    source: str
    gap: dict
    tolerance: dict
    q: float
    level: float
    passed: bool

    def failures(self, alphas, lambdas) -> list:
        """One line per point and reading outside its tolerance."""
        out = []
        for k in self.gap:
            for i, j in np.argwhere(self.gap[k] > self.tolerance[k]):
                out.append(f"{k} at α = {alphas[i]:g}, λ = {lambdas[j]:g}: gap {self.gap[k][i, j]:.3g} > "
                           f"tolerance {self.tolerance[k][i, j]:.3g}")
        return out


def validate_erm(result, source: str = "gaussian", level: float = 0.01) -> ErmValidation:
    """The verdict of the module docstring for ``result`` (an :class:`~._experiment.ErmResult` with its theory)."""
    if result.theory is None:
        raise ValueError("the result has no theory to validate against: run erm_curves with ErmOptions(theory=True)")
    if source not in result.test_error:
        raise ValueError(f"the result has no source {source!r}; it has {', '.join(result.test_error)}")
    S = result.test_error[source].shape[0]
    if S < 2:
        raise ValueError("the verdict needs at least 2 seeds (a standard error over seeds); raise ErmOptions.seeds")
    th, N = result.theory, int(result.settings["N"])
    G = th["test_error"].size
    q = float(t_dist.ppf(1.0 - level / (2.0 * 2 * G), S - 1))
    alpha = np.asarray(result.alphas, float)[:, None]
    bias = {"test_error": th["test_error"] / N, "train_loss": (th["train_loss"] + 1.0 / alpha) / N}
    gap, tol = {}, {}
    for k, values in (("test_error", result.test_error[source]), ("train_loss", result.train_loss[source])):
        mean = values.mean(axis=0)
        se = values.std(axis=0, ddof=1) / np.sqrt(S)
        gap[k] = np.abs(mean - th[k])
        tol[k] = q * se + bias[k]
    passed = bool(all(np.all(gap[k] <= tol[k]) for k in gap))
    return ErmValidation(source, gap, tol, q, level, passed)


@dataclass(frozen=True)
class PairedGap:
    """Generator − Gaussian test error, paired seed by seed: per (α, λ) the mean gap, its standard error
    and the points where it is resolved (|gap| > q·se, q the Bonferroni t-quantile over the G points
    at family level ``level``)."""

    gap: np.ndarray
    se: np.ndarray
    resolved: np.ndarray
    q: float
    level: float

    def statement(self) -> str:
        k, G = int(self.resolved.sum()), self.resolved.size
        if k == 0:
            return (f"no generator − Gaussian gap resolved at any of the {G} points (family level {self.level:g}, "
                    f"Bonferroni); largest |gap| {float(np.max(np.abs(self.gap))):.3g}")
        return (f"generator − Gaussian gap resolved at {k} of {G} points (family level {self.level:g}, Bonferroni); "
                f"largest |gap| {float(np.max(np.abs(self.gap))):.3g}")


def paired_gap(result, level: float = 0.01) -> PairedGap:
    """The paired generator − Gaussian test-error gap of ``result`` and where it is resolved."""
    if not {"generator", "gaussian"} <= set(result.test_error):
        raise ValueError("the paired gap needs both sources: ErmOptions(sources=('generator', 'gaussian'))")
    d = result.test_error["generator"] - result.test_error["gaussian"]
    S = d.shape[0]
    if S < 2:
        raise ValueError("the paired gap's verdict needs at least 2 seeds; raise ErmOptions.seeds")
    q = float(t_dist.ppf(1.0 - level / (2.0 * d[0].size), S - 1))
    gap, se = d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(S)
    return PairedGap(gap, se, np.abs(gap) > q * se, q, level)
