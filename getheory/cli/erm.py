"""`getheory erm`: full-batch ERM learning curves (logistic, hinge or square loss) on generator data vs
its Gaussian equivalent vs the theory (docs/theory.md §10).  Argument parsing and files only; the work
is in :func:`getheory.erm_curves` and :func:`getheory.erm.erm_finite_size`, the files in
:func:`getheory.reports.write_erm_report`.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys

from .._validation import check_output_dir
from ..activations import ACTIVATIONS
from ..backend import USER_BACKENDS
from ..erm import (
    ERM_TEACHERS,
    FINITE_SIZE_FOLDER,
    LOSSES,
    ErmOptions,
    checkpoint_exists,
    erm_curves,
    erm_finite_size,
    remove_checkpoint,
)
from ..reports import erm_verdicts, write_erm_report
from ._args import output_dir, positive, user_generator
from ._commands import COMMANDS
from .ridge import _floats, _ints


def add_parser(subparsers):
    p = subparsers.add_parser(
        "erm",
        help=COMMANDS["erm"],
        description=(
            "Fit ŵ = argmin Σ ℓ(y, w·x/√N) + (λ/2)‖w‖² with the logistic, hinge or square loss on a generator's "
            "features and on Gaussian-equivalent features from the same latents and labels, over α = n/N and "
            "λ, every fit certified (gradient norm or duality gap), test errors on fresh samples and error bars "
            "over seeds; compare with the replica-symmetric theory; write report.md, report.json and PNGs "
            "(docs/theory.md §10). The fits need the whole training set in memory: α·N·N numbers per source."
        ),
    )
    p.add_argument("--loss", choices=LOSSES, required=True, help="the loss ℓ (required: logistic, hinge or square)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--activation", default="sign", choices=ACTIVATIONS,
                   help="activation σ of a random single-layer generator σ(A c/√D) (default sign)")
    g.add_argument("--generator", metavar="MODULE:FUNCTION",
                   help="a user generator c (n, D) -> x (n, N) (default: none, the random --activation generator)")
    p.add_argument("--N", type=positive(int), default=1000, help="input dimension (default 1000)")
    p.add_argument("--D", type=positive(int), default=None, help="latent dimension (default N/2)")
    p.add_argument("--teacher", choices=ERM_TEACHERS, default="sign",
                   help="labels sign(θ·c/√D + √Δ ε) (default sign, every loss), or f(θ·c/√D) + √Δ ε with f "
                        "linear or erf2 (square loss only)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Δ (default 0)")
    p.add_argument("--alphas", type=_floats, default=list(ErmOptions.alphas),
                   help="comma-separated α = n/N (default 0.25,0.5,1,2,4,8)")
    p.add_argument("--lambdas", type=_floats, default=list(ErmOptions.lambdas),
                   help="comma-separated λ > 0 (default 0.01,0.1,1)")
    p.add_argument("--seeds", type=positive(int), default=ErmOptions.seeds, help="data seeds (default 5)")
    p.add_argument("--n-test", type=positive(int), default=ErmOptions.n_test,
                   help="fresh test samples per seed (default 10000)")
    p.add_argument("--no-gaussian", action="store_true", help="skip the Gaussian-equivalent source (default: run it)")
    p.add_argument("--no-generator", action="store_true", help="skip the generator source (default: run it)")
    p.add_argument("--no-theory", action="store_true", help="skip the theory (default: compute it)")
    p.add_argument("--finite-size", type=_ints, default=None, metavar="N1,N2,...",
                   help="also measure the generator − Gaussian gap against N at the same δ (random single-layer "
                        "generators only; default: none)")
    p.add_argument("--finite-size-seeds", type=positive(int), default=None, help="seeds per N (default --seeds)")
    p.add_argument("--moment-samples", type=positive(int), default=None,
                   help="Monte Carlo samples for (E x, Ω, Φ) of user generators (default 50 N)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--out", default="reports/erm", type=output_dir,
                   help="output folder (default reports/erm; an existing file is refused before any work)")
    p.add_argument("--backend", choices=USER_BACKENDS, default="numpy",
                   help="where the latents, noise and rows of both sources are made (default numpy; cupy: on the "
                        "GPU); the fits run on the host (NumPy, SciPy)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run whose checkpoint is in the checkpoint folder, with the same "
                        "settings (a difference is refused, naming it; --seeds may grow); starts the run when there "
                        "is no checkpoint yet. Without --resume an existing checkpoint is refused, so that nothing "
                        "is overwritten")
    p.add_argument("--checkpoint", metavar="DIR", default=None, type=output_dir,
                   help="folder where every finished data seed is saved (default OUT/checkpoint; the finite-size "
                        "run's in its sub-folder finite-size); removed once the report is written")
    p.add_argument("--quiet", action="store_true", help="no progress output (default: progress on stderr)")


def _options(args, checkpoint) -> ErmOptions:
    sources = tuple(s for s, off in (("generator", args.no_generator), ("gaussian", args.no_gaussian)) if not off)
    if not sources:
        raise ValueError("--no-generator and --no-gaussian leave nothing to fit")
    return ErmOptions(loss=args.loss, alphas=tuple(args.alphas), lambdas=tuple(args.lambdas), seeds=args.seeds,
                      teacher=args.teacher, noise=args.noise, n_test=args.n_test, sources=sources,
                      theory=not args.no_theory, backend=args.backend, checkpoint=checkpoint)


def _checkpoint_folder(args) -> str:
    """The checkpoint folder, checked writable before any work; one holding an earlier run is refused
    without ``--resume`` (as ``getheory dynamics`` does)."""
    checkpoint = check_output_dir(args.checkpoint or os.path.join(args.out, "checkpoint"), "checkpoint folder")
    if checkpoint_exists(checkpoint):
        if not args.resume:
            raise ValueError(f"{checkpoint} holds the checkpoint of an earlier run that did not finish: rerun with "
                             f"--resume to continue it (same settings), or delete {checkpoint} to start over")
    elif args.resume:
        print(f"getheory erm: no checkpoint in {checkpoint} yet: starting the run", file=sys.stderr)
    return checkpoint


def _command():
    """The command line that regenerates the report ("getheory erm ..."), or None when not run as one."""
    if "erm" in sys.argv[1:3]:
        return "getheory " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("erm"):])
    return None


def run(args) -> int:
    checkpoint = _checkpoint_folder(args)
    opts = _options(args, checkpoint)
    generator = user_generator(args.generator, args.D)
    if generator is not None and args.finite_size:
        raise ValueError("--finite-size needs a random single-layer generator (--activation), not --generator")
    try:
        res, fs = _measure(args, opts, generator)
    except KeyboardInterrupt:
        print(f"\ngetheory erm: interrupted; the checkpoint in {checkpoint} keeps every finished data seed: the same "
              "command with --resume continues from them", file=sys.stderr)
        return 130
    files = write_erm_report(res, args.out, finite_size=fs, command=_command())
    remove_checkpoint(checkpoint)  # the report holds everything the checkpoint did
    _print_summary(res, fs, files)
    return 0


def _measure(args, opts: ErmOptions, generator) -> tuple:
    """(the curves, the finite-size gaps or None), checkpointed in ``opts.checkpoint``."""
    progress = not args.quiet
    if progress:
        print(f"getheory erm: moments, theory, then {opts.seeds} seeds of {opts.loss} fits ...", file=sys.stderr,
              flush=True)
    res = erm_curves(generator, opts, activation=args.activation, N=args.N, D=args.D, seed=args.seed,
                     moment_samples=args.moment_samples, progress=progress)
    fs = None
    if args.finite_size:
        fs_opts = dataclasses.replace(opts, seeds=args.finite_size_seeds or opts.seeds,
                                      checkpoint=os.path.join(opts.checkpoint, FINITE_SIZE_FOLDER))
        fs = erm_finite_size(args.finite_size, fs_opts, activation=args.activation,
                             delta=res.settings["D"] / res.settings["N"], seed=args.seed, progress=progress)
    return res, fs


def _print_summary(res, fs, files) -> None:
    v = erm_verdicts(res)
    if v["validation"] is not None:
        print(f"  Gaussian data vs theory: {'agree' if v['validation']['passed'] else 'DISAGREE'} "
              f"(family level {v['validation']['level']:g})")
    if v["paired_gap"] is not None:
        print(f"  {v['paired_gap']['statement']}")
    if fs is not None:
        print(f"  {fs.statement()}")
    print("  time (s): " + ", ".join(f"{k} {t:.1f}" for k, t in res.timings.items()))
    for f in files:
        print(f"wrote {f}")
