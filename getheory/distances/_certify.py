"""The certified upper bound of d_MS (THEORY §4 Resolution (a)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._json import to_plain as _plain
from .._seeds import seedseq
from .._validation import check_int, check_level, check_p
from ._floor import sampling_floor
from ._inputs import _prepare
from ._search import SearchOptions, _as_search, _max_sliced_prepared, _NormalObjective



# ----------------------------------------------------------------------------------------
# certified upper bound (THEORY §4 Resolution (a))
# ----------------------------------------------------------------------------------------
@dataclass
class CertifiedBound:
    """An upper bound on d_MS(P, P̂) (THEORY §4 Resolution (a)).

    ``value = plug_in + search_gap + epsilon_n``: ``plug_in`` is the best exact value found
    (the search's direction, or a better branch-and-bound centre), ``plug_in + search_gap``
    is a rigorous (deterministic) upper bound of the empirical sup over u; ``epsilon_n``
    bounds sup_u W_p(u#P_n, u#P) with probability about ``confidence`` (Gaussian
    calibration, see ``method``).  ``lipschitz`` is L, ``covering_radius`` the largest
    chordal radius of the cells left open, ``n_evaluations`` the branch-and-bound budget used.
    """

    value: float
    plug_in: float
    epsilon_n: float
    search_gap: float
    confidence: float
    method: str
    lipschitz: float = float("nan")
    covering_radius: float = float("nan")
    n_evaluations: int = 0
    n: int = 0
    p: int = 1

    def to_dict(self) -> dict:
        return _plain({k: getattr(self, k) for k in (
            "value", "plug_in", "epsilon_n", "search_gap", "confidence", "method", "lipschitz",
            "covering_radius", "n_evaluations", "n", "p")})


@dataclass(frozen=True)
class _Budget:
    """When :func:`_branch_and_bound` stops: after ``max_evaluations`` directions on the full
    sample, or once its gap (upper bound minus best value) is at most ``tol``."""

    max_evaluations: int
    tol: float


def _branch_and_bound(bk, obj, d, L, lb0, budget: _Budget):
    """Upper bound of sup over the projective sphere of a function with Lipschitz constant L.

    Covering: every u (up to sign) equals x/|x| for some x on a face {x_k = 1, |x_j| <= 1}
    of the cube.  A face cell with centre c and half-width h (sup-norm) maps into the
    chordal ball of radius h·√(d-1) around c/|c| (radial projection onto the unit ball is
    1-Lipschitz outside it), so sup_cell g <= g(c/|c|) + L h √(d-1).  Cells are split
    best-first (2^{d-1} children) while the ``budget`` lasts; cells whose bound is below the
    best value found are discarded.  Returns (upper, lower, direction, n_eval, radius).
    """
    max_evaluations, tol = budget.max_evaluations, budget.tol
    xp = bk.xp
    if d == 1:
        v = float(bk.to_numpy(obj(bk.asarray(np.ones((1, 1)), dtype=xp.float64)))[0])
        return max(v, lb0), max(v, lb0), np.ones(1), 1, 0.0
    m = d - 1
    rad_factor = math.sqrt(m)
    per_face = max(1.0, min(max_evaluations / 4.0, 512.0) / d)
    s0 = max(1, int(math.floor(per_face ** (1.0 / m))))
    grid1 = -1.0 + (2.0 * np.arange(s0) + 1.0) / s0
    mesh = np.stack(np.meshgrid(*([grid1] * m), indexing="ij"), axis=-1).reshape(-1, m)
    faces = np.repeat(np.arange(d), mesh.shape[0])
    centers = np.tile(mesh, (d, 1))
    halfw = np.full(centers.shape[0], 1.0 / s0)

    def dirs(fc, cc):
        X = np.empty((cc.shape[0], d))
        for k in range(d):
            sel = fc == k
            X[sel, :k] = cc[sel, :k]
            X[sel, k] = 1.0
            X[sel, k + 1:] = cc[sel, k:]
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    def evaluate(fc, cc):
        U = dirs(fc, cc)
        return bk.to_numpy(obj(bk.asarray(U, dtype=xp.float64))).astype(np.float64), U

    g, U = evaluate(faces, centers)
    nev = g.size
    best = int(np.argmax(g))
    lb, u_lb = float(g[best]), U[best]
    if lb0 > lb:
        lb, u_lb = lb0, None
    children_offsets = np.stack(np.meshgrid(*([np.array([-0.5, 0.5])] * m), indexing="ij"), axis=-1).reshape(-1, m)
    nchild = children_offsets.shape[0]
    while True:
        ub_cells = g + L * rad_factor * halfw
        keep = ub_cells > lb
        faces, centers, halfw, g, ub_cells = faces[keep], centers[keep], halfw[keep], g[keep], ub_cells[keep]
        if g.size == 0 or float(np.max(ub_cells)) - lb <= tol:
            break
        n_split = min(g.size, (max_evaluations - nev) // nchild)
        if n_split <= 0:
            break
        order = np.argsort(-ub_cells)
        sp, rest = order[:n_split], order[n_split:]
        h2 = halfw[sp] / 2.0
        new_c = (centers[sp][:, None, :] + children_offsets[None, :, :] * halfw[sp][:, None, None]).reshape(-1, m)
        new_f = np.repeat(faces[sp], nchild)
        new_h = np.repeat(h2, nchild)
        gn, Un = evaluate(new_f, new_c)
        nev += gn.size
        j = int(np.argmax(gn))
        if gn[j] > lb:
            lb, u_lb = float(gn[j]), Un[j]
        faces = np.concatenate([faces[rest], new_f])
        centers = np.concatenate([centers[rest], new_c])
        halfw = np.concatenate([halfw[rest], new_h])
        g = np.concatenate([g[rest], gn])
    if g.size:
        ub = max(lb, float(np.max(g + L * rad_factor * halfw)))
        radius = float(np.max(halfw)) * rad_factor
    else:
        ub, radius = lb, 0.0
    return ub, lb, u_lb, nev, radius


def certified_upper_bound(samples, mean, cov, *, p=1, confidence=0.95, seed=None, floor=None, plug_in=None,
                          floor_replicates=19, max_evaluations=None, tol=0.0,
                          search: SearchOptions | None = None) -> CertifiedBound:
    """Certified upper bound of d_MS(P, P̂) from a sample of P (THEORY §4 Resolution (a)).

    Triangle inequality, for every direction u:

    .. math::

        W_p(u_\\#P, u_\\#\\hat P) \\le W_p(u_\\#P_n, u_\\#\\hat P) + W_p(u_\\#P_n, u_\\#P)
        \\ \\Rightarrow\\
        d_{MS}(P,\\hat P) \\le \\sup_u g(u) + \\sup_u W_p(u_\\#P_n, u_\\#P) .

    **First term (rigorous).**  g(u) = W_p(u#P_n, N(u·m, uᵀΣu)) is Lipschitz on R^d:
    coupling the two projections of the same sample point, and the two normals through
    the same Gaussian variable,

    .. math::

        |g(u) - g(v)| \\le \\sqrt{(u-v)^T S_n (u-v)} + c_p\\,|\\sigma_u - \\sigma_v|
        \\le \\big(\\sqrt{\\lambda_{\\max}(S_n)} + c_p\\sqrt{\\lambda_{\\max}(\\Sigma)}\\big)|u-v| = L|u-v| ,

    with S_n = (1/n)Σ(z_i - m)(z_i - m)ᵀ, c_1 = E|ζ| = √(2/π), c_2 = 1, and
    |σ_u - σ_v| = |‖Σ^{1/2}u‖ - ‖Σ^{1/2}v‖| <= ‖Σ^{1/2}(u - v)‖.  A branch-and-bound over a
    cube-face covering of the projective sphere (known covering radius per cell) then
    gives sup_u g <= max over evaluated centres + L·radius, exactly; ``search_gap`` is this
    bound minus the best value found.  The gap is small for d = 2 and for peaked signals;
    for d >= 4 and signals near the floor it is dominated by L·radius (covering in d - 1
    dimensions is expensive) and says so.

    **Second term (Gaussian calibration).**  ``epsilon_n`` is the rank-test threshold (the
    k-th largest replicate, exceeded under the null with probability k/(R + 1) = 1 − ``confidence``) of
    the floor distribution (:func:`sampling_floor`: the same estimator on exact Gaussian
    samples of the same n and Σ).  It is the distribution of sup_u W_p(u#P_n, u#P) when P
    is Gaussian, estimated by Monte Carlo with the search's lower bound; for non-Gaussian P
    it is an approximation (exact to leading order when P is close to P̂, the regime
    where the bound matters).  ``method`` states this.

    Parameters
    ----------
    samples, mean, cov, p
        As in :func:`max_sliced_w1`.
    confidence : float
        Level of the ε_n quantile (default 0.95).
    seed : int, SeedSequence or None
    floor : FloorResult, optional
        Reused when given with the same n and p (e.g. from :func:`estimate_dms`).
    plug_in : MaxSlicedResult, optional
        Its direction is re-evaluated on ``samples`` and seeds the branch-and-bound.
    floor_replicates : int
        Replicates when the floor must be computed.
    max_evaluations : int, optional
        Branch-and-bound budget in directions on the full sample (default
        clip(2.5·10^8 / n, 256, 8192)).
    tol : float
        Stop refining once the gap is below ``tol``.
    search : SearchOptions
        The search of the plug-in and of the floor (default full mode).
    """
    p = check_p(p)
    confidence = check_level(confidence)
    search = _as_search(search)
    prep = _prepare(samples, mean, cov)
    bk, n, d = prep.bk, prep.n, prep.d
    s_plug, s_floor = seedseq(seed).spawn(2)
    max_evaluations = _budget(max_evaluations, n)
    zc = prep.z - bk.asarray(prep.mean, dtype=bk.xp.float64)
    obj = _NormalObjective(bk, zc, bk.asarray(prep.cov, dtype=bk.xp.float64), p)
    if plug_in is None:
        plug_in = _max_sliced_prepared(prep, p, s_plug, search, zc=zc)
    lb0 = _value_along(bk, obj, plug_in.direction, d)
    L = _lipschitz(bk, zc, prep, p)
    ub, lb, _u, nev, radius = _branch_and_bound(bk, obj, d, L, lb0, _Budget(max_evaluations, float(tol)))
    floor = _floor_for(floor, prep, _FloorSpec(p, 1.0 - confidence, floor_replicates, search), s_floor)
    # ε_n is the floor's rank-test threshold: exceeded by a null replicate with probability
    # exactly floor.exact_level, the same threshold as the plug-in's test and plug-in + ε_n
    eps, confidence, gap = floor.threshold, 1.0 - floor.exact_level, ub - lb
    return CertifiedBound(value=ub + eps, plug_in=lb, epsilon_n=eps, search_gap=gap, confidence=confidence,
                          method=_method(p, n, L, (nev, radius, gap), confidence, floor), lipschitz=L,
                          covering_radius=radius, n_evaluations=nev, n=n, p=p)


@dataclass(frozen=True)
class _FloorSpec:
    """The sampling floor a certified bound calibrates ε_n with: order ``p``, rank-test ``level``
    (1 − confidence), ``replicates`` and the plug-in's ``search``."""

    p: int
    level: float
    replicates: int
    search: SearchOptions


def _floor_for(floor, prep, spec: _FloorSpec, seed):
    """``floor`` when it has the sample's n and p, else the sampling floor ``spec`` on ``prep``'s n and Σ."""
    if floor is None or floor.n != prep.n or floor.p != spec.p:
        floor = sampling_floor(prep.n, prep.cov, p=spec.p, replicates=spec.replicates, level=spec.level,
                               seed=seed, backend=prep.bk, search=spec.search)
    return floor


def _budget(max_evaluations, n) -> int:
    """The branch-and-bound budget: as given, or clip(2.5·10^8 / n, 256, 8192) directions."""
    if max_evaluations is None:
        max_evaluations = int(min(8192, max(256, 2.5e8 / n)))
    return check_int(max_evaluations, "max_evaluations", 1)


def _value_along(bk, obj, direction, d) -> float:
    """The objective along ``direction`` (normalised), e.g. the plug-in's: the branch-and-bound's first lower bound."""
    xp = bk.xp
    u0 = np.asarray(direction, dtype=np.float64).reshape(1, -1)
    if u0.shape[1] != d:
        raise ValueError(f"plug_in.direction has length {u0.shape[1]}, expected d = {d}")
    return float(bk.to_numpy(obj(bk.asarray(u0 / np.linalg.norm(u0), dtype=xp.float64)))[0])


def _lipschitz(bk, zc, prep, p) -> float:
    """L = √λ_max(S_n) + c_p √λ_max(Σ), c_1 = √(2/π), c_2 = 1: the Lipschitz constant of u -> g(u)."""
    S = bk.to_numpy(bk.xp.matmul(zc.T, zc)) / prep.n
    lam_s = float(np.max(np.linalg.eigvalsh(0.5 * (S + S.T))))
    lam_c = float(np.max(prep.eigvals))
    cp = math.sqrt(2.0 / math.pi) if p == 1 else 1.0
    return math.sqrt(max(lam_s, 0.0)) + cp * math.sqrt(max(lam_c, 0.0))


def _method(p, n, L, covering, confidence, floor) -> str:
    """The ``method`` text of a certified bound; ``covering`` is (evaluations, final covering radius, gap)."""
    nev, radius, gap = covering
    return (
        f"triangle inequality d_MS(P,P^) <= sup_u W{p}(u#P_n,u#P^) + sup_u W{p}(u#P_n,u#P). "
        f"First term: rigorous branch-and-bound over a cube-face covering of the projective sphere with "
        f"Lipschitz constant L = sqrt(lambda_max(S_n)) + {'sqrt(2/pi)' if p == 1 else '1'}*sqrt(lambda_max(Sigma))"
        f" = {L:.4g} ({nev} full-sample directions, final covering radius {radius:.3g}, gap {gap:.3g}). "
        f"Second term: epsilon_n = the rank-test threshold ({confidence:g} quantile) of the floor distribution "
        f"(the same max-sliced "
        f"estimator on {floor.replicates} exact Gaussian samples of size n = {n}), a Gaussian calibration of "
        f"sup_u W{p}(u#P_n,u#P): exact in law only when P is Gaussian, and a Monte Carlo quantile of a search "
        f"lower bound; the bound holds with probability about {confidence:g} under that calibration."
    )
