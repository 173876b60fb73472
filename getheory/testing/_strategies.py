"""Hypothesis strategies for getheory's objects (docs/theory.md §1, §3, §6).

Needs ``hypothesis`` (a test dependency: ``pip install "getheory[test]"``).  Every strategy
checks its arguments when it is *built*, so an impossible request (min > max, a
non-positive size, depth 0, a "violating" strategy asked for values that do not violate
its condition) raises :class:`InvalidStrategyArgument` naming the argument before any
example is drawn.

Sizes are given as an int or an inclusive ``(min, max)`` pair.  Random weights are built
from a drawn 32-bit seed (Hypothesis shrinks it towards 0), by the seeded constructions of
:mod:`getheory.testing._ensembles`.

Within the conditions (§6): :func:`single_layer_generators`, :func:`deep_generators`,
:func:`weights`, :func:`problems`.  Outside exactly one stated condition:
:func:`coherent_generators` (coherence ≥ 0.9), :func:`noncentred_generators` (μ0 ≠ 0),
:func:`spiky_weights` (a dominant student weight).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ..activations import ACTIVATIONS, Activation, get_activation, hermite_coefficients
from ..generators import DeepGenerator, SingleLayerGenerator
from ._activations import HermitePolynomial, TanhMixture
from ._ensembles import ENSEMBLES, coherent_rows, incoherent_rows, spiky_student, student_teacher_weights

__all__ = [
    "InvalidStrategyArgument",
    "GeneratorProblem",
    "Sizes",
    "activations",
    "coherent_generators",
    "deep_generators",
    "kernel_arguments",
    "noncentred_generators",
    "problems",
    "single_layer_generators",
    "sizes",
    "smooth_activations",
    "spiky_weights",
    "weights",
]


def _odd(name: str) -> bool:
    """Whether the built-in σ is odd, σ(−x) = −σ(x) (then μ0 = E σ(sζ) = 0 at every scale), on a grid."""
    act = get_activation(name)
    x = np.linspace(-6.0, 6.0, 241)
    return bool(np.allclose(act(-x), -act(x), rtol=0, atol=1e-15))


#: built-in activations with μ0 = 0 (odd), and those without (relu), in registry order
_CENTRED_BUILTINS = tuple(n for n in ACTIVATIONS if _odd(n))
_NONCENTRED_BUILTINS = tuple(n for n in ACTIVATIONS if n not in _CENTRED_BUILTINS)
_MAX_FIELDS = 8  # the streaming d_MS estimators take K + M <= 8 (getheory.check)


class InvalidStrategyArgument(InvalidArgument, ValueError):
    """A strategy was asked for something impossible (raised when the strategy is built).

    Both Hypothesis's :class:`~hypothesis.errors.InvalidArgument` and a
    :class:`ValueError`; the message names the argument and how to fix it.
    """


class Sizes(NamedTuple):
    """N inputs, D latents, K student and M teacher units (docs/theory.md §1)."""

    N: int
    D: int
    K: int
    M: int


class GeneratorProblem(NamedTuple):
    """A generator with student weights W_student (K, N) and teacher weights W_teacher (M, D)."""

    generator: object
    W_student: np.ndarray
    W_teacher: np.ndarray


# ------------------------------------------------------------------------------------------
# argument checks (at construction)
# ------------------------------------------------------------------------------------------
def _fail(where, msg):
    raise InvalidStrategyArgument(f"{where}: {msg}")


def _int_range(value, name, where, minimum=1):
    """An int or an inclusive (min, max) pair of ints >= minimum, min <= max."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    try:
        lo, hi = pair
    except (TypeError, ValueError):
        _fail(where, f"{name} must be an integer or a (min, max) pair of integers; got {value!r}")
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            _fail(where, f"{name} must be an integer or a (min, max) pair of integers; got {value!r}")
    lo, hi = int(lo), int(hi)
    if lo < minimum:
        _fail(where, f"{name} must be >= {minimum}; got {name}={value!r}")
    if lo > hi:
        _fail(where, f"{name}={value!r} has min {lo} > max {hi}; pass (min, max) with min <= max")
    return lo, hi


@dataclass(frozen=True)
class _Interval:
    """The interval a float argument must lie in: from ``low`` to ``high``, each end open or closed."""

    low: float = 0.0
    high: float = math.inf
    low_open: bool = True
    high_open: bool = False

    def __str__(self):
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def holds(self, v: float) -> bool:
        """Whether the finite number ``v`` lies in the interval."""
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below


#: (0, ∞): the default interval of a float argument
_POSITIVE = _Interval()


def _float_range(value, name, where, interval: _Interval = _POSITIVE):
    """A number or an inclusive (min, max) pair inside ``interval`` (default (0, ∞))."""
    pair = (value, value) if isinstance(value, numbers.Real) else value
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        _fail(where, f"{name} must be a number or a (min, max) pair of numbers; got {value!r}")
    for v in (lo, hi):
        if not math.isfinite(v) or not interval.holds(v):
            _fail(where, f"{name} must lie in {interval}; got {name}={value!r}")
    if lo > hi:
        _fail(where, f"{name}={value!r} has min {lo:g} > max {hi:g}; pass (min, max) with min <= max")
    return lo, hi


def _activation_strategy(activation, where, centred):
    """None -> activations(centred=centred); a strategy as is; a name/Activation/callable -> just."""
    if activation is None:
        return activations(centred=centred)
    if isinstance(activation, SearchStrategy):
        return activation
    try:
        return st.just(get_activation(activation))
    except (TypeError, ValueError) as exc:
        _fail(where, f"activation: {exc}")


def _sizes_for_generators(N, delta, where, min_D=4, min_delta=0.25):
    """N and δ ranges for generators whose rows must be placed with low coherence.

    D = round(δ N) >= 4 and δ >= 0.25 (at most 4 rows per latent dimension) keep the
    placement of :func:`~getheory.testing._ensembles.incoherent_rows` feasible.
    """
    N = _int_range(N, "N", where)
    delta = _float_range(delta, "delta", where)
    if delta[0] < min_delta:
        _fail(where, f"delta={delta[0]:g} < {min_delta:g}: more than {1 / min_delta:g} rows per latent dimension "
                     "cannot all keep a low coherence; raise delta")
    D_min = max(1, round(delta[0] * N[0]))
    if D_min < min_D:
        _fail(where, f"the smallest latent dimension D = round(delta * N) = round({delta[0]:g} * {N[0]}) = {D_min} "
                     f"is below {min_D}; raise N or delta")
    return N, delta


# ------------------------------------------------------------------------------------------
# activations
# ------------------------------------------------------------------------------------------
def _signed(lo, hi):
    """Floats of absolute value in [lo, hi], either sign."""
    return st.tuples(st.floats(lo, hi), st.booleans()).map(lambda t: -t[0] if t[1] else t[0])


@st.composite
def _hermite_polynomials(draw, centred):
    degree = draw(st.integers(1, 5))
    c = [0.0] * (degree + 1)
    c[1] = draw(_signed(0.2, 1.0))  # a linear part, so Φ ≠ 0 and Var σ ≥ 0.04
    for k in range(2, degree + 1):
        if centred and k % 2 == 0:
            continue  # odd σ: μ_k(s) = 0 for every even k, μ0 = 0 at every scale
        c[k] = draw(st.floats(-0.5, 0.5))
    if not centred:
        c[0] = draw(_signed(0.1, 1.0))  # μ0(1) = c_0
    return HermitePolynomial(c).activation()


@st.composite
def _tanh_mixtures(draw, centred):
    J = draw(st.integers(1, 3))
    amps = [draw(_signed(0.2, 1.0)) for _ in range(J)]
    slopes = [draw(st.floats(0.2, 2.0))]
    for _ in range(J - 1):  # distinct slopes: the tanh terms cannot cancel
        slopes.append(slopes[-1] + draw(st.floats(0.3, 1.0)))
    offset = 0.0 if centred else draw(_signed(0.1, 1.0))  # odd part + offset: μ0(s) = offset
    return TanhMixture(amps, slopes, [0.0] * J, offset).activation()


def smooth_activations(*, centred: bool | None = None, families=("hermite", "tanh")) -> SearchStrategy[Activation]:
    r"""Random smooth activations with finite second moment (docs/theory.md §3, §6).

    * ``"hermite"``: σ = Σ_{k≤K} c_k He_k/√k!, K ≤ 5, |c_1| ∈ [0.2, 1], |c_k| ≤ 0.5
      (:class:`HermitePolynomial`; exact normalised Hermite coefficients c_k at unit scale);
    * ``"tanh"``: σ = offset + Σ_{j≤3} a_j tanh(b_j x), |a_j| ∈ [0.2, 1], distinct
      b_j ∈ [0.2, 4] (:class:`TanhMixture`).

    E σ(sζ)² < ∞ at every scale (polynomial or bounded growth) and Var σ(ζ) > 0.

    Parameters
    ----------
    centred : bool or None
        True: odd σ, so μ0(s) = 0 at every s (the §6 condition "inputs centred" holds).
        False: |μ0(1)| ≥ 0.1 (c_0 or the offset), the condition fails.  None: either.
    families : sequence of {"hermite", "tanh"}

    Returns
    -------
    SearchStrategy of Activation
        Smooth (``kink=False``), with an mpmath version for :func:`~getheory.activations.hermite_mu_mp`.
    """
    where = "smooth_activations"
    fams = (families,) if isinstance(families, str) else tuple(families)
    if not fams or any(f not in ("hermite", "tanh") for f in fams):
        _fail(where, f"families must be a non-empty subset of ('hermite', 'tanh'); got {families!r}")
    if centred not in (None, True, False):
        _fail(where, f"centred must be True, False or None; got {centred!r}")
    flags = (True, False) if centred is None else (centred,)
    parts = []
    for c in flags:
        if "hermite" in fams:
            parts.append(_hermite_polynomials(c))
        if "tanh" in fams:
            parts.append(_tanh_mixtures(c))
    return st.one_of(parts)


def activations(*, builtin: bool = True, random: bool = True,
                centred: bool | None = None) -> SearchStrategy[Activation]:
    """Built-in and random smooth activations (docs/theory.md §3).

    Parameters
    ----------
    builtin : bool
        Include the built-ins (:data:`getheory.activations.ACTIVATIONS`).
    random : bool
        Include random smooth ones (:func:`smooth_activations`).
    centred : bool or None
        True: only σ with μ0 = 0 (odd; relu excluded), False: only μ0 ≠ 0 (relu and
        shifted random ones), None: all.

    Returns
    -------
    SearchStrategy of Activation
    """
    where = "activations"
    if not (builtin or random):
        _fail(where, "builtin and random are both False: nothing to draw; set at least one to True")
    if centred not in (None, True, False):
        _fail(where, f"centred must be True, False or None; got {centred!r}")
    parts = []
    if builtin:
        names = ACTIVATIONS if centred is None else (_CENTRED_BUILTINS if centred else _NONCENTRED_BUILTINS)
        parts.append(st.sampled_from(names).map(get_activation))
    if random:
        parts.append(smooth_activations(centred=centred))
    return st.one_of(parts)


def kernel_arguments(*, rho=(-0.9, 0.9), scale=(0.2, 2.0)) -> SearchStrategy[tuple]:
    """(ρ, s_i, s_j) for the two-point kernel Ω_ij of a bivariate normal pair (§2).

    Parameters
    ----------
    rho : (min, max)
        Correlations, inside [-1, 1].
    scale : (min, max)
        Row scales s_i, s_j > 0 (drawn independently: unequal scales included).
    """
    where = "kernel_arguments"
    r = _float_range(rho, "rho", where, _Interval(-1.0, 1.0, low_open=False))
    s = _float_range(scale, "scale", where)
    return st.tuples(st.floats(*r), st.floats(*s), st.floats(*s))


# ------------------------------------------------------------------------------------------
# sizes
# ------------------------------------------------------------------------------------------
def sizes(*, N=(8, 48), delta=(0.5, 2.0), K=(1, 2), M=(1, 2)) -> SearchStrategy[Sizes]:
    """Problem sizes in the proportional regime: D = round(δ N), K and M small (§1).

    Parameters
    ----------
    N : int or (min, max)
        Input dimension, >= 1.
    delta : float or (min, max)
        δ = D/N > 0; D = max(1, round(δ N)).
    K, M : int or (min, max)
        Student and teacher units, >= 1, with max K + max M <= 8 (the d_MS estimators'
        limit).

    Returns
    -------
    SearchStrategy of Sizes
        ``Sizes(N, D, K, M)``.
    """
    where = "sizes"
    N = _int_range(N, "N", where)
    delta = _float_range(delta, "delta", where)
    K = _int_range(K, "K", where)
    M = _int_range(M, "M", where)
    if K[1] + M[1] > _MAX_FIELDS:
        _fail(where, f"max K + max M = {K[1] + M[1]} exceeds {_MAX_FIELDS}, the most fields the d_MS estimators "
                     "take; lower K or M")

    @st.composite
    def _draw(draw):
        n = draw(st.integers(*N))
        d = max(1, round(draw(st.floats(*delta)) * n))
        return Sizes(n, d, draw(st.integers(*K)), draw(st.integers(*M)))

    return _draw()


# ------------------------------------------------------------------------------------------
# generators
# ------------------------------------------------------------------------------------------
_SEEDS = st.integers(0, 2**32 - 1)


def _draw_N_D(draw, N, delta):
    n = draw(st.integers(*N))
    return n, max(1, round(draw(st.floats(*delta)) * n))


def single_layer_generators(*, activation=None, N=(8, 48), delta=(0.5, 2.0), scale=(0.5, 2.0)
                            ) -> SearchStrategy[SingleLayerGenerator]:
    """Single-layer generators x = σ(A c/√D) within the conditions of §6.

    Rows of A are Gaussian directions with one common scale s (so the row scales are
    concentrated exactly) and coherence max_{i≠j} |ρ_ij| < min(0.8, 2.5 √(log N/D))
    (:func:`~getheory.testing._ensembles.incoherent_rows`); σ has a finite second moment and,
    by default, μ0 = 0.  :func:`~getheory.testing.check_conditions` then passes "finite second
    moment", "row scales concentrated", "coherence" and "inputs centred".  ("bound terms
    small" is a consequence, not an assumption: at these N the N^{-1/2} and teacher terms
    are O(1).)

    Parameters
    ----------
    activation : str, Activation, callable or strategy, optional
        Default :func:`activations` ``(centred=True)``: built-in or random odd σ.  A fixed
        non-centred σ (relu) gives generators outside "inputs centred".
    N : int or (min, max)
        Input dimension.
    delta : float or (min, max)
        δ = D/N >= 0.25; D = round(δ N) must be >= 4 (room for N low-coherence rows).
    scale : float or (min, max)
        The common row scale s > 0.

    Returns
    -------
    SearchStrategy of SingleLayerGenerator
    """
    where = "single_layer_generators"
    act = _activation_strategy(activation, where, centred=True)
    N, delta = _sizes_for_generators(N, delta, where)
    s = _float_range(scale, "scale", where)

    @st.composite
    def _draw(draw):
        sigma = draw(act)
        n, d = _draw_N_D(draw, N, delta)
        A = incoherent_rows(n, d, np.random.default_rng(draw(_SEEDS)), draw(st.floats(*s)))
        return SingleLayerGenerator(A, sigma)

    return _draw()


def deep_generators(*, depth=(2, 3), N=(8, 32), delta=(0.5, 2.0), activation=None) -> SearchStrategy[DeepGenerator]:
    """Deep generators x^(l) = σ_l(A_l x^(l−1)/√N_{l−1}) whose every layer is within §6.

    Each A_l (N_l, N_{l−1}) has unit row scales and low coherence in its own input
    dimension (as :func:`single_layer_generators`), each σ_l is drawn independently (odd by
    default, so x is centred).  The §6 checks for deep generators are Monte Carlo ones
    (Ω, Φ with standard errors, the linearised covariance, d_MS measured); this strategy
    guarantees the layer-wise conditions only.

    Parameters
    ----------
    depth : int or (min, max)
        Number of layers L >= 1.
    N : int or (min, max)
        Width N_l of every layer (the last one is the input dimension N), max <= 4 min.
    delta : float or (min, max)
        D = round(δ N_1) >= 4, δ >= 0.25.
    activation : str, Activation, callable or strategy, optional
        Default :func:`activations` ``(centred=True)``, drawn per layer.

    Returns
    -------
    SearchStrategy of DeepGenerator
    """
    where = "deep_generators"
    L = _int_range(depth, "depth", where)
    act = _activation_strategy(activation, where, centred=True)
    N, delta = _sizes_for_generators(N, delta, where)
    if N[1] > 4 * N[0]:
        _fail(where, f"N={N!r}: a layer of {N[1]} units on one of {N[0]} exceeds 4 rows per input dimension; "
                     "narrow the width range (max <= 4 min)")

    @st.composite
    def _draw(draw):
        n_layers = draw(st.integers(*L))
        widths = [draw(st.integers(*N)) for _ in range(n_layers)]
        D = max(1, round(draw(st.floats(*delta)) * widths[0]))
        rng = np.random.default_rng(draw(_SEEDS))
        dims = [D] + widths
        layers = [(incoherent_rows(dims[l + 1], dims[l], rng), draw(act)) for l in range(n_layers)]
        return DeepGenerator(layers)

    return _draw()


def coherent_generators(*, activation=None, N=(8, 48), delta=(0.5, 2.0), coherence=(0.95, 0.999)
                        ) -> SearchStrategy[SingleLayerGenerator]:
    """Single-layer generators that violate "coherence max_{i≠j} |ρ_ij| small" (§6).

    Between 2 and N rows of A are nearly parallel (ρ = ``coherence`` to a common row,
    :func:`~getheory.testing._ensembles.coherent_rows`); everything else is as in
    :func:`single_layer_generators` (unit row scales, σ centred by default).  The check's
    verdict on coherence is "fail" (max |ρ_ij| ≥ 0.9).  docs/theory.md §4 (c): coherent
    generators are a regime where the non-Gaussianity is large.

    Parameters
    ----------
    activation : str, Activation, callable or strategy, optional
    N : int or (min, max)
    delta : float or (min, max)
    coherence : float or (min, max)
        ρ, inside (0.9, 1): at or below 0.9 the condition would not fail.
    """
    where = "coherent_generators"
    act = _activation_strategy(activation, where, centred=True)
    N, delta = _sizes_for_generators(N, delta, where)
    if N[0] < 2:
        _fail(where, f"coherent rows need N >= 2; got N={N!r}")
    rho = _float_range(coherence, "coherence", where, _Interval(0.9, 1.0, high_open=True))

    @st.composite
    def _draw(draw):
        sigma = draw(act)
        n, d = _draw_N_D(draw, N, delta)
        aligned = draw(st.integers(2, n))
        A = coherent_rows(n, d, np.random.default_rng(draw(_SEEDS)), draw(st.floats(*rho)), aligned)
        return SingleLayerGenerator(A, sigma)

    return _draw()


def noncentred_generators(*, activation=None, N=(8, 48), delta=(0.5, 2.0)) -> SearchStrategy[SingleLayerGenerator]:
    """Single-layer generators that violate "inputs centred (μ0 ≈ 0)" (§6).

    As :func:`single_layer_generators` (rows within the conditions) with σ of μ0(1) ≠ 0:
    relu or random smooth σ with |μ0(1)| ≥ 0.1.  The check's verdict on centring is "info"
    (the non-zero mean is carried by m = W E x/√N in P̂).

    Parameters
    ----------
    activation : str, Activation or callable, optional
        A fixed σ must have μ0(1) ≠ 0.  Default :func:`activations` ``(centred=False)``.
    N : int or (min, max)
    delta : float or (min, max)
    """
    where = "noncentred_generators"
    if activation is not None and not isinstance(activation, SearchStrategy):
        try:
            mu0 = hermite_coefficients(activation)[0]
        except (TypeError, ValueError) as exc:
            _fail(where, f"activation: {exc}")
        if abs(mu0) < 1e-12:
            _fail(where, f"activation {get_activation(activation).name!r} has μ0 = {mu0:.3g}: it does not violate "
                         "'inputs centred'; pass a σ with E σ(ζ) ≠ 0 (e.g. 'relu') or leave activation=None")
    act = _activation_strategy(activation, where, centred=False)
    return single_layer_generators(activation=act, N=N, delta=delta, scale=1.0)


# ------------------------------------------------------------------------------------------
# weights and problems
# ------------------------------------------------------------------------------------------
def _ensembles(ensemble, where):
    ens = (ensemble,) if isinstance(ensemble, str) else tuple(ensemble)
    bad = [e for e in ens if e not in ENSEMBLES]
    if not ens or bad:
        _fail(where, f"ensemble must be one of {', '.join(ENSEMBLES)} or a non-empty sequence of them; "
                     f"got {ensemble!r}")
    return ens


def _check_weight_sizes(N, D, K, M, where):
    for name, v in (("N", N), ("D", D)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            _fail(where, f"{name} must be a positive integer; got {name}={v!r}")
    if N < 5:
        _fail(where, f"N={N}: no weights of N < 5 entries are spread (max |w_i|/‖w‖ >= 1/√N >= 0.5, §6); use N >= 5")
    K = _int_range(K, "K", where)
    M = _int_range(M, "M", where)
    if K[1] + M[1] > _MAX_FIELDS:
        _fail(where, f"max K + max M = {K[1] + M[1]} exceeds {_MAX_FIELDS}, the most fields the d_MS estimators "
                     "take; lower K or M")
    return K, M


@dataclass(frozen=True)
class _WeightDraw:
    """What :func:`_weights` draws from: the (min, max) ranges of K and M, the student ensembles, and
    the (min, max) range of the spike (None: no spike)."""

    K: tuple
    M: tuple
    ensembles: tuple
    spike: tuple | None = None


@st.composite
def _weights(draw, N, D, spec: _WeightDraw):
    """(W_student, W_teacher) for N inputs and D latents, drawn as ``spec`` says."""
    k, m = draw(st.integers(*spec.K)), draw(st.integers(*spec.M))
    rng = np.random.default_rng(draw(_SEEDS))
    Ws, Wt = student_teacher_weights(N, D, k, m, rng, draw(st.sampled_from(spec.ensembles)))
    if spec.spike is not None:
        Ws = spiky_student(Ws, rng, draw(st.floats(*spec.spike)))
    return Ws, Wt


def weights(N: int, D: int, *, K=(1, 2), M=(1, 2), ensemble=ENSEMBLES) -> SearchStrategy[tuple]:
    """Student and teacher weights within the conditions of §6.

    Parameters
    ----------
    N, D : int
        Input and latent dimension (N >= 5: smaller students cannot be spread out).
    K, M : int or (min, max)
        Student and teacher units.
    ensemble : str or sequence of str
        Student ensembles to draw from: ``"gaussian"``, ``"rademacher"``, ``"abs_gaussian"``
        (|N(0, 1)|, non-zero third moment, §4 (c)); Gaussian ones conditioned on
        max_i |w_ki|/‖w_k‖ ≤ min(0.45, 2√(2 log N/N)) so the "student weights spread"
        verdict passes.  The teacher is i.i.d. N(0, 1).

    Returns
    -------
    SearchStrategy of (W_student, W_teacher)
        Arrays of shapes (K, N) and (M, D).
    """
    where = "weights"
    K, M = _check_weight_sizes(N, D, K, M, where)
    return _weights(int(N), int(D), _WeightDraw(K, M, _ensembles(ensemble, where)))


def spiky_weights(N: int, D: int, *, K=(1, 2), M=(1, 2), spike=(1.0, 4.0), ensemble=ENSEMBLES
                  ) -> SearchStrategy[tuple]:
    """Student weights that violate "student weights spread" (§6), with a teacher.

    Each student row gets one dominant weight, ± spike × the norm of the rest of the row
    (:func:`~getheory.testing._ensembles.spiky_student`), so max_i |w_ki|/‖w_k‖ =
    spike/√(spike² + 1) ≥ 0.51 and the check's verdict is "warn".  docs/theory.md §5: the
    bare N^{-1/2} bound term cannot see such a student.

    Parameters
    ----------
    N, D : int
    K, M : int or (min, max)
    spike : float or (min, max)
        At least 0.6 (below, the spike would not violate the condition).
    ensemble : str or sequence of str
        Ensemble of the rest of the student row.
    """
    where = "spiky_weights"
    K, M = _check_weight_sizes(N, D, K, M, where)
    sp = _float_range(spike, "spike", where, _Interval(0.6, low_open=False))
    return _weights(int(N), int(D), _WeightDraw(K, M, _ensembles(ensemble, where), sp))


def problems(generators=None, *, K=(1, 2), M=(1, 2), ensemble=ENSEMBLES, spiky: bool = False
             ) -> SearchStrategy[GeneratorProblem]:
    """A generator with student and teacher weights that fit it (§1).

    Parameters
    ----------
    generators : SearchStrategy of Generator, optional
        Default :func:`single_layer_generators` ``()``.  Use ``st.just(my_generator)`` for a
        fixed generator of your own.
    K, M : int or (min, max)
    ensemble : str or sequence of str
        See :func:`weights`.
    spiky : bool
        Student weights from :func:`spiky_weights` instead of :func:`weights`.

    Returns
    -------
    SearchStrategy of GeneratorProblem
        ``GeneratorProblem(generator, W_student, W_teacher)``; unpacks as a 3-tuple.
    """
    where = "problems"
    if generators is None:
        generators = single_layer_generators()
    if not isinstance(generators, SearchStrategy):
        _fail(where, f"generators must be a Hypothesis strategy (e.g. st.just(my_generator)); got "
                     f"{type(generators).__name__}")
    K = _int_range(K, "K", where)
    M = _int_range(M, "M", where)
    if K[1] + M[1] > _MAX_FIELDS:
        _fail(where, f"max K + max M = {K[1] + M[1]} exceeds {_MAX_FIELDS}; lower K or M")
    spec = _WeightDraw(K, M, _ensembles(ensemble, where), (1.0, 4.0) if spiky else None)

    @st.composite
    def _draw(draw):
        gen = draw(generators)
        if gen.N < 5:
            raise InvalidStrategyArgument(f"{where}: the generator has N = {gen.N} < 5 inputs; no student weights "
                                          "of fewer than 5 entries are spread (§6)")
        Ws, Wt = draw(_weights(gen.N, gen.D, spec))
        return GeneratorProblem(gen, Ws, Wt)

    return _draw()
