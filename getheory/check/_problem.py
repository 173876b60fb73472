"""The problem a check measures: a generator and the student and teacher weights (docs/theory.md §1).

:func:`build_problem` takes the given generator (or draws the default single-layer one)
and the given weights (or draws them, :func:`draw_weights`), and checks their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import finite_matrix, positive_int
from ..activations import get_activation
from ..generators import Generator, SingleLayerGenerator, random_single_layer
from ._options import CheckOptions
from ._shards import GeneratorRecipe, recipe_of

__all__ = ["CheckProblem", "build_problem", "draw_weights"]

#: the streaming estimators take at most this many fields K + M
MAX_FIELDS = 8


def draw_weights(N: int, D: int, K: int, M: int, seed=None, *, ensemble="gaussian"):
    """Student (K, N) and teacher (M, D) weights with i.i.d. N(0, 1) entries (§1).

    ``ensemble="abs_gaussian"`` takes |N(0, 1)| student entries (non-zero third
    moment, §4 (c)).
    """
    rng = np.random.default_rng(seed)
    W_student = rng.standard_normal((K, N))
    if ensemble == "abs_gaussian":
        W_student = np.abs(W_student)
    elif ensemble != "gaussian":
        raise ValueError(f"unknown weight ensemble {ensemble!r}: use 'gaussian' or 'abs_gaussian'")
    W_teacher = rng.standard_normal((M, D))
    return W_student, W_teacher


@dataclass(frozen=True, eq=False)
class CheckProblem:
    """A generator x = G(c) of shape (N, D) and weights W (K, N), W̃ (M, D), checked; and, when
    known, how another process rebuilds the generator (its recipe, for the shards of a sharded run)."""

    generator: Generator
    W_student: np.ndarray
    W_teacher: np.ndarray
    recipe: GeneratorRecipe | None = None
    given_generator: bool = False

    @property
    def N(self) -> int:
        return self.generator.N

    @property
    def D(self) -> int:
        return self.generator.D

    @property
    def K(self) -> int:
        return self.W_student.shape[0]

    @property
    def M(self) -> int:
        return self.W_teacher.shape[0]

    @property
    def single_layer(self) -> bool:
        """True for σ(A c/√D): closed-form moments' bound terms (§5) and the conditions of §6 apply."""
        return isinstance(self.generator, SingleLayerGenerator)


def _generator(generator, options: CheckOptions, seed, recipe) -> tuple:
    """The given generator, or the default random single-layer σ(A c/√D) of ``options``; and its recipe
    (the given one, the default generator's, or that of a user function importable as module:function)."""
    if recipe is not None and not isinstance(recipe, GeneratorRecipe):
        raise TypeError(f"recipe must be a getheory.check.GeneratorRecipe, got {type(recipe).__name__}")
    if generator is None:
        N = positive_int(options.N, "N")
        D = positive_int(options.D, "D")
        get_activation(options.activation)
        if recipe is None and isinstance(options.activation, str):
            recipe = GeneratorRecipe("getheory.generators:random_single_layer", (N, D, options.activation, seed))
        return random_single_layer(N, D, options.activation, seed=seed), recipe
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a getheory Generator, got {type(generator).__name__}")
    return generator, recipe if recipe is not None else recipe_of(generator)


def _given(options: CheckOptions, name: str, given) -> bool:
    """Whether the option ``name`` was set by the caller: named in ``given``, or not its default."""
    return name in given or getattr(options, name) != getattr(CheckOptions, name)


def _refuse_ignored(problem: CheckProblem, options: CheckOptions, given, weights_given: tuple) -> None:
    """Refuse a size or activation that the given generator or weights would silently override.

    ``given`` names the options set explicitly (the keyword overrides); an option that differs from
    its default counts as set too.  ``weights_given`` says which of W_student, W_teacher were passed.
    """
    gen = problem.generator
    if problem.given_generator:
        for name in ("N", "D"):
            if _given(options, name, given) and getattr(options, name) != getattr(gen, name):
                raise ValueError(f"{name} = {getattr(options, name)} was given, but the generator given has "
                                 f"{name} = {getattr(gen, name)}: its own size is used, so leave out {name} (or "
                                 f"give the generator's, {getattr(gen, name)})")
        own = getattr(gen, "activation", None)
        if _given(options, "activation", given) and getattr(own, "name", None) != get_activation(
                options.activation).name:
            raise ValueError(f"activation {options.activation!r} was given, but it only makes the default "
                             "generator, and a generator was given: leave out the activation")
    for name, passed, count in (("K", weights_given[0], problem.K), ("M", weights_given[1], problem.M)):
        if passed and _given(options, name, given) and getattr(options, name) != count:
            what = "W_student" if name == "K" else "W_teacher"
            raise ValueError(f"{name} = {getattr(options, name)} was given, but the {what} given has {count} "
                             f"rows: leave out {name} (the weights set it) or give {name} = {count}")


def build_problem(generator, W_student, W_teacher, options: CheckOptions, seeds, recipe=None, *,
                  given=()) -> CheckProblem:
    """The generator and the weights; a missing weight matrix is drawn (``options.weights`` ensemble).

    ``seeds`` are the check's streams (:data:`getheory._seeds.CHECK`): ``generator`` draws the
    default generator's A, ``weights`` the missing weights.  ``recipe`` (a
    :class:`GeneratorRecipe`) says how a worker rebuilds the given generator.  ``given`` names the
    options the caller set explicitly: one that a given generator or given weights would override
    (N, D, activation; K, M) is refused, as is one that differs from its default.
    """
    given_generator = generator is not None
    weights_given = (W_student is not None, W_teacher is not None)
    generator, recipe = _generator(generator, options, seeds.generator, recipe)
    N, D = generator.N, generator.D
    if W_student is None or W_teacher is None:
        K = positive_int(options.K, "K")
        M = positive_int(options.M, "M")
        Ws, Wt = draw_weights(N, D, K, M, seeds.weights, ensemble=options.weights)
        W_student = Ws if W_student is None else W_student
        W_teacher = Wt if W_teacher is None else W_teacher
    W_student = finite_matrix(W_student, "W_student", (None, N))
    W_teacher = finite_matrix(W_teacher, "W_teacher", (None, D))
    fields = W_student.shape[0] + W_teacher.shape[0]
    if fields > MAX_FIELDS:
        raise ValueError(f"K + M = {fields} fields; the streaming estimator takes at most {MAX_FIELDS} (lower K or M)")
    problem = CheckProblem(generator, W_student, W_teacher, recipe, given_generator)
    _refuse_ignored(problem, options, frozenset(given), weights_given)
    return problem
