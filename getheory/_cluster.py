"""The one place that talks to worker processes: local process pools and Dask schedulers.

Plumbing that the workflows running work elsewhere share (a sweep's tasks, a sharded
check's shards; docs/guide/architecture.md):

* :func:`limit_worker_threads`: one BLAS/OpenMP thread per worker process, so that one task
  per core does not oversubscribe the CPUs;
* :func:`make_pool`: a local pool of spawned processes (:class:`ProcessPool`) that run with one
  BLAS thread, ignore Ctrl-C and die with the process that started them, even under ``kill -9``;
  a call whose worker dies runs again on a fresh one (once by default), and the pool is torn
  down (every process terminated and joined) before an error leaves it;
* :func:`thread_pool`: the process's one pool of threads (one per CPU it may use) that fills
  blocks of random normals in parallel (NumPy releases the GIL while filling), and in which the
  host sampler runs its blocks of rows;
* :func:`blas_threads` and :func:`single_blas_threads`: how many threads a BLAS call uses here,
  and a block within which each BLAS call runs in its calling thread (the host sampler's
  worker threads each call BLAS on their own rows, one thread per core);
* :func:`check_scheduler` and :func:`connect`: a Dask scheduler address is checked within
  :data:`CONNECT_TIMEOUT_S` seconds before any work starts; an address where nothing
  listens, or where something other than a Dask scheduler answers (an HTTP server), is
  refused with a message that names the address and what was found there;
* :func:`wait_watched` and :func:`call_within`: no wait on a cluster is without a limit.  A
  blocking call (a gather, a scatter, a cancel, a question to the scheduler) runs in a helper
  thread while the caller keeps checking the cluster (its workers, a time limit), so that a
  cluster that lost its workers stops the wait whatever it was blocked on.

``dask.distributed`` is imported only when a scheduler is used.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import connection, resource_tracker
from multiprocessing import util as mp_util

from threadpoolctl import ThreadpoolController, threadpool_limits

__all__ = ["CONNECT_TIMEOUT_S", "ClusterError", "ProcessPool", "WorkerLost", "blas_threads", "call_within",
           "check_scheduler", "connect", "limit_worker_threads", "make_pool", "process_id", "single_blas_threads",
           "thread_pool", "usable_cpus", "wait_watched"]

#: seconds to check a scheduler address (TCP connection and Dask handshake) before giving up
CONNECT_TIMEOUT_S = 6.0

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


class ClusterError(RuntimeError):
    """A scheduler that cannot be reached or is not a Dask scheduler, or a cluster that lost its workers."""


def limit_worker_threads():
    """Limit this worker process to one BLAS/OpenMP thread for the rest of its life.

    The process-pool initializer, and the first step of every task on a Dask
    worker: one task per core must not oversubscribe the CPUs.  threadpoolctl
    limits the libraries already loaded (numpy's BLAS); the environment
    variables limit those loaded later (scipy's own BLAS, an OpenMP runtime,
    numba's threading layer).
    """
    for k in _THREAD_ENV:
        os.environ[k] = "1"
    threadpool_limits(limits=1)


def die_with_parent(parent_pid: int):
    """End this pool worker as soon as the process that started it (``parent_pid``) dies.

    A ``kill -9`` of the parent must not leave its pool behind: the workers would
    otherwise run their task to the end and then wait forever on the call queue.  On
    Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    everywhere, a daemon thread checks ``os.getppid()`` every second.  A parent that
    died before this ran is caught by the first check.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="getheory-parent-watch", daemon=True).start()


class WorkerLost(ClusterError):
    """A call whose worker process died every time it ran it (killed, or crashed in native code)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a pool worker (the ``__cause__`` of the one re-raised here)."""

    def __str__(self):
        return self.args[0] if self.args else ""


def _pool_worker_init(parent_pid: int, setup=None, setup_args=()):
    """The worker's start: ignore Ctrl-C (the parent ends its pool), die with the parent, one
    BLAS/OpenMP thread, then ``setup(*setup_args)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    limit_worker_threads()
    if setup is not None:
        setup(*setup_args)


def _reply(conn, fn, args, failed):
    """Run ``fn(*args)`` and send ``(True, result)`` or ``(False, exception, traceback text)``."""
    try:
        if failed is not None:
            raise failed
        out = (True, fn(*args), "")
    except Exception as exc:  # sent back and raised in the parent
        out = (False, exc, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        conn.send(out)
    except Exception as exc:  # a result or exception that does not pickle
        conn.send((False, RuntimeError(f"a pool worker could not send back its {'result' if out[0] else 'error'} "
                                       f"({type(exc).__name__}: {exc})"), out[2]))


def _pool_worker(conn, parent_pid: int, setup, setup_args):
    """A pool worker's life: its start, then one call at a time from ``conn`` until ``None`` or EOF.
    A setup that fails is reported as the error of every call."""
    failed = None
    try:
        _pool_worker_init(parent_pid, setup, setup_args)
    except Exception as exc:  # the calls report it
        failed = exc
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the parent closed the pool, or died
            return
        if msg is None:
            return
        _reply(conn, msg[0], msg[1], failed)


@contextlib.contextmanager
def _sigint_blocked():
    """A block in which this thread does not take SIGINT: a process started in it ignores Ctrl-C from
    its first instruction (the signal mask survives exec; a pending SIGINT arrives here after)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


#: every pool worker started and not yet ended: ended at this process's exit if a teardown was cut short
_STARTED: set = set()


def _end_started():
    """At exit, before multiprocessing joins its children: end the pool workers still running
    (a teardown that an interrupt cut short), so that the exit never waits on one."""
    for proc in list(_STARTED):
        for stop in (proc.terminate, proc.kill):
            if proc.exitcode is None:
                stop()
                proc.join(_JOIN_S)
        _STARTED.discard(proc)


mp_util.Finalize(None, _end_started, exitpriority=10)  # runs in multiprocessing's exit hook, before its joins


class _Slot:
    """One worker process, its end of the pipe, and the call it runs (None when idle)."""

    def __init__(self, ctx, parent_pid: int, setup, setup_args):
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_pool_worker, args=(child, parent_pid, setup, setup_args),
                                name="getheory-pool-worker")
        _STARTED.add(self.proc)  # before it starts: an interrupt cannot leave a worker unknown
        resource_tracker.ensure_running()  # started now, or it would unblock SIGINT in the block below
        with _sigint_blocked():
            self.proc.start()
        child.close()  # the worker's death is then EOF here, never a read that waits forever
        self.call = None

    def end(self, now: bool):
        """End the process and join it (terminate, then kill, after ``now`` or a short wait)."""
        if self.proc.pid is not None:  # started
            if not now and self.proc.exitcode is None:
                with contextlib.suppress(Exception):
                    self.conn.send(None)
                self.proc.join(_JOIN_S)
            for stop in (self.proc.terminate, self.proc.kill):
                if self.proc.exitcode is None:
                    stop()
                    self.proc.join(_JOIN_S)
        _STARTED.discard(self.proc)
        self.conn.close()


def _end_slots(slots: list, now: bool):
    """End the workers of ``slots`` (emptied as they end).  An interrupt that comes meanwhile (Ctrl-C,
    a time budget's alarm) does not cut the teardown short: it goes on, at once, and the first
    interrupt is raised after it (a slot gets three tries)."""
    first, tries = None, 0
    while slots:
        try:
            slots[-1].end(now or first is not None or slots[-1].call is not None)
        except BaseException as exc:  # raised once every worker has ended
            first, tries = first or exc, tries + 1
            if tries < 3:
                continue
        slots.pop()
        tries = 0
    if first is not None:
        raise first


#: seconds to wait for a pool worker to end before the next, harder signal
_JOIN_S = 5.0


class ProcessPool:
    """A local pool of spawned worker processes, one BLAS/OpenMP thread each, that die with this process.

    Calls are queued with :meth:`submit` and their outcomes collected with :meth:`wait`, in the
    calling thread: there is no manager thread, so nothing waits on a dead worker, and
    :meth:`close` terminates and joins every process before it returns.  A worker that dies
    while it runs a call (``kill -9``, a crash in native code) is replaced by a fresh one and its
    call runs again, up to ``retries`` times; a call whose worker died ``retries + 1`` times is
    given up with a :class:`WorkerLost`.  Workers ignore Ctrl-C: the process that made the pool
    takes it, and ends them.

    Parameters
    ----------
    workers : int
        Pool size.
    setup : callable, optional
        Run once in each worker after the thread limit, with ``setup_args`` (a module-level function;
        the arguments are pickled once per worker, not once per call).  Its error is every call's.
    retries : int
        Times a call whose worker died runs again.
    """

    def __init__(self, workers: int, setup=None, setup_args=(), *, retries: int = 1):
        self._ctx, self._args = mp.get_context("spawn"), (os.getpid(), setup, tuple(setup_args))
        self.retries, self._queue, self._deaths = int(retries), collections.deque(), collections.Counter()
        self._slots = []
        try:
            for _ in range(int(workers)):
                self._slots.append(_Slot(self._ctx, *self._args))
        except BaseException:
            self.close(now=True)
            raise

    def submit(self, key, fn, *args):
        """Queue the call ``fn(*args)`` (a module-level function), known as ``key`` in :meth:`wait`."""
        self._queue.append((key, fn, args))
        self._dispatch()

    def __len__(self):
        """Calls queued or running."""
        return len(self._queue) + sum(s.call is not None for s in self._slots)

    def cancel(self):
        """Drop the queued calls (those running go on until :meth:`close`)."""
        self._queue.clear()

    def wait(self, timeout: float | None = None) -> list:
        """The calls that ended within ``timeout`` seconds (None: until one does), as ``(key, ok, value)``:
        ``ok`` and the result, or not ``ok`` and the exception (raised in the worker, or a
        :class:`WorkerLost`).  Idle workers take the next queued calls."""
        self._dispatch()
        busy = [s for s in self._slots if s.call is not None]
        if not busy:
            return []
        ready = set(connection.wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout))
        out = []
        for s in busy:
            if s.conn in ready or s.proc.sentinel in ready:
                out.extend(self._collect(s))
        self._dispatch()
        return out

    def call(self, fn, *args, timeout: float | None = None):
        """``fn(*args)`` in a worker, waited for (at most ``timeout`` seconds: then a TimeoutError)."""
        self.submit(None, fn, *args)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"a pool call did not end within {timeout:g} s")
            for _key, ok, value in self.wait(left):
                if not ok:
                    raise value
                return value

    def _collect(self, slot: _Slot) -> list:
        key = slot.call[0]
        try:
            msg = slot.conn.recv() if slot.conn.poll() else None
        except (EOFError, OSError):  # died while it sent
            msg = None
        if msg is not None:
            slot.call = None
            self._deaths.pop(key, None)
            ok, value, tb = msg
            if not ok and tb:
                value.__cause__ = RemoteTraceback(tb)
            return [(key, ok, value)]
        return self._lost(slot)

    def _lost(self, slot: _Slot) -> list:
        """The worker of ``slot`` died with its call: a fresh worker; the call again, or given up."""
        key, fn, args = slot.call
        slot.proc.join(_JOIN_S)  # its pipe closed as it died: reap it, for its exit status
        code = slot.proc.exitcode
        slot.call = None
        slot.end(now=True)
        self._slots[self._slots.index(slot)] = _Slot(self._ctx, *self._args)
        self._deaths[key] += 1
        if self._deaths[key] <= self.retries:
            self._queue.appendleft((key, fn, args))
            return []
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return [(key, False, WorkerLost(f"its worker process died {self._deaths.pop(key)} times in a row running it "
                                        f"({how})"))]

    def _dispatch(self):
        for i, s in enumerate(self._slots):
            if not self._queue:
                return
            if s.call is not None:
                continue
            if s.proc.exitcode is not None:  # died while idle: replaced, nothing lost
                s.end(now=True)
                s = self._slots[i] = _Slot(self._ctx, *self._args)
            s.call = self._queue.popleft()
            try:
                s.conn.send((s.call[1], s.call[2]))
            except (BrokenPipeError, ConnectionResetError):  # died just now: seen by the next wait
                pass

    def close(self, now: bool = False):
        """End every worker and join it: at once (``now``: after an error or an interrupt), else after
        its call.  Nothing of the pool is left when this returns."""
        self._queue.clear()
        _end_slots(self._slots, now)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self.close(now=exc_type is not None)


def make_pool(workers: int, setup=None, setup_args=(), *, retries: int = 1) -> ProcessPool:
    """A :class:`ProcessPool` of ``workers`` spawned processes, each with one BLAS/OpenMP thread.

    Parameters
    ----------
    workers : int
        Pool size.
    setup : callable, optional
        Run once in each worker after the thread limit, with ``setup_args`` (a module-level
        function; the arguments are pickled once per worker, not once per task).
    retries : int
        Times a call whose worker died runs again on a fresh worker.

    Returns
    -------
    ProcessPool
        Its workers run :func:`limit_worker_threads` before their first call, ignore Ctrl-C,
        and end when this process dies (:func:`die_with_parent`), even by ``kill -9``.
    """
    return ProcessPool(workers, setup, setup_args, retries=retries)


_THREADS = None


def thread_pool() -> ThreadPoolExecutor:
    """This process's one pool of threads, one per CPU it may use (made on first use), in which
    blocks of random normals are filled in parallel (NumPy releases the GIL while filling)."""
    global _THREADS
    if _THREADS is None:
        _THREADS = ThreadPoolExecutor(max_workers=usable_cpus(), thread_name_prefix="getheory-rng")
    return _THREADS


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; at least 1): the size of :func:`thread_pool`."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_BLAS = {"controller": None}
_BLAS_LOCK = threading.RLock()


def _blas_controller():
    """The BLAS libraries loaded in this process (found once, on first use: a scan of the loaded libraries)."""
    if _BLAS["controller"] is None:
        _BLAS["controller"] = ThreadpoolController().select(user_api="blas")
    return _BLAS["controller"]


def blas_threads() -> int:
    """The threads one BLAS call uses in this process now (the largest over the BLAS libraries; 1 if none)."""
    with _BLAS_LOCK:
        return max([int(lib.num_threads or 1) for lib in _blas_controller().lib_controllers] or [1])


@contextlib.contextmanager
def single_blas_threads():
    """A block within which every BLAS call runs single-threaded, in the thread that makes it.

    For code that calls BLAS from several threads at once, one per core (the host sampler's
    workers): BLAS's own threads would otherwise oversubscribe the cores.  The limit is
    process-wide, so blocks run one at a time (a lock; nesting in one thread is allowed), and
    the thread that sets the limit lifts it.  Yields whether the limit holds: False where this
    thread may not set it (threadpoolctl lets only one Python thread set OpenBLAS's threads, the
    first that did), and then the caller should make its BLAS calls from one thread.
    """
    with _BLAS_LOCK:
        limiter = _blas_controller().limit(limits=1)
        try:
            yield blas_threads() == 1
        finally:
            limiter.restore_original_limits()


def process_id() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def scheduler_hint(address) -> str:
    """How to start a scheduler at ``address``, or do without one."""
    return (f"start one with `dask scheduler` and workers with `dask worker {address}`, or run without "
            "--scheduler (local processes)")


async def _identity(address: str, timeout: float) -> dict:
    """The scheduler's answer to ``identity`` (its type, workers), over one comm."""
    # optional (the dask extra): loaded only when a scheduler is used
    from distributed.comm import connect as comm_connect
    from distributed.security import Security

    comm = await comm_connect(address, timeout=timeout, **Security().get_connection_args("client"))
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _tcp_reachable(address: str, timeout: float, error):
    """Refuse a malformed address, and a tcp/tls address where nothing listens, at once."""
    # optional (the dask extra): loaded only when a scheduler is used
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, loc = parse_address(address)
    except Exception as exc:
        raise error(f"--scheduler {address!r} is not a Dask address such as tcp://host:8786 ({exc})") from None
    if scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parse_host_port(loc, default_port=8786)
    except Exception as exc:
        raise error(f"--scheduler {address!r} is not a Dask address such as tcp://host:8786 ({exc})") from None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        refused = isinstance(exc, ConnectionRefusedError)
        why = "nothing is listening there" if refused else str(exc) or type(exc).__name__
        raise error(f"cannot connect to the Dask scheduler {address!r}: {why}; {scheduler_hint(address)}") from None


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S, *, error=ClusterError) -> dict:
    """Check that a Dask scheduler answers at ``address`` within ``timeout`` seconds (total).

    A TCP address where nothing listens fails at once; a server that is not a Dask
    scheduler (an HTTP server, say) is given ``timeout`` seconds to complete Dask's
    handshake and ``identity`` call, which it never does.  The call runs in its own event
    loop in a helper thread, so that it works from inside a running loop too.

    Parameters
    ----------
    address : str
        ``tcp://host:port`` (or another Dask address).
    timeout : float
        Seconds in all.
    error : type
        The exception class raised (default :class:`ClusterError`; a sweep raises its own).

    Returns
    -------
    dict
        The scheduler's identity.

    Raises
    ------
    error
        Naming the address and what was found there.
    """
    t0 = time.monotonic()
    _tcp_reachable(address, timeout, error)
    left = max(0.5, timeout - (time.monotonic() - t0))
    out: dict = {}

    def probe():
        try:
            out["info"] = asyncio.run(asyncio.wait_for(_identity(address, left), left))
        except BaseException as exc:  # reported below
            out["exc"] = exc

    th = threading.Thread(target=probe, name="getheory-scheduler-check", daemon=True)
    th.start()
    th.join(left + 1.0)
    info = out.get("info")
    if isinstance(info, dict) and info.get("type") == "Scheduler":
        return info
    if "info" in out:
        why = f"it answered {str(info)[:80]!r}, not as a Dask scheduler"
    elif isinstance(out.get("exc"), (asyncio.TimeoutError, TimeoutError)) or th.is_alive():
        why = f"something listens there but did not answer as a Dask scheduler within {timeout:g} s"
    else:
        exc = out.get("exc")
        if isinstance(exc, ValueError):  # an unknown scheme, a malformed location
            raise error(f"--scheduler {address!r} is not a Dask address such as tcp://host:8786 ({exc})")
        why = f"{type(exc).__name__}: {exc}"
    raise error(f"cannot connect to the Dask scheduler {address!r}: {why}; {scheduler_hint(address)}")


def connect(scheduler: str, *, error=ClusterError):
    """A :class:`distributed.Client` on ``scheduler``, after :func:`check_scheduler` (``error`` as there)."""
    try:
        from distributed import Client  # optional (the dask extra): loaded only when a scheduler is used
    except ImportError:
        raise error("--scheduler needs dask.distributed: pip install 'getheory[dask]'") from None
    check_scheduler(scheduler, error=error)
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError...
        raise error(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None


def wait_watched(call, watch, poll: float = 1.0):
    """``call()``, run in a helper thread, waited for while ``watch()`` runs every ``poll`` seconds.

    For a blocking call on a cluster (a gather, a scatter, a question to the scheduler) that could
    otherwise wait forever: ``watch`` raises to stop waiting (a cluster without workers, a time
    limit), and that exception is raised here.  The helper thread is a daemon, left to end on its
    own (a call whose futures were cancelled, or whose client was closed, returns).

    Returns
    -------
    object
        What ``call()`` returned; its exception is raised here.
    """
    out: dict = {}
    done = threading.Event()

    def run():
        try:
            out["value"] = call()
        except BaseException as exc:  # raised in the waiting thread below
            out["exc"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="getheory-cluster-call", daemon=True).start()
    while not done.wait(poll):
        watch()
    if "exc" in out:
        raise out["exc"]
    return out["value"]


def call_within(call, timeout: float, what: str, *, error=ClusterError):
    """``call()`` (:func:`wait_watched`), or ``error`` naming ``what`` once it has waited ``timeout`` seconds."""
    t0 = time.monotonic()

    def watch():
        if time.monotonic() - t0 >= timeout:
            raise error(f"{what} did not answer within {timeout:g} s")

    return wait_watched(call, watch, poll=min(1.0, max(0.05, timeout / 4)))
