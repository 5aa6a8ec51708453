"""Building the private check's files: during ingest (`ingest_hooks`, the usual way: the same read of the dump),
or by re-reading a dump after ingest (`build_private`), then publishing the served file (`publish_private`).

The OPRF needs E.164 numbers, which the index does not keep (only keyed hashes), so entries are made while
the numbers exist: in the ingest task that normalizes them (`piece_records`, a plain function run on ingest's
runners: a local pool or a Dask cluster, given a `taskkeys.KeyRef`, never the OPRF key, which each worker
process derives from its own copy of the master secret). Tasks write work records (`parts.RECORD`: bucket,
tag, pad, mask; never a number) beside their runs; the lead merges them into the breach's part file and
republishes the served file. After that the dump is not needed for private checks.

`build_private` does the same from a dump given again (re-building after a key rotation, or for a breach
ingested without --private): chunks are evaluated as tasks, checkpointed under HOME/private/work/BREACH/ and
resumed after an interruption; every number read must be in the breach's segment (which gives its masks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
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
from ..ingest.tasks import PieceHook
from ..phone import Status, normalize_many
from . import parts
from .protocol import DEFAULT_LAYOUT, PREFIX_BITS, Layout, key_id, pad_key, server_key
from .served import SERVED_NAME, ServedFile, ServedHeader, publish

BuildProgress = Callable[[str, int, int], None]
"""Called with (phase, done, total): phase 'evaluate' counts bytes of the dump, 'publish' counts buckets."""


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


def _oprf_key(ref: taskkeys.KeyRef, epoch: int) -> bytes:
    return taskkeys.derived_key(ref, f"oprf-epoch-{epoch}", lambda master: server_key(master, epoch).sk)


def _distinct(numbers: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct numbers, each with the OR of its masks."""
    if numbers.shape[0] == 0:
        return numbers, masks
    order = np.argsort(numbers, kind="stable")
    numbers, masks = numbers[order], masks[order]
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
    return numbers[starts], np.bitwise_or.reduceat(masks, starts)


def records_path(workdir: Path | str, piece: int) -> Path:
    """Where an ingest task writes the private work records of its piece."""
    return Path(workdir) / f"private-{piece:07d}.npy"


def piece_records(ref: taskkeys.KeyRef, numbers: np.ndarray, masks: np.ndarray, workdir: str, piece: int,
                  breach: str, epoch: int, prefix_bits: int) -> None:
    """Ingest hook, run by the task of one piece: evaluate the OPRF (with this process's copy of the key `ref`
    names) on the piece's distinct numbers and write their work records beside the piece's run."""
    numbers, masks = _distinct(numbers, masks)
    records = parts.evaluate_numbers(_oprf_key(ref, epoch), breach, numbers, masks, prefix_bits)
    parts.write_records(records_path(workdir, piece), records)


def ingest_hooks(config: Config, master_key: bytes, breach: str,
                 layout: Layout = DEFAULT_LAYOUT) -> tuple[PieceHook, Callable[[Path, str], None]]:
    """For `ingest --private`: the hook every piece's task runs, and what the lead runs once the segment is
    written (given the ingest's work directory and the segment checksum): merge the records into the
    breach's part file. Publishing the served file is `publish_private`, after the catalog has the breach."""
    epoch = config.private_key_epoch
    kid = key_id(server_key(master_key, epoch))
    hook = PieceHook(piece_records, (breach, epoch, layout.prefix_bits))

    def merge(workdir: Path, checksum: str) -> None:
        home = DataHome(config)
        home.private_parts.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths = sorted(Path(workdir).glob("private-*.npy"))
        parts.write_part(paths, parts.part_path(home.private_parts, breach),
                         parts.PartHeader(layout.prefix_bits, epoch, 0, kid, checksum))

    return hook, merge


def publish_private(config: Config, catalog: Catalog, master_key: bytes, layout: Layout = DEFAULT_LAYOUT,
                    progress: Callable[[int, int], None] | None = None) -> tuple[ServedHeader, list[str]]:
    """Write the served file from the part files of the catalog's breaches that are current (built for the
    breach's present segment, this key epoch and layout); returns its header and the breaches left out."""
    home = DataHome(config)
    epoch = config.private_key_epoch
    kid = key_id(server_key(master_key, epoch))
    chosen: dict[str, tuple[Path, str]] = {}
    left_out: list[str] = []
    for breach in catalog.list_breaches():
        path = parts.part_path(home.private_parts, breach.name)
        if not path.exists():
            continue
        try:
            part = parts.PartFile(path)
        except BreachwatchError:
            left_out.append(breach.name)
            continue
        h = part.header
        part.close()
        if (h.prefix_bits, h.epoch, h.key_id, h.segment_checksum) == (layout.prefix_bits, epoch, kid,
                                                                      breach.segment_checksum):
            chosen[breach.name] = (path, breach.segment_checksum)
        else:
            left_out.append(breach.name)
    home.private.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock(home.private, "served"):
        header = publish(home.private, chosen, kid, epoch, pad_key(master_key, epoch), layout, progress)
    return header, sorted(left_out)


def served_is_stale(config: Config, catalog: Catalog) -> bool:
    """True when the served file holds a breach that is no longer the catalog's as it was built (removed, or
    ingested again): publishing again then drops its entries. False when nothing is served."""
    path = DataHome(config).private / SERVED_NAME
    if not path.exists():
        return False
    try:
        served = ServedFile(path)
    except BreachwatchError:
        return True
    try:
        current = {b.name: b.segment_checksum for b in catalog.list_breaches()}
        return any(current.get(b.name) != b.segment_checksum for b in served.header.breaches)
    finally:
        served.close()


def republish_if_stale(config: Config, catalog: Catalog, master_key: bytes,
                       layout: Layout = DEFAULT_LAYOUT) -> ServedHeader | None:
    """Publish the served file again when a breach in it was removed or replaced (see `served_is_stale`);
    the new header, or None when nothing needed it."""
    if not served_is_stale(config, catalog):
        return None
    return publish_private(config, catalog, master_key, layout)[0]


@contextlib.contextmanager
def _lock(directory: Path, name: str) -> Iterator[None]:
    with open(directory / f".{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BreachwatchError(f"a private build of {name!r} is already running") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------- rebuild from a dump

def evaluate_rows(ref: taskkeys.KeyRef, breach: str, epoch: int, prefix_bits: int, phones: list[str],
                  hints: list[str | None] | None, default_region: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Normalize one chunk of raw rows and evaluate the OPRF (under this process's copy of the key `ref`
    names) on each distinct number: (E.164 integers, their work records without masks, in number order)."""
    norm = normalize_many(phones, hints, default_region)
    numbers = np.unique(norm.numbers[norm.status != Status.REJECTED])
    records = parts.evaluate_numbers(_oprf_key(ref, epoch), breach, numbers,
                                     np.zeros(numbers.shape[0], dtype=np.uint16), prefix_bits, sort=False)
    return numbers, records


def build_private(config: Config, catalog: Catalog, hasher: NumberHasher, master_key: bytes, breach_name: str,
                  dump: str | Path, options: DumpOptions | None = None, *, workers: int = 2,
                  chunk_rows: int = 50_000, progress: BuildProgress | None = None,
                  runner: Runner | None = None, layout: Layout = DEFAULT_LAYOUT) -> BuildReport:
    """Build (or resume building) the part file of an ingested breach from its dump, then publish the served
    file; chunks are evaluated on `runner` (default: the Dask cluster the settings name, else a pool of
    `workers` local processes)."""
    options = options or DumpOptions()
    if taskkeys.hold(master_key) != hasher.fingerprint:
        raise ConfigError("the master key and the index hasher given to the private build do not match")
    if runner is None and config.dask_scheduler:
        check_scheduler(config.dask_scheduler, config.dask_allow_insecure)
    breach = catalog.get_breach(breach_name)
    dump_layout = sniff_layout(dump, phone_column=options.phone_column, country_column=options.country_column,
                               encoding=options.encoding, format=options.format)
    epoch = config.private_key_epoch
    kid = key_id(server_key(master_key, epoch))
    home = DataHome(config)
    home.private_parts.mkdir(parents=True, exist_ok=True, mode=0o700)
    workdir = home.private_work / breach.name
    meta = {"breach": breach.name, "segment_checksum": breach.segment_checksum, "key_id": kid.hex(),
            "epoch": epoch, "chunk_rows": chunk_rows, "prefix_bits": layout.prefix_bits,
            "dump_size": Path(dump).stat().st_size, "default_region": options.default_region, "version": 2}
    report = BuildReport(breach.name)
    with _lock(home.private, breach.name):
        _prepare_workdir(workdir, meta)
        segment = SegmentReader(home.segments / breach.segment_file, hasher.fingerprint, breach.segment_checksum)
        own = runner is None
        if runner is None:
            runner = open_runner(config.dask_scheduler, config.dask_allow_insecure, workers=workers,
                                 master_key=master_key)
        try:
            _evaluate_chunks(dump_layout, taskkeys.key_ref(home.root, hasher.fingerprint), breach.name, epoch,
                             layout.prefix_bits, options, workdir, segment, hasher, runner, chunk_rows, report,
                             progress)
        finally:
            if own:
                runner.close()
            segment.close()
        final = parts.part_path(home.private_parts, breach.name)
        report.numbers = parts.write_part(sorted(workdir.glob("chunk-*.npy")), final,
                                          parts.PartHeader(layout.prefix_bits, epoch, 0, kid,
                                                           breach.segment_checksum))
        if report.numbers != breach.pwn_count:
            final.unlink(missing_ok=True)
            raise BreachwatchError(f"{dump}: holds {report.numbers:,} of the {breach.pwn_count:,} numbers of "
                                   f"breach {breach.name!r}; give the whole dump it was ingested from")
        shutil.rmtree(workdir, ignore_errors=True)
        report.path = str(final)
    publish_private(config, catalog, master_key, layout,
                    None if progress is None else (lambda done, total: progress("publish", done, total)))
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


def _evaluate_chunks(layout: DumpLayout, ref: taskkeys.KeyRef, breach: str, epoch: int, prefix_bits: int,
                     options: DumpOptions, workdir: Path, segment: SegmentReader, hasher: NumberHasher,
                     runner: Runner, chunk_rows: int, report: BuildReport, progress: BuildProgress | None) -> None:
    total_bytes = Path(layout.path).stat().st_size
    region = options.default_region.upper() if options.default_region else None
    submitted: deque[tuple[int, int]] = deque()  # (chunk, bytes of the dump read) of each task, in order

    def calls() -> Iterator[Call]:
        for i, rows in enumerate(read_rows(layout, chunk_rows)):
            report.chunks = i + 1
            if _chunk_path(workdir, i).exists():
                report.chunks_resumed += 1
                if progress is not None:
                    progress("evaluate", rows.bytes_read, total_bytes)
                continue
            submitted.append((i, rows.bytes_read))
            yield evaluate_rows, (ref, breach, epoch, prefix_bits, rows.phones, rows.hints, region)

    def checkpoint(result: tuple[np.ndarray, np.ndarray]) -> None:
        i, done_bytes = submitted.popleft()
        numbers, records = result
        _checkpoint(workdir, i, numbers, records, segment, hasher, layout.path)
        if progress is not None:
            progress("evaluate", done_bytes, total_bytes)

    run_in_order(runner, calls(), checkpoint)


def _checkpoint(workdir: Path, i: int, numbers: np.ndarray, records: np.ndarray, segment: SegmentReader,
                hasher: NumberHasher, dump: str) -> None:
    found, masks = segment.get_many(hasher.hash_many(numbers))
    if not found.all():
        missing = int((~found).sum())
        raise BreachwatchError(f"{dump}: {missing:,} numbers in it are not in this breach's index; "
                               "is this the dump (and --default-region) it was ingested with?")
    records = records.copy()
    records["mask"] = masks
    parts.write_records(_chunk_path(workdir, i), parts.sort_records(records))


__all__ = ["PREFIX_BITS", "BuildReport", "DumpOptions", "build_private", "evaluate_rows", "ingest_hooks",
           "piece_records", "publish_private"]
