"""The estimate step: every d_MS estimate of docs/theory.md §4 on the check's ``dms`` stream."""

import json

from getheory import check_generator
from getheory.check import (
    CheckOptions,
    build_problem,
    compute_moments,
    estimate_step,
    plan_step,
    sample_step,
    start_run,
)
from getheory.distances import DmsOptions, estimate_dms


def test_the_estimate_is_estimate_dms_of_the_streamed_statistics_against_the_match():
    options = CheckOptions(activation="sign", N=10, D=5, K=1, M=1, samples=2048, seed=7,
                           dms=DmsOptions(floor_replicates=19))
    run = start_run(options)
    problem = build_problem(None, None, None, options, run.seeds)
    moments = compute_moments(problem, options, run)
    assert plan_step(problem, moments.match, options, run, spent=0.0) is None
    sampled = sample_step(problem, moments.match, 2048, options, run)
    est = estimate_step(sampled, moments, options, run)
    again = estimate_dms(sampled.stats, moments.match.mean, moments.match.cov, options=options.dms,
                         seed=start_run(options).seeds.dms)
    assert json.dumps(est.to_dict(), sort_keys=True) == json.dumps(again.to_dict(), sort_keys=True)
    assert est.n == 2048


def test_check_certified_bound_on_request():
    d = check_generator(activation="sign", N=16, D=8, K=1, M=1, samples=4000, seed=0,
                        dms=DmsOptions(certify=True, max_evaluations=200)).to_dict()
    ce = d["d_MS"]["certified"]
    assert ce["value"] >= d["d_MS"]["plug_in"]["value"] + ce["epsilon_n"] - 1e-12
