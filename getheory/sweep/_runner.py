"""Running a sweep: the tasks not yet in the database, on one runner (serial, local pool or Dask).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import time
import traceback
from concurrent.futures import CancelledError
from dataclasses import dataclass, field, replace

from .._cluster import (
    CONNECT_TIMEOUT_S,
    call_within,
    check_scheduler,
    connect,
    limit_worker_threads,
    make_pool,
    process_id,
    wait_watched,
)
from .._progress import Progress
from .._repr import ShortRepr
from ._database import ResultsDB, SweepError
from ._spec import SweepSpec
from ._tasks import Task, run_task

__all__ = ["CONNECT_TIMEOUT_S", "ORDERS", "WORKER_TIMEOUT_S", "DaskRunner", "PoolRunner", "SerialRunner",
           "SweepOptions", "SweepSummary", "choose_runner", "run_sweep", "task_key"]


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    total: int
    skipped: int
    done: int
    failed: int
    elapsed_s: float
    failures: list = field(default_factory=list)


def _make_pool(workers: int):
    """A process pool of ``workers`` spawned processes, each with one BLAS/OpenMP thread, that end
    when this process ends, even by ``kill -9`` (:func:`getheory._cluster.make_pool`)."""
    return make_pool(workers)


def _run_task_on_worker(task: Task, caller: str) -> dict:
    """:func:`run_task` on a Dask worker, limited to one BLAS/OpenMP thread.

    A sharded point (``samples.shard_size``) sends its shards to the same cluster, through
    the worker's own client (``distributed.get_client``); while it waits for them it leaves
    the worker's thread slot (:class:`getheory.check.DaskShards`), so that points waiting
    for their shards never hold every slot.

    Parameters
    ----------
    task : Task
    caller : str
        :func:`getheory._cluster.process_id` of the process that submitted the task.  A worker
        in that same process (an in-process cluster) leaves its thread
        settings as they are.

    Returns
    -------
    dict
        The task's record.
    """
    if process_id() != caller:
        limit_worker_threads()
    if task.samples.get("shard_size") is None:
        return run_task(task)
    from distributed import get_client  # optional (the dask extra): only a task running on Dask gets here

    return run_task(task, client=get_client())


#: the task orders of :class:`SweepOptions`
ORDERS = ("cheap-first", "costly-first", "grid")


@dataclass(frozen=True, repr=False)
class SweepOptions(ShortRepr):
    """How :func:`run_sweep` runs the tasks.

    Attributes
    ----------
    workers : int, optional
        Local process-pool size (default: the number of CPUs).  ``1`` runs in
        this process.  Pool workers use one BLAS thread each, and end when
        this process ends, even by ``kill -9``.
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``); tasks
        run there instead of locally.  The address is checked (within
        :data:`CONNECT_TIMEOUT_S` seconds) before the database is opened: an
        address where nothing listens, or where something other than a Dask
        scheduler answers, is a :class:`SweepError`.  Workers in other
        processes use one BLAS thread each; the calling process is left as it is.
    progress : bool
        Progress bar on stderr.
    max_tasks : int, optional
        Run at most this many of the remaining tasks (then stop).
    order : {"cheap-first", "costly-first", "grid"}
        Task order.  The default runs the cheapest tasks (small N) first, so
        that a partial database already covers the small-N end of every
        group; ``costly-first`` shortens the makespan on a pool.
    worker_timeout : float, optional
        Dask only: seconds the scheduler may have no worker (or this process no
        contact with the scheduler) before the sweep stops with a
        :class:`SweepError` (default :data:`WORKER_TIMEOUT_S`).  Rows already
        written stay; rerunning the command resumes.
    """

    workers: int | None = None
    scheduler: str | None = None
    progress: bool = True
    max_tasks: int | None = None
    order: str = "cheap-first"
    worker_timeout: float | None = None

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValueError(f"order must be 'cheap-first', 'costly-first' or 'grid', got {self.order!r}")


def run_sweep(spec: SweepSpec, db_path, options: SweepOptions | None = None, *, client=None,
              **settings) -> SweepSummary:
    """Run every unfinished task of ``spec``, writing one row per task to ``db_path``.

    Parameters
    ----------
    spec : SweepSpec
    db_path : path
        Created when missing; an existing database must hold the same spec
        (otherwise :class:`SweepError`, nothing is touched).  Finished tasks
        are skipped.  A database (or its folder) that cannot be written is
        refused before any task runs.
    options : SweepOptions, optional
        Workers, scheduler, progress bar, task cap and order, Dask worker timeout.
    client : distributed.Client, optional
        An existing Dask client (used by the tests with an in-process LocalCluster).
    **settings
        Fields of :class:`SweepOptions` given by name (``workers=1, progress=False``);
        they replace those of ``options``.

    Tasks are written by this process as they finish (one transaction each);
    Ctrl-C or a kill loses only the tasks in flight.
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec (use load_spec for a TOML file), got {type(spec).__name__}")
    opts = replace(options or SweepOptions(), **settings)
    t_start = time.perf_counter()
    own_client = None
    if client is None and opts.scheduler is not None:
        # the address is checked before the database is created: a wrong address leaves no file behind
        client = own_client = _connect(opts.scheduler)
    try:
        return _run_sweep(spec, db_path, t_start, opts, client)
    finally:
        if own_client is not None:
            with contextlib.suppress(Exception):
                own_client.close(timeout=CONNECT_TIMEOUT_S)


def _todo(tasks, done, opts: SweepOptions) -> list:
    """The tasks not yet done, in the options' order, at most ``max_tasks`` of them."""
    todo = [t for t in tasks if t.task_id not in done]
    if opts.order == "cheap-first":
        todo.sort(key=lambda t: t.cost)
    elif opts.order == "costly-first":
        todo.sort(key=lambda t: -t.cost)
    return todo if opts.max_tasks is None else todo[:opts.max_tasks]


def _run_sweep(spec, db_path, t_start, opts: SweepOptions, client):
    db = ResultsDB(db_path, create=True)  # refuses a database or folder it cannot write
    try:
        db.init(spec)
        tasks = spec.tasks()
        done = db.done_ids()
        todo = _todo(tasks, done, opts)
        prog = Progress(len(todo), "sweep tasks", opts.progress, delay=0.0, log_every=0.0)
        cost_total = sum(t.cost for t in todo) or 1.0
        tally = {"cost": 0.0, "n": 0}
        summary = SweepSummary(total=len(tasks),
                               skipped=len(tasks) - len(todo) if opts.max_tasks is None else len(done),
                               done=0, failed=0, elapsed_s=0.0)

        def finish(task, rec=None, exc=None):
            if exc is None:
                db.insert(rec)
                summary.done += 1
            else:
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                db.record_failure(task.task_id, f"{type(exc).__name__}: {exc}", tb)
                summary.failed += 1
                summary.failures.append((task.task_id, f"{type(exc).__name__}: {exc}"))
            tally["cost"] += task.cost
            tally["n"] += 1
            prog.update(tally["n"], fraction=tally["cost"] / cost_total, failed=summary.failed,
                        note=task.task_id + ("" if exc is None else " FAILED"))

        if todo:
            runner = choose_runner(len(todo), workers=opts.workers, scheduler=opts.scheduler, client=client)
            if isinstance(runner, DaskRunner) and opts.worker_timeout is not None:
                runner = replace(runner, worker_timeout=float(opts.worker_timeout))
            runner.run(todo, finish)
        summary.elapsed_s = time.perf_counter() - t_start
        return summary
    finally:
        db.close()


class SerialRunner:
    """Runs the tasks one after the other in this process."""

    def run(self, todo, finish):
        for t in todo:
            try:
                rec = run_task(t)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # recorded, retried on the next run
                finish(t, exc=exc)
            else:
                finish(t, rec)


@dataclass(frozen=True)
class PoolRunner:
    """Runs the tasks on a local pool of ``workers`` processes, one BLAS thread each."""

    workers: int

    def run(self, todo, finish):
        _run_pool(todo, finish, self.workers)


#: seconds a Dask scheduler may have no worker, or this process no contact with it, before a sweep stops
WORKER_TIMEOUT_S = 20.0
#: seconds between checks of the scheduler's workers while tasks are pending
_POLL_S = 1.0


@dataclass(frozen=True)
class DaskRunner:
    """Runs the tasks on a dask.distributed cluster: an existing ``client`` or a ``scheduler`` address.

    Each task's key carries the SHA-256 of the task's canonical JSON (:func:`task_key`), so
    sweeps that share a scheduler never share results.  With no worker on the scheduler (or
    no contact with it) for ``worker_timeout`` seconds the run stops with a :class:`SweepError`.
    """

    client: object = None
    scheduler: str | None = None
    worker_timeout: float = WORKER_TIMEOUT_S

    def run(self, todo, finish):
        _run_dask(todo, finish, self.client, self.scheduler, self.worker_timeout)


def choose_runner(n_tasks: int, *, workers=None, scheduler=None, client=None):
    """The runner for ``n_tasks`` tasks: Dask when a client or scheduler is given, else a local
    pool of ``workers`` processes (default: the CPUs), or this process for one worker or task.

    Every runner has ``run(todo, finish)``: it runs each :class:`Task` of ``todo`` and calls
    ``finish(task, record)`` or ``finish(task, exc=exception)`` in this process as each ends.
    """
    if client is not None or scheduler is not None:
        return DaskRunner(client, scheduler)
    nw = workers or os.cpu_count() or 1
    if nw <= 1 or n_tasks == 1:
        return SerialRunner()
    return PoolRunner(nw)


def _run_pool(todo, finish, workers, call=run_task):
    """``call(task)`` for each task of ``todo`` on a local pool, ``finish`` called here as each ends.

    A worker killed while it runs a task is replaced and the task runs again once; a task whose
    worker dies twice is recorded as failed (a :class:`getheory._cluster.WorkerLost`) and retried
    on the next run.  On Ctrl-C or an error every worker is terminated and joined before it goes on;
    the finished tasks are in the database already.
    """
    tasks = {t.task_id: t for t in todo}
    with _make_pool(min(workers, len(todo))) as pool:
        for t in todo:
            pool.submit(t.task_id, call, t)
        while len(pool):
            for tid, ok, value in pool.wait():
                finish(tasks[tid], value if ok else None, None if ok else value)


def task_key(task: Task) -> str:
    """The Dask key of ``task``: ``getheory-task-N{N}-D{D}-`` and the first 32 hex digits of the
    SHA-256 of the task's canonical JSON (every field: spec settings such as the sample size
    included).  Two sweeps on one scheduler share a key only for identical tasks."""
    text = json.dumps(task.payload(), sort_keys=True, separators=(",", ":"))
    return f"getheory-task-N{task.N}-D{task.D}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> dict:
    """:func:`getheory._cluster.check_scheduler`, raising :class:`SweepError`."""
    return check_scheduler(address, timeout, error=SweepError)


def _connect(scheduler: str):
    """A :class:`distributed.Client` on ``scheduler`` (:func:`getheory._cluster.connect`), or a :class:`SweepError`."""
    return connect(scheduler, error=SweepError)


class _WorkerWatch:
    """Whether the scheduler has workers (and this process contact with it), checked at most
    every :data:`_POLL_S` seconds; :meth:`check` raises :class:`SweepError` once it has had
    none for ``timeout`` seconds."""

    def __init__(self, client, address, timeout):
        self.client, self.address, self.timeout = client, address, float(timeout)
        self.last_check = -float("inf")
        self.since = None  # when the workers (or the contact) were first seen missing
        self.seen = False  # whether a worker was ever seen
        self.why = ""

    def check(self, n_finished: int, n_pending: int):
        now = time.monotonic()
        if now - self.last_check < _POLL_S:
            return
        self.last_check = now
        status = getattr(self.client, "status", "running")
        n_workers = None
        if status == "running":
            with contextlib.suppress(Exception):  # the question itself is bounded: a scheduler that hangs
                info = call_within(lambda: self.client.scheduler_info(n_workers=0), CONNECT_TIMEOUT_S,
                                   "the scheduler", error=SweepError)
                n_workers = info.get("n_workers", len(info.get("workers") or {}))
        if status == "running" and n_workers:
            self.since, self.seen = None, True
            return
        if status != "running":
            self.why = f"lost the connection to the Dask scheduler {self.address!r} (client status {status!r})"
        elif n_workers is None:
            self.why = f"the Dask scheduler {self.address!r} does not answer"
        elif self.seen:
            self.why = f"every worker of the Dask scheduler {self.address!r} is gone (died or left)"
        else:
            self.why = f"the Dask scheduler {self.address!r} has no workers"
        if self.since is None:
            self.since = now
        elif now - self.since >= self.timeout:
            raise SweepError(
                f"{self.why}, for {self.timeout:g} s: the sweep stopped. {n_finished} tasks of this run finished "
                f"and are in the database; {n_pending} did not run. Start workers (`dask worker {self.address}`) "
                "and rerun the same command: it resumes with the tasks not yet in the database")


def _run_dask(todo, finish, client, scheduler, worker_timeout=WORKER_TIMEOUT_S):
    own = client is None
    if own:
        client = _connect(scheduler)
    address = scheduler
    with contextlib.suppress(Exception):
        address = client.scheduler.address
    futs = {}  # key -> (future, task), filled as tasks are submitted
    try:
        caller = process_id()
        for t in todo:
            f = client.submit(_run_task_on_worker, t, caller, key=task_key(t), pure=False)
            futs[f.key] = (f, t)
        _DaskCollector(client, address, futs, finish).run(_WorkerWatch(client, address, worker_timeout))
    except BaseException:
        if futs and getattr(client, "status", "running") == "running":
            with contextlib.suppress(Exception):  # one call, bounded: a lost scheduler would make it wait
                call_within(lambda: client.cancel([f for f, _ in futs.values()]), CONNECT_TIMEOUT_S,
                            f"the Dask scheduler {address!r} (cancelling tasks)", error=SweepError)
        raise
    finally:
        if own:
            with contextlib.suppress(Exception):
                client.close(timeout=CONNECT_TIMEOUT_S)


class _DaskCollector:
    """Hands each submitted Dask future's result to ``finish`` as it ends, in this process."""

    def __init__(self, client, address, futs: dict, finish):
        self.client, self.address, self.futs, self.finish = client, address, futs, finish
        self.n_left, self.n_finished = len(futs), 0

    def run(self, watch: _WorkerWatch):
        """Until every future has ended; ``watch`` stops the run when the scheduler has no worker, also
        while a record is fetched from a worker (one that died with it: Dask computes it again)."""
        self.watch = watch
        ended = queue.SimpleQueue()
        for f, _ in self.futs.values():
            f.add_done_callback(ended.put)  # called in a Dask thread as each future ends
        while self.n_left:
            try:
                f = ended.get(timeout=_POLL_S)
            except queue.Empty:
                watch.check(self.n_finished, self.n_left)
                continue
            self.n_left -= 1
            self._take(f)
            self.n_finished += 1
            if self.n_left:
                watch.check(self.n_finished, self.n_left)

    def _take(self, f):
        t = self.futs[f.key][1]
        try:  # watched, never without a limit: a record lost with its worker is computed again, or the sweep stops
            rec, exc = wait_watched(lambda: _outcome(f), lambda: self.watch.check(self.n_finished, self.n_left + 1),
                                    poll=_POLL_S)
        except CancelledError as exc:  # not by us: the scheduler dropped it, or this client lost the scheduler
            raise self._cancelled(exc, t) from None
        if exc is None:
            self.finish(t, rec)
        else:  # recorded, retried on the next run
            self.finish(t, exc=exc)

    def _cancelled(self, exc, t) -> SweepError:
        lost = getattr(self.client, "status", "running") != "running"
        what = (f"lost the connection to the Dask scheduler {self.address!r}" if lost
                else f"the Dask scheduler {self.address!r} cancelled task {t.task_id}")
        return SweepError(f"{what} ({str(exc).splitlines()[0]}): the sweep stopped. {self.n_finished} tasks of "
                          f"this run finished and are in the database; {self.n_left + 1} did not finish. Rerun "
                          "the same command (with a scheduler and workers up): it resumes with the tasks "
                          "not yet in the database")


def _outcome(f) -> tuple:
    """``(record, None)``, or ``(None, the task's error)``, of a Dask future that has ended; a
    future cancelled by the cluster raises :class:`~concurrent.futures.CancelledError`."""
    try:
        return f.result(), None
    except CancelledError:
        raise
    except Exception as exc:  # the task's own error
        return None, exc
