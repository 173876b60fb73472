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
  result is the same.  A scattered generator lost with every worker that held it is scattered
  again once workers are back.  Workers in other processes use one BLAS thread each.  No wait
  on the cluster is without a limit: a cluster without workers for :data:`WORKER_TIMEOUT_S`
  seconds stops the run whatever it was waiting on (:func:`getheory._cluster.wait_watched`).
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import time
import uuid
from .._cluster import (
    CONNECT_TIMEOUT_S,
    ClusterError,
    WorkerLost,
    call_within,
    connect,
    make_pool,
    process_id,
    wait_watched,
)
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

    No wait on the cluster is without a limit: every blocking call (the scatter, the workers'
    module check, the gather, a cancel) is waited for while the cluster's workers are watched
    (:class:`_Workers`), so that a cluster without workers for ``worker_timeout`` seconds stops
    the run whatever it was waiting on.

    Parameters
    ----------
    client : distributed.Client
    own : bool
        Close the client at :meth:`close` (one this module connected).
    worker_timeout : float, optional
        Seconds without any worker (or without contact with the scheduler) before the run
        stops with a :class:`getheory._cluster.ClusterError` (default :data:`WORKER_TIMEOUT_S`).
    """

    host_results = True  # the shards' reservoirs come back as NumPy arrays
    #: times a scattered generator lost with its workers is scattered again before the run stops
    rescatters = 3

    def __init__(self, client, *, own: bool = False, worker_timeout: float | None = None):
        self.client, self.own = client, own
        self.worker_timeout = float(WORKER_TIMEOUT_S if worker_timeout is None else worker_timeout)
        self.address = getattr(getattr(client, "scheduler", None), "address", None) or "?"
        self.where = f"the Dask cluster at {self.address}"
        self.source = self.generator = None
        self.watch = _Workers(client, self.address, self.worker_timeout)

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
        self.generator = generator  # kept: scattered again if the workers holding it die
        self._scatter("while the generator waited to be scattered to the workers")

    def _scatter(self, doing: str, tries: int = 3):
        """Once to every worker, now; each shard names it, and workers that join later fetch it from a peer.
        A worker that dies while the generator is sent to it (a closed connection) is tried ``tries`` times."""
        for k in range(tries):
            try:
                [self.source] = self._watched(lambda: self.client.scatter([self.generator], broadcast=True,
                                                                          hash=False), doing)  # a list: one future
                return
            except OSError as exc:  # distributed's CommClosedError: a worker died while receiving it
                if k == tries - 1:
                    raise ClusterError(f"the generator could not be scattered to the workers of {self.where}: "
                                       f"{tries} tries failed ({type(exc).__name__}: {str(exc)[:120]}), {doing}; "
                                       "rerun with the workers up, or give the generator a recipe") from None

    def _watched(self, call, doing: str):
        """``call()`` waited for while the workers are watched (a ClusterError once there are none)."""
        return wait_watched(call, lambda: self.watch.check(doing), poll=_POLL_S)

    def _check_needs(self, recipe: GeneratorRecipe):
        """Refuse a recipe whose user modules a worker cannot import, naming the module and the workers."""
        if not recipe.needs:
            return
        found = self._watched(lambda: self.client.run(check_needs, recipe), "while the workers' modules were checked")
        errors = {w: e for w, e in found.items() if e is not None}
        if errors:
            where = f"the Dask worker(s) {', '.join(sorted(errors))}"
            raise ValueError(unimportable(recipe, where, next(iter(errors.values()))))

    def map(self, job: ShardJob, run: RunContext) -> list:
        """Every shard of ``job`` as a Dask task (key ``getheory-shard-TOKEN-i``); their statistics in
        shard-index order.  A shard lost with its worker is run again by Dask (and a scattered generator
        lost with every worker that held it is scattered again once workers are back); a shard's error,
        a spent time budget or a cluster without workers stops the run (the other shards cancelled)."""
        self.token, self.caller, self.tries, self.source_of = uuid.uuid4().hex[:12], process_id(), 0, {}
        futs = [self._submit(job, i) for i in range(job.count)]
        try:
            with _out_of_worker_slot():
                cut = self._wait(futs, job, _progress(job, run), run)
            done = _dask_prefix(futs) if cut else futs
            self._cancel(futs[len(done):])
            # one round trip for all of them, watched: a result lost with its worker is computed again
            return self._watched(lambda: self.client.gather(done), f"while gathering {len(done)} finished shards")
        except BaseException:
            self._cancel(futs)
            raise

    def _submit(self, job: ShardJob, i: int):
        key = f"getheory-shard-{self.token}-{i}" + (f"-r{self.tries}" if self.tries else "")
        self.source_of[key] = self.source
        return self.client.submit(run_shard_remote, job, self.source, i, self.caller, key=key, pure=False)

    def _cancel(self, futs):
        if futs and getattr(self.client, "status", "running") == "running":
            with contextlib.suppress(Exception):  # one call, bounded: a lost scheduler would make it wait
                call_within(lambda: self.client.cancel(futs), CONNECT_TIMEOUT_S, f"{self.where} (cancelling shards)")

    def _wait(self, futs: list, job: ShardJob, prog: Progress, run: RunContext) -> bool:
        """Until every shard has finished (False) or the budget is spent with shard 0 done (True),
        from the futures' states (no result is fetched here): a shard's error is raised, a shard
        cancelled by the cluster stops the run, the budget and the workers are watched."""
        woken = queue.SimpleQueue()
        for f in futs:
            f.add_done_callback(woken.put)  # called in a Dask thread as each future ends: wakes the loop
        while True:
            with contextlib.suppress(queue.Empty):
                woken.get(timeout=_POLL_S)
            for i in range(len(futs)):  # a finished shard whose worker died goes back to pending
                if futs[i].status == "error":
                    futs[i].result(timeout=CONNECT_TIMEOUT_S)  # raises the shard's error (no data to fetch)
                elif futs[i].status == "cancelled":  # resubmits it (and others) where it can, else raises
                    self._cancelled(futs, job, i, woken)
            finished = [i for i, f in enumerate(futs) if f.status == "finished"]
            prog.update(sum(job.rows(i) for i in finished))
            if len(finished) == len(futs):
                return False
            if _spent(run) and _dask_prefix(futs):
                return True
            run.check_deadline("the measured run's sampling")  # spent before any shard finished
            self.watch.check(f"with {len(futs) - len(finished)} shards of the measured run not done")

    def _cancelled(self, futs: list, job: ShardJob, i: int, woken):
        """Shard ``i`` cancelled, not by us: the scattered generator was lost with the workers that held
        it (scattered again, and the shards that needed it run again), or this client lost the scheduler."""
        source = self.source_of.get(futs[i].key)
        if self.generator is None or (source is self.source and not _lost(self.source)):
            raise ClusterError(f"{self.where} cancelled shard {i} (lost the scheduler?): the sharded run stopped; "
                               "rerun it with the cluster up")
        if source is self.source:  # the generator now on the workers is lost: scatter it again
            if self.tries >= self.rescatters:
                raise ClusterError(
                    f"the generator scattered to the workers of {self.where} was lost with the workers that held "
                    f"it ({self.tries + 1} times), and shard {i} with it: the sharded run stopped. A generator with "
                    "a recipe (check_generator(recipe=GeneratorRecipe(...)), or --generator module:function) is "
                    "rebuilt by each worker and survives workers that die; or keep the workers up and rerun")
            self.tries += 1
            self._scatter(f"while the scattered generator, lost with the workers that held it (and shard {i} with "
                          "it), waited to be scattered again; a generator with a recipe (GeneratorRecipe, or "
                          "--generator module:function) is rebuilt by the workers instead")
        for k, f in enumerate(futs):
            if f.status != "finished" and self.source_of.get(f.key) is not self.source:  # needed a lost generator
                futs[k] = self._submit(job, k)
                futs[k].add_done_callback(woken.put)

    def close(self):
        """Release the scattered generator; close the client when this executor connected it."""
        # the last references to the scattered generator's futures: Dask forgets it
        self.source = self.generator = self.source_of = None
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close(timeout=CONNECT_TIMEOUT_S)


def _lost(source, settle: float = 5.0) -> bool:
    """Whether the scattered ``source`` was lost (its future no longer finished), given ``settle`` seconds
    for the news to arrive: the scheduler tells a shard's cancellation and its data's loss apart."""
    deadline = time.monotonic() + settle
    while source.status == "finished":
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


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
    :data:`_POLL_S` seconds; :meth:`check` raises once it has had none for ``timeout`` seconds.
    The question to the scheduler is itself bounded (:data:`CONNECT_TIMEOUT_S`)."""

    def __init__(self, client, address, timeout):
        self.client, self.address, self.timeout = client, address, timeout
        self.last, self.since, self.seen = -float("inf"), None, False

    def count(self) -> int | None:
        """The scheduler's workers now, or None where the client lost it or it does not answer in time."""
        if getattr(self.client, "status", "running") != "running":
            return None
        info = None
        with contextlib.suppress(Exception):  # the scheduler is gone, or does not answer in time
            info = call_within(lambda: self.client.scheduler_info(n_workers=0), CONNECT_TIMEOUT_S, "the scheduler")
        return None if info is None else info.get("n_workers", len(info.get("workers") or {}))

    def check(self, doing: str):
        """Raise a :class:`ClusterError` once the cluster has had no worker for ``timeout`` seconds;
        ``doing`` says what the run was doing ("with 3 shards of the measured run not done")."""
        now = time.monotonic()
        if now - self.last < _POLL_S:
            return
        self.last = now
        n_workers = self.count()
        if n_workers:
            self.since, self.seen = None, True
            return
        self.since = now if self.since is None else self.since
        if time.monotonic() - self.since >= self.timeout:
            what = ("does not answer" if n_workers is None else
                    "has lost every worker (they died or left)" if self.seen else "has no workers")
            raise ClusterError(f"the Dask scheduler {self.address!r} {what} for {self.timeout:g} s, {doing}: the "
                               f"check stopped. Start workers (`dask worker {self.address}`) and rerun it")


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
