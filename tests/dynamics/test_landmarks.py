"""Landmarks of learning curves (docs/theory.md §7.10): the plateau, the escape time and the final error
of a curve with a known shape, over seeds with a known spread, and of a curve that never escapes."""

import numpy as np
import pytest
from scipy.optimize import brentq

from getheory.dynamics._compare import curve_landmarks


def _eps(t):
    """A fast fall, a plateau at about 0.05 from t ≈ 3 on, an escape near t = 100, a floor of 1e-4."""
    return 0.4 * np.exp(-t) + 0.05 / (1 + (t / 100.0) ** 3) + 1e-4


def test_plateau_and_escape_of_a_curve_of_known_shape():
    t = np.concatenate([[0.0], np.geomspace(0.01, 1000, 80)])
    out = curve_landmarks(t, _eps(t), {})
    t_p = out["t_plateau"]
    assert 3 < t_p < 60  # flattest in log-log: between the fall and the escape
    ref = out["reference"]
    assert ref["plateau"] == pytest.approx(_eps(t_p))
    exact = brentq(lambda s: _eps(s) - _eps(t_p) / 2, t_p, 1000)
    assert ref["escape_time"] == pytest.approx(exact, rel=0.02)  # log-log interpolation on 80 points
    assert ref["final"] == pytest.approx(_eps(1000.0))
    assert out["escape_seen_in_reference"]


def test_seed_landmarks_are_means_with_standard_errors_over_seeds():
    t = np.concatenate([[0.0], np.geomspace(0.01, 1000, 80)])
    rng = np.random.default_rng(0)
    scale = 1 + 0.02 * rng.standard_normal(6)  # each seed's curve: the same shape, scaled
    seeds = scale[:, None] * _eps(t)[None, :]
    out = curve_landmarks(t, _eps(t), {"generator": seeds})
    i_p = int(np.flatnonzero(t == out["t_plateau"])[0])
    got = out["curves"]["generator"]
    heights = seeds[:, i_p]
    assert got["plateau"]["mean"] == pytest.approx(heights.mean())
    assert got["plateau"]["se"] == pytest.approx(heights.std(ddof=1) / np.sqrt(6))
    assert got["plateau"]["n"] == got["plateau"]["of"] == 6
    # a scaled curve halves its own plateau at the same time: the escape times agree to interpolation error
    assert got["escape_time"]["se"] < 0.01 * got["escape_time"]["mean"]
    assert got["final"]["mean"] == pytest.approx(seeds[:, -1].mean())


def test_a_curve_that_never_halves_has_no_escape():
    t = np.concatenate([[0.0], np.geomspace(0.01, 50, 40)])
    eps = 0.4 * np.exp(-t) + 0.05
    out = curve_landmarks(t, eps, {"gaussian": np.vstack([eps, eps * 1.01])})
    assert not out["escape_seen_in_reference"]
    assert out["reference"]["escape_time"] is None
    esc = out["curves"]["gaussian"]["escape_time"]
    assert esc["mean"] is None and esc["n"] == 0 and esc["of"] == 2


def test_too_short_a_curve_has_no_landmarks():
    out = curve_landmarks([0.0, 0.5, 1.0, 2.0], [0.4, 0.3, 0.2, 0.1], {})
    assert out["t_plateau"] is None
