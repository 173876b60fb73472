"""How often does reduced precision flip sign(h), and does it move the fields?

Run:  python benchmarks/bench_precision.py [--N 1000] [--D 1000] [--n 20000]

h = c Aᵀ/√D is computed in float64 (reference), float32, and "TF32"
(inputs rounded to a 10-bit mantissa, as tensor cores do, products
accumulated in float32).  Reported: the fraction of entries whose sign
differs from float64, and the largest change of λ = W sign(h)/√N that it
causes, next to the sampling standard error of λ at n = 10^8 samples
(1e-4), the scale at which getheory resolves d_MS.  getheory offers float64
and float32 only; this script is why there is no TF32 mode.
"""

import argparse

import numpy as np


def tf32(x):
    """Round float32 values to TF32 (10 explicit mantissa bits), round-to-nearest."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + (1 << 12)) & ~np.uint64((1 << 13) - 1)).astype(np.uint32)
    return b.view(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=1000)
    ap.add_argument("--D", type=int, default=1000)
    ap.add_argument("--n", type=int, default=20000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((a.N, a.D))
    c = rng.standard_normal((a.n, a.D))
    w = rng.standard_normal(a.N)
    h64 = c @ A.T / np.sqrt(a.D)
    h32 = (c.astype(np.float32) @ A.T.astype(np.float32)) / np.float32(np.sqrt(a.D))
    htf = (tf32(c) @ tf32(A.T)) / np.float32(np.sqrt(a.D))
    lam64 = np.sign(h64) @ w / np.sqrt(a.N)
    for name, h in (("float32", h32), ("TF32", htf)):
        flips = np.mean(np.sign(h) != np.sign(h64))
        dlam = np.abs(np.sign(h).astype(np.float64) @ w / np.sqrt(a.N) - lam64)
        print(f"{name:8s}: sign flips {flips:.2e} of entries; |Δλ| mean {dlam.mean():.2e}, max {dlam.max():.2e} "
              f"(λ has unit scale; SE of a moment at n=1e8 is 1e-4)")


if __name__ == "__main__":
    main()
