"""Sniffing a dump's layout (`DumpLayout`): its format (delimited text, JSON lines, JSON documents, SQL dumps,
plain lists, Parquet, xlsx), encoding, delimiter and header, from its first lines (or records), and which
columns hold the numbers, countries and data classes (`columns.py`)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ..errors import InputError
from ..models import DATA_CLASS_BITS
from .columns import (
    detect_class_columns,
    detect_country_column,
    detect_phone_column,
    looks_like_number,
)
from .jsondocs import json_records, records_prefix
from .sources import (
    HEAD_BYTES,
    READ_ERRORS,
    Chained,
    TextSource,
    encoding_label,
    failing_line,
    is_gzip,
    open_binary,
)
from .sqldumps import sql_rows
from .tables import table_batches

SAMPLE_ROWS = 1000
_CHECK_BYTES = 1 << 16
#: Formats read as a stream of lines, as a stream of records (JSON documents, SQL dumps), from a file on disk.
LINE_FORMATS = ("csv", "tsv", "jsonl", "txt")
STREAM_RECORD_FORMATS = ("json", "sql")
RECORD_FILE_FORMATS = ("parquet", "xlsx")
FORMATS = LINE_FORMATS + STREAM_RECORD_FORMATS + RECORD_FILE_FORMATS


@dataclass(frozen=True)
class DumpLayout:
    """How a dump is laid out: format, columns, which column holds numbers, countries and data classes."""

    path: str
    format: str
    compressed: bool
    encoding: str
    delimiter: str | None
    has_header: bool
    columns: tuple[str, ...]
    phone_column: str | None
    country_column: str | None
    class_columns: dict[str, str] = field(default_factory=dict)
    #: Rows may hold more fields than `columns` (the delimiter occurs inside later fields, which are not read).
    loose: bool = False
    #: What the ingest report should say about how the dump was read.
    notes: tuple[str, ...] = ()
    #: For SQL dumps: the table whose rows are read; for JSON documents: where the records are (ijson prefix).
    table: str | None = None
    #: Whether the user named the table (else rows of any other table are an error).
    table_given: bool = False

    @property
    def data_classes(self) -> list[str]:
        """Data classes with a column in the dump, in canonical order."""
        present = set(self.class_columns.values())
        return [c for c in DATA_CLASS_BITS if c in present]


def _check_text(name: str, head: bytes, encoding: str | None) -> str:
    """The encoding to read with; refuses binary files and text that is not valid in it."""
    if not head.strip():
        raise InputError(name, "the file is empty")
    if encoding is None:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(name, "the file is UTF-16 text; read it with --encoding utf-16", row=1)
        if b"\0" in head:
            raise InputError(name, "this is a binary file, not a text dump (NUL bytes in the first "
                             f"{len(head)} bytes)", row=head[: head.index(b"\0")].count(b"\n") + 1)
        encoding = "utf-8-sig"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(name, f"unknown encoding {encoding!r}") from None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise InputError(name, f"not valid {encoding_label(encoding)} text (byte 0x{head[exc.start]:02x}); "
                         "give the right one with --encoding", row=line) from None
    return encoding


def format_from_name(name: str) -> str | None:
    """The format a file name says (its last suffix, a .gz one aside), or None."""
    suffixes = [s.lower() for s in PurePosixPath(name.replace("\\", "/")).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "json", ".txt": "txt", ".lst": "txt", ".sql": "sql", ".parquet": "parquet",
            ".xlsx": "xlsx"}.get(ext)


_SQL_START = re.compile(r"^\s*(INSERT\s+INTO|CREATE\s+TABLE|COPY\s+\S+.*\s+FROM\s+stdin)", re.IGNORECASE | re.MULTILINE)


def _format_from_content(first_lines: list[str]) -> str:
    sample = [ln for ln in first_lines if ln.strip()][:20]
    if not sample:
        return "txt"
    opening = sample[0].lstrip()
    if opening.startswith("["):
        return "json"
    if all(ln.lstrip().startswith("{") for ln in sample) and _is_json_object(sample[0]):
        return "jsonl"
    if opening.startswith("{"):
        return "json"
    if _SQL_START.search("".join(first_lines[:200])):
        return "sql"
    if all("\t" in ln for ln in sample):
        return "tsv"
    if content_delimiter(first_lines) is not None:
        return "csv"
    return "txt"


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


#: Field delimiters, in the order ties are broken. A colon separates fields only where no other delimiter
#: does so as regularly (a time of day holds colons too).
DELIMITERS = (",", ";", "\t", "|", ":")
_SCHEME = re.compile(r"^\s*[A-Za-z]+:")


def content_delimiter(first_lines: list[str]) -> str | None:
    """The delimiter the first lines are split by (one found in every sampled line), or None (a plain list)."""
    sample = [ln for ln in first_lines if ln.strip()][:50]
    if not sample:
        return None
    best, best_score = None, -1.0
    for d in DELIMITERS:
        counts = [ln.count(d) for ln in sample]
        if min(counts) == 0:
            continue
        if d == ":" and max(counts) == 1 and all(_SCHEME.match(ln) for ln in sample):
            continue  # tel:+20..., sip:... : a plain list
        constant = len(set(counts)) == 1
        score = min(counts) + ((1000.0 if d != ":" else 1.0) if constant else 0.0)
        if score > best_score:
            best, best_score = d, score
    return best


def _delimiter(first_lines: list[str]) -> str:
    return content_delimiter(first_lines) or ","


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """A JSON object flattened to {'a.b.c': text}; lists are joined, None becomes ''."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(flatten(value, name))
            elif isinstance(value, list):
                out[name] = " ".join("" if v is None else str(v) for v in value)
            elif value is None:
                out[name] = ""
            elif isinstance(value, bool):
                out[name] = str(value).lower()
            else:
                out[name] = str(value)
    return out


def sniff_layout(path: str | os.PathLike[str], *, phone_column: str | None = None,
                 country_column: str | None = None, encoding: str | None = None,
                 format: str | None = None, table: str | None = None) -> DumpLayout:
    """Work out how a dump file is laid out; raises InputError naming the file when it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(p), "no such file")
    if p.is_dir():
        raise InputError(str(p), "is a directory, not a dump file")
    choices = SniffChoices(phone_column, country_column, encoding, format, table)
    fmt = format or format_from_name(p.name)
    if fmt in RECORD_FILE_FORMATS:
        return sniff_record_file(str(p), fmt, choices)
    stream, raw = open_binary(p)
    try:
        layout, _ = sniff_stream(str(p), stream, choices, compressed=is_gzip(p))
    finally:
        stream.close()
        raw.close()
    return layout


@dataclass(frozen=True)
class SniffChoices:
    """What the user said about the layout (each None: found from the dump)."""

    phone_column: str | None = None
    country_column: str | None = None
    encoding: str | None = None
    format: str | None = None
    table: str | None = None


def read_head(name: str, stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first bytes of a dump's (decompressed) stream the layout is sniffed from, and a stream of all its
    bytes again (those, then the rest of `stream`; a read error met in the head is raised after them)."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < HEAD_BYTES and (block := stream.read(HEAD_BYTES - size)):
            parts.append(block)
            size += len(block)
    except READ_ERRORS as exc:
        if not parts:  # a gzip reader reads ahead: find the line itself
            row = failing_line(Path(name)) if Path(name).is_file() else None
            raise InputError(name, f"cannot decompress: {exc}", row=row) from None
        head = b"".join(parts)
        return head, Chained(head, _Failing(exc))  # type: ignore[arg-type,return-value]  # a raw byte stream
    head = b"".join(parts)
    return head, Chained(head, stream)  # type: ignore[return-value]  # a raw byte stream


class _Failing:
    """A stream whose next read raises the error a read of the real one raised."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def read(self, size: int = -1) -> bytes:
        """Raise the error."""
        raise self._error

    def close(self) -> None:
        """Nothing to close."""


def sniff_stream(name: str, stream: BinaryIO, choices: SniffChoices, compressed: bool = False
                 ) -> tuple[DumpLayout, BinaryIO]:
    """The layout of the text dump `name` whose (decompressed) bytes `stream` gives, and a stream of all its
    bytes again (the ones read to sniff, then the rest of `stream`)."""
    head, again = read_head(name, stream)
    enc = _check_text(name, head[:_CHECK_BYTES], choices.encoding)
    first_lines = _first_lines(name, head, enc)
    if not any(ln.strip() for ln in first_lines):
        raise InputError(name, "the file is empty")
    fmt = choices.format or format_from_name(name)
    if fmt == "txt" and content_delimiter(first_lines) is not None and _format_from_content(first_lines) == "csv":
        fmt = "csv"  # a .txt of delimited records (the 2021 Facebook files: colon-separated)
    if fmt == "json" and _format_from_content(first_lines) == "jsonl" and sum(
            1 for ln in first_lines[:3] if _is_json_object(ln)) >= 2:
        fmt = "jsonl"  # a .json file of JSON lines
    fmt = fmt or _format_from_content(first_lines)
    if fmt not in FORMATS:
        raise InputError(name, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt in RECORD_FILE_FORMATS:
        raise InputError(name, f"a {fmt} file is read from disk, not from inside an archive; extract it first")
    if fmt in STREAM_RECORD_FORMATS:
        return sniff_records(name, fmt, head, enc, compressed, choices), again
    phone_column, country_column = choices.phone_column, choices.country_column
    if fmt == "txt":
        if phone_column:
            raise InputError(name, "a plain list has no columns; --phone-column does not apply")
        first = first_lines[0].strip()
        has_header = bool(first) and not any(ch.isdigit() for ch in first)
        return DumpLayout(name, fmt, compressed, enc, None, has_header, (), None, None, {}), again
    if fmt == "jsonl":
        return _sniff_jsonl(name, first_lines, compressed, enc, phone_column, country_column), again
    delimiter = "\t" if fmt == "tsv" else _delimiter(first_lines)
    return _sniff_delimited(name, fmt, first_lines, compressed, enc, delimiter, phone_column,
                            country_column), again


def _first_lines(name: str, head: bytes, encoding: str) -> list[str]:
    """Up to SAMPLE_ROWS + 1 whole lines of `head` (all of it when it is the whole dump)."""
    complete = len(head) < HEAD_BYTES
    source = TextSource(Path(name), encoding, (io.BytesIO(head), io.BytesIO()))
    lines: list[str] = []
    try:
        for line in source.lines():
            if not complete and not line.endswith(("\n", "\r")):
                break  # cut off by the head's end
            lines.append(line)
            if len(lines) > SAMPLE_ROWS:
                break
    except InputError as exc:
        if "longer than" in exc.reason:
            raise
        if not lines:  # the reader names the line; sniff from what is readable
            raise
    return lines


def _sniff_delimited(name: str, fmt: str, first_lines: list[str], compressed: bool, enc: str, delimiter: str,
                     phone_column: str | None, country_column: str | None) -> DumpLayout:
    try:
        records = list(csv.reader(io.StringIO("".join(first_lines)), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(name, f"not readable as {fmt.upper()}: {exc}", row=1) from None
    records = [r for r in records if any(c.strip() for c in r)]
    if not records:
        raise InputError(name, "the file is empty")
    has_header = not any(looks_like_number(c) for c in records[0])
    body = records[1:] if has_header else records
    counts = sorted({len(r) for r in body}) or [len(records[0])]
    width = max(len(r) for r in records[: SAMPLE_ROWS + 1])
    loose = False
    notes: tuple[str, ...] = ()
    if has_header:
        columns = tuple(c.strip() or f"col{i + 1}" for i, c in enumerate(records[0]))
    else:
        if len(counts) > 1:  # the delimiter occurs inside later fields too: read the fields before those
            width = _stable_width(body, counts[0])
            loose = True
            shown = "tab" if delimiter == "\t" else repr(delimiter)
            notes = (f"rows hold {counts[0]} to {counts[-1]} {shown}-separated fields (the delimiter also occurs "
                     f"inside later fields): fields 1-{width} are read by position, the rest of each row is "
                     "not read",)
        columns = tuple(f"col{i + 1}" for i in range(width))
    samples = {col: [r[i] if i < len(r) else "" for r in body] for i, col in enumerate(columns)}
    layout = _layout_from_samples(Path(name), fmt, compressed, enc, delimiter, has_header, columns, samples,
                                  phone_column, country_column, named=has_header)
    return replace(layout, loose=loose, notes=notes)


_TIME_CUT = re.compile(r"(^|\D)\d{1,2}$")


def _stable_width(body: list[list[str]], fewest: int) -> int:
    """How many leading fields of rows with differing field counts stand at the same place in every row: up
    to the first field that a delimiter inside a value cuts (a date and time, 5/12/2018 12:00:00 AM, holds
    two colons), at most the fewest fields of a row."""
    for column in range(fewest):
        longer = [r[column] for r in body if len(r) > fewest and r[column].strip()]
        if longer and sum(1 for v in longer if _TIME_CUT.search(v) and any(c in v for c in "/-. ")) >= (
                0.5 * len(longer)):
            return column + 1
    return fewest


def _sniff_jsonl(name: str, first_lines: list[str], compressed: bool, enc: str, phone_column: str | None,
                 country_column: str | None) -> DumpLayout:
    rows: list[dict[str, str]] = []
    for line in first_lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            rows.append(flatten(obj))
    if not rows:
        raise InputError(name, "no JSON object found in the first lines; is this JSON lines?", row=1)
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    samples = {col: [r.get(col, "") for r in rows] for col in columns}
    return _layout_from_samples(Path(name), "jsonl", compressed, enc, None, False, tuple(columns), samples,
                                phone_column, country_column)


def _layout_from_samples(p: Path, fmt: str, compressed: bool, enc: str, delimiter: str | None,
                         has_header: bool, columns: tuple[str, ...], samples: dict[str, list[str]],
                         phone_column: str | None, country_column: str | None, named: bool = True) -> DumpLayout:
    """The layout of columns whose sampled values are `samples`: the phone, country and data-class columns."""
    listing = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    if phone_column is not None:
        if phone_column not in columns:
            raise InputError(str(p), f"no column {phone_column!r}; the columns are: {listing}")
        phone = phone_column
    else:
        detected = detect_phone_column(columns, samples)
        if detected is None:
            raise InputError(str(p), f"no column of phone numbers found; the columns are: {listing}. "
                             "Name it with --phone-column")
        phone = detected
    if country_column is not None:
        if country_column not in columns:
            raise InputError(str(p), f"no column {country_column!r}; the columns are: {listing}")
        country: str | None = country_column
    else:
        country = detect_country_column(columns, samples, exclude=phone)
    class_columns = detect_class_columns(columns, samples, exclude=(phone, country), named=named)
    return DumpLayout(str(p), fmt, compressed, enc, delimiter, has_header, columns, phone, country, class_columns)


def sniff_records(name: str, fmt: str, head: bytes, encoding: str, compressed: bool,
                  choices: SniffChoices) -> DumpLayout:
    """The layout of a JSON document or SQL dump, from the records in its first bytes."""
    records: list[dict[str, str]] = []
    table: str | None = None
    if fmt == "json":
        prefix = records_prefix(head)
        if prefix is None:
            raise InputError(name, "no array of records found at the start of the JSON document", row=1)
        table = prefix
        try:
            for record in json_records(name, io.BytesIO(head), prefix):
                if isinstance(record, dict):
                    records.append(flatten(record))
                if len(records) >= SAMPLE_ROWS:
                    break
        except InputError:
            pass  # the head ends inside a record
    else:
        text = head.decode(encoding, errors="replace")
        lines = iter(text.splitlines(keepends=True)[:-1] if len(head) >= HEAD_BYTES else text.splitlines(True))
        tables: list[str] = []
        try:
            for row in sql_rows(name, lines):
                if row.table not in tables:
                    tables.append(row.table)
                if choices.table is not None and row.table != choices.table:
                    continue
                table = row.table
                if tables[0] != row.table and choices.table is None:
                    break
                columns = row.columns or tuple(f"col{i + 1}" for i in range(len(row.values)))
                records.append({c: "" if v is None else v for c, v in zip(columns, row.values, strict=False)})
                if len(records) >= SAMPLE_ROWS:
                    break
        except InputError as exc:
            if "unterminated" not in exc.reason or len(head) < HEAD_BYTES:  # the whole dump: a real error
                raise
        if not records:
            which = f" of table {choices.table!r}" if choices.table else ""
            raise InputError(name, f"no INSERT or COPY rows{which} found at the start of the SQL dump"
                             + (f" (tables: {', '.join(tables)})" if tables else ""))
    if not records:
        raise InputError(name, "no JSON object found in the records at the start of the document", row=1)
    columns_seen: list[str] = []
    for r in records:
        columns_seen.extend(k for k in r if k not in columns_seen)
    samples = {col: [r.get(col, "") for r in records] for col in columns_seen}
    layout = _layout_from_samples(Path(name), fmt, compressed, encoding, None, False, tuple(columns_seen),
                                  samples, choices.phone_column, choices.country_column)
    return replace(layout, table=table, table_given=choices.table is not None)


def sniff_record_file(name: str, fmt: str, choices: SniffChoices) -> DumpLayout:
    """The layout of a Parquet or xlsx file on disk, from its first records."""
    names, rows = next(table_batches(name, fmt, SAMPLE_ROWS), ([], []))
    if not names:
        raise InputError(name, "the file holds no columns")
    samples = {col: [r[i] if i < len(r) else "" for r in rows] for i, col in enumerate(names)}
    return _layout_from_samples(Path(name), fmt, False, "utf-8", None, True, tuple(names), samples,
                                choices.phone_column, choices.country_column)
