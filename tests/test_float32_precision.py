"""float32 samples against float64: the precision effect on what a check reports (docs/guide/gpus.md, "Backends,
precision and memory"; the large-N figures: ``python benchmarks/bench_float32.py``).

Products and σ run in the samples' dtype, every sum over rows in float64.  On identical latents
the rounding of float32 must move κ3, κ4, the Edgeworth d_MS and the plug-in by far less than
their standard errors; on independent draws the two dtypes must agree within their sampling
error.
"""

import math

import numpy as np
import pytest

import getheory as gt
from getheory.distances import FieldStream, StreamOptions, estimate_dms
from getheory.fields import stream_fields

N, D = 64, 32
#: (a): the largest float32 − float64 difference on identical latents, in standard errors of the
#: float64 estimate.  Measured here: at most 1e-6 (float32 rounds λ by ~1e-7 of its scale); the
#: same products in TF32 (10-bit mantissa, which getheory refuses) move one of the four figures by
#: 2.6e-3 (relu) to 2.3e-2 (sign) SE, so the bound tells float32 from a precision that matters
IDENTICAL_MAX_SE = 1e-3
#: (b): |z| of the difference of independent float64 and float32 runs, two-sided level 0.001 each
Z_INDEPENDENT = 3.29


@pytest.fixture(scope="module", params=["sign", "relu"])
def problem(request):
    gen = gt.random_single_layer(N, D, request.param, seed=3)
    Ws, Wt = gt.draw_weights(N, D, 1, 1, seed=4)
    return gen, Ws, Wt, gt.gaussian_match(gt.exact_moments(gen), Ws, Wt)


def _fields_of(gen, c, Ws, Wt, dtype):
    """(λ, ν) of the latents c with the sampler's arithmetic in ``dtype`` (getheory.fields)."""
    c = c.astype(dtype, copy=False)
    return np.concatenate([gen.sample(c) @ (Ws.T / math.sqrt(N)).astype(dtype),
                           c @ (Wt.T / math.sqrt(D)).astype(dtype)], axis=1)


def _figures(est):
    cu = est.cumulant
    return {"kappa3": (cu.kappa3, cu.se_kappa3), "kappa4": (cu.kappa4, cu.se_kappa4),
            "edgeworth": (cu.edgeworth_w1, cu.edgeworth_se)} | (
        {"plug_in": (est.plug_in.value, est.floor.sd)} if est.plug_in is not None else {})


def test_float32_moves_the_estimates_far_below_their_standard_error_on_identical_latents(problem):
    gen, Ws, Wt, match = problem
    c = np.random.default_rng(5).standard_normal((1 << 15, D))
    got = {}
    for dtype in ("float64", "float32"):
        sink = FieldStream(match.mean, match.cov, options=StreamOptions(n_plugin=8192))
        for s in range(0, c.shape[0], 4096):
            sink.update(_fields_of(gen, c[s:s + 4096], Ws, Wt, dtype))
        got[dtype] = _figures(estimate_dms(sink.finish(), match.mean, match.cov, seed=6))
    assert set(got["float64"]) == {"kappa3", "kappa4", "edgeworth", "plug_in"}
    for key, (a, se) in got["float64"].items():
        assert se > 0
        shift = abs(got["float32"][key][0] - a) / se
        assert shift < IDENTICAL_MAX_SE, f"{key}: float32 moved it by {shift:.1e} SE on identical latents"


def test_float32_and_float64_agree_within_sampling_error_on_independent_draws(problem):
    gen, Ws, Wt, match = problem
    got = {}
    for i, dtype in enumerate(("float64", "float32")):
        sink = FieldStream(match.mean, match.cov, options=StreamOptions(n_plugin=0))  # the cumulants only
        stream_fields(gen, Ws, Wt, 1 << 16, sink, seed=10 + i, dtype=dtype)
        got[dtype] = _figures(estimate_dms(sink.finish(), match.mean, match.cov, seed=20 + i))
    for key in ("kappa3", "kappa4", "edgeworth"):
        (a, sa), (b, sb) = got["float64"][key], got["float32"][key]
        z = (b - a) / math.hypot(sa, sb)
        assert abs(z) < Z_INDEPENDENT, f"{key}: float64 {a:.4g} ± {sa:.2g}, float32 {b:.4g} ± {sb:.2g}, z = {z:.2f}"


def test_the_streamed_statistics_of_float32_fields_are_float64():
    z = np.random.default_rng(0).standard_normal((4096, 2)).astype(np.float32)
    sink = FieldStream(np.zeros(2), np.eye(2))
    sink.update(z)
    st = sink.finish()
    assert {a.dtype for a in (st.S1, st.S2, st.S3, st.S4, st.reservoir)} == {np.dtype(np.float64)}
