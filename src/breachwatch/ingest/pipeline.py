"""The ingest pipeline: sniff the layout, cut the dump into pieces, run a task per piece (rows -> normalizer ->
keyed hash -> run file), merge the runs bucket by bucket into a segment, then one catalog transaction. A breach
appears whole or not at all."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..config import Config
from ..datahome import DataHome
from ..errors import BreachExistsError, BreachwatchError, InputError, UnknownBreachError
from ..index import NumberHasher, SegmentWriter
from ..models import Breach, CountryCount, IngestReport, RejectSample, mask_to_classes
from ..phone import REGIONS, SUPPORTED_REGIONS, prepare_automata
from . import taskkeys
from .chunks import Piece
from .cluster import check_scheduler
from .members import OpenMember, dump_files, open_members
from .records import read_records
from .rows import PieceRows, read_pieces
from .runners import Call, Runner, open_runner, run_in_order
from .runs import merged_buckets
from .sniff import RECORD_FILE_FORMATS, DumpLayout, SniffChoices, format_from_name, sniff_layout, sniff_stream
from .tasks import NORMALIZERS, SAMPLES_PER_REASON, PieceHook, PieceResult, PieceTask, run_task, warm_up

ProgressCallback = Callable[[int, int, int], None]
"""Called with (rows read, bytes of the file read, file size in bytes)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: Dumps smaller than this many pieces are ingested in this process (a pool costs more than it saves).
INLINE_PIECES = 4


@dataclass(frozen=True)
class IngestOptions:
    """What the user says about a dump and the breach it becomes."""

    breach: str
    title: str | None = None
    breach_date: dt.date | None = None
    description: str = ""
    default_region: str | None = None
    phone_column: str | None = None
    country_column: str | None = None
    encoding: str | None = None
    format: str | None = None
    replace: bool = False
    #: Dask scheduler address (tls://HOST:8786) or a distributed.Client (used as is); default: the
    #: dask_scheduler setting, else local processes.
    scheduler: str | Any = None
    #: Accept a scheduler address whose transport is not encrypted (tcp://); also the dask_allow_insecure setting.
    allow_insecure_scheduler: bool = False
    #: "fast" (vectorized) or "per-row" (libphonenumber on every row: the reference, for verification).
    normalizer: str = "fast"
    #: For SQL dumps: the table to read (default: the only table with rows).
    table: str | None = None
    #: Extra work on every piece's numbers in the same read (`ingest --private`), and what the lead does with
    #: its results once the segment is written (given the work directory and the segment checksum), before
    #: the breach is published.
    piece_hook: PieceHook | None = None
    after_merge: Callable[[Path, str], None] | None = None


def validate_options(options: IngestOptions) -> None:
    """Reject bad options before any file is touched."""
    if not _NAME.match(options.breach):
        raise BreachwatchError(f"breach name {options.breach!r} must be 1-128 letters, digits, '.', '_' or "
                               "'-', starting with a letter or digit")
    if options.normalizer not in NORMALIZERS:
        raise BreachwatchError(f"normalizer {options.normalizer!r} must be one of {', '.join(NORMALIZERS)}")
    if options.default_region and options.default_region.upper() not in SUPPORTED_REGIONS:
        raise BreachwatchError(f"--default-region {options.default_region!r} is not a region libphonenumber "
                               "knows (use an ISO 3166 code such as EG, US, BE)")


Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def ingest(config: Config, catalog: Catalog, hasher: NumberHasher, path: Paths,
           options: IngestOptions, progress: ProgressCallback | None = None) -> IngestReport:
    """Load a dump (one file, several, a directory, or a zip or tar archive of them) as a new breach (or
    replace one with options.replace), whole or not at all; returns what was read and kept."""
    validate_options(options)
    paths: list[str | os.PathLike[str]] = [path] if isinstance(path, str | os.PathLike) else list(path)
    scheduler = options.scheduler or config.dask_scheduler
    if isinstance(scheduler, str):
        check_scheduler(scheduler, options.allow_insecure_scheduler or config.dask_allow_insecure)
    _refuse_existing(catalog, options)
    files = dump_files(paths)
    if len(files) == 1 and Path(files[0]).is_file():  # a single file's layout errors come before any work
        first = files[0]
        fmt = options.format or format_from_name(first.name)
        if fmt in RECORD_FILE_FORMATS or not _is_archive_name(first.name):
            sniff_layout(first, phone_column=options.phone_column, country_column=options.country_column,
                         encoding=options.encoding, format=options.format, table=options.table)
    home = DataHome(config)
    with home.ingest_lock():
        home.remove_orphans({b.segment_file for b in catalog.list_breaches()})
        _refuse_existing(catalog, options)
        return _ingest_locked(config, catalog, hasher, home, paths, files, options, progress)


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith((".zip", ".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".7z", ".rar"))


def _refuse_existing(catalog: Catalog, options: IngestOptions) -> None:
    if options.replace:
        return
    try:
        catalog.get_breach(options.breach)
    except UnknownBreachError:
        return
    raise BreachExistsError(f"breach {options.breach!r} is already loaded; use --replace to reload it")


def _choices(options: IngestOptions) -> SniffChoices:
    return SniffChoices(options.phone_column, options.country_column, options.encoding, options.format,
                        options.table)


def member_batches(opened: OpenMember, options: IngestOptions, batch_rows: int
                   ) -> tuple[DumpLayout, Iterator[Piece | PieceRows]]:
    """The layout of one member of a dump and its pieces (or rows, for record formats), in order."""
    name = opened.member.name
    choices = _choices(options)
    fmt = options.format or format_from_name(name)
    if fmt in RECORD_FILE_FORMATS:
        if name != opened.member.disk:
            raise InputError(name, f"a {fmt} file is read from disk, not from inside an archive; extract it first")
        layout = sniff_layout(name, phone_column=options.phone_column, country_column=options.country_column,
                              encoding=options.encoding, format=options.format, table=options.table)
        return layout, read_records(layout, None, batch_rows)
    layout, stream = sniff_stream(name, opened.stream, choices, compressed=opened.compressed)
    if layout.format in ("json", "sql"):
        return layout, read_records(layout, stream, batch_rows)
    return layout, read_pieces(layout, batch_rows, (stream, opened.progress_file()))


def _file_entry(layout: DumpLayout) -> dict[str, Any]:
    return {"name": layout.path, "format": layout.format, "delimiter": layout.delimiter,
            "phone_column": layout.phone_column, "country_column": layout.country_column,
            "table": layout.table, "loose": layout.loose}


def _ingest_locked(config: Config, catalog: Catalog, hasher: NumberHasher, home: DataHome,
                   paths: list[str | os.PathLike[str]], files: list[Path], options: IngestOptions,
                   progress: ProgressCallback | None) -> IngestReport:
    started = time.perf_counter()
    total_bytes = sum(f.stat().st_size for f in files)
    source = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} paths"
    report = IngestReport(breach=options.breach, source=source)
    default_region = options.default_region.upper() if options.default_region else None
    workdir = home.new_workdir()
    writer: SegmentWriter | None = None
    seen_mask = 0
    runner: Runner | None = None

    automata = str(prepare_automata(home.cache))
    warm_up(automata)  # compiled loops compiled here once (after an install), before workers would each compile

    ref = taskkeys.key_ref(home.root, hasher.fingerprint)
    work = str(workdir.resolve())  # a worker's current directory is not the lead's

    def calls() -> Iterator[Call]:
        number = 0
        for opened in open_members(paths, config.archive_max_ratio):
            layout, pieces = member_batches(opened, options, config.batch_rows)
            if not report.files:
                report.format, report.phone_column = layout.format, layout.phone_column
                report.country_column = layout.country_column
            report.files.append(_file_entry(layout))
            report.notes.extend(f"{layout.path}: {note}" for note in layout.notes)
            for piece in pieces:
                yield run_task, (PieceTask(number, piece, layout, default_region, automata, options.normalizer,
                                           options.piece_hook), ref, work)
                number += 1
                rows = (report.rows if isinstance(piece, Piece)
                        else report.rows + len(piece.phones) + len(piece.malformed))
                if progress is not None:
                    progress(rows, opened.member.offset + piece.bytes_read, total_bytes)
        if len(report.files) > 1 and len({f["format"] for f in report.files}) > 1:
            report.format = "mixed"

    def collect(result: PieceResult) -> None:
        nonlocal seen_mask
        report.rows += result.rows
        report.accepted_rows += result.accepted
        seen_mask |= result.seen_mask
        for reason, count in result.rejected_by_reason.items():
            report.rejected_rows += count
            report.rejected_by_reason[reason] = report.rejected_by_reason.get(reason, 0) + count
            samples = report.rejected_samples.setdefault(reason, [])
            for row, masked in result.samples.get(reason, []):
                if len(samples) < SAMPLES_PER_REASON:
                    samples.append(RejectSample(row, masked))

    try:
        runner = _runner(config, options, total_bytes, automata, taskkeys.held(hasher.fingerprint))
        run_in_order(runner, calls(), collect)
        runner.close()  # the workers are done: let them exit while the runs are merged
        segment_path = home.new_segment_path(options.breach)
        writer = SegmentWriter(segment_path, hasher.fingerprint)
        region_counts = np.zeros(len(REGIONS), dtype=np.int64)
        region_valid = np.zeros(len(REGIONS), dtype=np.int64)
        for bucket in merged_buckets(workdir):
            writer.append(bucket.hashes, bucket.masks)
            region_counts += np.bincount(bucket.regions, minlength=len(REGIONS))
            region_valid += np.bincount(bucket.regions[bucket.valid == 1], minlength=len(REGIONS))
        if writer.count == 0:
            raise BreachwatchError(f"{', '.join(str(p) for p in paths)}: no phone number could be read from "
                                   f"{report.rows} rows "
                                   f"(rejected: {_reasons_text(report)}); nothing was loaded")
        checksum = writer.publish()
        if options.after_merge is not None:
            try:
                options.after_merge(workdir, checksum)
            except BaseException:
                segment_path.unlink(missing_ok=True)
                raise
        _finish_report(report, writer.count, region_counts, region_valid, seen_mask, started)
        breach = _breach_from(options, report, segment_path.name, checksum)
        countries = [CountryCount(REGIONS[i], int(region_counts[i]), int(region_valid[i]))
                     for i in np.flatnonzero(region_counts)]
        try:
            replaced = catalog.publish_breach(breach, countries, replace=options.replace)
        except BaseException:
            segment_path.unlink(missing_ok=True)
            raise
        if replaced and replaced != segment_path.name:
            (home.segments / replaced).unlink(missing_ok=True)
        return report
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if runner is not None:
            runner.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _runner(config: Config, options: IngestOptions, total_bytes: int, automata: str,
            master_key: bytes | None) -> Runner:
    """Where the tasks run: a Dask cluster if one is named (its workers load the key themselves), else local
    processes for big dumps (given `master_key`, when this process holds it, as they start), else this one."""
    # About 40 bytes per row in a typical dump: small dumps are not worth starting processes for.
    return open_runner(options.scheduler or config.dask_scheduler,
                       options.allow_insecure_scheduler or config.dask_allow_insecure,
                       inline=total_bytes < INLINE_PIECES * config.batch_rows * 40, master_key=master_key,
                       ready=functools.partial(warm_up, automata))


def _reasons_text(report: IngestReport) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(report.rejected_by_reason.items())) or "none"


def _finish_report(report: IngestReport, unique: int, counts: np.ndarray, valid: np.ndarray,
                   seen_mask: int, started: float) -> None:
    report.unique_numbers = unique
    report.duplicate_rows = report.accepted_rows - unique
    report.valid_numbers = int(valid.sum())
    report.possible_numbers = unique - report.valid_numbers
    report.countries = {REGIONS[i]: int(counts[i]) for i in np.flatnonzero(counts)}
    report.countries_valid = {REGIONS[i]: int(valid[i]) for i in np.flatnonzero(counts)}
    report.data_classes = mask_to_classes(seen_mask)
    report.seconds = time.perf_counter() - started


def _breach_from(options: IngestOptions, report: IngestReport, segment_file: str, checksum: str) -> Breach:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return Breach(
        name=options.breach, title=options.title or options.breach, breach_date=options.breach_date,
        added_date=now, modified_date=now, description=options.description,
        pwn_count=report.unique_numbers, data_classes=report.data_classes,
        valid_count=report.valid_numbers, possible_count=report.possible_numbers,
        source_notes=f"ingested from {report.source}", segment_file=segment_file,
        segment_checksum=checksum, ingest_report=report.to_dict(),
    )
