"""Ingest as partitions: each task normalizes and hashes one partition of rows and spills its records into its
own radix bucket files under the ingest work directory (shared storage for a cluster); the lead process then
merges the buckets of every task, in task order, into the segment. Tasks run inline, on a local process
pool, or on a Dask cluster (`distributed`). A task names the index key (`taskkeys.KeyRef`) and never holds it:
the process running it uses its own copy (`taskkeys`)."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import taskkeys
from .chunks import RawChunk, first_open_record, rows_of_chunk
from .cluster import connect
from .index import NumberHasher
from .models import DATA_CLASS_BITS
from .phone import Hints, NormalizedBatch, Status, Texts, mask_raw, normalize_many, normalize_many_rows, use_automata
from .readers import DumpLayout
from .spill import RECORD, MergedBucket, merge_records, merged_runs, write_run

SAMPLES_PER_REASON = 3
#: The normalizers an ingest can use: the vectorized fast path, and libphonenumber on every row (the reference).
NORMALIZERS: dict[str, Callable[[Texts, Hints, str | None], NormalizedBatch]] = {
    "fast": normalize_many, "per-row": normalize_many_rows}


@dataclass
class Partition:
    """Rows of a dump given to one task: raw phone text, region hints, data-class masks, row numbers."""

    number: int
    phones: Texts
    hints: Hints
    masks: np.ndarray
    rows: np.ndarray
    default_region: str | None
    malformed: list[tuple[int, str]] = field(default_factory=list)
    #: Cache file of the fast path's automata (phone.prepare_automata), loaded once per worker process.
    automata: str | None = None
    #: "fast" or "per-row" (see NORMALIZERS).
    normalizer: str = "fast"


@dataclass
class PartitionResult:
    """What one task kept and rejected (never a whole number: rejected samples are masked)."""

    number: int
    rows: int = 0
    accepted: int = 0
    seen_mask: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


@dataclass
class ChunkTask:
    """A piece of whole lines of a dump, read into rows by the task itself."""

    number: int
    layout: DumpLayout
    chunk: RawChunk
    default_region: str | None
    #: Cache file of the fast path's automata (phone.prepare_automata), loaded once per worker process.
    automata: str | None = None
    normalizer: str = "fast"


def run_task(task: Partition | ChunkTask, ref: taskkeys.KeyRef, workdir: str) -> PartitionResult:
    """Read (for a piece of lines), normalize, hash (with this process's copy of the key `ref` names) and
    spill one task's rows; returns its counts."""
    hasher = taskkeys.index_hasher(ref)
    if task.automata:
        with contextlib.suppress(OSError, ValueError, KeyError):  # unreadable: this worker builds its own
            use_automata(task.automata)
    if isinstance(task, ChunkTask):
        batch = rows_of_chunk(task.layout, task.chunk)
        task = Partition(task.number, batch.phones, batch.hints, batch.masks, batch.rows, task.default_region,
                         batch.malformed, task.automata, task.normalizer)
    return run_partition(task, hasher, workdir)


def run_partition(part: Partition, hasher: NumberHasher, workdir: str) -> PartitionResult:
    """Normalize, hash and spill one partition into workdir/p<number>/; returns its counts."""
    result = PartitionResult(part.number, rows=len(part.phones) + len(part.malformed))
    for row, why in part.malformed:
        _reject(result, why.split(":", 1)[0], row, "")
    norm = NORMALIZERS[part.normalizer](part.phones, part.hints, part.default_region)
    for i in sorted(norm.reasons):
        _reject(result, norm.reasons[i], int(part.rows[i]), part.phones[i])
    keep = norm.status != Status.REJECTED
    result.accepted = int(keep.sum())
    masks = part.masks[keep]
    if masks.shape[0]:
        result.seen_mask = int(np.bitwise_or.reduce(masks))
    write_run(Path(workdir) / f"p{part.number:06d}.run", hasher.hash_many(norm.numbers[keep]), masks,
              norm.region[keep], (norm.status[keep] == Status.VALID).astype(np.uint8))
    return result


def _reject(result: PartitionResult, reason: str, row: int, raw: str) -> None:
    result.rejected_by_reason[reason] = result.rejected_by_reason.get(reason, 0) + 1
    samples = result.samples.setdefault(reason, [])
    if len(samples) < SAMPLES_PER_REASON:
        samples.append((row, mask_raw(raw)))


def merged_buckets(workdir: Path) -> Iterator[MergedBucket]:
    """Each bucket over every task's run (in task order, so the first record of a number wins as in a serial
    read), sorted and de-duplicated."""
    yield from merged_runs(sorted(Path(workdir).glob("p*.run")))


class Future(Protocol):
    """The part of a future the pipeline uses."""

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


_WARM_UP_PIECE = b'+20 100 123 4567,EG,Amal\n0100 123 4568,eg,"Ali, ""A"""\n011 15-4222-4664,AR,\n'


def warm_up(automata: str | None) -> None:
    """Get a process ready for ingest tasks: the automata loaded, the compiled loops compiled (the first time
    after an install) or loaded from their cache, by reading, normalizing and merging a tiny piece the way a
    task does."""
    if automata:
        with contextlib.suppress(OSError, ValueError, KeyError):
            use_automata(automata)
    layout = DumpLayout(path="warm-up.csv", format="csv", compressed=False, encoding="utf-8", delimiter=",",
                        has_header=False, columns=("phone", "country", "name"), phone_column="phone",
                        country_column="country", class_columns={"name": DATA_CLASS_BITS[1]})
    first_open_record(_WARM_UP_PIECE, ",")
    batch = rows_of_chunk(layout, RawChunk(_WARM_UP_PIECE, 1, 0))
    normalize_many(batch.phones, batch.hints)
    normalize_many(["+20 100 123 4567"], ["EG"])
    records = np.zeros(3, dtype=RECORD)
    merge_records(records)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While processes are spawned, hide the program's main module from them: a spawned child otherwise
    imports it first (for `breachwatch ingest`, the whole CLI: SQLAlchemy, Alembic, Rich...), and tasks need
    only this module."""
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
    `automata`, every worker starts at once and gets ready (`warm_up`) while the lead starts reading. The lead
    hands each worker `master_key` once, at start (see `start_local_worker`)."""

    def __init__(self, workers: int | None = None, automata: str | None = None,
                 master_key: bytes | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=start_local_worker, initargs=(master_key,))
        if automata is not None:
            with _main_module_hidden():  # the workers start here, one per submit
                for _ in range(self.workers):
                    self._pool.submit(warm_up, automata)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Start fn(*args) in a worker process."""
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Stop the workers, without waiting for them to exit (they do while the lead merges; the pool's own
        thread reaps them)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskRunner:
    """Tasks on a Dask cluster: a scheduler address (tls://HOST:8786; see cluster.check_scheduler) or a
    distributed.Client. The work directory must be on storage every worker and the lead share; each worker
    loads the key itself (BREACHWATCH_SECRET_KEY or the shared HOME's secret.key)."""

    def __init__(self, scheduler: Any, allow_insecure: bool = False) -> None:
        self._client, self._own = connect(scheduler, allow_insecure)
        self.workers = max(len(self._client.scheduler_info().get("workers", {})), 1)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Start fn(*args) on a worker (pure=False: every partition is its own task)."""
        future: Future = self._client.submit(fn, *args, pure=False)
        return future

    def close(self) -> None:
        """Disconnect (only from a client this runner opened)."""
        if self._own:
            self._client.close()


def run_all(runner: Runner, tasks: Iterator[Partition | ChunkTask], ref: taskkeys.KeyRef, workdir: Path,
            on_result: Callable[[PartitionResult], None], in_flight: int | None = None) -> None:
    """Run every task on `runner`, at most `in_flight` at a time (bounding memory), and hand each result to
    on_result in task order. Tasks get `ref`, which names the index key without holding it. An error reading
    the dump further is raised after the tasks before it, so the first error in file order is the one
    reported."""
    limit = in_flight or 2 * runner.workers
    work = str(Path(workdir).resolve())  # a worker's current directory is not the lead's
    pending: deque[Future] = deque()
    iterator = iter(tasks)
    try:
        while True:
            try:
                task = next(iterator)
            except StopIteration:
                break
            except Exception:
                while pending:  # a task before the unreadable part may hold an earlier error
                    on_result(pending.popleft().result())
                raise
            pending.append(runner.submit(run_task, task, ref, work))
            while len(pending) >= limit:
                on_result(pending.popleft().result())
        while pending:
            on_result(pending.popleft().result())
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # a reader stopped by an error closes its file now, not when collected
