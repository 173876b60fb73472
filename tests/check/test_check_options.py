"""CheckOptions: one frozen dataclass with the command line's defaults, and keyword overrides."""

import dataclasses

import numpy as np
import pytest

from getheory.check import CheckOptions
from getheory.check._options import FIELDS, with_overrides
from getheory.distances import DmsOptions, StreamOptions
from getheory.plan import PlanOptions


def test_defaults_are_the_documented_ones():
    o = CheckOptions()
    assert (o.activation, o.N, o.D, o.K, o.M, o.samples, o.seed) == ("sign", 2000, 1000, 2, 2, "auto", 0)
    assert (o.weights, o.moment_samples, o.analytic, o.backend, o.dtype) == ("gaussian", None, True, "numpy", "float32")
    assert o.plan == PlanOptions() and o.dms == DmsOptions() and o.stream == StreamOptions()
    assert o.auto


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float128", "f4x"])
def test_a_dtype_other_than_float32_or_float64_is_refused_when_the_options_are_made(dtype):
    with pytest.raises(ValueError, match="dtype must be one of 'float32', 'float64'; got"):
        CheckOptions(dtype=dtype)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"N": -5}, ValueError, "N must be an integer >= 1; got -5"),
    ({"D": 0}, ValueError, "D must be an integer >= 1; got 0"),
    ({"K": 1.5}, TypeError, "K must be an integer >= 1"),
    ({"M": 0}, ValueError, "M must be an integer >= 1; got 0"),
    ({"backend": "tpu"}, ValueError, "unknown backend 'tpu': choose one of numpy, cupy"),
    ({"weights": "uniform"}, ValueError, "weights must be one of 'gaussian', 'abs_gaussian'"),
    ({"activation": "nope"}, ValueError, "unknown activation 'nope'"),
    ({"seed": "seven"}, TypeError, "seed must be an int, None or numpy.random.SeedSequence; got 'seven'"),
    ({"moment_samples": 0}, ValueError, "moment_samples must be an integer >= 1; got 0"),
    ({"analytic": "yes"}, TypeError, "analytic must be True or False"),
])
def test_bad_fields_are_refused_when_the_options_are_made(kwargs, error, message):
    with pytest.raises(error, match=message):
        CheckOptions(**kwargs)


def test_a_plan_with_a_fixed_number_of_samples_is_refused_not_dropped():
    with pytest.raises(ValueError, match="only plans n with samples='auto', and samples = 4,096 is fixed"):
        CheckOptions(samples=4096, plan=PlanOptions(time_budget=30.0))
    assert CheckOptions(samples=4096, plan=PlanOptions()).samples == 4096  # the default plan: nothing dropped


def test_local_workers_and_a_scheduler_are_refused_together_even_one_worker():
    from getheory.check import ShardOptions

    with pytest.raises(ValueError, match="either local workers or a Dask scheduler, not both"):
        ShardOptions(size=4096, workers=1, scheduler="tcp://h:8786")


def test_a_known_backend_this_machine_lacks_is_left_to_the_run():
    assert CheckOptions(backend="cupy").backend == "cupy"


def test_the_dtype_is_kept_by_its_numpy_name():
    assert CheckOptions(dtype=np.float32).dtype == "float32" and CheckOptions(dtype=np.dtype("f8")).dtype == "float64"


def test_none_sub_options_take_their_defaults_so_equal_settings_compare_equal():
    assert CheckOptions(plan=None, dms=None, stream=None) == CheckOptions()
    assert CheckOptions(dms=DmsOptions(p=2)) != CheckOptions()


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CheckOptions().N = 10


@pytest.mark.parametrize("samples, expected", [(1024, 1024), (np.int64(4096), 4096), (1e6, 1_000_000)])
def test_samples_become_an_int_of_at_least_1024(samples, expected):
    o = CheckOptions(samples=samples)
    assert o.samples == expected and type(o.samples) is int and not o.auto


@pytest.mark.parametrize("samples, error, message", [
    ("many", ValueError, "samples must be a positive integer or 'auto'; got 'many'"),
    (1000, ValueError, "samples must be an integer >= 1024; got 1000"),
    (2048.5, TypeError, "samples must be an integer >= 1024"),
    (None, TypeError, "samples must be an integer >= 1024"),
])
def test_bad_samples_are_refused_when_the_options_are_made(samples, error, message):
    with pytest.raises(error, match=message):
        CheckOptions(samples=samples)


def test_overrides_replace_only_the_fields_named():
    base = CheckOptions(N=64, D=32, seed=3)
    o = with_overrides(base, {"seed": 4, "samples": 2048})
    assert o == dataclasses.replace(base, seed=4, samples=2048)
    assert with_overrides(base, {}) is base
    assert with_overrides(None, {"N": 8}) == CheckOptions(N=8)


def test_an_unknown_keyword_is_refused_naming_every_valid_field():
    with pytest.raises(TypeError, match="unexpected keyword argument.*'sample'") as info:
        with_overrides(CheckOptions(), {"sample": 2048})
    for name in FIELDS + ("W_student", "W_teacher", "progress", "client", "recipe"):
        assert name in str(info.value)


def test_options_of_another_type_are_refused():
    with pytest.raises(TypeError, match="options must be a getheory.check.CheckOptions, got dict"):
        with_overrides({"N": 8}, {})


def test_the_fields_are_the_keywords_check_generator_took_before_options():
    assert FIELDS == ("activation", "N", "D", "K", "M", "samples", "plan", "seed", "weights", "moment_samples",
                      "dms", "stream", "analytic", "backend", "dtype", "shards", "omega_samples")
