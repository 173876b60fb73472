"""`getheory ridge`: ridge learning curves on generator data vs its Gaussian equivalent vs
the deterministic equivalent (docs/theory.md §8).  Argument parsing and files only; the
work is in :func:`getheory.ridge.ridge_curves`, the files in :func:`getheory.reports.write_ridge_report`.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys

from ..activations import ACTIVATIONS
from ..backend import USER_BACKENDS
from ..reports import agreement_table, write_ridge_report
from ..ridge import DEFAULT_ALPHAS, DEFAULT_LAMBDAS, TEACHERS, RidgeOptions, ridge_curves, ridge_finite_size
from ._args import output_dir, positive, refuse_other_n, refuse_unused_monte_carlo, user_generator
from ._commands import COMMANDS


def _floats(text):
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals or any(not v > 0 for v in vals):
        raise argparse.ArgumentTypeError(f"every value must be > 0, got {text!r}")
    return vals


def _ints(text):
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if len(vals) < 2 or any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"give at least two positive sizes, got {text!r}")
    return vals


def add_parser(subparsers):
    p = subparsers.add_parser(
        "ridge",
        help=COMMANDS["ridge"],
        description=(
            "Fit ridge regression on a generator's features and on Gaussian-equivalent features from the same "
            "latents and labels, over α = n/N and λ, with test errors on fresh samples and error bars over "
            "seeds; compare with the deterministic equivalent; write report.md, report.json and PNGs "
            "(docs/theory.md §8). XᵀX and Xᵀy are accumulated in batches: no n × N array is held."
        ),
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--activation", default="sign", choices=ACTIVATIONS,
                   help="activation σ of a random single-layer generator σ(A c/√D) (default sign)")
    g.add_argument("--generator", metavar="MODULE:FUNCTION",
                   help="a user generator c (n, D) -> x (n, N) (default: none, the random --activation generator)")
    p.add_argument("--N", type=positive(int), default=None, help="input dimension (default 1000)")
    p.add_argument("--D", type=positive(int), default=None, help="latent dimension (default N/2)")
    p.add_argument("--teacher", choices=TEACHERS, default="sign",
                   help="teacher f of y = f(θ·c/√D) + √Δ ε (default sign)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Δ (default 0)")
    p.add_argument("--alphas", type=_floats, default=list(DEFAULT_ALPHAS),
                   help="comma-separated α = n/N (default 20 values on [0.1, 10] with 1)")
    p.add_argument("--lambdas", type=_floats, default=list(DEFAULT_LAMBDAS),
                   help="comma-separated λ (default 1e-4,1e-2,1)")
    p.add_argument("--seeds", type=positive(int), default=4, help="data seeds (default 4)")
    p.add_argument("--n-test", type=positive(int), default=10_000,
                   help="fresh test samples per seed (default 10000)")
    p.add_argument("--no-gaussian", action="store_true", help="skip the Gaussian-equivalent source")
    p.add_argument("--no-generator", action="store_true", help="skip the generator source")
    p.add_argument("--solver", choices=("auto", "eigh", "cholesky"), default="auto",
                   help="eigh once for all λ, or Cholesky per λ (default auto: Cholesky up to 8 λ, else eigh)")
    p.add_argument("--solve-threads", type=positive(int), default=None,
                   help="BLAS threads for the solves (1 is faster on a busy machine; default: as BLAS is "
                        "configured)")
    p.add_argument("--finite-size", type=_ints, default=None, metavar="N1,N2,...",
                   help="also measure the gaps against N at the same δ (random single-layer generators only; "
                        "default: none)")
    p.add_argument("--finite-size-seeds", type=positive(int), default=None, help="seeds per N (default --seeds)")
    p.add_argument("--moment-samples", type=positive(int), default=None,
                   help="Monte Carlo samples for (E x, Ω, Φ) of user generators (default 50 N)")
    p.add_argument("--batch-size", type=positive(int), default=None,
                   help="rows per streamed batch (default: from the device's memory budget)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", default="reports/ridge", type=output_dir,
                   help="output folder (default reports/ridge; an existing file is refused before any work)")
    p.add_argument("--backend", choices=USER_BACKENDS, default="numpy",
                   help="where the samples, XᵀX, Xᵀy and the test errors live (default numpy; cupy: on the GPU); "
                        "the solves run on the host")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _options(args):
    """The :class:`getheory.ridge.RidgeOptions` of the command line (at least one source)."""
    sources = tuple(s for s, off in (("generator", args.no_generator), ("gaussian", args.no_gaussian)) if not off)
    if not sources:
        raise ValueError("--no-generator and --no-gaussian leave nothing to simulate")
    return RidgeOptions(backend=args.backend, alphas=args.alphas, lambdas=args.lambdas, seeds=args.seeds,
                        teacher=args.teacher, noise=args.noise, n_test=args.n_test, sources=sources,
                        solver=args.solver, batch_size=args.batch_size, solve_threads=args.solve_threads)


def _finite_size_options(args, opts, generator):
    """The options of the --finite-size runs (None without it); refuses a user generator and sizes too small."""
    if generator is not None:
        if args.finite_size:
            raise ValueError("--finite-size needs a random single-layer generator (--activation), not --generator")
    if not args.finite_size:
        if args.finite_size_seeds is not None:
            raise ValueError("--finite-size-seeds sets the seeds of the --finite-size runs: give --finite-size "
                             "N1,N2,... too, or leave it out")
        return None
    fs_opts = dataclasses.replace(opts, seeds=args.finite_size_seeds or opts.seeds)
    # refuse bad sizes before the main run starts
    for n in args.finite_size:
        if len({int(round(a * n)) for a in opts.alphas}) != len(opts.alphas):
            raise ValueError(f"--finite-size N={n} is too small for {len(opts.alphas)} distinct n = α N")
    return fs_opts


def _command():
    """The command line that regenerates the report ("getheory ridge ..."), or None when not run as one."""
    if "ridge" in sys.argv[1:3]:
        return "getheory " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("ridge"):])
    return None


def _print_summary(res, files):
    for k, a in agreement_table(res).items():
        print(f"  {k}: {a['resolved']}/{a['points']} points resolved (|z| > {a['threshold']:.3g}), median |gap| "
              f"{a['median_relative']:.2%}, largest {a['max_relative']:.2%} at α={a['at_alpha']:g}, "
              f"λ={a['at_lambda']:g}")
    print("  time (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items()))
    for f in files:
        print(f"wrote {f}")


def run(args) -> int:
    opts = _options(args)
    generator = user_generator(args.generator, args.D)
    refuse_other_n(args, generator)
    refuse_unused_monte_carlo(args, generator is None)  # the random single-layer generator's moments are exact
    fs_opts = _finite_size_options(args, opts, generator)
    progress = not args.quiet
    if progress:
        print("getheory ridge: moments, Gaussian-equivalent sampler, theory, then the learning curves ...",
              file=sys.stderr, flush=True)
    res = ridge_curves(generator, activation=args.activation, N=args.N, D=args.D, options=opts, seed=args.seed,
                       moment_samples=args.moment_samples, progress=progress)
    fs = None
    if fs_opts is not None:
        delta = res.settings["D"] / res.settings["N"]
        fs = ridge_finite_size(args.finite_size, activation=args.activation, delta=delta, options=fs_opts,
                               seed=args.seed, progress=progress)
    files = write_ridge_report(res, args.out, finite_size=fs, command=_command())
    _print_summary(res, files)
    return 0
