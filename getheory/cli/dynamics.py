"""`getheory dynamics`: ODE vs SGD on generator data vs SGD on Gaussian data
(docs/theory.md §7).  Argument parsing and files only; the work is in
:func:`getheory.dynamics.run_dynamics`.
"""

from __future__ import annotations

import os
import shlex
import sys

from .._validation import SAMPLE_DTYPES, check_output_dir
from ..activations import ACTIVATIONS, NETWORK_ACTIVATIONS
from ..backend import USER_BACKENDS
from ..dynamics import DynamicsOptions, load_problem, remove_checkpoint, run_dynamics
from ..reports import write_dynamics_report
from ._args import (
    add_weights_file,
    output_dir,
    positive,
    refuse_other_n,
    refuse_unused_monte_carlo,
    user_generator,
    weights_file_generator,
)
from ._commands import COMMANDS


def add_parser(subparsers):
    p = subparsers.add_parser(
        "dynamics",
        help=COMMANDS["dynamics"],
        description=(
            "Train a two-layer student by one-pass SGD on generator data and on Gaussian-equivalent data "
            "from the same initial weights and latents, integrate the ODEs of the order parameters, and "
            "write report.md, report.json and PNG learning curves (docs/theory.md §7)."
        ),
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--activation", default="sign", choices=ACTIVATIONS + ("identity",),
                   help="generator activation σ of a random generator, or 'identity' for x = c with D = N "
                        "(default sign)")
    g.add_argument("--generator", metavar="MODULE:FUNCTION",
                   help="a user generator c (n, D) -> x (n, N) (default: none, the random --activation generator)")
    add_weights_file(g)
    p.add_argument("--N", type=positive(int), default=None,
                   help="input dimension (default 1000; with --weights the file's, which a given N must match)")
    p.add_argument("--D", type=positive(int), default=None,
                   help="latent dimension (default N/2; with --weights the file's, which a given D must match)")
    p.add_argument("--depth", type=positive(int), default=1, help="layers L of a random generator (default 1)")
    p.add_argument("--widths", type=str, default=None,
                   help="comma-separated widths D,N_1,...,N_L of a deep generator (default D,N,...,N)")
    p.add_argument("--K", type=positive(int), default=None,
                   help="student hidden units (default 2; with --problem the file's, which a given K must match)")
    p.add_argument("--M", type=positive(int), default=None,
                   help="teacher hidden units (default 2; with --problem the file's, which a given M must match)")
    p.add_argument("--eta", type=positive(float), default=0.2, help="learning rate η (default 0.2)")
    p.add_argument("--t-max", type=positive(float), default=10.0, help="final time t = steps/N (default 10)")
    p.add_argument("--points", type=positive(int), default=40,
                   help="log-spaced record times of the learning curve (default 40)")
    p.add_argument("--g", choices=NETWORK_ACTIVATIONS, default="erf2",
                   help="network activation of student and teacher (default erf2 = erf(z/√2))")
    p.add_argument("--first-layer-only", action="store_true", help="keep the second layer v fixed")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--n-test", type=positive(int), default=10_000, help="held-out samples (default 10000)")
    p.add_argument("--moment-samples", type=positive(int), default=None,
                   help="Monte Carlo samples for (E x, Ω, Φ) of non-single-layer generators "
                        "(default max(100000, 50 N))")
    p.add_argument("--no-gaussian", action="store_true", help="skip SGD on Gaussian-equivalent data")
    p.add_argument("--ode-method", default="DOP853", choices=("DOP853", "RK45", "LSODA", "rk4"),
                   help="ODE integrator (default DOP853, adaptive)")
    p.add_argument("--ode-rtol", type=positive(float), default=1e-8, help="ODE relative tolerance (default 1e-8)")
    p.add_argument("--time-budget", type=positive(float), default=None,
                   help="seconds for SGD; it stops at the end of a batch when exceeded and the report says where "
                        "(default: none, no budget)")
    p.add_argument("--batch-size", type=positive(int), default=None,
                   help="samples generated per batch (default: about 32 MB of samples)")
    p.add_argument("--dtype", choices=SAMPLE_DTYPES, default="float64",
                   help="dtype of the SGD inputs and their products (default float64; float32 halves the products' "
                        "cost on a CPU, the update of the weights stays float64: docs/theory.md §7.8)")
    p.add_argument("--out", default="reports/dynamics", type=output_dir,
                   help="output folder (default reports/dynamics)")
    p.add_argument("--sgd-seeds", type=positive(int), default=5,
                   help="independent SGD runs per data source; curves are their means with SEs (default 5)")
    p.add_argument("--problem", metavar="FILE.npz",
                   help="exact problem: arrays W0 (K×N), v0 (K), W_teacher (M×D), v_teacher (M), and A (N×D, "
                        "activation from --activation) for a single-layer generator; a file without A takes its "
                        "generator from --weights or --generator. Every report writes its own problem.npz "
                        "(default: none, a random problem drawn from --seed)")
    p.add_argument("--backend", choices=USER_BACKENDS, default="numpy",
                   help="where samples, the SGD kernel and the eigendecompositions run (default numpy; "
                        "cupy: on the GPU, docs/theory.md §7.8)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted (or time-budget-stopped) run whose checkpoint is in the "
                        "checkpoint folder, with the same settings (a difference is refused, naming it); "
                        "starts the run when there is no checkpoint yet. Without --resume an existing "
                        "checkpoint is refused, so that nothing is overwritten")
    p.add_argument("--checkpoint", metavar="DIR", default=None, type=output_dir,
                   help="folder of the SGD checkpoint (default OUT/checkpoint); it is removed once the report "
                        "of a run whose seeds all finished is written")
    p.add_argument("--keep-checkpoint", action="store_true",
                   help="keep the checkpoint after a finished run, so that seeds can be added later "
                        "(--sgd-seeds S+1 --resume replays the S finished seeds and runs the new one)")
    p.add_argument("--checkpoint-every", type=float, default=5.0, metavar="SECONDS",
                   help="seconds between two saves of a seed's state (default 5; 0: every batch)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def run(args) -> int:
    generator, widths = _given_generator(args), _widths(args)
    generator, problem = _problem(args, generator)  # with --weights/--generator when the file holds no A
    # a random generator of depth 1 (σ(A c/√D) or x = c), or a problem file's A: exact moments
    refuse_unused_monte_carlo(args, generator.exact_moments if generator is not None else args.depth == 1)
    checkpoint = _checkpoint_folder(args)
    # the sizes and layers of a random generator; a given generator (--generator, --weights,
    # --problem) has its own
    random_kw = {} if generator is not None else {
        "activation": args.activation, "N": args.N if args.N is not None else 1000, "D": args.D,
        "depth": args.depth, "widths": widths}
    res = run_dynamics(generator, _options(args, checkpoint), **random_kw, progress=not args.quiet, **problem)
    command = None
    if "dynamics" in sys.argv[1:3]:  # called from the command line (not from main(argv) in a test)
        command = "getheory " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("dynamics"):])
    files = write_dynamics_report(res, args.out, command=command)
    _print_summary(res, files)
    _keep_or_remove_checkpoint(args, res, checkpoint)
    if res.settings["diverged"]:
        print("getheory dynamics: SGD DIVERGED (see the report's notes); every verdict says 'diverged'",
              file=sys.stderr)
        return 1
    return 0


def _given_generator(args):
    """The generator of ``--generator`` or ``--weights`` (None: a random one, or the problem file's); the
    layers of a random one (``--depth``, ``--widths``) are refused with a generator they cannot shape."""
    generator = user_generator(args.generator, args.D)
    refuse_other_n(args, generator)
    shaped_by = ("--generator" if args.generator else "--weights" if args.weights
                 else "--activation identity (x = c)" if args.activation == "identity" else None)
    if shaped_by and (args.depth != 1 or args.widths):
        raise ValueError(f"--depth and --widths shape a random generator; {shaped_by} has its own layers: leave "
                         "out --depth and --widths")
    if args.widths and args.depth == 1:
        raise ValueError(f"--widths {args.widths} lists the widths of a deep generator: give --depth L too (L + 1 "
                         "widths D,N_1,...,N_L), or leave out --widths for a single layer")
    if args.weights:
        generator = weights_file_generator(args.weights, N=args.N, D=args.D)
    return generator


def _widths(args):
    """The ``--widths`` of a deep random generator as integers (None when not given)."""
    if not args.widths:
        return None
    try:
        return [int(w) for w in args.widths.split(",")]
    except ValueError:
        raise ValueError(f"--widths must be comma-separated integers, got {args.widths!r}") from None


def _problem(args, generator):
    """(generator, the weights of ``--problem`` as keywords of run_dynamics; {} without it)."""
    if not args.problem:
        return generator, {}
    problem = load_problem(args.problem, args.activation, generator, N=args.N, D=args.D)
    generator = problem.pop("generator")
    sizes = (("K", args.K, problem["W0"].shape[0]), ("M", args.M, problem["W_teacher"].shape[0]))
    for flag, asked, has in sizes:
        if asked is not None and asked != has:
            raise ValueError(f"problem file {args.problem!r} has {flag} = {has} units, but --{flag} {asked} was "
                             f"given: leave out --{flag} (the file sets it) or give --{flag} {has}")
    return generator, problem


def _checkpoint_folder(args) -> str:
    """The checkpoint folder, checked writable before any work (a read-only one would fail at the first
    save); one holding an earlier run is refused without ``--resume``."""
    checkpoint = check_output_dir(args.checkpoint or os.path.join(args.out, "checkpoint"), "checkpoint folder")
    if os.path.exists(os.path.join(checkpoint, "run.json")):
        if not args.resume:
            raise ValueError(f"{checkpoint} holds the checkpoint of an earlier run (one that did not finish, or "
                             f"kept with --keep-checkpoint): rerun with --resume to continue it (same settings), "
                             f"or delete {checkpoint} to start over")
    elif args.resume:
        print(f"getheory dynamics: no checkpoint in {checkpoint} yet: starting the run", file=sys.stderr)
    return checkpoint


def _options(args, checkpoint):
    """The :class:`DynamicsOptions` of the command line."""
    return DynamicsOptions(
        K=args.K if args.K is not None else 2,
        M=args.M if args.M is not None else 2,
        eta=args.eta,
        t_max=args.t_max,
        points=args.points,
        g=args.g,
        train_second_layer=not args.first_layer_only,
        seed=args.seed,
        moment_samples=args.moment_samples,
        n_test=args.n_test,
        gaussian=not args.no_gaussian,
        ode_method=args.ode_method,
        ode_rtol=args.ode_rtol,
        time_budget=args.time_budget,
        batch_size=args.batch_size,
        dtype=args.dtype,
        sgd_seeds=args.sgd_seeds,
        backend=args.backend,
        checkpoint=checkpoint,
        checkpoint_every=args.checkpoint_every,
    )


def _print_summary(res, files):
    print(f"t reached {res.settings['t_reached']:.4g} (requested {res.settings['t_max_requested']:g})")
    for k, gp in res.gaps.items():
        print(f"  largest gap {k}: {gp['max_abs']:.3g} at t = {gp['at_t']:.3g} ({gp.get('verdict', '-')})")
    print(f"  SGD: {res.sgd['steps_per_second_per_source']:,.0f} steps/s per source end to end")
    for f in files:
        print(f"wrote {f}")


def _keep_or_remove_checkpoint(args, res, checkpoint):
    """Keep the checkpoint of a run stopped by its time budget (or with --keep-checkpoint), else delete it."""
    if res.settings["stopped_by_time_budget"]:
        print(f"checkpoint kept in {checkpoint}: the same command with --resume continues the run")
    elif args.keep_checkpoint:
        print(f"checkpoint kept in {checkpoint} (--keep-checkpoint): --resume with more --sgd-seeds adds seeds")
    else:  # every seed finished (or diverged): the report holds everything the checkpoint did
        remove_checkpoint(checkpoint)
