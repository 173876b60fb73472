"""Generators x = G(c) of the data, c ~ N(0, I_D)  (docs/theory.md §1).

This module owns the three kinds of generator getheory knows:

* :class:`SingleLayerGenerator` -- x = σ(A c/√D), the theorem's setting,
  with exact first and second moments (§2);
* :class:`DeepGenerator` -- a stack of such layers, x^(l) = σ_l(A_l x^(l-1)/√N_{l-1});
* :class:`CallableGenerator` -- any user function mapping a batch of latents
  c, shape (n, D), to inputs x, shape (n, N); loadable as ``module:function``.

Random ensembles (A with i.i.d. N(0, 1) entries) come from
:func:`random_single_layer` and :func:`random_deep`.  Every generator maps a
batch on either backend (:mod:`getheory.backend`); weights are kept on the
host and copied to a device once, on first use.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._validation import UserCodeError, finite_matrix, positive_int, user_code
from .activations import Activation, get_activation
from .backend import backend_of, check_foreign

__all__ = [
    "CallableGenerator",
    "DeepGenerator",
    "DeviceCache",
    "Generator",
    "SingleLayerGenerator",
    "load_generator",
    "random_deep",
    "random_single_layer",
]


class DeviceCache:
    """Copies of host matrices on each backend, made once (every generator class's, trained ones too)."""

    def __init__(self):
        self._copies = {}

    def get(self, bk, key, host, dtype):
        """The copy of ``host`` on ``bk`` in ``dtype`` stored under ``key``; ``host`` is the host array, or a
        function that makes it (called only when the copy is not made yet, so that a matrix computed from
        the generator's weights is computed once, not on every call)."""
        k = (id(bk), key, np.dtype(dtype).str)
        if k not in self._copies:
            self._copies[k] = bk.asarray(host() if callable(host) else host, dtype=dtype)
        return self._copies[k]


class Generator:
    """Base class: a map from latents c (n, D) to inputs x (n, N).

    Subclasses set ``N`` and ``D`` and implement :meth:`sample`.
    ``exact_moments`` is ``True`` when :func:`getheory.moments.exact_moments`
    can compute (E x, Ω, Φ) in closed form.
    """

    N: int
    D: int
    exact_moments: bool = False

    def sample(self, c):  # pragma: no cover - abstract
        """Map latents ``c`` of shape (n, D) to inputs ``x`` of shape (n, N)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """JSON-ready description (kind, sizes, activation)."""
        return {"kind": type(self).__name__, "N": self.N, "D": self.D}

    def _check_latents(self, c):
        shape = getattr(c, "shape", None)
        if shape is None or len(shape) != 2 or shape[1] != self.D:
            raise ValueError(f"latents c must have shape (n, D={self.D}), got {shape}")


@dataclass(eq=False)
class SingleLayerGenerator(Generator):
    """x = σ(A c / √D): the single-layer generator (docs/theory.md §1).

    Parameters
    ----------
    A : array, shape (N, D)
        Generator weights, entries O(1).
    activation : str or callable
        A built-in name (``sign``, ``erf2``, ``erf``, ``tanh``, ``relu``,
        ``linear``) or an elementwise callable.
    """

    A: np.ndarray
    activation: Activation | str | Callable = "sign"
    _cache: DeviceCache = field(default_factory=DeviceCache, repr=False)
    exact_moments = True

    def __post_init__(self):
        self.A = finite_matrix(self.A, "A")
        self.activation = get_activation(self.activation)
        self.N, self.D = self.A.shape

    @property
    def row_scales(self) -> np.ndarray:
        """s_i = ‖a_i‖/√D, the standard deviation of h_i (§1)."""
        return np.linalg.norm(self.A, axis=1) / math.sqrt(self.D)

    def preactivations(self, c):
        """h = c Aᵀ/√D, shape (n, N), on the backend of ``c``."""
        self._check_latents(c)
        bk = backend_of(c)
        return c @ self._cache.get(bk, "At", lambda: self.A.T / math.sqrt(self.D), bk.dtype_name(c))

    def preactivations_matrix(self, bk, c):
        """Aᵀ/√D (D, N) in row-major order on backend ``bk`` in the dtype of ``c`` (made once per backend
        and dtype), for products written into a given array; BLAS reads it faster than the transposed view
        :meth:`preactivations` uses (191 vs 227 µs a row at N = 8000, D = 800), with the same sums."""
        return self._cache.get(bk, "At_rows", lambda: np.ascontiguousarray(self.A.T / math.sqrt(self.D)),
                               bk.dtype_name(c))

    def sample(self, c):
        return self.activation(self.preactivations(c))

    def describe(self):
        return {**super().describe(), "activation": self.activation.name, "depth": 1}


@dataclass(eq=False)
class DeepGenerator(Generator):
    """x^(l) = σ_l(A_l x^(l-1) / √N_{l-1}), l = 1..L, x^(0) = c (docs/theory.md §1).

    Parameters
    ----------
    layers : sequence of (A_l, activation_l)
        ``A_l`` has shape (N_l, N_{l-1}) with N_0 = D.
    """

    layers: Sequence
    _cache: DeviceCache = field(default_factory=DeviceCache, repr=False)

    def __post_init__(self):
        if len(self.layers) == 0:
            raise ValueError("a DeepGenerator needs at least one layer")
        checked = []
        prev = None
        for l, layer in enumerate(self.layers):
            try:
                A, act = layer
            except (TypeError, ValueError):
                raise TypeError(f"layer {l} must be a pair (A, activation)") from None
            A = finite_matrix(A, f"layers[{l}].A")
            if prev is not None and A.shape[1] != prev:
                raise ValueError(
                    f"layers[{l}].A has {A.shape[1]} columns but the previous layer has {prev} outputs"
                )
            prev = A.shape[0]
            checked.append((A, get_activation(act)))
        self.layers = checked
        self.D = checked[0][0].shape[1]
        self.N = checked[-1][0].shape[0]

    def sample(self, c):
        self._check_latents(c)
        bk = backend_of(c)
        x = c
        for l, (A, act) in enumerate(self.layers):
            At = self._cache.get(bk, l, lambda A=A: A.T / math.sqrt(A.shape[1]), bk.dtype_name(c))
            x = act(x @ At)
        return x

    def describe(self):
        return {
            **super().describe(),
            "depth": len(self.layers),
            "widths": [self.D] + [A.shape[0] for A, _ in self.layers],
            "activation": [act.name for _, act in self.layers],
        }


@dataclass(eq=False)
class CallableGenerator(Generator):
    """A user function ``fn(c) -> x`` with c of shape (n, D) and x of shape (n, N).

    What ``fn`` receives: the run's latents, a float array of shape (n, D) of
    the run's backend and dtype -- a ``numpy.ndarray``, or a ``cupy.ndarray``
    on the GPU under ``backend="cupy"``.  It must not modify them in place (the
    teacher's fields are computed from the same array).  A torch or JAX
    function converts them without a copy on either backend with
    ``torch.from_dlpack(c)`` or ``jax.numpy.from_dlpack(c)``.

    What ``fn`` may return: an array of any library that speaks DLPack or the
    array API (NumPy, CuPy, torch, JAX, array-api-strict, ...), of dtype
    float32 or float64, on the run's device.  It is imported by
    :meth:`getheory.backend.Backend.from_foreign`: without a copy when it is
    on the run's device (a CPU array on the NumPy backend, a CUDA array on the
    current GPU under CuPy), cast when its dtype differs from the run's (a
    float32 torch model in a float64 run: one cast per batch).  A CUDA array
    in a NumPy run, a CPU array in a CuPy run (getheory does not copy
    samples to the GPU batch by batch), a torch tensor that requires grad
    (compute under ``torch.no_grad()``), integer, bool, complex or half
    precision dtypes, and layouts DLPack cannot export (sparse tensors) are
    refused with an error that names the fix.

    ``N`` is found by calling ``fn`` on two NumPy latents (standard normal,
    seed 0) unless given; that probe checks the dtype, not the device, so a
    function that moves its input to a GPU passes it.  Every batch ``fn``
    returns is checked for shape and finiteness, so a wrong generator fails
    with a message instead of a silent wrong answer.  The probe's latents and
    the first batch of a run are compared with a copy after the call, so a
    function that modifies its latents in place is refused.  An exception
    raised by ``fn`` becomes a :class:`getheory._validation.UserCodeError`
    (a RuntimeError and a ValueError) naming the generator, with the user's
    exception as its cause.
    """

    fn: Callable
    D: int
    N: int | None = None
    name: str | None = None
    _watched: bool = field(default=False, init=False, repr=False)  # first batch of sample() checked

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"generator must be callable, got {type(self.fn).__name__}")
        self.D = positive_int(self.D, "D")
        self.name = self.name or getattr(self.fn, "__name__", "user generator")
        c = np.random.default_rng(0).standard_normal((2, self.D))
        with np.errstate(all="ignore"):  # a shape probe: the values are not used
            probe = self._call(c, c.copy(), np.array_equal)
        check_foreign(probe, what=self._what)
        shape = tuple(probe.shape)
        if len(shape) != 2 or shape[0] != 2:
            raise ValueError(
                f"user generator {self.name!r} must map latents of shape (n, D) to inputs of "
                f"shape (n, N); on input shape (2, {self.D}) it returned shape {shape}"
            )
        if self.N is not None and shape[1] != self.N:
            raise ValueError(
                f"user generator {self.name!r} returns N={shape[1]} columns but N={self.N} was given"
            )
        self.N = int(shape[1])

    @property
    def _what(self):
        return f"the output of user generator {self.name!r}"

    def _call(self, c, before=None, same=None):
        """``fn(c)``; its exception as a :class:`UserCodeError`; with ``before``, refuse a change of ``c``."""
        with user_code(f"user generator {self.name!r}", f" on latents of shape {tuple(c.shape)}"):
            x = self.fn(c)
        if before is not None and not same(c, before):
            raise ValueError(f"user generator {self.name!r} modified its latents in place: a generator must "
                             "not modify its latents in place (the teacher's fields are computed from the same "
                             "array); copy them first, e.g. c = c.copy()")
        return x

    def sample(self, c):
        self._check_latents(c)
        if self._watched:
            x = self._call(c)
        else:  # the first batch on this backend is compared with a copy after the call
            bk = backend_of(c)
            x = self._call(c, bk.contiguous(c), lambda a, b: bk.to_bool(bk.xp.all(a == b)))
            self._watched = True
        check_foreign(x, what=self._what)
        shape = tuple(x.shape)
        if shape != (c.shape[0], self.N):
            raise ValueError(
                f"user generator {self.name!r} returned shape {shape} for latents of shape "
                f"{tuple(c.shape)}; expected ({c.shape[0]}, {self.N})"
            )
        bk = backend_of(c)
        dtype = bk.dtype_name(c)
        with np.errstate(over="ignore"):  # a float64 output beyond float32's range: refused just below, by name
            x = bk.from_foreign(x, dtype=dtype, what=self._what)
        if not bk.to_bool(bk.xp.all(bk.xp.isfinite(x))):
            big = float(np.finfo(np.float32).max)
            raise ValueError(f"user generator {self.name!r} returned NaN or infinite values" + (
                f" in float32, the run's dtype: if its output is finite but beyond ±{big:.1e}, it overflows "
                "float32; run in float64 (dtype='float64'; getheory check --dtype float64)"
                if dtype == "float32" else ""))
        return x

    def describe(self):
        return {**super().describe(), "name": self.name}


def random_single_layer(N: int, D: int, activation="sign", seed=None) -> SingleLayerGenerator:
    """A single-layer generator with A_ij ~ N(0, 1) i.i.d., shape (N, D) (§1).

    Examples
    --------
    >>> import numpy as np
    >>> import getheory as gt
    >>> gen = gt.random_single_layer(64, 32, "sign", seed=0)
    >>> gen.N, gen.D
    (64, 32)
    >>> x = gen.sample(np.random.default_rng(1).standard_normal((5, 32)))  # c (n, D) -> x (n, N)
    >>> x.shape, np.unique(x).tolist()
    ((5, 64), [-1.0, 1.0])
    """
    N = positive_int(N, "N")
    D = positive_int(D, "D")
    rng = np.random.default_rng(seed)
    return SingleLayerGenerator(rng.standard_normal((N, D)), activation)


def random_deep(widths: Sequence[int], activation="sign", seed=None) -> DeepGenerator:
    """A deep generator with widths ``[D, N_1, ..., N_L]`` and N(0, 1) weights (§1).

    ``activation`` is one activation for all layers or a list of L of them.
    """
    widths = [positive_int(w, f"widths[{i}]") for i, w in enumerate(widths)]
    if len(widths) < 2:
        raise ValueError("widths must list at least [D, N]")
    L = len(widths) - 1
    acts = list(activation) if isinstance(activation, (list, tuple)) else [activation] * L
    if len(acts) != L:
        raise ValueError(f"got {len(acts)} activations for {L} layers")
    rng = np.random.default_rng(seed)
    layers = [(rng.standard_normal((widths[l + 1], widths[l])), acts[l]) for l in range(L)]
    return DeepGenerator(layers)


def load_generator(spec: str, D: int, N: int | None = None) -> CallableGenerator:
    """Load a user generator from ``"module:function"`` (the CLI's ``--generator``).

    The function takes latents c of shape (n, D) and returns x of shape (n, N),
    an array of NumPy, CuPy, torch, JAX or any DLPack library (see
    :class:`CallableGenerator` for what it receives and what is accepted).
    The module is imported normally, so it must be importable (on
    ``sys.path``; the current directory is added by the CLI).

    Raises
    ------
    ValueError
        A malformed spec, a module that is not found, a missing function.
    getheory._validation.UserCodeError
        The module raised while it was imported, or the function raised on the
        probe latents (the user's exception is the ``__cause__``).
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValueError(f"generator must be given as 'module:function', got {spec!r}")
    mod_name, fn_name = spec.split(":")
    if not mod_name or not fn_name:
        raise ValueError(f"generator must be given as 'module:function', got {spec!r}")
    return CallableGenerator(import_user_object(spec, "generator"), D=D, N=N, name=spec)


def import_user_object(spec: str, kind: str):
    """The object ``function`` of ``"module:function"``, imported as user code.

    A module that is not found is a :class:`ValueError` ("is it on sys.path?"); a module that
    raises while it is imported is a :class:`~getheory._validation.UserCodeError` naming the
    ``kind`` (generator, factory, weights) with the user's exception as its cause.
    """
    mod_name, fn_name = spec.split(":")
    try:
        with user_code(f"module {mod_name!r} of {kind} {spec!r}", " at import"):
            module = importlib.import_module(mod_name)
    except UserCodeError as exc:
        missing = getattr(exc.__cause__, "name", None) if isinstance(exc.__cause__, ModuleNotFoundError) else None
        if missing is not None and (mod_name == missing or mod_name.startswith(missing + ".")):
            raise ValueError(f"cannot import module {mod_name!r} for {kind} {spec!r}: {exc.__cause__} (is it "
                             "on sys.path? the command line adds the working directory)") from exc.__cause__
        raise
    try:
        return getattr(module, fn_name)
    except AttributeError:
        raise ValueError(f"module {mod_name!r} has no attribute {fn_name!r}") from None
