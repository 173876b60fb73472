"""`getheory check`: check one generator against the theorem (docs/theory.md §6).

Prints a table and optionally writes JSON (``--json``) or check.md and check.json into a
folder (``--out``).  ``--shard-size ROWS`` cuts the measured run into shards, run in this
process, on ``--workers K`` local processes or on the Dask cluster at ``--scheduler ADDRESS``
(docs/theory.md §4.1, Sharded runs).  The generator is a random single-layer one, a user function
(``--generator``) or a trained dense network (``--weights FILE``, docs/theory.md §9).
All numerical work is :func:`getheory.check.check_generator`'s (its settings one
:class:`~getheory.check.CheckOptions`); the table and the files are :mod:`getheory.reports`'.
The d_MS estimators' flags (``--p``, ``--floor-replicates``, ``--certify``, and those of any
estimator registered since) are their settings in the estimator registry
(:func:`getheory.distances.estimator_settings`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from .._validation import CHECK_DTYPE, SAMPLE_DTYPES
from ..activations import ACTIVATIONS
from ..backend import USER_BACKENDS
from ..check import OMEGA_SAMPLES, CheckOptions, ShardOptions, check_generator
from ..distances import DmsOptions, StreamOptions, estimator_settings
from ..plan import DEFAULT_TIME_BUDGET, PlanOptions
from ..reports import format_check, write_check_json, write_check_report
from ._args import (
    add_weights_file,
    at_least,
    output_dir,
    output_file,
    positive,
    refuse_other_n,
    refuse_unused_monte_carlo,
    samples_arg,
    user_generator,
    weights_file_generator,
)
from ._commands import COMMANDS


def add_parser(sub):
    chk = sub.add_parser("check", help=COMMANDS["check"])
    g = chk.add_mutually_exclusive_group()
    g.add_argument("--activation", default="sign", choices=ACTIVATIONS,
                   help="built-in single-layer generator σ(A c/√D), A_ij ~ N(0,1) (default: sign)")
    g.add_argument("--generator", metavar="MODULE:FUNCTION",
                   help="a user generator: a function mapping latents c (n, D) to inputs x (n, N) (default: none, "
                        "the built-in --activation generator)")
    add_weights_file(g)
    chk.add_argument("--N", type=positive(int), default=None,
                     help="input dimension (default 2000; with --weights the file's, which a given N must match)")
    chk.add_argument("--D", type=positive(int), default=None,
                     help="latent dimension (default N/2; with --weights the file's, which a given D must match)")
    chk.add_argument("--K", type=positive(int), default=2, help="student fields (default 2)")
    chk.add_argument("--M", type=positive(int), default=2, help="teacher fields (default 2)")
    chk.add_argument("--samples", type=samples_arg, default="auto",
                     help="samples of (λ, ν), streamed, or 'auto' (default): a pilot plans n to resolve the "
                          "cumulants at 5σ or to fill --time-budget")
    chk.add_argument("--time-budget", type=positive(float), default=None, metavar="SECONDS",
                     help="with --samples auto: seconds for the moments, pilot, sampling and estimation "
                          f"(default {DEFAULT_TIME_BUDGET:g}); "
                          "the moments, pilot and sampling stop at the budget (a blocked generator at 1.1×) or "
                          "are refused up front, naming the budget they need")
    chk.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    chk.add_argument("--student-weights", choices=("gaussian", "abs_gaussian"), default="gaussian",
                     help="student weight ensemble (default gaussian)")
    _add_estimator_flags(chk)
    chk.add_argument("--n-plugin", type=at_least(int, 0), default=StreamOptions().n_plugin,
                     help="rows kept for the plug-in estimate, at most (default 2^18 = 262,144; with --samples auto "
                          "the pilot sizes it within this cap; 0: cumulants only)")
    chk.add_argument("--moment-samples", type=positive(int), default=None,
                     help="Monte Carlo rows of the Gaussian match of a non-single-layer generator, from their "
                          "fields (default 10^5 with --samples auto, else max(samples, 20000))")
    chk.add_argument("--omega-samples", type=at_least(int, 0), default=None, metavar="ROWS",
                     help="Monte Carlo rows of the N×N Ω and N×D Φ of a non-single-layer generator, formed only for "
                          f"the linearised Gaussian-equivalent condition (default {OMEGA_SAMPLES}; 0: skip it)")
    chk.add_argument("--shard-size", type=positive(int), default=None, metavar="ROWS",
                     help="cut the measured run into shards of ROWS rows (>= the 64 groups), merged exactly in "
                          "shard order: the numbers depend on the seed and ROWS, not on where the shards ran "
                          "(docs/theory.md §4.1); default: one stream")
    where = chk.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive(int), default=None, metavar="K",
                       help="with --shard-size: run the shards on K local processes (one BLAS thread each; "
                            "default: none, the shards run one after another in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="with --shard-size: run the shards on the Dask cluster at ADDRESS (tcp://host:8786); "
                            "a --generator MODULE:FUNCTION must be importable on its workers (default: none, no "
                            "cluster)")
    chk.add_argument("--backend", choices=USER_BACKENDS, default="numpy",
                     help="where the samples, the fields and their sums are computed (default numpy; cupy: on the "
                          "GPU)")
    chk.add_argument("--dtype", choices=SAMPLE_DTYPES, default=CHECK_DTYPE,
                     help=f"the samples' dtype (default {CHECK_DTYPE}): products and σ in it, every sum over rows "
                          "in float64; a generator whose output overflows float32 is refused, naming float64")
    chk.add_argument("--json", metavar="FILE", type=output_file,
                     help="write every number to this JSON file (default: none)")
    chk.add_argument("--out", metavar="DIR", type=output_dir,
                     help="write check.md (the table and the command that regenerates it) and check.json to DIR "
                          "(default: none, nothing written)")
    chk.add_argument("--quiet", action="store_true", help="no progress output")


def _add_estimator_flags(chk) -> None:
    """One flag per setting of the registered d_MS estimators: a switch for a boolean default, else a
    value read by the setting's own conversion."""
    for s in estimator_settings():
        if isinstance(s.default, bool):
            chk.add_argument(s.flag, dest=s.name, action="store_true", default=s.default, help=s.help)
        else:
            chk.add_argument(s.flag, dest=s.name, type=_arg_type(s.convert), choices=s.choices, default=s.default,
                             metavar=s.metavar, help=s.help)


def _arg_type(convert):
    """An argparse ``type`` from a setting's conversion (its ValueError becomes the flag's message)."""
    if convert in (int, float, str):
        return convert

    def parse(text):
        try:
            return convert(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _generator(args):
    """The generator asked for (a weights file or a user function; ``None``: the built-in one) and D.

    A user function needs ``--D`` (its latents' dimension; no default fits every function), and a
    given ``--N`` must be the one it returns: neither is silently replaced.  ``--moment-samples`` and
    ``--omega-samples`` are refused for a generator with exact moments, which never reads them.
    """
    if args.weights in ("gaussian", "abs_gaussian"):
        raise ValueError(f"--weights takes a weights FILE (.npz or .safetensors); the student weight ensemble "
                         f"is --student-weights {args.weights}")
    generator = weights_file_generator(args.weights, N=args.N, D=args.D)
    if args.generator:
        generator = user_generator(args.generator, args.D)
        refuse_other_n(args, generator)
    refuse_unused_monte_carlo(args, generator is None or generator.exact_moments, ("moment_samples", "omega_samples"))
    N = args.N if args.N is not None else CheckOptions.N
    D = args.D if args.D is not None else max(1, N // 2)  # as in dynamics and ridge
    return generator, D


def _options(args, D):
    """The command line's :class:`~getheory.check.CheckOptions`."""
    return CheckOptions(
        activation=args.activation,
        N=args.N if args.N is not None else CheckOptions.N,
        D=D,
        K=args.K,
        M=args.M,
        samples=args.samples,
        plan=PlanOptions(time_budget=args.time_budget) if args.time_budget is not None else None,
        seed=args.seed,
        weights=args.student_weights,
        moment_samples=args.moment_samples,
        omega_samples=args.omega_samples if args.omega_samples is not None else OMEGA_SAMPLES,
        dms=DmsOptions.from_settings({s.name: getattr(args, s.name) for s in estimator_settings()}),
        stream=StreamOptions(n_plugin=args.n_plugin),
        backend=args.backend,
        dtype=args.dtype,
        shards=ShardOptions(size=args.shard_size, workers=args.workers, scheduler=args.scheduler),
    )


def _refuse_report_folders(out):
    """``--out DIR``'s report files, checked before any work: a folder named check.json or check.md in
    DIR made the check fail only after all its work."""
    for name in ("check.json", "check.md"):
        if os.path.isdir(os.path.join(out, name)):
            raise ValueError(f"--out {out!r} holds a folder {name!r} where the check writes its report: remove "
                             "it, or give another --out")


def run(args) -> int:
    if args.out:
        _refuse_report_folders(args.out)
    generator, D = _generator(args)
    progress = not args.quiet
    if progress:
        print("getheory check: computing moments, sampling, estimating d_MS ...", file=sys.stderr)
    result = check_generator(generator, _options(args, D), progress=progress)
    print(format_check(result))
    if args.json:
        print(f"wrote {write_check_json(result, args.json)}")
    if args.out:
        for f in write_check_report(result, args.out, "getheory " + shlex.join(args.argv)):
            print(f"wrote {f}")
    return 0
