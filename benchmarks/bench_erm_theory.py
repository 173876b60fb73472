"""Seconds per (α, λ) point of getheory.erm_theory, per loss (docs/theory.md §10; target <= 1 s a point).

    python benchmarks/bench_erm_theory.py [--N 1000]

The problem: a single-layer sign generator's exact (Ω, Φ) at δ = 1/2, a Gaussian θ with ‖θ‖² = D,
α ∈ {0.25, 0.5, 1, 2, 4, 8}, λ ∈ {10⁻³, 10⁻¹, 1}.  The eigendecomposition of Ω is timed apart; each
loss's grid is timed whole and divided by its number of points.  Prints one line per loss and the
largest residual of the fixed point.
"""

import argparse
import math
import time

import numpy as np

import getheory as gt
from getheory.erm import erm_theory
from getheory.ridge import ridge_spectrum


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=1000)
    a = ap.parse_args()
    N, D = a.N, a.N // 2
    gen = gt.random_single_layer(N=N, D=D, activation="sign", seed=0)
    mom = gt.exact_moments(gen)
    theta = np.random.default_rng(1).standard_normal(D)
    theta *= math.sqrt(D) / np.linalg.norm(theta)
    t0 = time.perf_counter()
    ridge_spectrum(mom.Omega, mom.Phi, theta)
    print(f"N = {N}, D = {D}: eigendecomposition of Ω {time.perf_counter() - t0:.2f} s")
    alphas, lambdas = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], [1e-3, 1e-1, 1.0]
    for loss in ("square", "logistic", "hinge"):
        t0 = time.perf_counter()
        out = erm_theory(mom.Omega, mom.Phi, theta, loss=loss, alphas=alphas, lambdas=lambdas)
        per = (time.perf_counter() - t0) / (len(alphas) * len(lambdas))
        print(f"{loss:9s} {per:.3f} s a point (eigendecomposition included once), "
              f"all converged: {bool(out['converged'].all())}, largest residual {np.nanmax(out['residual']):.1e}")


if __name__ == "__main__":
    main()
