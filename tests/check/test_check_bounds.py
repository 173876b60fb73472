"""The bounds step: every term of docs/theory.md §5 for single-layer generators, a note otherwise."""

import math

import pytest

from getheory import bound_terms, draw_weights, random_deep, random_single_layer
from getheory._run import start_run_context
from getheory.check import bounds_step
from getheory.check._bounds import GENERAL_NOTE, SINGLE_LAYER_NOTE
from getheory.check._problem import CheckProblem


def test_a_single_layer_generator_gets_every_bound_term():
    gen = random_single_layer(12, 6, "sign", seed=0)
    Ws, Wt = draw_weights(12, 6, 2, 1, seed=1)
    step = bounds_step(CheckProblem(gen, Ws, Wt), start_run_context(backend="numpy"))
    assert step.terms.to_dict() == bound_terms(gen, Ws, Wt).to_dict()
    assert step.terms.n_term == pytest.approx(1 / math.sqrt(12), rel=1e-15)  # N^-1/2
    assert step.note == SINGLE_LAYER_NOTE == "single-layer generator: all terms of docs/theory.md §5"


def test_other_generators_get_no_terms_and_the_note_why():
    gen = random_deep([4, 6, 5], "sign", seed=0)
    Ws, Wt = draw_weights(5, 4, 1, 1, seed=1)
    step = bounds_step(CheckProblem(gen, Ws, Wt), start_run_context(backend="numpy"))
    assert step.terms is None and step.note == GENERAL_NOTE
    assert "defined for single-layer generators" in step.note and "bound_term(W, M) takes a user M" in step.note
