"""Argument types shared by every `getheory` subcommand (argparse ``type=``)."""

from __future__ import annotations

import argparse
import os
import sys

from .._validation import check_output_dir, check_output_file
from ..generators import load_generator
from ..trained import load_dense

__all__ = [
    "add_weights_file",
    "at_least",
    "open_unit",
    "output_dir",
    "output_file",
    "positive",
    "refuse_other_n",
    "refuse_unused_monte_carlo",
    "samples_arg",
    "user_generator",
    "weights_file_generator",
]


def at_least(kind, minimum):
    """A parser for numbers of type ``kind`` that are >= ``minimum``."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not v >= minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return v

    return parse


def positive(kind):
    """A parser for strictly positive numbers of type ``kind``."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return v

    return parse


def open_unit(text):
    """A float in the open interval (0, 1), e.g. a confidence level."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {v}")
    return v


def output_dir(text):
    """An output folder (``--out DIR``): refused at parse time, before any work, when it is an
    existing file, lies under a file, or cannot be written (:func:`getheory._validation.check_output_dir`)."""
    try:
        return check_output_dir(text, name="")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def output_file(text):
    """An output file (``--json FILE``): refused at parse time, before any work, when it is an existing
    folder, its folder is missing or lies under a file, or nothing can be written there
    (:func:`getheory._validation.check_output_file`)."""
    try:
        return check_output_file(text, name="")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def samples_arg(text):
    """A sample count (an integer >= 1024, '1e6' allowed) or 'auto'."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None
    if not v.is_integer() or v < 1024:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1024 (or 'auto'), got {text}")
    return int(v)


def user_generator(spec, D):
    """The ``--generator MODULE:FUNCTION`` generator (the working directory importable), or None."""
    if not spec:
        return None
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if D is None:
        raise ValueError(f"--generator {spec} needs --D, the latent dimension: the function is called on latents "
                         "c of shape (n, D), and no default D fits every function")
    return load_generator(spec, D=D)


def refuse_other_n(args, generator) -> None:
    """Refuse a ``--N`` that the ``--generator MODULE:FUNCTION`` does not return (its own N would be used)."""
    if args.generator and generator is not None and args.N is not None and args.N != generator.N:
        raise ValueError(f"--N {args.N} was given, but the generator {args.generator} returns N = {generator.N} "
                         f"columns: leave out --N (the generator sets it) or give --N {generator.N}")


def refuse_unused_monte_carlo(args, exact: bool, flags=("moment_samples",)) -> None:
    """Refuse Monte Carlo flags (``--moment-samples``, ...) given for a generator whose moments are exact
    (a random single-layer one), which never reads them.  ``flags`` are the argument names (None: not given)."""
    given = ["--" + f.replace("_", "-") for f in flags if getattr(args, f, None) is not None]
    if exact and given:
        raise ValueError(f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} Monte Carlo rows for a "
                         "generator without closed-form moments, but this generator's moments are exact (a "
                         "single-layer σ(A c/√D), docs/theory.md §2): leave out " + " and ".join(given))


def add_weights_file(group):
    """Add ``--weights FILE``, a trained dense generator (docs/theory.md §9), to a command's generator group.

    ``group`` is the mutually exclusive group that holds ``--activation`` and ``--generator``.
    """
    group.add_argument("--weights", metavar="FILE",
                       help="a trained dense generator x^(l) = σ_l(W_l x^(l-1) + b_l): a .npz or .safetensors file "
                            "with W0, b0, W1, b1, ... and the activation names (getheory.trained); D and N are "
                            "read from the file (default: none)")


def weights_file_generator(path, N=None, D=None):
    """The ``--weights FILE`` generator, or None without a file.

    ``N`` and ``D`` are what the command line asked for (None when not given); a file
    whose network has other sizes is refused as a different architecture.
    """
    if not path:
        return None
    return load_dense(path, N=N, D=D)
