"""The ERM checkpoint: the fits of every finished data seed saved on disk, so that an interrupted
:func:`getheory.erm_curves` resumes with the numbers of an uninterrupted run (docs/theory.md §10.5).

A checkpoint is a folder (``ErmOptions.checkpoint``; ``getheory erm`` uses ``OUT/checkpoint``
unless ``--checkpoint DIR``; the folder, ``run.json`` and its refusals are
:class:`getheory._checkpoint.CheckpointFolder`'s) with

``run.json``
    the format ``getheory-erm-checkpoint/1`` and the settings that fix the fits' numbers: N, D,
    the loss, α, λ, teacher, label noise, test rows, the sources, the master seed, the backend,
    the generator's description and SHA-256 digests of (E x, Ω, Φ) and θ.  A run with other
    settings is refused before any fit, naming each difference; the number of seeds and whether
    the theory is computed may differ (more seeds only add seeds: a data seed's streams do not
    depend on how many there are).
``seed-KKK.npz``
    data seed ``KKK`` once all its fits are done: per source its test errors, training losses,
    certificates and ``converged`` flags over (α, λ).  Written whole and synced after the seed's
    last fit, so a kill loses at most the seed in progress.

The finite-size run (:func:`getheory.erm.erm_finite_size`) keeps one such folder per N,
``N-<N>`` under its checkpoint folder.  :func:`remove_checkpoint` removes a checkpoint with these
sub-folders (``getheory erm`` calls it once the report is written).  The numbers of a resumed seed
are read back exactly (float64 and bool arrays), so a resumed run's arrays equal an uninterrupted
run's bit for bit; a user generator must then be a function of its latents alone.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .._checkpoint import CheckpointFolder, array_digest
from .._checkpoint import remove_checkpoint as _remove_folder

__all__ = [
    "FIELDS", "FINITE_SIZE_FOLDER", "ErmCheckpoint", "checkpoint_exists", "remove_checkpoint", "size_folder",
]

#: version of the files described in the module docstring
FORMAT = "getheory-erm-checkpoint/1"
#: settings that may differ on a resume: they do not change a finished seed's numbers
FREE_SETTINGS = ("seeds", "theory")
#: what a seed file holds per source, in the order of :class:`getheory.erm.ErmResult`'s fields
FIELDS = ("test_error", "train_loss", "certificate", "converged")
#: the sub-folder of a ``getheory erm`` checkpoint that holds the finite-size run's
FINITE_SIZE_FOLDER = "finite-size"
_SIZE = re.compile(r"^N-[0-9]+$")


def size_folder(path, N: int) -> str:
    """The checkpoint sub-folder of size ``N`` of a finite-size run whose checkpoint is ``path``."""
    return os.path.join(os.fspath(path), f"N-{int(N)}")


class ErmCheckpoint(CheckpointFolder):
    """The checkpoint folder of one :func:`getheory.erm_curves` run (module docstring)."""

    def __init__(self, path):
        super().__init__(path, FORMAT, free=FREE_SETTINGS, unit="data seed")

    @staticmethod
    def settings(problem, opts, backend: str, seed) -> dict:
        """What fixes the fits' numbers; ``problem`` = (generator, moments, θ)."""
        generator, mom, theta = problem
        out = {"N": generator.N, "D": generator.D, "loss": opts.loss, "alphas": opts.alphas, "lambdas": opts.lambdas,
               "teacher": opts.teacher, "noise": opts.noise, "n_test": opts.n_test, "sources": opts.sources,
               "seeds": opts.seeds, "theory": opts.theory, "seed": seed, "backend": backend,
               "generator": generator.describe(), "moments": mom.source}
        for name, a in (("E x", mom.mean), ("Omega", mom.Omega), ("Phi", mom.Phi), ("theta", theta)):
            out[f"{name} (SHA-256)"] = array_digest(np.asarray(a, dtype=np.float64))[:20]
        return out

    def load_seed(self, index: int, sources) -> dict | None:
        """``{field: {source: (len α, len λ) array}}`` of a finished seed (None when not finished)."""
        path = self.seed_file(index)
        if not os.path.exists(path):
            return None
        meta, arrays = self.read(path, (index, index))
        if meta.get("sources") != list(sources):
            raise ValueError(f"checkpoint file {path!r} holds sources {meta.get('sources')}, this run has "
                             f"{list(sources)}; delete the folder {self.path!r} to start the run over")
        return {k: {s: arrays[f"{k}.{s}"] for s in sources} for k in FIELDS}

    def save_seed(self, index: int, values: dict) -> None:
        """Write a finished seed's ``{field: {source: array}}``."""
        sources = list(values[FIELDS[0]])
        arrays = {f"{k}.{s}": np.asarray(values[k][s]) for k in FIELDS for s in sources}
        self.write(self.seed_file(index), {"seed": index, "index": index, "sources": sources}, arrays)


def checkpoint_exists(path) -> bool:
    """Whether ``path`` holds an ERM checkpoint (a run's ``run.json`` or a finite-size sub-folder)."""
    path = os.fspath(path)
    return os.path.exists(os.path.join(path, "run.json")) or os.path.isdir(os.path.join(path, FINITE_SIZE_FOLDER))


def remove_checkpoint(path) -> bool:
    """Delete an ERM checkpoint in ``path``: its files, those of its ``finite-size`` and ``N-<N>``
    sub-folders, and each folder when then empty (anything else there is left alone).  Returns True
    when ``path`` itself is gone."""
    path = os.fspath(path)
    if os.path.isdir(path):
        for name in os.listdir(path):
            sub = os.path.join(path, name)
            if os.path.isdir(sub) and (name == FINITE_SIZE_FOLDER or _SIZE.match(name)):
                remove_checkpoint(sub)
    return _remove_folder(path)
