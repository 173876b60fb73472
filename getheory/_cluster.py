"""The one place that talks to worker processes: local process pools and Dask schedulers.

Plumbing that the workflows running work elsewhere share (a sweep's tasks, a sharded
check's shards; README, "Architecture"):

* :func:`limit_worker_threads`: one BLAS/OpenMP thread per worker process, so that one task
  per core does not oversubscribe the CPUs;
* :func:`make_pool`: a local pool of spawned processes that run with one BLAS thread and
  die with the process that started them, even under ``kill -9``;
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
import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from threadpoolctl import ThreadpoolController, threadpool_limits

__all__ = ["CONNECT_TIMEOUT_S", "ClusterError", "blas_threads", "call_within", "check_scheduler", "connect",
           "limit_worker_threads", "make_pool", "process_id", "single_blas_threads", "thread_pool", "usable_cpus",
           "wait_watched"]

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


def _pool_worker_init(parent_pid: int, setup=None, setup_args=()):
    """The pool initializer: die with the parent, one BLAS/OpenMP thread, then ``setup(*setup_args)``."""
    die_with_parent(parent_pid)
    limit_worker_threads()
    if setup is not None:
        setup(*setup_args)


def make_pool(workers: int, setup=None, setup_args=()):
    """A process pool of ``workers`` spawned processes, each with one BLAS/OpenMP thread.

    Parameters
    ----------
    workers : int
        Pool size.
    setup : callable, optional
        Run once in each worker after the thread limit, with ``setup_args`` (a module-level
        function; the arguments are pickled once per worker, not once per task).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Its workers run :func:`limit_worker_threads` before their first task, and end when
        this process dies (:func:`die_with_parent`), even by ``kill -9``.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_pool_worker_init, initargs=(os.getpid(), setup, tuple(setup_args)))


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
