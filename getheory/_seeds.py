"""The one seed helper: named, documented random streams from one master seed.

Every workflow draws its randomness from a master seed (an int, ``None`` or a
:class:`numpy.random.SeedSequence`) through one of two rules, both reproducible:

* **spawned streams** (:class:`SeedLayout`): stream ``i`` of a layout is child ``i`` of
  the master :class:`~numpy.random.SeedSequence`, so adding a stream at the end never
  changes the others.  Each workflow's layout is listed below, with what each stream
  drives;
* **hashed streams** (:func:`derive_seed`): a 63-bit seed from SHA-256 of the master
  seed and a tuple of labels.  A sweep task's seed depends on *what* the task is (its
  generator, weights, N, D and seed index), not on its position in a grid, so adding a
  grid point never reseeds the others.

A stream can itself be cut into numbered parts (:func:`shard_seed`): part ``i`` of a
stream is its child ``i``, what ``stream.spawn(k)[i]`` gives on a fresh copy of the stream
for any ``k > i``.  A sharded check draws shard ``i``'s latents from part ``i`` of its
``fields`` stream, so a shard's rows depend on the master seed and the shard's index, never
on how many shards there are or where they run (docs/theory.md §4.1, Sharded runs).

A third, older rule survives inside a stream: a NumPy ``Generator`` hands a child its
seed as ``rng.integers(2**63)`` (:func:`child_seed`); the dynamics draw the problem's
generator and its Monte Carlo moments that way from their ``problem`` stream.

These rules fix the numbers every stored result was computed with: changing a layout's
order changes every result of that workflow.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import InputTypeError

__all__ = [
    "CHECK",
    "DYNAMICS",
    "ERM",
    "ERM_DATA",
    "ERM_SAMPLES",
    "RIDGE",
    "RIDGE_DATA",
    "RIDGE_PROBLEM",
    "RIDGE_SAMPLES",
    "SGD",
    "SWEEP_TASK",
    "SeedLayout",
    "Streams",
    "child_seed",
    "derive_seed",
    "seedseq",
    "shard_seed",
]


def seedseq(seed) -> np.random.SeedSequence:
    """Normalise an int / None / SeedSequence / Generator seed to a SeedSequence.

    A ``Generator`` gives a child through :func:`child_seed`.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(child_seed(seed))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise InputTypeError(f"seed must be an int, None or numpy.random.SeedSequence; got {seed!r}")
    return np.random.SeedSequence(seed)


def child_seed(rng: np.random.Generator) -> int:
    """A 63-bit seed for a child drawn from a running Generator (``rng.integers(2**63)``)."""
    return int(rng.integers(2**63))


class Streams:
    """The named :class:`~numpy.random.SeedSequence` streams of one layout.

    Read a stream as an attribute (``streams.fields``) or by name (``streams["fields"]``).
    """

    def __init__(self, layout: "SeedLayout", children: list[np.random.SeedSequence]):
        self._layout = layout
        self._by_name = dict(zip(layout.names, children))

    def __getattr__(self, name: str) -> np.random.SeedSequence:
        try:
            return self.__dict__["_by_name"][name]
        except KeyError:
            raise AttributeError(
                f"the {self.__dict__['_layout'].workflow!r} seed layout has no stream {name!r}; "
                f"its streams are {', '.join(self.__dict__['_layout'].names)}"
            ) from None

    __getitem__ = __getattr__

    def __iter__(self):
        return iter(self._by_name.values())


@dataclass(frozen=True)
class SeedLayout:
    """A workflow's named streams: stream ``i`` is child ``i`` of the master seed.

    Parameters
    ----------
    workflow : str
        Whose streams these are (for messages).
    names : tuple of str
        The streams in spawn order.  Append new streams; never reorder.
    """

    workflow: str
    names: tuple[str, ...]

    def streams(self, seed) -> Streams:
        """The layout's streams from ``seed`` (int, None, SeedSequence or Generator).

        Equal to ``SeedSequence(seed).spawn(len(names))`` named in order: child ``i``
        does not depend on how many children are spawned.
        """
        return Streams(self, seedseq(seed).spawn(len(self.names)))


#: ``check_generator``: the random generator's weights A (when it builds one), the
#: student and teacher weights, Monte Carlo moments, the measured fields (in a sharded
#: check, shard ``i``'s latents come from ``shard_seed(fields, i)``), the d_MS estimate
#: (search, floor, certification) and the planner's independent pilot.
CHECK = SeedLayout("check", ("generator", "weights", "moments", "fields", "dms", "pilot"))

#: ``run_dynamics``: the problem (generator and Monte Carlo moments, by :func:`child_seed`),
#: the initial student/teacher weights, the test set, and the per-SGD-seed states.
DYNAMICS = SeedLayout("dynamics", ("problem", "weights", "test", "sgd"))

#: ``run_sgd``, per data source: the latents c of the samples and the Gaussian noise ξ.
SGD = SeedLayout("sgd", ("latents", "noise"))

#: ``ridge_curves``: the fixed problem, and the data seeds (data seed ``i`` is child ``i`` of ``data``).
RIDGE = SeedLayout("ridge", ("problem", "data"))

#: ridge's fixed problem: the generator, the teacher θ and Monte Carlo moments.
RIDGE_PROBLEM = SeedLayout("ridge problem", ("generator", "theta", "moments"))

#: one ridge data seed: the training samples and the test samples.
RIDGE_DATA = SeedLayout("ridge data seed", ("train", "test"))

#: ridge's samples (training or test): latents c, label noise ε, and the Gaussian equivalent's ξ.
RIDGE_SAMPLES = SeedLayout("ridge samples", ("latents", "noise", "xi"))

#: ``erm_curves``: the fixed problem (drawn as ridge's, :data:`RIDGE_PROBLEM`: the same seed gives the
#: same generator and θ) and the data seeds (data seed ``i`` is child ``i`` of ``data``).
ERM = SeedLayout("erm", ("problem", "data"))

#: one ERM data seed: the training set and the test set.
ERM_DATA = SeedLayout("erm data seed", ("train", "test"))

#: an ERM sample set (training or test): latents c, label noise ε, and the Gaussian equivalent's ξ.
ERM_SAMPLES = SeedLayout("erm samples", ("latents", "noise", "xi"))

#: a sweep task's hashed streams (:func:`derive_seed` of the task seed and each label).
SWEEP_TASK = ("generator", "weights", "main", "moments")


def shard_seed(stream: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """Part ``index`` of ``stream``: its child ``index``, made without spawning.

    Equal to ``stream.spawn(k)[index]`` on a fresh copy of ``stream`` for any ``k > index``
    (``SeedSequence(entropy, spawn_key=stream.spawn_key + (index,))``), but ``stream`` itself
    is left as it is: ``spawn`` counts the children it has handed out, so calling it twice
    would give other seeds, while this gives the same seed for the same index every time and
    in every process.  Shard ``index`` of a sharded check draws its latents from
    ``shard_seed(fields, index)``, ``fields`` being the check's :data:`CHECK` stream of that name.

    Parameters
    ----------
    stream : numpy.random.SeedSequence
        The stream to cut (not modified).
    index : int
        The part, >= 0.

    Returns
    -------
    numpy.random.SeedSequence
    """
    if not isinstance(stream, np.random.SeedSequence):
        raise InputTypeError(f"stream must be a numpy.random.SeedSequence; got {type(stream).__name__}")
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
        raise ValueError(f"a shard index must be an integer >= 0; got {index!r}")
    return np.random.SeedSequence(stream.entropy, spawn_key=tuple(stream.spawn_key) + (int(index),),
                                  pool_size=stream.pool_size)


def derive_seed(master: int, *parts) -> int:
    """A 63-bit seed from (master seed, labels...) via SHA-256 of their JSON.

    Reproducible across processes, machines and Python versions (no ``hash()``):
    ``derive_seed(2022, "sign", "gaussian", 64, 32, 0)`` is the same everywhere.
    """
    text = json.dumps([int(master), *parts], sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
