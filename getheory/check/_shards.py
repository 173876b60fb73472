"""One shard of a sharded measured run, wherever it runs (docs/theory.md §4.1, Sharded runs).

A sharded run cuts its n rows into shards of ``size`` rows: shard i holds rows
i·size ... min((i+1)·size, n) − 1.  Each shard

* draws its latents from part i of the check's ``fields`` seed stream
  (:func:`getheory._seeds.shard_seed`: child i, whatever the number of shards);
* streams its fields (λ, ν) into its own :class:`~getheory.distances.FieldStream`, starting
  at group (i·size) mod G, so that the merged groups are as balanced as one stream's;
* keeps for the plug-in reservoir only the rows that the first ``n_plugin`` rows of the whole
  run take from it (max(0, min(rows_i, n_plugin − i·size))).

The per-group power sums of the shards add up exactly; :func:`getheory.distances.merge_stats`
adds them in shard-index order, so the merged statistics, and every number computed from
them, do not depend on where or in what order the shards ran.

This module is the shard's side: :class:`ShardJob` (what every shard needs, small and
picklable), :func:`shard_stats` (one shard), :class:`GeneratorRecipe` (how another process
rebuilds the generator without receiving its weights) and the entry points that pool and
Dask workers call.  Where the shards run is :mod:`._executors`'.
"""

from __future__ import annotations

import importlib
import pickle
import sys
import threading
import types
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .._cluster import limit_worker_threads, process_id
from .._run import RunContext
from .._seeds import shard_seed
from ..backend import Backend
from ..distances import FieldStats, FieldStream, StreamOptions
from ..fields import LatentDraw, stream_fields_in
from ..generators import CallableGenerator, Generator

__all__ = ["GeneratorRecipe", "ShardJob", "recipe_of", "shard_stats"]


@dataclass(frozen=True)
class GeneratorRecipe:
    """How another process rebuilds a generator: ``function(*args)``, without its weights.

    A generator's weights can be large (A alone is 268 MB at N = 8192, D = 4096); a recipe
    is a few numbers, and each worker process builds the generator once from it and keeps
    it for the shards it runs.  The built generator must be the one the check measures:
    the same function with the same arguments (seeds included) gives the same weights.

    Parameters
    ----------
    function : str
        ``"module:attribute"`` of the builder, e.g. ``"getheory.generators:random_single_layer"``.
    args : tuple
        Its arguments (picklable: numbers, strings, dicts, ``SeedSequence`` seeds).
    needs : tuple of str
        User modules the recipe imports on a worker (checked on every worker before any work
        starts, so that a module the workers cannot import is named at once).
    """

    function: str
    args: tuple = ()
    needs: tuple = ()

    def __post_init__(self):
        if not isinstance(self.function, str) or self.function.count(":") != 1 or not all(self.function.split(":")):
            raise ValueError(f"a generator recipe's function must be 'module:attribute'; got {self.function!r}")
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "needs", tuple(self.needs))

    def build(self) -> Generator:
        """The generator: ``function(*args)``, imported and called in this process."""
        mod, attr = self.function.split(":")
        failed = check_needs(self)
        if failed is not None:
            raise ValueError(unimportable(self, f"worker process {process_id()}", failed))
        gen = getattr(importlib.import_module(mod), attr)(*self.args)
        if not isinstance(gen, Generator):
            raise TypeError(f"generator recipe {self.function!r} built a {type(gen).__name__}, not a Generator")
        return gen


def _importable_name(fn) -> str | None:
    """``"module:name"`` of a module-level function that another process can import, else None."""
    mod, name = getattr(fn, "__module__", None), getattr(fn, "__name__", None)
    if not isinstance(fn, types.FunctionType) or not mod or mod == "__main__" or fn.__qualname__ != name:
        return None
    return f"{mod}:{name}" if getattr(sys.modules.get(mod), name, None) is fn else None


def recipe_of(generator: Generator) -> GeneratorRecipe | None:
    """The recipe of a user generator whose function is importable as ``module:function``, else None.

    Such a generator is rebuilt on each worker by :func:`getheory.generators.load_generator`
    (the function imported there); any other generator without a recipe of its own travels
    whole, once per worker process.
    """
    if isinstance(generator, CallableGenerator):
        spec = _importable_name(generator.fn)
        if spec is not None:
            return GeneratorRecipe("getheory.generators:load_generator", (spec, generator.D, generator.N),
                                   needs=(spec.split(":")[0],))
    return None


@dataclass(frozen=True, eq=False)
class ShardJob:
    """What every shard of one measured run needs (small: the weights, the match, the seed).

    Attributes
    ----------
    W_student, W_teacher : ndarray
        (K, N) and (M, D).
    mean, cov : ndarray
        The Gaussian match that standardises the streamed fields.
    stream : StreamOptions
        The run's groups G and plug-in reservoir ``n_plugin`` (of the whole run).
    n, size : int
        Rows of the run and rows per shard.
    seed : numpy.random.SeedSequence
        The check's ``fields`` stream; shard i draws from :func:`~getheory._seeds.shard_seed` (seed, i).
    backend : Backend
        Where the arrays live (travels to a worker as its name).
    dtype : str
        The samples' dtype.
    """

    W_student: np.ndarray
    W_teacher: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    stream: StreamOptions
    n: int
    size: int
    seed: np.random.SeedSequence
    backend: Backend
    dtype: str

    @property
    def count(self) -> int:
        """Number of shards (the last one holds the rest, and may be shorter)."""
        return -(-self.n // self.size)

    def rows(self, index: int) -> int:
        """Rows of shard ``index``."""
        return min(self.size, self.n - index * self.size)

    def keep(self, index: int) -> int:
        """Rows of shard ``index`` that belong to the first ``n_plugin`` rows of the run."""
        return max(0, min(self.rows(index), self.stream.n_plugin - index * self.size))

    def first_group(self, index: int) -> int:
        """The group that receives shard ``index``'s first remainder row: (rows before it) mod G."""
        return (index * self.size) % self.stream.groups

    def context(self, deadline=None) -> RunContext:
        """A shard's own run context, wherever it runs: the job's backend and dtype, no progress, and
        the check's deadline when it runs in the check's own process (``None`` elsewhere)."""
        return RunContext(self.backend, np.dtype(self.dtype).name, deadline=deadline)


def shard_stats(job: ShardJob, generator: Generator, index: int, *, deadline=None,
                host_reservoir: bool = False, cut: bool = False) -> FieldStats | None:
    """The streamed statistics of shard ``index`` of ``job`` (docs/theory.md §4.1).

    Parameters
    ----------
    job : ShardJob
    generator : Generator
        The run's generator (built from its recipe on a worker).
    index : int
        0 <= index < job.count.
    deadline : getheory._deadline.Deadline, optional
        Checked between batches (in the check's own process).
    host_reservoir : bool
        Move the reservoir rows to the host (a worker's result travels back as NumPy).
    cut : bool
        When the deadline is spent part-way, stop at a batch boundary and return None (the shard
        is not whole) instead of raising.

    Returns
    -------
    FieldStats or None
        Of the shard's rows only; merge the shards in index order.
    """
    if not 0 <= index < job.count:
        raise IndexError(f"shard {index} of a run of {job.count} shards")
    opts = StreamOptions(groups=job.stream.groups, n_plugin=job.keep(index))
    sink = FieldStream(job.mean, job.cov, options=opts, backend=job.backend, first_group=job.first_group(index))
    draw = LatentDraw(job.rows(index), shard_seed(job.seed, index),
                      stage=f"the measured run's sampling (shard {index + 1} of {job.count})",
                      cut=cut and deadline is not None)
    if stream_fields_in(job.context(deadline), generator, job.W_student, job.W_teacher, draw, sink) < draw.n:
        return None
    stats = sink.finish()
    if host_reservoir and stats.reservoir is not None:
        stats.reservoir = job.backend.to_numpy(stats.reservoir)
    return stats


# ---------------------------------------------------------------------------------------------
# the worker's side: one generator per recipe and process, built on first use
# ---------------------------------------------------------------------------------------------
#: generators built from recipes in this process, most recent last (a sweep on a cluster may
#: interleave the shards of two points on one worker); at most _KEEP of them
_BUILT: OrderedDict = OrderedDict()
_KEEP = 2
_BUILD_LOCK = threading.Lock()


def _generator_for(source) -> Generator:
    """A recipe's generator, built once per process (thread-safe), or the generator itself."""
    if not isinstance(source, GeneratorRecipe):
        return source
    key = pickle.dumps(source)
    with _BUILD_LOCK:
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key]
        gen = source.build()
        _BUILT[key] = gen
        while len(_BUILT) > _KEEP:
            _BUILT.popitem(last=False)
        return gen


def run_shard_remote(job: ShardJob, source, index: int, caller: str | None) -> FieldStats:
    """One shard in a worker process (a Dask task): one BLAS thread unless the worker is the
    ``caller``'s own process; the generator from its recipe (built once here) or as sent."""
    if caller is not None and process_id() != caller:
        limit_worker_threads()
    return shard_stats(job, _generator_for(source), index, host_reservoir=True)


def unimportable(recipe: GeneratorRecipe, where: str, error: str) -> str:
    """The message for a recipe whose user modules cannot be imported ``where`` (a worker)."""
    return (f"the generator's module {', '.join(map(repr, recipe.needs))} cannot be imported on {where} ({error}). "
            "A generator given as module:function is imported again on every worker: install the module there, "
            "or put its folder on the workers' PYTHONPATH (they do not see this process's working directory)")


def check_needs(recipe: GeneratorRecipe) -> str | None:
    """In a worker: None when the recipe's user modules import here, else the error (a string)."""
    for name in recipe.needs:
        try:
            importlib.import_module(name)
        except Exception as exc:  # reported by the caller, naming the module and the worker
            return f"{type(exc).__name__}: {exc}"
    return None


# a local pool worker's generator: set once per process by the pool's setup
_POOL_SOURCE: list = []


def pool_setup(payload: bytes):
    """A local pool worker's setup: the pickled recipe or generator, unpickled once per process."""
    _POOL_SOURCE[:] = [pickle.loads(payload)]


def run_shard_in_pool(job: ShardJob, index: int) -> FieldStats:
    """One shard in a local pool worker (its generator set by :func:`pool_setup`)."""
    return shard_stats(job, _generator_for(_POOL_SOURCE[0]), index, host_reservoir=True)
