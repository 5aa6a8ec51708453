"""Where tasks run, for ingest and for the private build alike (`Runner`): in this process (`InlineRunner`), on a
local pool of processes (`ProcessRunner`), or on a Dask cluster (`DaskRunner`, through `cluster.py`); and
`run_in_order`, which keeps a bounded number of tasks in flight and hands their results back in order.

A task names the keys it needs (`taskkeys.KeyRef`) and never carries them: a local worker is given the master
key once, over its pipe, as it starts; a Dask worker loads it itself."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from . import taskkeys
from .cluster import connect

#: One task: a plain function (picklable by reference) and its arguments.
Call = tuple[Callable[..., Any], tuple[Any, ...]]


class Future(Protocol):
    """The part of a future the callers use."""

    def result(self) -> Any:
        """Wait for and return the task's result."""


class Runner(Protocol):
    """Where tasks run."""

    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Start fn(*args)."""

    def close(self) -> None:
        """Release the workers."""


class _Done:
    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


class InlineRunner:
    """Runs each task at once in this process."""

    workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run fn(*args) now."""
        return _Done(fn(*args))

    def close(self) -> None:
        """Nothing to release."""


def start_local_worker(master_key: bytes | None) -> None:
    """Initializer of a local pool's worker: die with the lead (`die_with_parent`) and hold the key the lead
    gives it over the local pipe (without one, the worker loads it from its own configuration)."""
    die_with_parent()
    if master_key is not None:
        taskkeys.hold(master_key)


def die_with_parent() -> None:
    """Ask Linux to kill this worker when the process that started it dies (even by SIGKILL), so an
    interrupted ingest leaves no orphan workers behind; a no-op where prctl is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While processes are spawned, hide the program's main module from them: a spawned child otherwise
    imports it first (for `breachwatch ingest`, the whole CLI: SQLAlchemy, Alembic, Rich...), and tasks need
    only their own modules."""
    main = sys.modules.get("__main__")
    saved: dict[str, object] = {name: main.__dict__[name] for name in ("__file__", "__spec__") if main is not None
             and name in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


class ProcessRunner:
    """A local pool of processes (spawned: Polars must not be forked with its thread pool running). With
    `ready` (a picklable function, such as `functools.partial(tasks.warm_up, automata)`), every worker starts
    at once and runs it while the lead starts reading. The lead hands each worker `master_key` once, at start
    (see `start_local_worker`)."""

    def __init__(self, workers: int | None = None, master_key: bytes | None = None,
                 ready: Callable[[], object] | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=start_local_worker, initargs=(master_key,))
        if ready is not None:
            with _main_module_hidden():  # the workers start here, one per submit
                for _ in range(self.workers):
                    self._pool.submit(ready)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Start fn(*args) in a worker process."""
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Stop the workers, without waiting for them to exit (they do while the lead goes on; the pool's own
        thread reaps them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskRunner:
    """Tasks on a Dask cluster: a scheduler address (tls://HOST:8786; see cluster.check_scheduler) or a
    distributed.Client. An ingest's work directory must be on storage every worker and the lead share; each
    worker loads the key itself (BREACHWATCH_SECRET_KEY or the shared HOME's secret.key)."""

    def __init__(self, scheduler: Any, allow_insecure: bool = False) -> None:
        self._client, self._own = connect(scheduler, allow_insecure)
        self.workers = max(len(self._client.scheduler_info().get("workers", {})), 1)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Start fn(*args) on a worker (pure=False: every task is its own, even with equal arguments)."""
        future: Future = self._client.submit(fn, *args, pure=False)
        return future

    def close(self) -> None:
        """Disconnect (only from a client this runner opened)."""
        if self._own:
            self._client.close()


def open_runner(scheduler: Any = None, allow_insecure: bool = False, *, inline: bool = False,
                workers: int | None = None, master_key: bytes | None = None,
                ready: Callable[[], object] | None = None) -> Runner:
    """Where tasks run: on the Dask cluster `scheduler` names, if any (an address or a distributed.Client; its
    workers load the key themselves), else in this process (`inline`), else on a local pool of `workers`
    processes (each given `master_key`, when this process holds it, as it starts; and running `ready`)."""
    if scheduler:
        return DaskRunner(scheduler, allow_insecure)
    if inline:
        return InlineRunner()
    return ProcessRunner(workers, master_key, ready)


def run_in_order(runner: Runner, calls: Iterator[Call], on_result: Callable[[Any], None],
                 in_flight: int | None = None) -> None:
    """Run every call on `runner`, at most `in_flight` at a time (bounding memory; default twice the workers),
    and hand each result to on_result in the order of the calls. An error raised by `calls` itself (reading
    the dump further) is raised after the results of the calls before it, so the first error in file order
    is the one reported; `calls` is closed when this returns or raises."""
    limit = in_flight or 2 * runner.workers
    pending: deque[Future] = deque()
    try:
        while True:
            try:
                fn, args = next(calls)
            except StopIteration:
                break
            except Exception:
                while pending:  # a task before the unreadable part may hold an earlier error
                    on_result(pending.popleft().result())
                raise
            pending.append(runner.submit(fn, *args))
            while len(pending) >= limit:
                on_result(pending.popleft().result())
        while pending:
            on_result(pending.popleft().result())
    finally:
        close = getattr(calls, "close", None)
        if close is not None:
            close()  # a reader stopped by an error closes its file now, not when collected
