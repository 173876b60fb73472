"""Problem files of a dynamics run, and the generators a run builds (docs/theory.md §7.1).

:func:`save_problem` and :func:`load_problem` write and read ``problem.npz`` (the generator's A
and activation, the initial student and the teacher weights: ``PROBLEM_KEYS``), so that a run can
be repeated exactly; :func:`random_generator` draws the generator a run builds when given none,
and :func:`identity_generator`, :func:`identity_moments` give the classic teacher–student x = c.
The problem itself, as a run holds it, is :class:`getheory.dynamics.SGDProblem`.
"""

from __future__ import annotations

import io
import os

import numpy as np

from .._files import write_bytes
from .._validation import excerpt, positive_int
from ..generators import CallableGenerator, SingleLayerGenerator, random_deep, random_single_layer
from ..moments import Moments
from ._checks import _vector, _weights

__all__ = ["PROBLEM_KEYS", "identity_generator", "identity_moments", "load_problem", "random_generator",
           "save_problem"]


def identity_moments(N):
    """(E x, Ω, Φ) = (0, I, I) of the identity generator x = c (D = N)."""
    N = positive_int(N, "N")
    return Moments(mean=np.zeros(N), Omega=np.eye(N), Phi=np.eye(N), exact=True,
                   source="exact (identity generator x = c)")


def identity_generator(N):
    """The identity generator x = c with D = N (the classic teacher–student setting)."""
    def identity(c):
        return np.array(c, dtype=np.float64, copy=True)

    return CallableGenerator(identity, D=N, N=N, name="identity")


def random_generator(activation="sign", N=1000, D=None, depth=1, widths=None, *, seed=None):
    """The generator a dynamics run builds when none is given (docs/theory.md §1, §7.6).

    A random single-layer σ(A c/√D) with σ = ``activation`` (``depth`` 1), a
    random deep one (``depth`` L > 1, widths ``widths`` or [D, N, ..., N]), or
    the identity x = c (``activation="identity"``, D = N).  Returns
    ``(generator, moments)`` with the exact moments when they are known in
    closed form (identity), else ``None``.
    """
    N = positive_int(N, "N")
    if activation == "identity":
        if D is not None and D != N:
            raise ValueError("the identity generator has D = N")
        return identity_generator(N), identity_moments(N)
    D = positive_int(D if D is not None else max(1, N // 2), "D")
    depth = positive_int(depth, "depth")
    if depth == 1:
        return random_single_layer(N, D, activation, seed=seed), None
    w = list(widths) if widths is not None else [D] + [N] * depth
    if len(w) != depth + 1 or w[0] != D or w[-1] != N:
        raise ValueError(f"widths must be [D, ..., N] with {depth + 1} entries, got {w}")
    return random_deep(w, activation, seed=seed), None


#: arrays of a problem file (``getheory dynamics --problem FILE.npz``); ``A`` only for a single-layer generator
PROBLEM_KEYS = ("A", "W0", "v0", "W_teacher", "v_teacher")
#: the weights every problem file holds
WEIGHT_KEYS = PROBLEM_KEYS[1:]


def load_problem(path, activation, generator=None, *, N=None, D=None):
    """Read a problem file: the initial and teacher weights, and a single-layer generator σ(A c/√D).

    The ``.npz`` holds ``W0`` (K, N), ``v0`` (K,), ``W_teacher`` (M, D) and ``v_teacher`` (M,)
    (docs/theory.md §7.1), and ``A`` (N, D) when the generator was single-layer (σ is
    ``activation``).  A file without ``A`` was written for a generator given otherwise (a
    trained network, a user function): pass that ``generator``; its N and D must match the
    weights.  Returns a dict with ``generator``, ``W0``, ``v0``, ``W_teacher``, ``v_teacher``
    for :func:`run_dynamics`.

    ``N``, ``D``: sizes the caller asked for (``--N``, ``--D``); a problem of other sizes is
    refused, naming both.  An empty, truncated or otherwise unreadable file is refused with
    its name.
    """
    path = os.fspath(path)
    arr = _read_problem_file(path)
    generator = _problem_generator(path, arr, activation, generator)
    for name, asked, has in (("N", N, generator.N), ("D", D, generator.D)):
        if asked is not None and int(asked) != int(has):
            raise ValueError(f"problem file {path!r} is a problem with {name} = {has}, but {name} = {asked} was "
                             f"asked for: leave out --{name} (the file sets it) or give {name} = {has}")
    N, D = generator.N, generator.D
    W0 = _weights(arr["W0"], "W0 (problem file)", N)
    v0 = _vector(arr["v0"], "v0 (problem file)", W0.shape[0])
    Wt = _weights(arr["W_teacher"], "W_teacher (problem file)", D)
    vt = _vector(arr["v_teacher"], "v_teacher (problem file)", Wt.shape[0])
    return {"generator": generator, "W0": W0, "v0": v0, "W_teacher": Wt, "v_teacher": vt}


def _read_problem_file(path) -> dict:
    """The arrays of problem file ``path`` (float64); a missing, empty, unreadable or incomplete file is refused."""
    if not os.path.exists(path):
        raise ValueError(f"problem file {path!r} does not exist")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"problem file {path!r} is empty (0 bytes): it was not written completely; write it "
                         "again (every `getheory dynamics` report writes its problem.npz)")
    files, missing, arr = [], [], {}
    try:
        # opened here, not by np.load, so that a truncated archive's file is closed too
        with open(path, "rb") as fh:
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                # caught just below and reported, like any unreadable file, as a ValueError naming the file
                raise ValueError("it holds a single array, not an .npz archive of named arrays")  # noqa: TRY004
            with data:
                files = list(data.files)
                missing = [k for k in WEIGHT_KEYS if k not in files]
                if not missing:
                    arr = {k: np.asarray(data[k], dtype=np.float64) for k in PROBLEM_KEYS if k in files}
    except Exception as exc:  # noqa: BLE001 - a truncated zip raises BadZipFile, EOFError, zlib.error, ...
        raise ValueError(f"problem file {path!r} is not a readable .npz archive (truncated or damaged? "
                         f"{type(exc).__name__}: {excerpt(exc)}); write it again") from None
    if missing:
        raise ValueError(f"problem file {path!r} lacks {missing}; it needs the arrays {list(WEIGHT_KEYS)} "
                         f"(W0: (K, N), v0: (K,), W_teacher: (M, D), v_teacher: (M,)) and, for a "
                         f"single-layer generator, A: (N, D); it has {files}")
    return arr


def _problem_generator(path, arr, activation, generator):
    """The problem's generator: σ(A c/√D) from the file's ``A``, else the given ``generator``."""
    if "A" in arr:
        if generator is not None:
            raise ValueError(f"problem file {path!r} holds its generator (A); give no other generator with it")
        A = arr["A"]
        if A.ndim != 2 or not np.all(np.isfinite(A)):
            raise ValueError(f"problem file: A must be a finite (N, D) matrix, got shape {A.shape}")
        return SingleLayerGenerator(A, activation)
    if generator is None:
        raise ValueError(f"problem file {path!r} has no generator matrix A: it was written for a trained or "
                         "user generator; give that generator too (--weights FILE or --generator MODULE:FUNCTION)")
    return generator


def save_problem(path, problem: dict):
    """Write ``problem`` as an ``.npz`` for ``--problem``: the weights, and ``A`` when it is not None.

    As :func:`numpy.savez`, ``.npz`` is appended to a path without it; the file is written whole or
    not at all (:func:`getheory._files.write_bytes`), so an interrupted write leaves no truncated file.
    """
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(problem[k]) for k in PROBLEM_KEYS if problem.get(k) is not None})
    path = os.fspath(path)
    write_bytes(path if path.endswith(".npz") else path + ".npz", buf.getvalue())
