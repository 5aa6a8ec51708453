"""Reading dumps: CSV/TSV/JSON lines/plain lists, plain or gzip, UTF-8 with or without BOM. Finds the phone
and country columns and the data classes present, and yields rows in bounded batches."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

import numpy as np
from isal import igzip, isal_zlib

from .dataclasses_detect import (
    class_from_name,
    class_from_values,
    is_country_column_name,
    is_phone_column_name,
)
from .errors import InputError
from .models import DATA_CLASS_BITS
from .phone import SUPPORTED_REGIONS, Hints, Status, Texts, normalize

MAX_LINE_CHARS = 1 << 20  # a dump line longer than 1 MiB is not a record of a phone number
SAMPLE_ROWS = 1000
_SNIFF_BYTES = 1 << 16
_FORMATS = ("csv", "tsv", "jsonl", "txt")


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

    @property
    def data_classes(self) -> list[str]:
        """Data classes with a column in the dump, in canonical order."""
        present = set(self.class_columns.values())
        return [c for c in DATA_CLASS_BITS if c in present]


@dataclass
class RowBatch:
    """Up to batch_rows rows: raw phone text, optional region hints, data-class masks, and row numbers.
    Rows that could not be read as records at all are listed in `malformed` (row, reason)."""

    phones: Texts
    hints: Hints
    masks: np.ndarray
    rows: np.ndarray
    malformed: list[tuple[int, str]] = field(default_factory=list)
    bytes_read: int = 0


# ---------------------------------------------------------------------------------------------- opening

def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


#: What reading a dump can raise besides decoding errors: I/O errors, a truncated or damaged gzip stream.
_ISAL_ERROR: type[BaseException] = isal_zlib.error  # type: ignore[assignment]  # a class (typed as an instance)
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, _ISAL_ERROR)


def open_binary(path: Path, fast: bool = False) -> tuple[BinaryIO, BinaryIO]:
    """(stream of decompressed bytes, the raw file whose tell() gives progress). With `fast`, gzip is read
    with ISA-L (the gzip module's API, about 3x its speed, but it reads ahead past the end of a gzip member,
    so an error in a later member surfaces early: see `chunks.failing_line` for the exact line)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if is_gzip(path):
        if fast:
            return igzip.IGzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[no-untyped-call,return-value]
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def failing_line(path: Path) -> int:
    """The line a read of `path` fails on (the first not wholly read), found by reading it again: a gzip
    stream is decompressed member by member with zlib, at most 64 KiB of output per call, so everything
    before the damage is counted."""
    if not is_gzip(path):
        stream, raw = open_binary(path)
        lines = 0
        try:
            while block := stream.read(1 << 16):
                lines += block.count(b"\n")
        except READ_ERRORS:
            pass
        finally:
            stream.close()
            raw.close()
        return lines + 1
    lines = 0
    with open(path, "rb") as raw:
        pending = b""
        decompressor = zlib.decompressobj(wbits=31)
        try:
            while True:
                if not pending:
                    pending = raw.read(1 << 16)
                    if not pending:
                        return lines + 1
                lines += decompressor.decompress(pending, 1 << 16).count(b"\n")
                pending = decompressor.unconsumed_tail
                if decompressor.eof:  # the next gzip member, if any
                    pending = decompressor.unused_data
                    decompressor = zlib.decompressobj(wbits=31)
        except zlib.error:
            return lines + 1


def _head(path: Path) -> bytes:
    stream, raw = open_binary(path)
    try:
        return stream.read(_SNIFF_BYTES)
    except READ_ERRORS as exc:
        raise InputError(str(path), f"cannot decompress: {exc}") from None
    finally:
        stream.close()
        raw.close()


def _check_text(path: Path, head: bytes, encoding: str | None) -> str:
    """The encoding to read with; refuses binary files and text that is not valid in it."""
    if not head.strip():
        raise InputError(str(path), "the file is empty")
    if encoding is None:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(str(path), "the file is UTF-16 text; read it with --encoding utf-16", row=1)
        if b"\0" in head:
            raise InputError(str(path), "this is a binary file, not a text dump (NUL bytes in the first "
                             f"{len(head)} bytes)", row=head[: head.index(b"\0")].count(b"\n") + 1)
        encoding = "utf-8-sig"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(str(path), f"unknown encoding {encoding!r}") from None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise InputError(str(path), f"not valid {_label(encoding)} text (byte 0x{head[exc.start]:02x}); "
                         "give the right one with --encoding", row=line) from None
    return encoding


def _label(encoding: str) -> str:
    return "UTF-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8") else encoding


class _TextSource:
    """Decoded lines of a plain or gzip file, at most MAX_LINE_CHARS each, counted so errors name the line.

    UTF-8 (the default) is decoded line by line from the byte stream, so a decoding error names its exact
    line; other encodings go through a text decoder (lines can only be split after decoding)."""

    def __init__(self, path: Path, encoding: str, opened: tuple[BinaryIO, BinaryIO] | None = None,
                 line: int = 0) -> None:
        self.path = path
        self.encoding = encoding
        self._stream, self._raw = opened or open_binary(path)
        self._utf8 = _label(encoding) == "UTF-8"
        self._bytes: IO[bytes] = io.BufferedReader(self._stream, 1 << 20)  # type: ignore[type-var]  # GzipFile and FileIO are raw-enough streams
        self._text: IO[str] | None = None
        if not self._utf8:
            self._text = io.TextIOWrapper(self._bytes, encoding=encoding, errors="strict", newline="")
        self.line = line

    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def _next_line(self) -> str:
        if self._text is not None:
            return self._text.readline(MAX_LINE_CHARS + 1)
        raw = self._bytes.readline(MAX_LINE_CHARS + 1)
        if self.line == 0 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        return raw.decode("utf-8")

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""
        while True:
            try:
                line = self._next_line()
            except UnicodeDecodeError as exc:
                raise InputError(str(self.path), f"not valid {_label(self.encoding)} text ({exc.reason}); "
                                 "give the right one with --encoding", row=self.line + 1) from None
            except READ_ERRORS as exc:  # buffered reads run ahead: find the line itself
                raise InputError(str(self.path), f"cannot read: {exc}", row=max(self.line + 1, failing_line(
                    self.path))) from None
            if not line:
                return
            self.line += 1
            if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                raise InputError(str(self.path), f"line is longer than {MAX_LINE_CHARS} characters; "
                                 "this is not a dump of records", row=self.line)
            yield line

    def close(self) -> None:
        """Close the stream and the file."""
        (self._text or self._bytes).close()
        self._raw.close()


# ---------------------------------------------------------------------------------------------- sniffing

def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "jsonl", ".txt": "txt", ".lst": "txt"}.get(ext)


def _format_from_content(first_lines: list[str]) -> str:
    sample = [ln for ln in first_lines if ln.strip()][:20]
    if sample and all(ln.lstrip().startswith("{") for ln in sample):
        return "jsonl"
    if sample and all("\t" in ln for ln in sample):
        return "tsv"
    if sample and all(any(d in ln for d in ",;|") for ln in sample):
        return "csv"
    return "txt"


def _delimiter(first_lines: list[str]) -> str:
    sample = [ln for ln in first_lines if ln.strip()][:50]
    best, best_score = ",", -1.0
    for d in (",", ";", "|", "\t"):
        counts = [ln.count(d) for ln in sample]
        if not counts or min(counts) == 0:
            continue
        score = min(counts) + (1.0 if len(set(counts)) == 1 else 0.0)
        if score > best_score:
            best, best_score = d, score
    return best


def _looks_like_number(cell: str) -> bool:
    return sum(ch.isdigit() for ch in cell) >= 7


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
                 format: str | None = None) -> DumpLayout:
    """Work out how a dump is laid out; raises InputError naming the file when it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(p), "no such file")
    if p.is_dir():
        raise InputError(str(p), "is a directory, not a dump file")
    head = _head(p)
    enc = _check_text(p, head, encoding)
    compressed = is_gzip(p)
    source = _TextSource(p, enc)
    try:
        first_lines = []
        for line in source.lines():
            first_lines.append(line)
            if len(first_lines) > SAMPLE_ROWS:
                break
    finally:
        source.close()
    if not any(ln.strip() for ln in first_lines):
        raise InputError(str(p), "the file is empty")
    fmt = format or _format_from_name(p) or _format_from_content(first_lines)
    if fmt not in _FORMATS:
        raise InputError(str(p), f"unknown format {fmt!r} (one of {', '.join(_FORMATS)})")
    if fmt == "txt":
        if phone_column:
            raise InputError(str(p), "a plain list has no columns; --phone-column does not apply")
        first = first_lines[0].strip()
        has_header = bool(first) and not any(ch.isdigit() for ch in first)
        return DumpLayout(str(p), fmt, compressed, enc, None, has_header, (), None, None, {})
    if fmt == "jsonl":
        return _sniff_jsonl(p, first_lines, compressed, enc, phone_column, country_column)
    delimiter = "\t" if fmt == "tsv" else _delimiter(first_lines)
    return _sniff_delimited(p, fmt, first_lines, compressed, enc, delimiter, phone_column, country_column)


def _sniff_delimited(p: Path, fmt: str, first_lines: list[str], compressed: bool, enc: str, delimiter: str,
                     phone_column: str | None, country_column: str | None) -> DumpLayout:
    try:
        records = list(csv.reader(io.StringIO("".join(first_lines)), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(str(p), f"not readable as {fmt.upper()}: {exc}", row=1) from None
    records = [r for r in records if any(c.strip() for c in r)]
    if not records:
        raise InputError(str(p), "the file is empty")
    has_header = not any(_looks_like_number(c) for c in records[0])
    width = max(len(r) for r in records[: SAMPLE_ROWS + 1])
    if has_header:
        columns = tuple(c.strip() or f"col{i + 1}" for i, c in enumerate(records[0]))
        body = records[1:]
    else:
        columns = tuple(f"col{i + 1}" for i in range(width))
        body = records
    samples = {col: [r[i] if i < len(r) else "" for r in body] for i, col in enumerate(columns)}
    return _layout_from_samples(p, fmt, compressed, enc, delimiter, has_header, columns, samples,
                                phone_column, country_column)


def _sniff_jsonl(p: Path, first_lines: list[str], compressed: bool, enc: str, phone_column: str | None,
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
        raise InputError(str(p), "no JSON object found in the first lines; is this JSON lines?", row=1)
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    samples = {col: [r.get(col, "") for r in rows] for col in columns}
    return _layout_from_samples(p, "jsonl", compressed, enc, None, False, tuple(columns), samples,
                                phone_column, country_column)


def _layout_from_samples(p: Path, fmt: str, compressed: bool, enc: str, delimiter: str | None,
                         has_header: bool, columns: tuple[str, ...], samples: dict[str, list[str]],
                         phone_column: str | None, country_column: str | None) -> DumpLayout:
    listing = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    if phone_column is not None:
        if phone_column not in columns:
            raise InputError(str(p), f"no column {phone_column!r}; the columns are: {listing}")
        phone = phone_column
    else:
        detected = _detect_phone_column(columns, samples)
        if detected is None:
            raise InputError(str(p), f"no column of phone numbers found; the columns are: {listing}. "
                             "Name it with --phone-column")
        phone = detected
    if country_column is not None:
        if country_column not in columns:
            raise InputError(str(p), f"no column {country_column!r}; the columns are: {listing}")
        country: str | None = country_column
    else:
        country = _detect_country_column(columns, samples, exclude=phone)
    class_columns: dict[str, str] = {}
    for col in columns:
        if col in (phone, country):
            continue
        found = class_from_name(col) or class_from_values(samples.get(col, []))
        if found is not None:
            class_columns[col] = found
    return DumpLayout(str(p), fmt, compressed, enc, delimiter, has_header, columns, phone, country, class_columns)


def _detect_phone_column(columns: tuple[str, ...], samples: dict[str, list[str]]) -> str | None:
    named = [c for c in columns if is_phone_column_name(c)]
    if len(named) == 1:
        return named[0]
    best, best_share = None, 0.0
    for col in named or list(columns):
        values = [v for v in samples.get(col, [])[:200] if v.strip()]
        if not values:
            continue
        ok = sum(1 for v in values if _looks_like_number(v) and normalize(v).status != Status.REJECTED)
        share = ok / len(values)
        if share > best_share:
            best, best_share = col, share
    return best if best_share >= 0.3 else (named[0] if named else None)


def _detect_country_column(columns: tuple[str, ...], samples: dict[str, list[str]], exclude: str) -> str | None:
    for col in columns:
        if col == exclude or not is_country_column_name(col):
            continue
        values = [v.strip().upper() for v in samples.get(col, []) if v.strip()]
        if values and sum(v in SUPPORTED_REGIONS for v in values) / len(values) >= 0.8:
            return col
    return None


# ---------------------------------------------------------------------------------------------- reading

class LineSource(Protocol):
    """Numbered lines of a dump (or of a piece of it): `line` is the number of the last line given."""

    line: int

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""

    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far."""


def read_batches(layout: DumpLayout, batch_rows: int) -> Iterator[RowBatch]:
    """The dump's rows in batches of at most `batch_rows`, in file order."""
    source = _TextSource(Path(layout.path), layout.encoding)
    try:
        yield from rows_from_source(layout, source, batch_rows)
    finally:
        source.close()


def read_batches_from(layout: DumpLayout, opened: tuple[BinaryIO, BinaryIO], line: int,
                      batch_rows: int) -> Iterator[RowBatch]:
    """Like read_batches, from an already opened (stream, raw file) positioned after `line` lines."""
    source = _TextSource(Path(layout.path), layout.encoding, opened, line)
    try:
        yield from rows_from_source(layout, source, batch_rows)
    finally:
        source.close()


def rows_from_source(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[RowBatch]:
    """The rows of the lines of `source`, in batches of at most `batch_rows`."""
    if layout.format == "txt":
        yield from _read_txt(layout, source, batch_rows)
    elif layout.format == "jsonl":
        yield from _read_jsonl(layout, source, batch_rows)
    else:
        yield from _read_delimited(layout, source, batch_rows)


class _BatchBuilder:
    def __init__(self, with_hints: bool, source: LineSource) -> None:
        self.with_hints = with_hints
        self.source = source
        self.reset()

    def reset(self) -> None:
        self.phones: list[str] = []
        self.hints: list[str | None] = []
        self.masks: list[int] = []
        self.rows: list[int] = []
        self.malformed: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self.phones) + len(self.malformed)

    def take(self) -> RowBatch:
        batch = RowBatch(self.phones, self.hints if self.with_hints else None,
                         np.array(self.masks, dtype=np.uint16), np.array(self.rows, dtype=np.int64),
                         self.malformed, self.source.bytes_read())
        self.reset()
        return batch


def _class_bits(layout: DumpLayout) -> list[tuple[str, int]]:
    return [(col, 1 << DATA_CLASS_BITS.index(cls)) for col, cls in layout.class_columns.items()]


def _or_bits(bits: Iterator[int]) -> int:
    # Several columns can share a data class (device model and OS version): OR, never add.
    mask = 0
    for bit in bits:
        mask |= bit
    return mask


def _read_txt(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[RowBatch]:
    builder = _BatchBuilder(False, source)
    for line in source.lines():
        if layout.has_header and source.line == 1:
            continue
        if not line.strip():
            continue  # blank lines are not rows
        builder.phones.append(line.strip())
        builder.masks.append(0)
        builder.rows.append(source.line)
        if len(builder) >= batch_rows:
            yield builder.take()
    if len(builder):
        yield builder.take()


def _read_jsonl(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[RowBatch]:
    builder = _BatchBuilder(layout.country_column is not None, source)
    bits = _class_bits(layout)
    phone_key: str = layout.phone_column or ""
    country_key = layout.country_column
    for line in source.lines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            builder.malformed.append((source.line, f"malformed-json: {exc.msg}"))
        else:
            if not isinstance(obj, dict):
                builder.malformed.append((source.line, "malformed-json: not an object"))
            else:
                record = flatten(obj)
                if phone_key not in record:
                    builder.malformed.append((source.line, f"missing-field: {phone_key}"))
                else:
                    builder.phones.append(record[phone_key])
                    builder.hints.append(record.get(country_key) if country_key else None)
                    builder.masks.append(_or_bits(bit for col, bit in bits if record.get(col, "").strip()))
                    builder.rows.append(source.line)
        if len(builder) >= batch_rows:
            yield builder.take()
    if len(builder):
        yield builder.take()


def _read_delimited(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[RowBatch]:
    builder = _BatchBuilder(layout.country_column is not None, source)
    columns = layout.columns
    phone_idx = columns.index(layout.phone_column or "")
    country_idx = columns.index(layout.country_column) if layout.country_column else None
    bits = [(columns.index(col), bit) for col, bit in _class_bits(layout)]
    reader = csv.reader(source.lines(), delimiter=layout.delimiter or ",")
    header_pending = layout.has_header and source.line == 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(layout.path, f"not readable as {layout.format.upper()}: {exc}",
                             row=source.line) from None
        if header_pending:
            header_pending = False
            continue
        if not record:
            continue  # a blank line is not a row; a line of empty cells is (and is rejected as empty)
        if phone_idx >= len(record):
            builder.malformed.append((source.line, f"missing-field: {layout.phone_column}"))
        else:
            builder.phones.append(record[phone_idx])
            if country_idx is not None:
                builder.hints.append(record[country_idx] if country_idx < len(record) else None)
            builder.masks.append(_or_bits(bit for i, bit in bits if i < len(record) and record[i].strip()))
            builder.rows.append(source.line)
        if len(builder) >= batch_rows:
            yield builder.take()
    if len(builder):
        yield builder.take()
