"""The stream step: n streamed samples of (λ, ν) on the check's fields stream (docs/theory.md §1)."""

import numpy as np

from getheory.check import sample_step, start_run
from getheory.distances import FieldStream
from getheory.fields import stream_fields


def test_the_measured_run_streams_n_rows_of_the_fields_stream(small):
    options, run, problem, moments = small
    sampled = sample_step(problem, moments.match, 2048, options, run)
    sink = FieldStream(moments.match.mean, moments.match.cov, options=options.stream)
    stream_fields(problem.generator, problem.W_student, problem.W_teacher, 2048, sink,
                  seed=start_run(options).seeds.fields, dtype=run.dtype)
    expected = sink.finish()
    assert sampled.n == 2048 == sampled.stats.n == expected.n
    np.testing.assert_array_equal(sampled.stats.reservoir, expected.reservoir)
    np.testing.assert_array_equal(sampled.stats.S4, expected.S4)
