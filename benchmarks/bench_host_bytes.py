"""Bytes a whole check_generator moves from the device to the host, at two n.

Run:  python benchmarks/bench_host_bytes.py [--N 32 256] [--n 20480 1000000]

Runs ``check_generator`` (sign, D = N/2, K = M = 2, fixed n) on the simulated device
(``backend="strict"``), whose one door to the host (``Backend.to_numpy`` / ``scalar`` /
``to_bool``) counts the bytes, and prints them per N and n, with the share of the exact
moments (Ω, N × N, is a host result).  The samples and the plug-in reservoir never leave
the device, so the figure does not grow with n.
"""

from __future__ import annotations

import argparse


def main(argv=None):
    from getheory import check_generator, exact_moments, random_single_layer
    from getheory.backend import get_backend

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--n", type=int, nargs="+", default=[20_480, 1_000_000])
    a = ap.parse_args(argv)
    bk = get_backend("strict")
    for N in a.N:
        gen = random_single_layer(N, N // 2, "sign", seed=0)
        bk.reset_transfers()
        exact_moments(gen, backend=bk)
        moments = bk.reset_transfers()
        for n in a.n:
            check_generator(gen, samples=n, seed=0, backend=bk)
            print(f"N = {N:5d}, n = {n:10,d}: {bk.reset_transfers():9,d} bytes to the host "
                  f"(exact moments alone: {moments:,d})", flush=True)


if __name__ == "__main__":
    main()
