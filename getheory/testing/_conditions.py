"""The §6 condition verdicts of a single-layer problem, keyed by short names (no sampling).

:func:`check_conditions` runs the condition checks of :func:`getheory.check_generator`
(the same code, :mod:`getheory.check`) without its sampling and d_MS estimate, so property
tests can ask cheaply whether a drawn problem lies inside or outside a stated condition.
"""

from __future__ import annotations

from .._validation import finite_matrix
from ..bounds import bound_terms
from ..check import Condition, single_layer_conditions
from ..generators import SingleLayerGenerator

__all__ = ["CONDITIONS", "check_conditions"]

#: short name -> the start of the condition's name in getheory.check (docs/theory.md §6)
CONDITIONS = {
    "second_moment": "finite second moment",
    "row_scales": "row scales concentrated",
    "coherence": "coherence",
    "centred": "inputs centred",
    "bound_terms": "bound terms small",
    "weight_spread": "student weights spread",
}


def check_conditions(generator, W_student, W_teacher) -> dict[str, Condition]:
    """Verdicts of the §6 conditions for a single-layer generator and weights.

    Parameters
    ----------
    generator : SingleLayerGenerator
        x = σ(A c/√D), A of shape (N, D).
    W_student : array, shape (K, N)
    W_teacher : array, shape (M, D)

    Returns
    -------
    dict of str to Condition
        Keys ``second_moment``, ``row_scales``, ``coherence``, ``centred``,
        ``bound_terms``, ``weight_spread`` (:data:`CONDITIONS`); each
        :class:`~getheory.check.Condition` has ``verdict`` in {pass, warn, fail, info}
        and the numbers behind it.  Cost: the bound terms, O(N² D).

    Raises
    ------
    TypeError
        For generators other than :class:`~getheory.generators.SingleLayerGenerator`: the
        conditions of §6 on σ, the rows of A and the weights are stated for single-layer
        generators (check each layer of a deep generator as its own single-layer generator).
    """
    if not isinstance(generator, SingleLayerGenerator):
        raise TypeError(
            f"the §6 conditions are stated for SingleLayerGenerator, not {type(generator).__name__}; "
            "check each layer (A_l, σ_l) of a DeepGenerator as SingleLayerGenerator(A_l, σ_l)")
    W_student = finite_matrix(W_student, "W_student", (None, generator.N))
    bounds = bound_terms(generator, W_student, W_teacher)
    out = {}
    for cond in single_layer_conditions(generator, W_student, bounds):
        key = next((k for k, prefix in CONDITIONS.items() if cond.name.startswith(prefix)), cond.name)
        out[key] = cond
    return out
