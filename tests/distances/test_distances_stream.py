"""Tests of the streaming estimation engine of getheory.distances (THEORY §4).

FieldStream's per-group power sums, the held-out cumulant estimator built on them, the
Monte Carlo match noise of the floor, the floor's rank test and the choice of estimator in
estimate_dms.  Exact identities are checked to rounding; every statistical tolerance is
justified in a comment by a closed form and its CLT error.  Seeds are fixed.
"""

import math

import numpy as np
import pytest
from scipy import stats

from getheory.distances import (
    CumulantOptions,
    FieldStream,
    FloorResult,
    MomentNoise,
    StreamOptions,
    cumulants_from_stats,
    edgeworth_w1,
    estimate_dms,
    k_statistics,
    merge_stats,
    sampling_floor,
    stream_array,
)
from getheory.distances import _cumulants, _floor

RADEMACHER_W1 = 0.535377321547880  # W1(Rademacher, N(0,1)), THEORY §4 step 1

MEAN3 = np.array([0.5, -1.0, 2.0])
A3 = np.array([[1.0, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.2, 0.4, 1.5]])
COV3 = A3 @ A3.T


def _skewed_rows(n, seed):
    """(n, 3) rows with mean MEAN3 and covariance COV3, non-Gaussian (an Exp(1) coordinate)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    x[:, 1] = rng.exponential(size=n) - 1.0
    return MEAN3 + x @ A3.T


# ------------------------------------------------------------------------------------------
# FieldStream: per-group power sums
# ------------------------------------------------------------------------------------------
def _group_of_rows(n, G, batches):
    """The documented assignment: each batch of b rows gives r = b // G contiguous rows to each
    group in order, its b - G r remainder rows go round-robin, continuing across batches."""
    grp = np.empty(n, dtype=int)
    start, nxt = 0, 0
    for b in batches:
        r = b // G
        grp[start: start + G * r] = np.repeat(np.arange(G), r)
        rem = b - G * r
        grp[start + G * r: start + b] = (nxt + np.arange(rem)) % G
        nxt = (nxt + rem) % G
        start += b
    assert start == n
    return grp


def _direct_sums(zt):
    """Power-sum tensors Σ_i z̃_a, Σ z̃_a z̃_b, ... over the rows of zt, and the same sums of |terms|."""
    out = []
    for w in (zt, np.abs(zt)):
        out.append([w.sum(0), np.einsum("ia,ib->ab", w, w), np.einsum("ia,ib,ic->abc", w, w, w),
                    np.einsum("ia,ib,ic,id->abcd", w, w, w, w)])
    return out


def _feed(z, G, batches, n_plugin=0):
    st = FieldStream(MEAN3, COV3, options=StreamOptions(groups=G, n_plugin=n_plugin))
    s = 0
    for b in batches:
        st.update(z[s: s + b])
        s += b
    return st.finish()


def _batches(n, size):
    """Batch sizes: all of size ``size`` (the last one shorter), or the listed sizes then the rest."""
    if isinstance(size, int):
        return [min(size, n - s) for s in range(0, n, size)]
    return list(size) + [n - sum(size)]


@pytest.mark.parametrize("n", [1000, 1003])
@pytest.mark.parametrize("size", [1003, 64, 100, 7, (1, 7, 8, 13, 200, 9, 500)])
def test_stream_power_sums_equal_direct_sums_over_each_group(n, size):
    G = 8
    batches = _batches(n, size)
    z = _skewed_rows(n, 1)
    fs = _feed(z, G, batches)
    grp = _group_of_rows(n, G, batches)
    s = np.sqrt(np.diag(COV3))
    zt = (z - MEAN3) / s
    assert np.array_equal(fs.mean, MEAN3) and np.allclose(fs.scale, s, rtol=1e-15)
    assert np.array_equal(fs.counts, np.bincount(grp, minlength=G))
    assert fs.counts.max() - fs.counts.min() <= 1 and fs.n == n
    for g in range(G):
        ref, absref = _direct_sums(zt[grp == g])
        for got, want, scale in zip((fs.S1[g], fs.S2[g], fs.S3[g], fs.S4[g]), ref, absref):
            # rounding of a sum is bounded by eps · (number of terms) · Σ|terms|: 1e-12 relative to Σ|terms|
            assert np.all(np.abs(got - want) <= 1e-12 * scale)


def test_stream_pooled_result_independent_of_batching_in_multiples_of_g():
    # batches in multiples of G: every group gets exactly n/G rows and the pooled sums are the
    # same sums of the same rows.  (Which rows a group holds does depend on the batching:
    # each batch is cut into G contiguous parts.)
    G, n = 8, 2400
    z = _skewed_rows(n, 2)
    runs = [_feed(z, G, _batches(n, size)) for size in (n, 8, 80, 800, (16, 2000, 384))]
    ref = runs[0].pooled()
    for fs in runs[1:]:
        assert np.array_equal(fs.counts, np.full(G, n // G))
        for got, want in zip(fs.pooled()[1:], ref[1:]):
            assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def _feed_part(z, G, batches, first_group, n_plugin=0):
    st = FieldStream(MEAN3, COV3, options=StreamOptions(groups=G, n_plugin=n_plugin), first_group=first_group)
    s = 0
    for b in batches:
        st.update(z[s: s + b])
        s += b
    return st.finish()


@pytest.mark.parametrize("cut", [1200, 1203, 5])
def test_merged_halves_equal_one_stream_fed_the_same_rows_in_the_same_groups(cut):
    """Two parts, each streamed as one batch, the second starting at group cut mod G, merged: the
    counts are those of one stream fed the same two batches, and so are the power sums, bit for bit
    when the parts are whole multiples of G (one float addition per entry, to a zero in the one
    stream and to the first part in the merge), else to rounding (a part's remainder rows are
    added to it before the merge, to the running sum in the one stream)."""
    G, n = 8, 2400
    z = _skewed_rows(n, 5)
    one = _feed(z, G, [cut, n - cut], n_plugin=1500)
    a = _feed_part(z[:cut], G, [cut], 0, n_plugin=1500)
    b = _feed_part(z[cut:], G, [n - cut], cut % G, n_plugin=max(0, 1500 - cut))
    zt = np.abs((z - MEAN3) / np.sqrt(np.diag(COV3)))
    for merged in (merge_stats([a, b], n_plugin=1500), a.merge(b, n_plugin=1500)):
        assert np.array_equal(merged.counts, one.counts) and merged.n == n
        for r, got, want in zip((1, 2, 3, 4), merged.pooled()[1:], one.pooled()[1:]):
            if cut % G == 0:
                assert np.array_equal(got, want), r
            # a sum's rounding is bounded by eps · (terms) · Σ|terms|: 1e-12 relative to Σ|terms|^r
            assert np.all(np.abs(got - want) <= 1e-12 * np.sum(zt**r)), r
        assert np.array_equal(merged.reservoir, one.reservoir) and merged.reservoir.shape == (1500, 3)
    # the groups match the documented assignment of the one stream, and stay balanced
    assert np.array_equal(one.counts, np.bincount(_group_of_rows(n, G, [cut, n - cut]), minlength=G))
    assert one.counts.max() - one.counts.min() <= 1


def test_merge_adds_left_to_right_and_leaves_the_parts_alone():
    G = 8
    z = _skewed_rows(3000, 6)
    parts = [_feed_part(z[i * 1000:(i + 1) * 1000], G, [1000], (i * 1000) % G) for i in range(3)]
    before = [p.S4.copy() for p in parts]
    m = merge_stats(parts)
    assert np.array_equal(m.S4, (parts[0].S4 + parts[1].S4) + parts[2].S4)
    assert np.array_equal(m.S1, parts[0].merge(parts[1]).merge(parts[2]).S1)
    assert all(np.array_equal(p.S4, b) for p, b in zip(parts, before)) and m.reservoir is None


def test_merge_refuses_parts_of_different_streams():
    z = _skewed_rows(400, 7)
    a = _feed_part(z, 8, [400], 0)
    with pytest.raises(ValueError, match="groups, d"):
        merge_stats([a, _feed_part(z, 16, [400], 0)])
    other = FieldStream(MEAN3 + 1, COV3, options=StreamOptions(groups=8, n_plugin=0))
    other.update(z)
    with pytest.raises(ValueError, match="same Gaussian match"):
        a.merge(other.finish())
    with pytest.raises(ValueError, match="at least one"):
        merge_stats([])
    with pytest.raises(ValueError, match="first_group"):
        FieldStream(MEAN3, COV3, first_group=-1)


def test_kstats_from_sums_equal_scipy_kstat():
    rng = np.random.default_rng(0)
    ys = [rng.exponential(size=n) * 1.3 + 0.7 for n in (5, 57, 1000, 20000)]
    for y in ys:
        s = [np.sum(y**r) for r in range(1, 5)]
        k2, k3, k4 = _cumulants._kstats_from_sums(y.size, *s)
        assert k2 == pytest.approx(stats.kstat(y, 2), rel=1e-10)
        assert k3 == pytest.approx(stats.kstat(y, 3), rel=1e-10)
        assert k4 == pytest.approx(stats.kstat(y, 4), rel=1e-10)
    # vectorised over samples of equal size ("any shapes")
    Y = rng.standard_t(6, size=(5, 300)) + 0.2
    S = [np.sum(Y**r, axis=1) for r in range(1, 5)]
    _, k3, k4 = _cumulants._kstats_from_sums(300, *S)
    assert np.allclose(k3, [stats.kstat(y, 3) for y in Y], rtol=1e-10, atol=0)
    assert np.allclose(k4, [stats.kstat(y, 4) for y in Y], rtol=1e-10, atol=0)


# ------------------------------------------------------------------------------------------
# the held-out cumulant estimator on the stream
# ------------------------------------------------------------------------------------------
def test_heldout_cumulants_equal_kstatistics_of_evaluation_rows():
    G, r, seed = 16, 500, 7
    n = G * r
    z = _skewed_rows(n, 3)
    fs = stream_array(z, MEAN3, COV3, options=StreamOptions(groups=G, n_plugin=0), batch_rows=n)
    res = cumulants_from_stats(fs, COV3, options=CumulantOptions(n_directions=256, iterations=10), seed=seed)
    # one batch of n = G r rows: group g holds rows g r ... (g + 1) r - 1; the selection groups
    # come from the first child of the seed (cumulants_from_stats: s_split, s_dir = ss.spawn(2))
    s_split = np.random.SeedSequence(seed).spawn(2)[0]
    sel, ev = _cumulants._split_groups(G, 0.25, s_split)
    assert res.groups_select == sel.size == 4 and res.groups_eval == ev.size == 12
    rows = {g: z[g * r: (g + 1) * r] for g in range(G)}
    u = res.direction
    assert np.linalg.norm(u) == pytest.approx(1, rel=1e-12)
    sig = math.sqrt(u @ COV3 @ u)
    assert res.sigma == pytest.approx(sig, rel=1e-12)

    y_ev = np.concatenate([rows[g] for g in ev]) @ u
    k = k_statistics(y_ev)
    assert res.n_eval == y_ev.size == 12 * r
    assert res.kappa3 == pytest.approx(k["k3"] / sig**3, rel=1e-9)
    assert res.kappa4 == pytest.approx(k["k4"] / sig**4, rel=1e-9)
    # the selection statistics are the k-statistics of the selection rows along u
    ks = k_statistics(np.concatenate([rows[g] for g in sel]) @ u)
    assert res.selection["n_select"] == 4 * r
    assert res.selection["kappa3_select"] == pytest.approx(ks["k3"] / sig**3, rel=1e-9)
    assert res.selection["kappa4_select"] == pytest.approx(ks["k4"] / sig**4, rel=1e-9)
    # delete-one-group jackknife over the evaluation groups, recomputed from the rows
    loo = np.array([[k_statistics(np.concatenate([rows[h] for h in ev if h != g]) @ u)[f"k{o}"] / sig**o
                     for o in (3, 4)] for g in ev])
    m = ev.size
    se = np.sqrt((m - 1) / m * np.sum((loo - loo.mean(0)) ** 2, axis=0))
    assert res.se_kappa3 == pytest.approx(se[0], rel=1e-9)
    assert res.se_kappa4 == pytest.approx(se[1], rel=1e-9)
    assert res.z_kappa3 == pytest.approx(res.kappa3 / res.se_kappa3, rel=1e-12)
    assert res.z_kappa4 == pytest.approx(res.kappa4 / res.se_kappa4, rel=1e-12)
    assert res.edgeworth_w1 == pytest.approx(sig * edgeworth_w1(res.kappa3, res.kappa4), rel=1e-12)
    assert "12 evaluation groups" in res.se_method


def test_jackknife_se_gaussian_matches_closed_form():
    # Gaussian data: Var k3 = 6/n, Var k4 = 24/n (up to O(1/n²)) for the n_eval held-out rows.
    # One jackknife SE over 48 groups has a relative sd ≈ 1/√(2·47) ≈ 10 %; the RMS over 6
    # independent streams has ≈ 4 %, so 15 % is more than 3.5 of its sd.
    n, d = 200_000, 2
    A = np.array([[1.0, 0.0], [0.6, 0.5]])
    C = A @ A.T
    v3, v4, vt3, vt4 = [], [], [], []
    for s in range(6):
        z = np.random.default_rng(40 + s).standard_normal((n, d)) @ A.T + [1.0, -0.5]
        fs = stream_array(z, [1.0, -0.5], C, options=StreamOptions(groups=64, n_plugin=0))
        r = cumulants_from_stats(fs, C, options=CumulantOptions(n_directions=256, iterations=10), seed=s)
        assert r.groups_eval == 48 and r.n_eval == 48 * n // 64
        v3.append(r.se_kappa3**2), v4.append(r.se_kappa4**2)
        vt3.append(6 / r.n_eval), vt4.append(24 / r.n_eval)
    assert math.sqrt(np.mean(v3)) == pytest.approx(math.sqrt(np.mean(vt3)), rel=0.15)
    assert math.sqrt(np.mean(v4)) == pytest.approx(math.sqrt(np.mean(vt4)), rel=0.15)


# ------------------------------------------------------------------------------------------
# FieldStream: memory and validation
# ------------------------------------------------------------------------------------------
def _held_bytes(obj):
    """Bytes of the NumPy arrays an object holds in its attributes (lists included)."""
    tot = 0
    for v in vars(obj).values():
        for a in (v if isinstance(v, (list, tuple)) else [v]):
            if isinstance(a, np.ndarray):
                tot += a.nbytes
    return tot


def test_stream_memory_does_not_grow_with_n():
    G, d, n_plugin, n, b = 64, 3, 1000, 1_000_000, 1 << 16
    st = FieldStream(MEAN3, COV3, options=StreamOptions(groups=G, n_plugin=n_plugin))
    rng = np.random.default_rng(0)
    first = None
    held = []
    for s in range(0, n, b):
        z = MEAN3 + rng.standard_normal((min(b, n - s), d)) @ A3.T
        if first is None:
            first = z[:n_plugin].copy()
        st.update(z)
        held.append(_held_bytes(st))
    # everything held: the tensors, the reservoir and O(d + G) bookkeeping
    tensors = G * (d + d**2 + d**3 + d**4) * 8
    assert held[0] == held[-1] <= tensors + n_plugin * d * 8 + 1024
    fs = st.finish()
    assert fs.n == n and fs.counts.sum() == n and fs.counts.max() - fs.counts.min() <= 1
    assert fs.S1.shape == (G, d) and fs.S2.shape == (G, d, d)
    assert fs.S3.shape == (G, d, d, d) and fs.S4.shape == (G, d, d, d, d)
    # the reservoir is the first n_plugin rows, unstandardised, in its own buffer (not a view
    # that would keep the first batch alive)
    assert fs.reservoir.shape == (n_plugin, d) and np.array_equal(fs.reservoir, first)
    assert fs.reservoir.base is None or fs.reservoir.base.size == n_plugin * d


def test_stream_refuses_bad_dimensions():
    with pytest.raises(ValueError, match=r"1 <= K \+ M <= 8 fields; got d = 9"):
        FieldStream(np.zeros(9), np.eye(9))
    with pytest.raises(ValueError, match=r"1 <= K \+ M <= 8 fields; got d = 0"):
        FieldStream(np.zeros(0), np.zeros((0, 0)))
    st = FieldStream(np.zeros(2), np.eye(2), options=StreamOptions(groups=8))
    with pytest.raises(ValueError, match="batch has 3 columns, the stream expects d = 2"):
        st.update(np.ones((20, 3)))
    with pytest.raises(ValueError, match="stream is empty"):
        st.finish()
    with pytest.raises(ValueError, match="cov has shape"):
        FieldStream(np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="groups"):
        StreamOptions(groups=4)


# ------------------------------------------------------------------------------------------
# the floor: Monte Carlo match noise and the rank test
# ------------------------------------------------------------------------------------------
def test_mc_match_mean_and_wishart_spread():
    # K = 2 student fields with mean mu_lambda, 1 teacher field with mean 0 (exact).  Small groups
    # (5 rows) make the Wishart divisor n_s - n_g = 32 differ from n_s = 40 by 25 %.
    K, n_s, n_g, N = 2, 40, 8, 4000
    mu = np.array([0.4, -0.3, 0.0])
    B = np.array([[1.0, 0.0, 0.0], [0.5, 0.9, 0.0], [0.3, -0.4, 0.8]])
    C = B @ B.T
    C = 0.5 * (C + C.T)  # exactly symmetric
    w, V = np.linalg.eigh(C)
    L = V * np.sqrt(w)
    noise = MomentNoise(n_samples=n_s, n_groups=n_g, K=K)
    rng = np.random.default_rng(11)
    draws = [_floor._mc_match(rng, mu, L, C, noise) for _ in range(N)]
    M = np.array([m for m, _ in draws])
    S = np.array([c for _, c in draws])
    # the teacher block and mean are exact in every draw; Σ̃ is symmetric
    assert np.all(S[:, K:, K:] == C[K:, K:]) and np.all(M[:, K:] == mu[K:])
    assert np.array_equal(S, np.transpose(S, (0, 2, 1)))
    # closed-form variances of the estimators of n_s Gaussian rows in n_g equal groups:
    #   m_a = mean of the rows: C_aa / n_s;
    #   Q_ab = average of the within-group covariances: (C_aa C_bb + C_ab²) / (n_s - n_g) (Wishart);
    #   R_ab = average of the within-group cross-covariances: the same Wishart variance, whatever mu_a.
    var_m = np.diag(C)[:K] / n_s
    var_Q = (np.outer(np.diag(C), np.diag(C)) + C**2)[:K, :K] / (n_s - n_g)
    var_R = (np.outer(np.diag(C), np.diag(C)) + C**2)[:K, K:] / (n_s - n_g)
    # means: unbiased, within 4 CLT standard errors of the mean over N draws
    assert np.all(np.abs(M[:, :K].mean(0) - mu[:K]) < 4 * np.sqrt(var_m / N))
    assert np.all(np.abs(S[:, :K, :K].mean(0) - C[:K, :K]) < 4 * np.sqrt(var_Q / N))
    assert np.all(np.abs(S[:, :K, K:].mean(0) - C[:K, K:]) < 4 * np.sqrt(var_R / N))
    # spreads: a sample variance of N draws has relative sd √((2 + excess kurtosis)/N) ≈ √(2.4/N) ≈ 2.4 %
    # (Q_aa is a χ²_32 / 32: excess kurtosis 12/32); 10 % is > 4 sd.  mu_λ = (0.4, −0.3) no longer
    # adds mu_a² C_bb / n_s to R's variance: the centred R does not carry mu_λ ν̄_gᵀ
    assert np.allclose(S[:, :K, :K].var(0, ddof=1), var_Q, rtol=0.10)
    assert np.allclose(S[:, :K, K:].var(0, ddof=1), var_R, rtol=0.10)
    assert np.allclose(M[:, :K].var(0, ddof=1), var_m, rtol=0.10)


@pytest.mark.parametrize("R, k", [(19, 1), (39, 2), (99, 5)])
def test_floor_rank_threshold_exact_level(R, k):
    vals = np.random.default_rng(R).permutation(R).astype(float)  # 0, 1, ..., R - 1 in random order
    fl = FloorResult(mean=float(vals.mean()), q95=float(np.quantile(vals, 0.95)), values=vals, replicates=R,
                     level=0.05)
    assert fl.rank == k
    assert fl.threshold == R - k  # the k-th largest
    assert fl.exact_level == pytest.approx(0.05, rel=1e-12) and fl.exact_level == k / (R + 1)
    assert fl.to_dict()["rank"] == k


def test_sampling_floor_rank_test_and_minimum_replicates():
    for level, r_min in ((0.05, 19), (0.1, 9), (0.07, 14)):
        with pytest.raises(ValueError, match=f"needs at least {r_min} floor replicates; got {r_min - 1}"):
            sampling_floor(20, np.eye(1), replicates=r_min - 1, level=level, seed=0)
        fl = sampling_floor(20, np.eye(1), replicates=r_min, level=level, seed=0)
        assert fl.rank == 1 and fl.threshold == fl.values.max() and fl.values.shape == (r_min,)
    # R = 1/level - 1 gives the exact level k/(R + 1) = level
    fl = sampling_floor(20, np.eye(1), replicates=39, level=0.05, seed=0)
    assert fl.rank == 2 and fl.threshold == np.sort(fl.values)[-2] and fl.exact_level == pytest.approx(0.05)


# ------------------------------------------------------------------------------------------
# estimate_dms: which estimator is reported
# ------------------------------------------------------------------------------------------
RULE = "the plug-in is reported when it is resolved and >= 3 x its floor mean"


def test_estimate_dms_reports_plugin_for_strong_non_gaussianity():
    # independent Rademacher coordinates: W1 along an axis is 0.5354, the floor at n = 20000 ≈ 0.01
    n = 20_000
    z = np.random.default_rng(3).choice([-1.0, 1.0], size=(n, 2))
    est = estimate_dms(z, np.zeros(2), np.eye(2), seed=0)
    assert est.estimator == "plug-in" and est.resolved
    assert est.value == est.plug_in.value and est.se == est.floor.sd
    assert est.plug_in.value >= 3 * est.floor.mean and est.plug_in.value > est.floor.threshold
    # CLT along the axis (as in test_distances.test_rademacher_d2_known_value): within 4/√n of 0.5354
    assert est.plug_in.value >= RADEMACHER_W1 - 4 / math.sqrt(n)
    assert RULE in est.choice_rule and est.choice_rule in est.statement()
    assert est.to_dict()["estimator"] == "plug-in"


def _weighted_rademacher_sum(rng, rows, c):
    """Σ_k c_k ε_k over 64 Rademachers ε_k (one random bit each)."""
    bits = np.unpackbits(rng.integers(0, 256, (rows, 8), dtype=np.uint8), axis=1)
    return (2.0 * bits - 1.0) @ c


def test_estimate_dms_reports_edgeworth_for_weak_non_gaussianity():
    # coordinate 0 = Σ_k c_k ε_k, 64 Rademachers with geometric weights c_k ∝ 0.96^k (Σ c_k² = 1):
    # κ3 = 0, κ4 = -2 Σ c_k⁴ ≈ -0.082, Edgeworth W1 ≈ 0.005.  (Equal weights would give a lattice of
    # spacing 2/√m, whose W1 ≈ 1/(2√m) the plug-in resolves easily; these 2^64 atoms are not a
    # lattice at this n.)  Coordinate 1 is N(0, 1).  The stream keeps 5·10^4 rows for the plug-in,
    # whose floor (≈ 0.007) hides the signal, while the held-out κ4 has SE √(24/3·10^5) ≈ 0.009.
    c = 0.96 ** np.arange(64)
    c /= np.linalg.norm(c)
    k4_true = -2 * np.sum(c**4)
    n, b = 400_000, 1 << 16
    st = FieldStream(np.zeros(2), np.eye(2), options=StreamOptions(groups=64, n_plugin=50_000))
    rng = np.random.default_rng(5)
    for s in range(0, n, b):
        m = min(b, n - s)
        st.update(np.column_stack([_weighted_rademacher_sum(rng, m, c), rng.standard_normal(m)]))
    est = estimate_dms(st.finish(), np.zeros(2), np.eye(2), seed=0)
    cu = est.cumulant
    assert est.estimator == "edgeworth" and est.n == n and est.n_plugin == 50_000
    assert est.value == cu.edgeworth_w1 and est.se == cu.edgeworth_se
    assert not (est.resolved and est.plug_in.value >= 3 * est.floor.mean)
    # resolvable: the t-test rejects κ = 0, and κ4(u) = u_0⁴ κ4 within 3 SE (independent coordinates)
    assert cu.resolved and abs(cu.direction[0]) > 0.97
    assert abs(cu.kappa4 - cu.direction[0] ** 4 * k4_true) < 3 * cu.se_kappa4
    assert abs(cu.kappa3) < 3 * cu.se_kappa3
    assert RULE in est.choice_rule and est.choice_rule in est.statement()
