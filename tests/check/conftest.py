"""Fixtures shared by the tests of the check's steps."""

import pytest

from getheory.check import CheckOptions, build_problem, compute_moments, start_run


@pytest.fixture(scope="module")
def small():
    """(options, run, problem, moments) of a tiny sign check with a fixed n = 2048 (K = M = 1)."""
    options = CheckOptions(activation="sign", N=10, D=5, K=1, M=1, samples=2048, seed=6)
    run = start_run(options)
    problem = build_problem(None, None, None, options, run.seeds)
    return options, run, problem, compute_moments(problem, options, run)
