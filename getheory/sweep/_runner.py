"""Running a sweep: the tasks not yet in the database, on one runner (serial, local pool or Dask).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from dataclasses import dataclass, field

from .._progress import Progress
from ._database import ResultsDB, SweepError
from ._spec import SweepSpec
from ._tasks import Task, run_task

__all__ = ["DaskRunner", "PoolRunner", "SerialRunner", "SweepSummary", "choose_runner", "run_sweep"]


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    total: int
    skipped: int
    done: int
    failed: int
    elapsed_s: float
    failures: list = field(default_factory=list)


_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _limit_worker_threads():
    """Limit this worker process to one BLAS/OpenMP thread for the rest of its life.

    The process-pool initializer, and the first step of every task on a Dask
    worker: one task per core must not oversubscribe the CPUs.  threadpoolctl
    limits the libraries already loaded (numpy's BLAS); the environment
    variables limit those loaded later (scipy's own BLAS, an OpenMP runtime,
    numba's threading layer).
    """
    from threadpoolctl import threadpool_limits

    for k in _THREAD_ENV:
        os.environ[k] = "1"
    threadpool_limits(limits=1)


def _make_pool(workers: int):
    """A process pool of ``workers`` spawned processes, each with one BLAS/OpenMP thread.

    Parameters
    ----------
    workers : int
        Pool size.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Its workers run :func:`_limit_worker_threads` before their first task.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_limit_worker_threads)


def _process_id() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_task_on_worker(task: Task, caller: str) -> dict:
    """:func:`run_task` on a Dask worker, limited to one BLAS/OpenMP thread.

    Parameters
    ----------
    task : Task
    caller : str
        :func:`_process_id` of the process that submitted the task.  A worker
        in that same process (an in-process cluster) leaves its thread
        settings as they are.

    Returns
    -------
    dict
        The task's record.
    """
    if _process_id() != caller:
        _limit_worker_threads()
    return run_task(task)


def run_sweep(spec: SweepSpec, db_path, *, workers: int | None = None, scheduler: str | None = None,
              client=None, progress: bool = True, max_tasks: int | None = None,
              order: str = "cheap-first") -> SweepSummary:
    """Run every unfinished task of ``spec``, writing one row per task to ``db_path``.

    Parameters
    ----------
    spec : SweepSpec
    db_path : path
        Created when missing; an existing database must hold the same spec
        (otherwise :class:`SweepError`, nothing is touched).  Finished tasks
        are skipped.
    workers : int, optional
        Local process-pool size (default: the number of CPUs).  ``1`` runs in
        this process.  Pool workers use one BLAS thread each.
    scheduler : str, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``); tasks
        run there instead of locally.  Workers in other processes use one
        BLAS thread each; the calling process is left as it is.
    client : distributed.Client, optional
        An existing Dask client (used by the tests with an in-process LocalCluster).
    progress : bool
        Progress bar on stderr.
    max_tasks : int, optional
        Run at most this many of the remaining tasks (then stop).
    order : {"cheap-first", "costly-first", "grid"}
        Task order.  The default runs the cheapest tasks (small N) first, so
        that a partial database already covers the small-N end of every
        group; ``costly-first`` shortens the makespan on a pool.

    Tasks are written by this process as they finish (one transaction each);
    Ctrl-C or a kill loses only the tasks in flight.
    """
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec (use load_spec for a TOML file), got {type(spec).__name__}")
    t_start = time.perf_counter()
    db = ResultsDB(db_path, create=True)
    try:
        db.init(spec)
        tasks = spec.tasks()
        done = db.done_ids()
        todo = [t for t in tasks if t.task_id not in done]
        if order == "cheap-first":
            todo.sort(key=lambda t: t.cost)
        elif order == "costly-first":
            todo.sort(key=lambda t: -t.cost)
        elif order != "grid":
            raise ValueError(f"order must be 'cheap-first', 'costly-first' or 'grid', got {order!r}")
        if max_tasks is not None:
            todo = todo[:max_tasks]
        prog = Progress(len(todo), "sweep tasks", progress, delay=0.0, log_every=0.0)
        cost_total = sum(t.cost for t in todo) or 1.0
        tally = {"cost": 0.0, "n": 0}
        summary = SweepSummary(total=len(tasks), skipped=len(tasks) - len(todo) if max_tasks is None else len(done),
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
            choose_runner(len(todo), workers=workers, scheduler=scheduler, client=client).run(todo, finish)
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


@dataclass(frozen=True)
class DaskRunner:
    """Runs the tasks on a dask.distributed cluster: an existing ``client`` or a ``scheduler`` address."""

    client: object = None
    scheduler: str | None = None

    def run(self, todo, finish):
        _run_dask(todo, finish, self.client, self.scheduler)


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


def _run_pool(todo, finish, workers):
    from concurrent.futures import FIRST_COMPLETED, wait

    ex = _make_pool(min(workers, len(todo)))
    try:
        futs = {ex.submit(run_task, t): t for t in todo}
        pending = set(futs)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                exc = f.exception()
                finish(futs[f], None if exc else f.result(), exc)
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        for p in list(getattr(ex, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                p.terminate()
        raise
    else:
        ex.shutdown(wait=True)


def _run_dask(todo, finish, client, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise SweepError("--scheduler needs dask.distributed: pip install 'getheory[dask]'") from None
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout=30)
        except Exception as exc:  # OSError, TimeoutError...
            raise SweepError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        futs = {}
        caller = _process_id()
        for t in todo:
            f = client.submit(_run_task_on_worker, t, caller,
                              key=f"getheory-task-{t.seed:x}-{t.seed_index}-{t.N}-{t.D}", pure=False)
            futs[f.key] = (f, t)
        for f in as_completed([f for f, _ in futs.values()]):
            t = futs[f.key][1]
            try:
                rec = f.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                finish(t, exc=exc)
            else:
                finish(t, rec)
    except BaseException:
        for f, _ in futs.values():
            with contextlib.suppress(Exception):
                f.cancel()
        raise
    finally:
        if own:
            client.close()
