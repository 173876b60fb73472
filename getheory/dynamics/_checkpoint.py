"""The checkpoint: the SGD state of a dynamics run saved on disk, so that an interrupted run resumes exactly
(docs/theory.md §7.9).

A checkpoint is a folder (``DynamicsOptions.checkpoint``; ``getheory dynamics`` uses
``OUT/checkpoint`` unless ``--checkpoint DIR``) with

``run.json``
    the format and the settings that fix the SGD's numbers: sizes, protocol, seed, batch size,
    backend, and SHA-256 digests of the initial and teacher weights and of (E x, Ω, Φ).  A run
    that finds a different ``run.json`` there is refused, naming each difference.
``seed-KKK.npz``
    the state of SGD seed ``KKK`` at the end of a batch: the step count, each source's weights
    in its data basis (``W{i}``, ``v{i}``) and in the input basis (``Win{i}``, for a resume on a
    machine whose eigenbasis of Ω − ΦΦᵀ differs), the bit-generator states of the latent stream
    and of each source's ξ stream (:class:`getheory.dynamics.NormalStream`), the initial
    batch errors ε̂_g(0) of the divergence rule, the seconds spent so far and a status
    (``running``, ``stopped`` by a time budget, ``complete``, ``diverged``).  A few hundred kB
    for N = 8000; rewritten every ``checkpoint_every`` seconds and at every record time of the curve.
``seed-KKK-records.npz``
    the points of the learning curve recorded so far (steps, W and v per source in the
    input basis), rewritten only when one is added.

Files: this module is the one place below the presentation layer that writes files while a
computation runs.  The project's rule is that only presentation prints or writes, but a
resumable long run needs its state on disk as it goes, so the exception stays here for now (the
only other writer in :mod:`getheory.dynamics`, :func:`~getheory.dynamics.save_problem`, is
called by the report writer alone).  :meth:`RunCheckpoint.open` writes ``run.json``,
``SeedCheckpoint.save`` the seed files (called by :func:`getheory.dynamics.run_sgd` as it
goes), :func:`remove_checkpoint` deletes them (called by ``getheory dynamics`` once the report
holds everything; a public name of :mod:`getheory.dynamics`).

Every file is written by :func:`getheory._files.write_bytes` with ``sync=True``: to a temporary
file in the same folder, flushed and fsynced, and moved into place with :func:`os.replace` (then
the folder is fsynced), so a kill at any instant leaves the previous complete file or the new one.
The state names how many records it covers, so a records file newer than its state is cut back to it.

Random states: NumPy generators (the NumPy backend and the strict device) store their
bit-generator state exactly.  CuPy's generator keeps its cuRAND XORWOW states in a device
buffer (``bit_generator._state``, a private attribute of CuPy); it is copied whole (about
1.5 MB per stream).  Where a CuPy version lacks it, checkpointing is switched off for the run
with a note (:class:`CheckpointUnsupported`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time

import numpy as np

from .._files import remove_stale_temporaries, write_bytes
from .._validation import check_output_dir, excerpt

__all__ = ["CheckpointUnsupported", "RunCheckpoint", "SeedCheckpoint", "array_digest", "remove_checkpoint"]

#: version of the files described in the module docstring
FORMAT = "getheory-dynamics-checkpoint/1"
#: settings that may differ on a resume: they do not change the SGD's numbers
#: (more seeds only add runs: the seeds' own streams do not depend on their number)
FREE_SETTINGS = ("sgd_seeds",)


class CheckpointUnsupported(RuntimeError):
    """The backend's random generator cannot be saved (checkpointing is then off for the run)."""


def array_digest(a) -> str:
    """SHA-256 of a host array's dtype, shape and bytes."""
    a = np.ascontiguousarray(np.asarray(a))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _plain(x):
    """JSON's view of ``x`` (tuples become lists), for comparing settings with a stored run.json."""
    return json.loads(json.dumps(x, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


class RunCheckpoint:
    """The checkpoint folder of one run (see the module docstring).

    ``every``: seconds between two writes of a seed's state (0: at the end of every batch).
    """

    def __init__(self, path, every=5.0):
        self.path = os.fspath(path)
        self.every = float(every)
        self.run_file = os.path.join(self.path, "run.json")

    def exists(self) -> bool:
        return os.path.exists(self.run_file)

    def open(self, settings: dict) -> bool:
        """Start a checkpoint with ``settings``, or continue the one there; True when continuing.

        A stored run whose settings differ from ``settings`` (other than :data:`FREE_SETTINGS`)
        is refused with a ``ValueError`` naming each difference.
        """
        settings = _plain(settings)
        check_output_dir(self.path, "checkpoint folder")  # before any work: a read-only one fails at the first save
        remove_stale_temporaries(self.path, _ours)  # of writers killed mid-write (none while we run)
        if self.exists():
            try:
                with open(self.run_file) as fh:
                    stored = json.load(fh)
            except (OSError, ValueError) as exc:
                raise ValueError(f"checkpoint {self.run_file!r} cannot be read ({excerpt(exc)}); delete the folder "
                                 f"{self.path!r} to start the run over") from None
            if stored.get("format") != FORMAT:
                raise ValueError(f"checkpoint {self.run_file!r} has format {excerpt(repr(stored.get('format')))}, this getheory "
                                 f"writes {FORMAT!r}; delete the folder {self.path!r} to start the run over")
            old = stored.get("settings", {})
            diffs = [f"{k}: checkpoint {old.get(k)!r}, this run {settings.get(k)!r}"
                     for k in sorted(set(old) | set(settings))
                     if k not in FREE_SETTINGS and old.get(k) != settings.get(k)]
            if diffs:
                raise ValueError(f"the checkpoint in {self.path!r} was written by a run with other settings, so "
                                 f"it cannot be resumed by this one: " + "; ".join(diffs)
                                 + ". Resume with the checkpoint's settings, or use another checkpoint folder "
                                 "(or delete this one) to start a new run")
            return True
        os.makedirs(self.path, exist_ok=True)
        write_bytes(self.run_file, json.dumps({"format": FORMAT, "settings": settings}, indent=1).encode(), sync=True)
        return False

    def seed(self, index, seed_value) -> SeedCheckpoint:
        return SeedCheckpoint(self, int(index), int(seed_value))

    def seed_status(self, index) -> str | None:
        """The status stored for seed ``index`` (None when it has no state yet)."""
        path = os.path.join(self.path, f"seed-{index:03d}.npz")
        if not os.path.exists(path):
            return None
        return self.seed(index, 0)._read_meta(path, check_seed=False)["status"]


class SeedCheckpoint:
    """The state and records of one SGD seed in a ``RunCheckpoint`` folder."""

    def __init__(self, run: RunCheckpoint, index: int, seed_value: int):
        self.run = run
        self.index = index
        self.seed_value = seed_value
        self.state_file = os.path.join(run.path, f"seed-{index:03d}.npz")
        self.records_file = os.path.join(run.path, f"seed-{index:03d}-records.npz")
        self.saves = 0
        self._last = time.monotonic()

    def due(self) -> bool:
        """True when ``every`` seconds have passed since the last write (or since the start)."""
        return time.monotonic() - self._last >= self.run.every

    def _read_meta(self, path, check_seed=True):
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same advice
            raise ValueError(f"checkpoint file {path!r} cannot be read ({type(exc).__name__}: {excerpt(exc)}); delete the "
                             f"folder {self.run.path!r} to start the run over") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"checkpoint file {path!r} has format {excerpt(repr(meta.get('format')))}, not {FORMAT!r}")
        if check_seed and meta.get("seed") != self.seed_value:
            raise ValueError(f"checkpoint file {path!r} holds SGD seed {meta.get('seed')}, this run's seed "
                             f"{self.index} is {self.seed_value}")
        return meta

    def load(self):
        """The stored state as a dict (None when this seed has none): ``meta``, ``arrays``, ``records``."""
        if not os.path.exists(self.state_file):
            return None
        meta = self._read_meta(self.state_file)
        try:
            with np.load(self.state_file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"checkpoint file {self.state_file!r} cannot be read ({excerpt(exc)}); delete the folder "
                             f"{self.run.path!r} to start the run over") from None
        n_rec = int(meta["n_rec"])
        records = {"steps": np.zeros(0, dtype=np.int64), "W": [], "v": []}
        if n_rec:
            try:
                with np.load(self.records_file, allow_pickle=False) as z:
                    steps = z["steps"]
                    if steps.shape[0] < n_rec or not np.array_equal(steps[:n_rec], meta["rec_steps"]):
                        raise ValueError(f"it holds steps {steps.tolist()}, the state names {meta['rec_steps']}")
                    records = {"steps": steps[:n_rec],
                               "W": [z[f"W{i}"][:n_rec] for i in range(len(meta["sources"]))],
                               "v": [z[f"v{i}"][:n_rec] for i in range(len(meta["sources"]))]}
            except Exception as exc:  # noqa: BLE001
                raise ValueError(f"checkpoint records {self.records_file!r} do not match their state "
                                 f"({type(exc).__name__}: {excerpt(exc)}); delete the folder {self.run.path!r} to start "
                                 "the run over") from None
        return {"meta": meta, "arrays": arrays, "records": records}

    def save(self, meta: dict, arrays: dict, records=None) -> None:
        """Write the state (and first the records, when given: steps, per-source W and v stacks)."""
        if records is not None:
            rec = {"steps": np.asarray(records["steps"], dtype=np.int64)}
            for i, (W, v) in enumerate(zip(records["W"], records["v"])):
                rec[f"W{i}"], rec[f"v{i}"] = np.asarray(W), np.asarray(v)
            write_bytes(self.records_file, _npz_bytes(rec), sync=True)
        meta = {**meta, "format": FORMAT, "seed": self.seed_value, "index": self.index}
        write_bytes(self.state_file, _npz_bytes({"meta": np.array(json.dumps(meta)), **arrays}), sync=True)
        self.saves += 1
        self._last = time.monotonic()


def _ours(name: str) -> bool:
    """Whether ``name`` is a file a ``RunCheckpoint`` writes: ``run.json`` or ``seed-*.npz``."""
    return name == "run.json" or (name.startswith("seed-") and name.endswith(".npz"))


def remove_checkpoint(path) -> bool:
    """Delete the files a ``RunCheckpoint`` wrote in ``path`` and the folder when then empty.

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


# -- random states -------------------------------------------------------------------------------
def _numpy_generator(r):
    if isinstance(r, np.random.Generator):
        return r
    inner = getattr(r, "_rng", None)  # the strict device's generator wraps a NumPy one
    return inner if isinstance(inner, np.random.Generator) else None


def rng_state(r, bk, key, arrays) -> dict:
    """A JSON-ready state of generator ``r``; device buffers go into ``arrays[key]``."""
    gen = _numpy_generator(r)
    if gen is not None:
        return {"numpy": gen.bit_generator.state}
    buf = getattr(getattr(r, "bit_generator", None), "_state", None)  # CuPy's cuRAND states
    if buf is None:
        raise CheckpointUnsupported(f"the random generator {type(r).__name__} of backend {bk.name!r} exposes no "
                                    "state to save")
    arrays[key] = bk.to_numpy(buf)
    return {"device": key}


def set_rng_state(r, state, bk, arrays) -> None:
    """Restore what :func:`rng_state` saved into generator ``r``."""
    if "numpy" in state:
        gen = _numpy_generator(r)
        if gen is None:
            raise ValueError(f"the checkpoint holds a NumPy generator state, backend {bk.name!r} has "
                             f"{type(r).__name__}")
        gen.bit_generator.state = state["numpy"]
        return
    buf = getattr(getattr(r, "bit_generator", None), "_state", None)
    saved = arrays[state["device"]]
    if buf is None or tuple(buf.shape) != tuple(saved.shape):
        raise ValueError(f"the checkpoint's device generator state has shape {saved.shape}, this device's "
                         f"{None if buf is None else tuple(buf.shape)}: it cannot be resumed here")
    buf[...] = bk.asarray(saved)
