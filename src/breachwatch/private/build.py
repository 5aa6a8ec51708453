"""Building a breach's private bucket file from its dump, after the breach was ingested.

The index keeps only keyed 64-bit hashes, so the E.164 numbers the OPRF needs come from the dump itself: it
is read again with the same reader (`ingest/rows.py`) and normalization policy as ingest, and every number read
must be in the breach's index segment (which also supplies its data classes) — a different file is refused.
Numbers exist only in memory: checkpoints hold (bucket, tag, entry key, mask) per number, never a number.

Work is split into chunks of the dump (`chunk_rows` rows read serially, as `PieceRows`). Each chunk is
normalized and evaluated by a task on ingest's runners (`ingest/runners.py`: a local process pool or a Dask
cluster; `evaluate_rows` is a plain function, given a `taskkeys.KeyRef`, never the OPRF key, which each worker
process derives from its own copy of the master secret), and its result is checkpointed under
HOME/private/work/BREACH/; an interrupted build resumes at the first missing chunk. The file is published by
an atomic rename; the ordinary check does not depend on it and keeps working.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..config import Config
from ..datahome import DataHome
from ..errors import BreachwatchError, ConfigError
from ..index import NumberHasher
from ..index.lookup import SegmentReader
from ..ingest import taskkeys
from ..ingest.cluster import check_scheduler
from ..ingest.rows import read_rows
from ..ingest.runners import Call, Runner, open_runner, run_in_order
from ..ingest.sniff import DumpLayout, sniff_layout
from ..phone import Status, normalize_many
from . import oprf
from .protocol import (
    BUCKETS,
    ENTRY_BYTES,
    HEADER_SIZE,
    PREFIX_BITS,
    FileHeader,
    bucket_path,
    entry_key,
    entry_tag,
    key_id,
    prefix_of,
    seal_entry,
    server_key,
)

BuildProgress = Callable[[str, int, int], None]
"""Called with (phase, done, total): phase 'evaluate' counts bytes of the dump, 'write' counts entries."""

RECORD = np.dtype([("bucket", "<u4"), ("tag", "u1", (16,)), ("key", "u1", (32,)), ("mask", "<u2")])
PASSES = 16  # the final merge reads checkpoints in this many bucket ranges, bounding its memory


@dataclass(frozen=True)
class DumpOptions:
    """How to read the dump: the same options it was ingested with."""

    default_region: str | None = None
    phone_column: str | None = None
    country_column: str | None = None
    encoding: str | None = None
    format: str | None = None


@dataclass
class BuildReport:
    """What a build did."""

    breach: str
    chunks: int = 0
    chunks_resumed: int = 0
    numbers: int = 0
    path: str = ""


def evaluate_rows(ref: taskkeys.KeyRef, breach: str, phones: list[str], hints: list[str | None] | None,
                  default_region: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalize one chunk of raw rows and evaluate the OPRF (under this process's copy of the key `ref`
    names) on each distinct number: (E.164 integers, buckets, tags, entry keys), the last two as (n, 16) and
    (n, 32) uint8 arrays."""
    sk = taskkeys.derived_key(ref, "oprf", _oprf_secret)
    norm = normalize_many(phones, hints, default_region)
    numbers = np.unique(norm.numbers[norm.status != Status.REJECTED])
    buckets = np.empty(numbers.shape[0], dtype=np.uint32)
    tags = np.empty((numbers.shape[0], 16), dtype=np.uint8)
    keys = np.empty((numbers.shape[0], 32), dtype=np.uint8)
    for i, number in enumerate(numbers.tolist()):
        e164 = f"+{number}"
        output = oprf.evaluate(sk, e164.encode("ascii"))
        buckets[i] = prefix_of(e164)
        tags[i] = np.frombuffer(entry_tag(output, breach), dtype=np.uint8)
        keys[i] = np.frombuffer(entry_key(output, breach), dtype=np.uint8)
    return numbers, buckets, tags, keys


def _oprf_secret(master: bytes) -> bytes:
    return server_key(master).sk


@contextlib.contextmanager
def _build_lock(directory: Path, breach: str) -> Iterator[None]:
    with open(directory / f".{breach}.lock", "w") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BreachwatchError(f"a private build of breach {breach!r} is already running") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def build_private(config: Config, catalog: Catalog, hasher: NumberHasher, master_key: bytes, breach_name: str,
                  dump: str | Path, options: DumpOptions | None = None, *, workers: int = 2,
                  chunk_rows: int = 50_000, progress: BuildProgress | None = None,
                  runner: Runner | None = None) -> BuildReport:
    """Build (or resume building) the private bucket file of an ingested breach from its dump; the chunks are
    evaluated on `runner` (default: the Dask cluster the settings name, else a pool of `workers` local
    processes)."""
    options = options or DumpOptions()
    if taskkeys.hold(master_key) != hasher.fingerprint:
        raise ConfigError("the master key and the index hasher given to the private build do not match")
    if runner is None and config.dask_scheduler:
        check_scheduler(config.dask_scheduler, config.dask_allow_insecure)
    breach = catalog.get_breach(breach_name)
    layout = sniff_layout(dump, phone_column=options.phone_column, country_column=options.country_column,
                          encoding=options.encoding, format=options.format)
    pair = server_key(master_key)
    home = DataHome(config)
    directory = home.private
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    workdir = home.private_work / breach.name
    meta = {"breach": breach.name, "segment_checksum": breach.segment_checksum, "key_id": key_id(pair).hex(),
            "chunk_rows": chunk_rows, "prefix_bits": PREFIX_BITS, "dump_size": Path(dump).stat().st_size,
            "default_region": options.default_region}
    report = BuildReport(breach.name)
    with _build_lock(directory, breach.name):
        _prepare_workdir(workdir, meta)
        segment = SegmentReader(home.segments / breach.segment_file, hasher.fingerprint, breach.segment_checksum)
        own = runner is None
        if runner is None:
            runner = open_runner(config.dask_scheduler, config.dask_allow_insecure, workers=workers,
                                 master_key=master_key)
        try:
            _evaluate_chunks(layout, taskkeys.key_ref(home.root, hasher.fingerprint), breach.name, options,
                             workdir, segment, hasher, runner, chunk_rows, report, progress)
        finally:
            if own:
                runner.close()
            segment.close()
        if report.numbers != breach.pwn_count:
            raise BreachwatchError(f"{dump}: holds {report.numbers:,} of the {breach.pwn_count:,} numbers of "
                                   f"breach {breach.name!r}; give the whole dump it was ingested from")
        final = bucket_path(directory, breach.name)
        _write_bucket_file(workdir, report.chunks, final,
                           FileHeader(PREFIX_BITS, ENTRY_BYTES, 0, key_id(pair), breach.segment_checksum),
                           breach.name, progress)
        shutil.rmtree(workdir, ignore_errors=True)
        report.path = str(final)
    return report


def _prepare_workdir(workdir: Path, meta: dict[str, Any]) -> None:
    meta_path = workdir / "meta.json"
    if workdir.exists():
        try:
            same = json.loads(meta_path.read_text()) == meta
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(workdir)
    if not workdir.exists():
        workdir.mkdir(parents=True, mode=0o700)
        meta_path.write_text(json.dumps(meta))


def _chunk_path(workdir: Path, i: int) -> Path:
    return workdir / f"chunk-{i:07d}.npy"


def _evaluate_chunks(layout: DumpLayout, ref: taskkeys.KeyRef, breach: str, options: DumpOptions,
                     workdir: Path, segment: SegmentReader, hasher: NumberHasher, runner: Runner,
                     chunk_rows: int, report: BuildReport, progress: BuildProgress | None) -> None:
    total_bytes = Path(layout.path).stat().st_size
    region = options.default_region.upper() if options.default_region else None
    submitted: deque[tuple[int, int]] = deque()  # (chunk, bytes of the dump read) of each task, in order

    def calls() -> Iterator[Call]:
        for i, rows in enumerate(read_rows(layout, chunk_rows)):
            report.chunks = i + 1
            done = _chunk_path(workdir, i)
            if done.exists():
                report.chunks_resumed += 1
                report.numbers += int(np.load(done, mmap_mode="r").shape[0])
                if progress is not None:
                    progress("evaluate", rows.bytes_read, total_bytes)
                continue
            submitted.append((i, rows.bytes_read))
            yield evaluate_rows, (ref, breach, rows.phones, rows.hints, region)

    def checkpoint(result: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        i, done_bytes = submitted.popleft()
        numbers, buckets, tags, keys = result
        report.numbers += _checkpoint(workdir, i, numbers, buckets, tags, keys, segment, hasher, layout.path)
        if progress is not None:
            progress("evaluate", done_bytes, total_bytes)

    run_in_order(runner, calls(), checkpoint)
    # Chunks overlap when a number repeats across them; count distinct numbers by (bucket, tag) at the end.
    report.numbers = _distinct(workdir, report.chunks)


def _checkpoint(workdir: Path, i: int, numbers: np.ndarray, buckets: np.ndarray, tags: np.ndarray,
                keys: np.ndarray, segment: SegmentReader, hasher: NumberHasher, dump: str) -> int:
    found, masks = segment.get_many(hasher.hash_many(numbers))
    if not found.all():
        missing = int((~found).sum())
        raise BreachwatchError(f"{dump}: {missing:,} numbers in it are not in this breach's index; "
                               "is this the dump (and --default-region) it was ingested with?")
    records = np.empty(numbers.shape[0], dtype=RECORD)
    records["bucket"], records["tag"], records["key"], records["mask"] = buckets, tags, keys, masks
    records = records[np.argsort(records["bucket"], kind="stable")]
    tmp = workdir / f".chunk-{i:07d}.tmp.npy"
    np.save(tmp, records)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, _chunk_path(workdir, i))
    return int(numbers.shape[0])


def _ranges() -> list[tuple[int, int]]:
    step = BUCKETS // PASSES
    return [(lo, lo + step) for lo in range(0, BUCKETS, step)]


def _gather(workdir: Path, chunks: int, lo: int, hi: int) -> np.ndarray:
    """Distinct records with bucket in [lo, hi), sorted by (bucket, tag)."""
    parts = []
    for i in range(chunks):
        records = np.load(_chunk_path(workdir, i), mmap_mode="r")
        b = records["bucket"]
        parts.append(np.array(records[np.searchsorted(b, lo):np.searchsorted(b, hi)]))
    merged = np.concatenate(parts) if parts else np.empty(0, dtype=RECORD)
    if merged.shape[0] == 0:
        return merged
    tag_hi = merged["tag"][:, :8].copy().view(">u8").ravel()
    tag_lo = merged["tag"][:, 8:].copy().view(">u8").ravel()
    order = np.lexsort((tag_lo, tag_hi, merged["bucket"]))
    merged, tag_hi, tag_lo = merged[order], tag_hi[order], tag_lo[order]
    first = np.ones(merged.shape[0], dtype=bool)
    first[1:] = ((merged["bucket"][1:] != merged["bucket"][:-1]) | (tag_hi[1:] != tag_hi[:-1])
                 | (tag_lo[1:] != tag_lo[:-1]))
    return merged[first]


def _distinct(workdir: Path, chunks: int) -> int:
    return sum(int(_gather(workdir, chunks, lo, hi).shape[0]) for lo, hi in _ranges())


def _write_bucket_file(workdir: Path, chunks: int, final: Path, header: FileHeader, breach: str,
                       progress: BuildProgress | None) -> None:
    tmp = final.with_name(f".{final.name}.tmp")
    counts = np.zeros(BUCKETS, dtype=np.uint64)
    written = 0
    with open(tmp, "wb") as out:
        out.write(b"\0" * (HEADER_SIZE + (BUCKETS + 1) * 8))
        for lo, hi in _ranges():
            records = _gather(workdir, chunks, lo, hi)
            counts[lo:hi] = np.bincount(records["bucket"] - lo, minlength=hi - lo)
            out.write(b"".join(seal_entry(r["tag"].tobytes(), r["key"].tobytes(), breach, int(r["mask"]))
                               for r in records))
            written += int(records.shape[0])
            if progress is not None:
                progress("write", hi, BUCKETS)
        offsets = np.zeros(BUCKETS + 1, dtype="<u8")
        np.cumsum(counts, out=offsets[1:])
        out.seek(0)
        out.write(FileHeader(header.prefix_bits, header.entry_bytes, written, header.key_id,
                             header.segment_checksum).pack())
        out.write(offsets.tobytes())
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, final)
