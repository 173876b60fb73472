"""How the generator − Gaussian gap of ERM closes with N at fixed δ (docs/theory.md §10.7).

At each N the grid's mean |gap| (test error, paired seed by seed) is compared with its noise
floor, the mean of E|N(0, se²)| = se·√(2/π) over the grid: a gap that has closed below the noise
reads as the floor, not as zero.  The slope of log mean|gap| against log N is fitted
(``scipy.stats.linregress``) on the N whose mean |gap| exceeds twice its floor, with a 95 %
t-interval on len − 2 degrees of freedom; with fewer than 3 such N there is no slope, and the
result says so.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import linregress
from scipy.stats import t as t_dist

from .._json import to_plain
from .._validation import positive_int
from ..backend import get_backend
from ._checkpoint import size_folder
from ._experiment import ErmOptions, erm_curves

__all__ = ["ErmFiniteSize", "erm_finite_size"]


@dataclass
class ErmFiniteSize:
    """Per N: the mean |gap| over the grid, its noise floor; the fitted slope with its 95 % interval
    (NaN when fewer than 3 N are above twice their floor) and the N it used."""

    Ns: list
    mean_abs_gap: list
    noise_floor: list
    slope: float
    interval: tuple
    used: list
    settings: dict

    def statement(self) -> str:
        if not math.isfinite(self.slope):
            return (f"mean |gap| is above twice its noise floor at {len(self.used)} N only "
                    f"({', '.join(map(str, self.used)) or 'none'}): too few to fit a slope")
        lo, hi = self.interval
        return (f"mean |gap| ∝ N^{self.slope:.2f} (95 % interval [{lo:.2f}, {hi:.2f}], from N = "
                f"{', '.join(map(str, self.used))})")

    def to_dict(self) -> dict:
        return to_plain({"N": self.Ns, "mean_abs_gap": self.mean_abs_gap, "noise_floor": self.noise_floor,
                         "slope": self.slope, "interval": self.interval, "used": self.used,
                         "statement": self.statement(), "settings": self.settings})


def erm_finite_size(Ns, options: ErmOptions | None = None, *, activation="sign", delta=0.5, seed=0,
                    progress=False) -> ErmFiniteSize:
    """The mean |generator − Gaussian| test-error gap over ``options``' grid at each N (δ fixed), and
    its slope in N (module docstring).

    The backend of ``options.backend`` is resolved once, here, for every N.  With
    ``options.checkpoint`` each N keeps its own checkpoint in the sub-folder ``N-<N>`` of it
    (:mod:`getheory.erm._checkpoint`), so an interrupted run continues at the seed it stopped at.
    """
    base = options or ErmOptions()
    opts = dataclasses.replace(base, sources=("generator", "gaussian"), theory=False,
                               backend=get_backend(base.backend))
    Ns = [positive_int(n, "N") for n in Ns]
    gaps, floors = [], []
    for N in Ns:
        at_n = opts if opts.checkpoint is None else dataclasses.replace(opts,
                                                                        checkpoint=size_folder(opts.checkpoint, N))
        r = erm_curves(options=at_n, activation=activation, N=N, D=max(1, round(delta * N)), seed=seed,
                       progress=progress)
        d = r.test_error["generator"] - r.test_error["gaussian"]
        se = d.std(axis=0, ddof=1) / math.sqrt(d.shape[0]) if d.shape[0] > 1 else np.full(d.shape[1:], np.nan)
        gaps.append(float(np.mean(np.abs(d.mean(axis=0)))))
        floors.append(float(np.mean(se)) * math.sqrt(2 / math.pi))
    used = [N for N, g, f in zip(Ns, gaps, floors) if g > 2 * f]
    slope, interval = math.nan, (math.nan, math.nan)
    if len(used) >= 3:
        x = np.log([N for N in used])
        y = np.log([g for N, g in zip(Ns, gaps) if N in used])
        fit = linregress(x, y)
        half = float(t_dist.ppf(0.975, len(used) - 2)) * fit.stderr
        slope, interval = float(fit.slope), (float(fit.slope - half), float(fit.slope + half))
    settings = {"activation": activation, "delta": delta, "options": opts.recorded(), "seed": seed}
    return ErmFiniteSize(Ns, gaps, floors, slope, interval, used, to_plain(settings))
