"""The checkpoint: the SGD state of a dynamics run saved on disk, so that an interrupted run resumes exactly
(docs/theory.md §7.9).

A checkpoint is a folder (``DynamicsOptions.checkpoint``; ``getheory dynamics`` uses
``OUT/checkpoint`` unless ``--checkpoint DIR``) with

``run.json``
    the format and the settings that fix the SGD's numbers: sizes, protocol, seed, batch size,
    inputs dtype, backend, and SHA-256 digests of the initial and teacher weights and of (E x, Ω, Φ),
    with the sums of (E x, Ω, Φ).  A run that finds a different ``run.json`` there is refused, naming
    each difference, except where only the digest of a moment differs and its sums agree to round-off
    (another machine's BLAS computed it): that run resumes, and its notes say so.
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

Files: the folder, ``run.json`` with its refusals, the reading and writing of one ``.npz`` and
:func:`remove_checkpoint` are :mod:`getheory._checkpoint`'s (shared with the ERM checkpoint); this
module holds what is particular to SGD: the seed states with their records and the random states.
:meth:`RunCheckpoint.open` writes ``run.json``, ``SeedCheckpoint.save`` the seed files (called
by :func:`getheory.dynamics.run_sgd` as it goes), :func:`remove_checkpoint` deletes them (called by
``getheory dynamics`` once the report holds everything; a public name of :mod:`getheory.dynamics`).
Every file is written whole and synced (:func:`getheory._files.write_bytes` with ``sync=True``),
so a kill at any instant leaves the previous complete file or the new one.
The state names how many records it covers, so a records file newer than its state is cut back to it.

Random states: NumPy generators (the NumPy backend and the strict device) store their
bit-generator state exactly.  CuPy's generator keeps its cuRAND XORWOW states in a device
buffer (``bit_generator._state``, a private attribute of CuPy); it is copied whole (about
1.5 MB per stream).  Where a CuPy version lacks it, checkpointing is switched off for the run
with a note (:class:`CheckpointUnsupported`).
"""

from __future__ import annotations

import os
import time

import numpy as np

from .._checkpoint import SUMS_RTOL, CheckpointFolder, array_digest, array_sums, remove_checkpoint
from .._checkpoint import npz_bytes as _npz_bytes
from .._files import write_bytes
from .._validation import excerpt

__all__ = ["COMPUTED_ARRAYS", "SUMS_RTOL", "CheckpointUnsupported", "RunCheckpoint", "SeedCheckpoint", "array_digest",
           "array_sums", "remove_checkpoint"]

#: version of the files described in the module docstring
FORMAT = "getheory-dynamics-checkpoint/1"
#: settings that may differ on a resume: they do not change the SGD's numbers
#: (more seeds only add runs: the seeds' own streams do not depend on their number)
FREE_SETTINGS = ("sgd_seeds",)


class CheckpointUnsupported(RuntimeError):
    """The backend's random generator cannot be saved (checkpointing is then off for the run)."""


#: the arrays of ``run.json`` that the run computes (the moments): another machine's BLAS can give them
#: other last bits, so their sums are stored too, and a resume accepts a digest that differs when
#: the sums agree to round-off (:class:`getheory._checkpoint.CheckpointFolder`, ``near``)
COMPUTED_ARRAYS = ("E x", "Omega", "Phi")
#: settings added to ``run.json`` after checkpoints were first written, with the value a checkpoint
#: without them had: such a checkpoint resumes as a run with that value, and is refused by another
ADDED_SETTINGS = {"dtype": "float64"}


class RunCheckpoint(CheckpointFolder):
    """The checkpoint folder of one run (see the module docstring; the folder itself, ``run.json`` and
    its refusals are :class:`getheory._checkpoint.CheckpointFolder`'s).

    ``every``: seconds between two writes of a seed's state (0: at the end of every batch).
    """

    def __init__(self, path, every=5.0):
        super().__init__(path, FORMAT, free=FREE_SETTINGS, unit="SGD seed", defaults=ADDED_SETTINGS,
                         near={f"{name} (SHA-256)": f"{name} (sums)" for name in COMPUTED_ARRAYS})
        self.every = float(every)

    def seed(self, index, seed_value) -> SeedCheckpoint:
        return SeedCheckpoint(self, int(index), int(seed_value))

    def seed_status(self, index) -> str | None:
        """The status stored for seed ``index`` (None when it has no state yet)."""
        path = self.seed_file(index)
        if not os.path.exists(path):
            return None
        return self.read_meta(path)["status"]


class SeedCheckpoint:
    """The state and records of one SGD seed in a ``RunCheckpoint`` folder."""

    def __init__(self, run: RunCheckpoint, index: int, seed_value: int):
        self.run = run
        self.index = index
        self.seed_value = seed_value
        self.state_file = run.seed_file(index)
        self.records_file = run.seed_file(index, "-records")
        self.saves = 0
        self._last = time.monotonic()

    def due(self) -> bool:
        """True when ``every`` seconds have passed since the last write (or since the start)."""
        return time.monotonic() - self._last >= self.run.every

    def load(self):
        """The stored state as a dict (None when this seed has none): ``meta``, ``arrays``, ``records``."""
        if not os.path.exists(self.state_file):
            return None
        meta, arrays = self.run.read(self.state_file, (self.index, self.seed_value))
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
        self.run.write(self.state_file, {**meta, "seed": self.seed_value, "index": self.index}, arrays)
        self.saves += 1
        self._last = time.monotonic()


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
