"""Where the shards of a sharded check run: this process, a local pool, or a Dask cluster.

An executor is resolved once, at the check's entry (:func:`open_executor`), from
:class:`~getheory.check.ShardOptions` and an optional Dask client, before any work starts: a
scheduler address is checked within :data:`getheory._cluster.CONNECT_TIMEOUT_S` seconds.
Then :meth:`prepare` learns the generator, again before any work: a generator that cannot
be pickled, or whose ``module:function`` the workers cannot import, is refused with a
message that says so.  :meth:`map` runs the shards of a :class:`~._shards.ShardJob` and
returns their statistics **in shard-index order**, whatever order they finished in; the
caller merges them (docs/theory.md §4.1, Sharded runs).  Under a time budget, :meth:`map`
stops when the budget is spent and returns the shards 0 … k−1 that had all finished (k >= 1;
the rest are cancelled), so that the run is cut at a shard boundary and its numbers are those
of a run of k shards (§4.1, "A run cut at its budget").

* :class:`SerialShards`: one after the other, in this process (the run's backend, its BLAS threads);
* :class:`PoolShards`: a local pool of spawned processes, one BLAS thread each, that die with
  this process; the generator (or its recipe) is sent once per process.  A worker that dies loses
  only the shard it was running, which runs again on a fresh worker; the result is the same.
  The pool is ended (its processes terminated and joined) before an error leaves :meth:`map`;
* :class:`DaskShards`: a dask.distributed cluster.  The generator travels as its recipe
  (:class:`~._shards.GeneratorRecipe`, built once per worker process) or, when it has none, is
  scattered once to every worker (``client.scatter(..., broadcast=True)``), never re-sent per
  shard.  A worker that dies loses only its shards, which Dask runs again elsewhere; the
  result is the same.  Workers in other processes use one BLAS thread each.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import time
import uuid
from concurrent.futures import CancelledError

from .._cluster import CONNECT_TIMEOUT_S, ClusterError, WorkerLost, connect, make_pool, process_id
from .._progress import Progress
from .._run import RunContext
from ._options import ShardOptions
from ._shards import (
    GeneratorRecipe,
    ShardJob,
    check_needs,
    pool_setup,
    run_shard_in_pool,
    run_shard_remote,
    shard_stats,
    unimportable,
)

__all__ = ["DaskShards", "PoolShards", "SerialShards", "open_executor"]

#: seconds a Dask cluster may have no worker (or this process no contact with it) before a sharded run stops
WORKER_TIMEOUT_S = 20.0
#: seconds between checks of the time budget and of the cluster's workers while shards run
_POLL_S = 1.0


def _not_picklable(exc: Exception, where: str) -> TypeError:
    return TypeError(
        f"the generator cannot be sent to {where}: pickling it failed ({type(exc).__name__}: {exc}). Shards that "
        "run in other processes need a generator that pickles (module-level functions and classes; no lambdas, "
        "open files or locks), or a recipe (check_generator(recipe=GeneratorRecipe(...))); or run the shards "
        "in this process (no --workers or --scheduler)")


def _progress(job: ShardJob, run: RunContext) -> Progress:
    return run.progress_bar(job.n, f"sampling (λ, ν) in {job.count} shards")


class SerialShards:
    """The shards one after the other in this process, on the run's backend."""

    where = "this process"
    host_results = False  # the shards' reservoirs stay on the run's backend

    def prepare(self, generator, _recipe: GeneratorRecipe | None):
        """Keep the generator (this process needs no recipe)."""
        self.generator = generator

    def map(self, job: ShardJob, run: RunContext) -> list:
        """Every shard of ``job``, in index order; under a time budget the shards that finished
        before it was spent (a shard the budget cut part-way is dropped)."""
        prog, out = _progress(job, run), []
        for i in range(job.count):
            if out and _spent(run):
                break
            stats = shard_stats(job, self.generator, i, deadline=run.deadline, cut=bool(out))
            if stats is None:  # cut part-way: not a whole shard
                break
            out.append(stats)
            prog.update(min(job.n, (i + 1) * job.size))
        return out

    def close(self):
        """Nothing to end: the shards ran here."""


class PoolShards:
    """The shards on a local pool of ``workers`` spawned processes (one BLAS thread each).

    A worker killed while it runs a shard loses only that shard, which runs again on a fresh
    worker (:class:`getheory._cluster.ProcessPool`): the result is the same, bit for bit.  A
    shard whose worker dies twice stops the run, naming the shard.  On an error, an interrupt or
    a spent budget the pool is ended (every process terminated and joined) before :meth:`map` returns.
    """

    host_results = True  # the shards' reservoirs come back as NumPy arrays

    def __init__(self, workers: int):
        self.workers = int(workers)
        self.where = f"a local pool of {self.workers} processes"
        self.pool = None

    def prepare(self, generator, recipe: GeneratorRecipe | None):
        """Pickle the recipe (or else the generator) once, before any work, and start the pool:
        each process unpickles it once (:func:`~._shards.pool_setup`)."""
        try:  # checked here, before any work: the pool pickles with the standard pickle
            payload = pickle.dumps(recipe if recipe is not None else generator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise _not_picklable(exc, "the local worker processes") from None
        self.pool = make_pool(self.workers, pool_setup, (payload,))  # sent once per process

    def map(self, job: ShardJob, run: RunContext) -> list:
        """Every shard of ``job`` on the pool; their statistics in shard-index order (the run's
        progress shown and its time budget checked here)."""
        for i in range(job.count):
            self.pool.submit(i, run_shard_in_pool, job, i)
        prog, done, done_rows = _progress(job, run), {}, 0
        try:
            while len(self.pool):
                for i, ok, value in self.pool.wait(_POLL_S):
                    if not ok:  # a shard's error stops the run here
                        raise self._failed(i, job, value)
                    done[i] = value
                    done_rows += job.rows(i)
                prog.update(done_rows)
                k = _prefix(done)
                if len(self.pool) and _spent(run) and k:
                    self.close(now=True)
                    return [done[i] for i in range(k)]
                run.check_deadline("the measured run's sampling")  # spent before any shard finished
        except BaseException:
            self.close(now=True)  # every process ended and joined before the error goes on
            raise
        return [done[i] for i in range(job.count)]

    def _failed(self, index: int, job: ShardJob, exc: BaseException) -> BaseException:
        """A shard's error as raised here: the worker's own, or, for a shard that killed its worker every
        time it ran, a :class:`~getheory._cluster.ClusterError` naming the shard."""
        if isinstance(exc, WorkerLost):
            return ClusterError(f"shard {index} of {job.count} of the measured run: {exc}: the sharded run stopped. "
                                "The generator crashes the process that runs it (native code, memory?): run the "
                                "check without --workers to see how")
        return exc

    def close(self, now: bool = False):
        """End the pool: every process terminated (at once, ``now``) and joined."""
        if self.pool is not None:
            self.pool.close(now=now)  # interrupted, it is closed again by the check's exit
            self.pool = None


class DaskShards:
    """The shards on a dask.distributed cluster, through ``client``.

    Parameters
    ----------
    client : distributed.Client
    own : bool
        Close the client at :meth:`close` (one this module connected).
    worker_timeout : float
        Seconds without any worker (or without contact with the scheduler) before the run
        stops with a :class:`getheory._cluster.ClusterError`.
    """

    host_results = True  # the shards' reservoirs come back as NumPy arrays

    def __init__(self, client, *, own: bool = False, worker_timeout: float = WORKER_TIMEOUT_S):
        self.client, self.own, self.worker_timeout = client, own, float(worker_timeout)
        self.address = getattr(getattr(client, "scheduler", None), "address", None) or "?"
        self.where = f"the Dask cluster at {self.address}"
        self.source = None

    def prepare(self, generator, recipe: GeneratorRecipe | None):
        """The generator's way to the workers, settled before any work: its recipe (the user modules
        it needs checked on every worker), or else the generator scattered once to every worker."""
        if recipe is not None:
            self._check_needs(recipe)
            self.source = recipe
            return
        try:  # as Dask pickles: the standard pickle, else cloudpickle (lambdas, closures)
            pickle.dumps(generator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            import cloudpickle  # Dask's fallback pickler, installed with the optional dask extra

            try:
                cloudpickle.dumps(generator)
            except Exception as exc:
                raise _not_picklable(exc, self.where) from None
        # once to every worker, now; each shard names it, and workers that join later fetch it from a peer
        [self.source] = self.client.scatter([generator], broadcast=True, hash=False)  # a list: one future

    def _check_needs(self, recipe: GeneratorRecipe):
        """Refuse a recipe whose user modules a worker cannot import, naming the module and the workers."""
        if not recipe.needs:
            return
        errors = {w: e for w, e in self.client.run(check_needs, recipe).items() if e is not None}
        if errors:
            where = f"the Dask worker(s) {', '.join(sorted(errors))}"
            raise ValueError(unimportable(recipe, where, next(iter(errors.values()))))

    def map(self, job: ShardJob, run: RunContext) -> list:
        """Every shard of ``job`` as a Dask task (key ``getheory-shard-TOKEN-i``); their statistics in
        shard-index order.  A shard lost with its worker is run again by Dask; a shard's error, a spent
        time budget or a cluster without workers stops the run (the other shards cancelled)."""
        token, caller = uuid.uuid4().hex[:12], process_id()
        futs = [self.client.submit(run_shard_remote, job, self.source, i, caller, key=f"getheory-shard-{token}-{i}",
                                   pure=False) for i in range(job.count)]
        try:
            with _out_of_worker_slot():
                cut = self._wait(futs, job, _progress(job, run), run)
            done = _dask_prefix(futs) if cut else futs
            self._cancel(futs[len(done):])
            return self.client.gather(done)  # one round trip for all of them
        except BaseException:
            self._cancel(futs)
            raise

    def _cancel(self, futs):
        if futs and getattr(self.client, "status", "running") == "running":
            with contextlib.suppress(Exception):
                self.client.cancel(futs)

    def _wait(self, futs, job: ShardJob, prog: Progress, run: RunContext) -> bool:
        """Until every shard has ended (False) or the budget is spent with shard 0 done (True): a
        shard's error is raised here, the budget and the workers are watched."""
        ended, index = queue.SimpleQueue(), {f.key: i for i, f in enumerate(futs)}
        for f in futs:
            f.add_done_callback(ended.put)  # called in a Dask thread as each future ends
        left, done_rows, watch = len(futs), 0, _Workers(self.client, self.address, self.worker_timeout)
        while left:
            try:
                f = ended.get(timeout=_POLL_S)
            except queue.Empty:
                f = None
            if f is not None:
                left -= 1
                try:
                    f.result()
                except CancelledError:  # not by us: the scheduler dropped it, or this client lost the scheduler
                    raise ClusterError(f"{self.where} cancelled shard {index[f.key]} (lost the scheduler?): the "
                                       "sharded run stopped; rerun it with the cluster up") from None
                done_rows += job.rows(index[f.key])
                prog.update(done_rows)
            if left and _spent(run) and _dask_prefix(futs):
                return True
            run.check_deadline("the measured run's sampling")  # spent before any shard finished
            watch.check(left)
        return False

    def close(self):
        """Release the scattered generator; close the client when this executor connected it."""
        self.source = None  # the last reference to a scattered generator's future: Dask forgets it
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close(timeout=CONNECT_TIMEOUT_S)


def _spent(run: RunContext) -> bool:
    """Whether the run has a time budget and it is spent."""
    return run.deadline is not None and run.deadline.remaining() < 0


def _prefix(done: dict) -> int:
    """k: shards 0 … k−1 are all in ``done`` (k may be 0)."""
    k = 0
    while k in done:
        k += 1
    return k


def _dask_prefix(futs) -> list:
    """:func:`_prefix` for Dask futures, from their status (no round trip to the scheduler)."""
    k = next((i for i, f in enumerate(futs) if f.status != "finished"), len(futs))
    return futs[:k]


@contextlib.contextmanager
def _out_of_worker_slot():
    """Inside a Dask task (a sweep point waiting for its shards): leave the worker's thread pool
    while waiting (``distributed.secede``), so that the shards can take the slot, and rejoin after."""
    try:
        # optional (the dask extra); only a check running inside a Dask task gets here with it installed
        from distributed import get_worker, rejoin, secede
        from distributed.worker import thread_state

        get_worker()  # raises outside a worker's task
        thread_state.start_time  # noqa: B018 (set only in a synchronous task's thread)
    except Exception:
        yield
        return
    secede()
    try:
        yield
    finally:
        rejoin()


class _Workers:
    """Whether the cluster has workers (and this process contact with it), checked at most every
    :data:`_POLL_S` seconds; :meth:`check` raises once it has had none for ``timeout`` seconds."""

    def __init__(self, client, address, timeout):
        self.client, self.address, self.timeout = client, address, timeout
        self.last, self.since = -float("inf"), None

    def check(self, left: int):
        now = time.monotonic()
        if now - self.last < _POLL_S:
            return
        self.last = now
        n_workers = None
        if getattr(self.client, "status", "running") == "running":
            with contextlib.suppress(Exception):
                info = self.client.scheduler_info(n_workers=0)
                n_workers = info.get("n_workers", len(info.get("workers") or {}))
        if n_workers:
            self.since = None
            return
        self.since = now if self.since is None else self.since
        if now - self.since >= self.timeout:
            what = "has no workers" if n_workers == 0 else "does not answer"
            raise ClusterError(f"the Dask scheduler {self.address!r} {what} for {self.timeout:g} s, with {left} "
                               f"shards of the measured run not done: the check stopped. Start workers "
                               f"(`dask worker {self.address}`) and rerun it")


@contextlib.contextmanager
def open_executor(shards: ShardOptions, client=None):
    """The executor of ``shards`` (None when the run is not sharded), closed on exit.

    A ``client`` runs the shards on its Dask cluster; otherwise ``shards.scheduler`` is
    connected to (after :func:`getheory._cluster.check_scheduler`: a wrong address fails
    within seconds, naming it), or ``shards.workers`` > 1 local processes, or this process.
    """
    if not shards.on:
        if client is not None:
            raise ValueError("a Dask client runs the shards of a sharded check, but no shard size was given: set "
                             "shards=ShardOptions(size=ROWS) too; the result depends on the shard size, so it is "
                             "never chosen for you")
        yield None
        return
    if client is not None:
        ex = DaskShards(client)
    elif shards.scheduler is not None:
        ex = DaskShards(connect(shards.scheduler), own=True)
    elif shards.workers not in (None, 1):
        ex = PoolShards(shards.workers)
    else:
        ex = SerialShards()
    try:
        yield ex
    finally:
        ex.close()
