"""The checkpoint folder of a long run: the settings that fix its numbers and one file per finished
unit (a seed), so that an interrupted run resumes with the same numbers.

A checkpoint is a folder with

``run.json``
    ``{"format": FORMAT, "settings": {...}}``: the format string of the workflow that wrote it
    (``getheory-dynamics-checkpoint/1``, ``getheory-erm-checkpoint/1``) and the settings that fix
    the run's numbers (sizes, seeds, backend, SHA-256 digests of the arrays behind them: see
    :func:`array_digest`).  A run that finds a different ``run.json`` there is refused before any
    work, naming each difference (settings listed as free, e.g. the number of seeds, may differ).
``seed-KKK.npz`` (and e.g. ``seed-KKK-records.npz``)
    the state of seed ``KKK``: a JSON ``meta`` entry (which names the format and the seed) and the
    workflow's arrays.

The workflows own what goes into those files (:mod:`getheory.dynamics._checkpoint`: SGD states and
random states; :mod:`getheory.erm._checkpoint`: the fits of a finished data seed); this module owns
the folder: :meth:`CheckpointFolder.open` (``run.json``, refusals), :meth:`CheckpointFolder.read` and
:meth:`CheckpointFolder.write` (one ``.npz``), :func:`remove_checkpoint`.

Files: every file is written by :func:`getheory._files.write_bytes` with ``sync=True`` (a temporary
file fsynced, moved into place, the folder fsynced), so a kill at any instant leaves the previous
complete file or the new one.  This is the one place below the presentation layer that writes
files while a computation runs: a resumable run needs its state on disk as it goes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os

import numpy as np

from ._files import remove_stale_temporaries, write_bytes
from ._validation import check_output_dir, excerpt

__all__ = ["CheckpointFolder", "array_digest", "array_sums", "npz_bytes", "remove_checkpoint"]

#: two computed arrays whose digests differ are the same to round-off when their :func:`array_sums`
#: agree to this relative tolerance (another machine's BLAS changes last bits, ~1e-16 relative)
SUMS_RTOL = 1e-10


def array_digest(a) -> str:
    """SHA-256 of a host array's dtype, shape and bytes."""
    a = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def array_sums(a) -> list:
    """(Σ a, Σ a², Σ |a|) of a host array, in float64: they agree to round-off between two machines
    that compute the same array with sums in another order, where :func:`array_digest` does not."""
    a = np.asarray(a, dtype=np.float64)
    return [float(np.sum(a)), float(np.sum(a * a)), float(np.sum(np.abs(a)))]


def _sums_agree(old, new) -> bool:
    """Two :func:`array_sums` lists that agree to :data:`SUMS_RTOL`: Σ a relative to Σ |a|, the others
    relative to themselves."""
    if not (isinstance(old, list) and isinstance(new, list) and len(old) == len(new) == 3):
        return False
    scale = [abs(new[2]), abs(new[1]), abs(new[2])]
    return all(abs(o - n) <= SUMS_RTOL * max(sc, 1e-300) for o, n, sc in zip(old, new, scale))


def npz_bytes(arrays: dict) -> bytes:
    """The bytes of an uncompressed ``.npz`` holding ``arrays``."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _plain(x):
    """JSON's view of ``x`` (tuples become lists), for comparing settings with a stored run.json."""
    return json.loads(json.dumps(x, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


class CheckpointFolder:
    """A checkpoint folder (module docstring) of the format ``fmt``.

    Parameters
    ----------
    path : str or PathLike
    fmt : str
        The format string stored in ``run.json`` and in every file's ``meta``; another is refused.
    free : tuple of str
        Settings that may differ on a resume (they do not change the numbers of the finished seeds).
    unit : str
        What a seed file holds, in words, for messages (e.g. ``"SGD seed"``).
    defaults : dict
        Settings newer than some stored checkpoints, with the value those checkpoints' runs had: a
        stored ``run.json`` without one is read as having that value.
    near : dict
        Digest setting -> its sums setting (:func:`array_digest`, :func:`array_sums`) for arrays the
        run computes (moments): when the digests differ but the sums agree to :data:`SUMS_RTOL`, the
        array is the same to round-off (made by another machine's BLAS) and the run resumes;
        :attr:`near_misses` names them for the run's notes.
    """

    def __init__(self, path, fmt: str, *, free=(), unit="seed", defaults=None, near=None):
        self.path = os.fspath(path)
        self.format = fmt
        self.free = tuple(free)
        self.defaults = dict(defaults or {})
        self.near = dict(near or {})
        self.near_misses: list = []  # digest settings that differed in last bits only (see ``near``)
        self.unit = unit
        self.run_file = os.path.join(self.path, "run.json")

    def exists(self) -> bool:
        return os.path.exists(self.run_file)

    def seed_file(self, index, suffix="") -> str:
        """The path of seed ``index``'s file ``seed-KKK{suffix}.npz``."""
        return os.path.join(self.path, f"seed-{index:03d}{suffix}.npz")

    def open(self, settings: dict) -> bool:
        """Start a checkpoint with ``settings``, or continue the one there; True when continuing.

        A stored run whose settings differ from ``settings`` (other than ``free``) is refused with
        a ``ValueError`` naming each difference.
        """
        settings = _plain(settings)
        check_output_dir(self.path, "checkpoint folder")  # before any work: a read-only one fails at the first save
        remove_stale_temporaries(self.path, _ours)  # of writers killed mid-write (none while we run)
        if self.exists():
            self._check_stored(settings)
            self._add_missing_sums(settings)
            return True
        os.makedirs(self.path, exist_ok=True)
        write_bytes(self.run_file, json.dumps({"format": self.format, "settings": settings}, indent=1).encode(),
                    sync=True)
        return False

    def _check_stored(self, settings: dict) -> None:
        try:
            with open(self.run_file) as fh:
                stored = json.load(fh)
        except (OSError, ValueError) as exc:
            raise ValueError(f"checkpoint {self.run_file!r} cannot be read ({excerpt(exc)}); delete the folder "
                             f"{self.path!r} to start the run over") from None
        if stored.get("format") != self.format:
            raise ValueError(f"checkpoint {self.run_file!r} has format {excerpt(repr(stored.get('format')))}, this "
                             f"getheory writes {self.format!r}; delete the folder {self.path!r} to start the run over")
        old = {**self.defaults, **stored.get("settings", {})}
        sums_keys = set(self.near.values())
        self.near_misses = [k for k, sk in self.near.items() if old.get(k) != settings.get(k)
                            and _sums_agree(old.get(sk), settings.get(sk))]
        diffs = [f"{k}: checkpoint {old.get(k)!r}, this run {settings.get(k)!r}" + self._hint(k, old)
                 for k in sorted(set(old) | set(settings))
                 if k not in self.free and k not in sums_keys and k not in self.near_misses
                 and old.get(k) != settings.get(k)]
        if diffs:
            raise ValueError(f"the checkpoint in {self.path!r} was written by a run with other settings, so "
                             f"it cannot be resumed by this one: " + "; ".join(diffs)
                             + ". Resume with the checkpoint's settings, or use another checkpoint folder "
                             "(or delete this one) to start a new run")

    def _add_missing_sums(self, settings: dict) -> None:
        """Write into a stored ``run.json`` the sums (``near``) it lacks where the digests matched bit for
        bit: a checkpoint from before the sums existed then resumes on another machine too."""
        with open(self.run_file) as fh:
            stored = json.load(fh)
        old = stored.get("settings", {})
        add = {sk: settings[sk] for k, sk in self.near.items()
               if sk not in old and sk in settings and old.get(k) == settings.get(k)}
        if add:
            stored["settings"] = {**old, **add}
            write_bytes(self.run_file, json.dumps(stored, indent=1).encode(), sync=True)

    def _hint(self, key, old) -> str:
        """Why a computed array's digest may differ with the same settings (for ``near`` settings)."""
        if key not in self.near:
            return ""
        if self.near[key] not in old:
            return (" (the same settings give this array with other last bits on another machine or BLAS; this "
                    "checkpoint predates the sums that tell round-off from another array, so it cannot be resumed "
                    "safely)")
        return " (its sums differ too: another array, not round-off)"

    def read_meta(self, path, expect=None) -> dict:
        """The ``meta`` of the file ``path``, its format checked; with ``expect`` = (index, seed value),
        also that it holds that seed."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
            raise ValueError(f"checkpoint file {path!r} cannot be read ({type(exc).__name__}: {excerpt(exc)}); delete "
                             f"the folder {self.path!r} to start the run over") from None
        if meta.get("format") != self.format:
            raise ValueError(f"checkpoint file {path!r} has format {excerpt(repr(meta.get('format')))}, "
                             f"not {self.format!r}")
        if expect is not None and meta.get("seed") != expect[1]:
            raise ValueError(f"checkpoint file {path!r} holds {self.unit} {meta.get('seed')}, this run's seed "
                             f"{expect[0]} is {expect[1]}")
        return meta

    def read(self, path, expect=None) -> tuple:
        """(meta, arrays) of the file ``path`` (:meth:`read_meta`, then every array but ``meta``)."""
        meta = self.read_meta(path, expect)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"checkpoint file {path!r} cannot be read ({excerpt(exc)}); delete the folder "
                             f"{self.path!r} to start the run over") from None
        return meta, arrays

    def write(self, path, meta: dict, arrays: dict) -> None:
        """Write ``meta`` (with the format added) and ``arrays`` to ``path``, whole and synced."""
        meta = {**meta, "format": self.format}
        write_bytes(path, npz_bytes({"meta": np.array(json.dumps(meta)), **arrays}), sync=True)


def _ours(name: str) -> bool:
    """Whether ``name`` is a file a :class:`CheckpointFolder` holds: ``run.json`` or ``seed-*.npz``."""
    return name == "run.json" or (name.startswith("seed-") and name.endswith(".npz"))


def remove_checkpoint(path) -> bool:
    """Delete the files of a checkpoint in ``path`` and the folder when then empty.

    Only ``run.json``, ``seed-*.npz`` and the temporary files of their killed writers
    (``.seed-000.npz.PID.tmp``) are removed; anything else there is left alone.
    Returns True when the folder itself is gone.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        return not os.path.exists(path)
    remove_stale_temporaries(path, _ours)
    for name in os.listdir(path):
        if _ours(name):
            os.remove(os.path.join(path, name))
    try:
        os.rmdir(path)
    except OSError:
        return False
    return True
