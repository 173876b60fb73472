"""The process's threads (getheory._cluster): BLAS threads limited around the host sampler's workers."""

from getheory._cluster import blas_threads, single_blas_threads, usable_cpus


def test_single_blas_threads_limits_inside_and_restores_after_nested_blocks():
    before = blas_threads()
    with single_blas_threads() as single:
        assert single and blas_threads() == 1
        with single_blas_threads() as inner:
            assert inner and blas_threads() == 1
        assert blas_threads() == 1  # the inner block left; the outer one still holds the limit
    assert blas_threads() == before


def test_usable_cpus_is_at_least_one():
    assert usable_cpus() >= 1
