"""Where ERM runs (getheory.erm._experiment, _data; docs/theory.md §10.5): the rows are made on
ErmOptions.backend and each comes to the host once, where the fits run; the simulated device
(array-api-strict's Device("device1")) gives NumPy's numbers."""

import numpy as np
import pytest

from getheory.backend import get_backend
from getheory.erm import ErmOptions, erm_curves, erm_finite_size, fit_erm

xs = pytest.importorskip("array_api_strict")

FIELDS = ("test_error", "train_loss", "certificate", "converged")


@pytest.mark.parametrize("loss", ["square", "logistic", "hinge"])
def test_erm_curves_on_the_strict_device_equal_numpy_and_move_each_row_once(loss):
    N, seeds, n_test, alphas = 30, 2, 300, (0.5, 2.0)
    strict = get_backend("strict")
    res = {}
    for name in ("numpy", "strict"):
        strict.reset_transfers()
        res[name] = erm_curves(options=ErmOptions(loss=loss, alphas=alphas, lambdas=(0.1,), seeds=seeds,
                                                  n_test=n_test, backend=name), N=N, seed=1)
        moved = strict.reset_transfers()
    assert res["strict"].settings["backend"] == res["strict"].settings["options"]["backend"] == "strict"
    for k in FIELDS:
        for src in ("generator", "gaussian"):
            np.testing.assert_allclose(getattr(res["strict"], k)[src], getattr(res["numpy"], k)[src], rtol=1e-12,
                                       atol=1e-15 if k == "certificate" else 0, err_msg=f"{k} {src}")
    rows = seeds * (round(alphas[-1] * N) + n_test)
    assert moved == rows * (2 * N + 1) * 8  # every row of both sources once, and its field ν = θ·c/√D


def test_the_finite_size_run_resolves_its_backend_once_and_records_its_name():
    fs = erm_finite_size([20, 30], ErmOptions(loss="square", alphas=(0.5, 2.0), lambdas=(0.1,), seeds=2, n_test=100,
                                             backend="strict"), seed=0)
    assert fs.settings["options"]["backend"] == "strict"


def test_an_unknown_backend_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="backend must be 'numpy' or 'cupy'"):
        ErmOptions(backend="tpu")


def test_a_hinge_fit_is_a_function_of_its_data_whatever_numpy_s_global_generator():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 20))
    y = np.sign(X @ rng.standard_normal(20))
    np.random.seed(1)
    a = fit_erm(X, y, "hinge", 0.1)
    np.random.seed(2)
    b = fit_erm(X, y, "hinge", 0.1)
    assert np.array_equal(a.w, b.w) and a.value == b.value
