"""Options of a learning-dynamics experiment (docs/theory.md §7.1, §7.6, §7.7).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .._repr import ShortRepr
from .._validation import check_level, positive_float, positive_int
from ..backend import BACKEND_NAMES, USER_BACKENDS, Backend
from ._checks import _check_eta, _check_g, check_inputs_dtype

__all__ = ["DynamicsOptions"]

_ODE_METHODS = ("DOP853", "RK45", "LSODA", "rk4")


@dataclass(frozen=True, repr=False)
class DynamicsOptions(ShortRepr):
    """The protocol and the run controls of :func:`getheory.dynamics.run_dynamics`.

    Network and learning rule (docs/theory.md §7.1)
        ``K`` student and ``M`` teacher hidden units, learning rate ``eta``,
        activation ``g`` of both networks (``"erf2"``, ``"linear"``, ``"relu"``;
        the ODEs exist for the first two), ``train_second_layer``.
    Schedule
        ``points`` log-spaced record times in (0, ``t_max``], plus t = 0, at which the errors are
        recorded; t = steps/N.
    Statistics (docs/theory.md §7.7)
        ``sgd_seeds`` independent SGD runs per data source; every verdict has
        nominal false-positive rate ``level``; ``n_test`` held-out samples.
    What to run
        ``gaussian`` (SGD on the Gaussian equivalent), ``ode`` with ``ode_method``
        at relative tolerance ``ode_rtol``; ``step_check`` re-runs the ODE at half
        the tolerance to report its step error.
    Resources
        ``time_budget`` seconds for SGD (shared by the seeds; None: no limit),
        ``batch_size`` samples made per BLAS-3 batch (None: about 32 MB), ``dtype`` of the
        SGD inputs and their products (``"float64"``; ``"float32"`` halves the products' cost on a CPU,
        with the float64 update kept: docs/theory.md §7.8),
        ``moment_samples`` for Monte Carlo moments of generators without exact
        ones (None: max(10^5, 50 N)), ``backend`` ``"numpy"`` or ``"cupy"``
        (samples, the SGD kernel and the eigendecompositions on the GPU).
    Checkpoint: the SGD state saved on disk (:mod:`getheory.dynamics._checkpoint`)
        ``checkpoint``: a folder where SGD saves each seed's state (weights, random states,
        step count, the curve recorded so far) every ``checkpoint_every`` seconds and at every
        record time of the curve; when it already holds this run, the run continues from it and
        ends with the same numbers as an uninterrupted one.  A folder holding a run with other
        settings is refused, naming the differences (``sgd_seeds`` may grow).  None: no
        checkpoints.
    Seed
        ``seed``: master seed of the generator, the weights, the SGD streams and the test set.
    """

    K: int = 2
    M: int = 2
    eta: float = 0.2
    g: str = "erf2"
    train_second_layer: bool = True
    t_max: float = 10.0
    points: int = 40
    sgd_seeds: int = 5
    level: float = 0.05
    n_test: int = 10_000
    gaussian: bool = True
    ode: bool = True
    ode_method: str = "DOP853"
    ode_rtol: float = 1e-8
    step_check: bool = True
    time_budget: float | None = None
    batch_size: int | None = None
    dtype: str = "float64"
    moment_samples: int | None = None
    seed: int = 0
    backend: str = "numpy"
    checkpoint: str | None = None
    checkpoint_every: float = 5.0

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        put("K", positive_int(self.K, "K"))
        put("M", positive_int(self.M, "M"))
        put("eta", _check_eta(self.eta))
        put("g", _check_g(self.g))
        put("dtype", check_inputs_dtype(self.dtype))
        put("points", positive_int(self.points, "points"))
        put("sgd_seeds", positive_int(self.sgd_seeds, "sgd_seeds"))
        put("level", check_level(self.level, "level"))
        put("n_test", positive_int(self.n_test, "n_test", minimum=2))
        t_max = positive_float(self.t_max, "t_max")
        put("t_max", t_max)
        put("ode_rtol", positive_float(self.ode_rtol, "ode_rtol"))
        if self.ode_method not in _ODE_METHODS:
            raise ValueError(f"ode_method must be one of {', '.join(_ODE_METHODS)}, got {self.ode_method!r}")
        if self.time_budget is not None:
            put("time_budget", positive_float(self.time_budget, "time_budget"))
        if self.checkpoint is not None:
            if not isinstance(self.checkpoint, (str, os.PathLike)) or not os.fspath(self.checkpoint):
                raise ValueError(f"checkpoint must be a folder path, got {self.checkpoint!r}")
            put("checkpoint", os.fspath(self.checkpoint))
        every = float(self.checkpoint_every)
        if not every >= 0 or every == float("inf"):
            raise ValueError(f"checkpoint_every must be seconds >= 0, got {self.checkpoint_every!r}")
        put("checkpoint_every", every)
        for name in ("batch_size", "moment_samples"):
            value = getattr(self, name)
            if value is not None:
                put(name, positive_int(value, name))
        if not isinstance(self.backend, Backend) and self.backend not in BACKEND_NAMES:
            raise ValueError(f"backend must be {' or '.join(map(repr, USER_BACKENDS))}, got {self.backend!r}")
        for name in ("train_second_layer", "gaussian", "ode", "step_check"):
            put(name, bool(getattr(self, name)))

    @classmethod
    def names(cls) -> tuple:
        """The option names, for callers that pass them as keywords."""
        return tuple(f.name for f in fields(cls))

