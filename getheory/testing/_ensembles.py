"""Seeded constructions behind the strategies: generator weights and student/teacher weights
inside or outside the conditions of docs/theory.md §6.  No Hypothesis here.

Every function takes a NumPy ``Generator`` (the strategies seed it from a drawn integer,
which Hypothesis shrinks) and returns plain arrays with the shapes of docs/theory.md
"Notation": A (N, D), W_student (K, N), W_teacher (M, D).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ENSEMBLES",
    "coherence_limit",
    "coherent_rows",
    "incoherent_rows",
    "spiky_student",
    "spread_limit",
    "student_teacher_weights",
]

#: student-weight ensembles the strategies draw from
ENSEMBLES = ("gaussian", "rademacher", "abs_gaussian")

_MAX_TRIES = 1000
_MAX_TRIES_WEIGHTS = 20_000


def coherence_limit(N: int, D: int) -> float:
    """Largest |ρ_ij| the incoherent construction allows: min(0.8, 2.5 √(log N / D)).

    Strictly inside the check's pass region of §6 (max |ρ_ij| ≤ 3 √(log N / D) and < 0.9,
    :mod:`getheory.check`), so a generator built with it passes that condition.
    """
    return min(0.8, 2.5 * math.sqrt(max(math.log(N), 1.0) / D))


def spread_limit(N: int) -> float:
    """Largest max_i |w_ki|/‖w_k‖ the spread weights allow: min(0.48, 2 √(2 log N / N)).

    Strictly inside the check's pass region of §6 (≤ 2 √(2 log N / N) and < 0.5).
    """
    return min(0.48, 2.0 * math.sqrt(2.0 * max(math.log(N), 1.0) / N))


def _unit(v):
    return v / np.linalg.norm(v)


def incoherent_rows(N: int, D: int, rng, scale: float = 1.0) -> np.ndarray:
    """A (N, D) with every row scale s_i = ‖a_i‖/√D equal to ``scale`` and low coherence.

    Rows are Gaussian directions accepted one by one while max_{j<i} |ρ_ij| stays below
    :func:`coherence_limit` (a row is redrawn otherwise), times √D · scale (§1, §6).

    Raises
    ------
    ValueError
        When 1000 draws of one row all fail: D is too small for N rows at that coherence;
        raise D (δ = D/N) or lower N.
    """
    thr = coherence_limit(N, D)
    U = np.empty((N, D))
    for i in range(N):
        for _ in range(_MAX_TRIES):
            a = _unit(rng.standard_normal(D))
            if i == 0 or float(np.max(np.abs(U[:i] @ a))) < thr:
                break
        else:
            raise ValueError(
                f"could not place {N} rows in D = {D} dimensions with coherence below {thr:.3g} "
                f"(row {i} failed {_MAX_TRIES} draws); raise D (delta = D/N) or lower N")
        U[i] = a
    return U * (math.sqrt(D) * scale)


def coherent_rows(N: int, D: int, rng, coherence: float, aligned: int, scale: float = 1.0) -> np.ndarray:
    """A (N, D) whose first ``aligned`` rows are nearly parallel: ρ_0i = ``coherence``.

    Row 0 is a unit direction u; rows 1..aligned−1 are ρ u + √(1 − ρ²) v_i with v_i ⟂ u
    unit, so |ρ_0i| = ρ exactly and ρ_ij ≈ ρ² for the others; the remaining rows are drawn
    as in :func:`incoherent_rows` (no rejection).  Every row has scale ``scale``.  The
    coherence max_{i≠j} |ρ_ij| is then at least ``coherence`` (the §6 condition fails for
    ``coherence`` ≥ 0.9).
    """
    if D < 2:
        raise ValueError(f"coherent rows need D >= 2 (a direction orthogonal to the first row); got D = {D}")
    u = _unit(rng.standard_normal(D))
    rows = [u]
    for _ in range(aligned - 1):
        v = rng.standard_normal(D)
        v = _unit(v - (v @ u) * u)
        rows.append(coherence * u + math.sqrt(1.0 - coherence**2) * v)
    for _ in range(N - aligned):
        rows.append(_unit(rng.standard_normal(D)))
    A = np.array(rows) * (math.sqrt(D) * scale)
    return A[rng.permutation(N)]


def student_teacher_weights(N: int, D: int, K: int, M: int, rng, ensemble: str = "gaussian"):
    """W_student (K, N) spread out (§6) and W_teacher (M, D) with i.i.d. N(0, 1) entries.

    ``ensemble`` is ``"gaussian"`` (i.i.d. N(0, 1)), ``"rademacher"`` (±1) or
    ``"abs_gaussian"`` (|N(0, 1)|, non-zero third moment, §4 (c)).  Each Gaussian or
    |Gaussian| student row is drawn again until max_i |w_ki|/‖w_k‖ ≤ :func:`spread_limit`
    (conditioned on the spread condition: a strong conditioning at small N, where
    P(max_i |w_i|/‖w‖ ≤ 0.48) is 1.4 % at N = 8, 30 % at N = 16 and 98 % at N = 48 for Gaussian rows);
    Rademacher rows always meet it for N ≥ 5.
    """
    if ensemble not in ENSEMBLES:
        raise ValueError(f"unknown weight ensemble {ensemble!r}: choose one of {', '.join(ENSEMBLES)}")
    lim = spread_limit(N)
    W = np.empty((K, N))
    for k in range(K):
        for _ in range(_MAX_TRIES_WEIGHTS):
            if ensemble == "rademacher":
                w = rng.choice(np.array([-1.0, 1.0]), size=N)
            else:
                w = rng.standard_normal(N)
                if ensemble == "abs_gaussian":
                    w = np.abs(w)
            if float(np.max(np.abs(w)) / np.linalg.norm(w)) <= lim:
                break
        else:
            raise ValueError(f"could not draw a spread {ensemble} student row at N = {N} in {_MAX_TRIES_WEIGHTS} "
                             "draws; raise N")
        W[k] = w
    W_teacher = rng.standard_normal((M, D))
    return W, W_teacher


def spiky_student(W_student, rng, spike: float) -> np.ndarray:
    """W_student with one dominant weight per row: w_ki = ± spike · ‖w_k without i‖.

    Then max_i |w_ki|/‖w_k‖ = spike/√(spike² + 1) (≥ 0.707 for spike ≥ 1), which the §6
    spread condition flags; docs/theory.md §5 measures d_MS growing 60× for w_1 = 3√N.
    """
    W = np.array(W_student, dtype=np.float64, copy=True)
    K, N = W.shape
    for k in range(K):
        i = int(rng.integers(N))
        rest = math.sqrt(float(np.sum(W[k] ** 2) - W[k, i] ** 2))
        W[k, i] = (1.0 if rng.random() < 0.5 else -1.0) * spike * max(rest, 1.0)
    return W
