"""Reading a UTF-8 dump in parallel: the lead cuts the (decompressed) byte stream into pieces of whole lines,
numbered, and each task turns its piece into rows with the same readers as a serial read (`readers.py`), so
the rows, row numbers and errors are those of a serial read.

A CSV/TSV record may span lines inside quotes: from the first line that opens such a record (a quoted field
still open at the line's end, as Python's csv module reads the line alone), the rest of the file is read
serially by the lead, as before, so no piece ever starts or ends inside a record."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from .csvscan import byte_kinds, irregular_quoted_lines, scan_lines
from .errors import InputError
from .models import DATA_CLASS_BITS
from .phone import Hints, Texts
from .phone.texts import Utf8Texts
from .readers import (
    MAX_LINE_CHARS,
    READ_ERRORS,
    DumpLayout,
    RowBatch,
    failing_line,
    open_binary,
    read_batches_from,
    rows_from_source,
)

#: Bytes of decompressed text per piece, per row of the configured batch size (262,144 rows: 8 MiB, about
#: 100k rows of a typical dump).
BYTES_PER_BATCH_ROW = 32
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RawChunk:
    """Whole lines of a dump: the UTF-8 bytes, the number of their first line, file bytes read so far."""

    data: bytes
    first_line: int
    bytes_read: int


def read_chunks(layout: DumpLayout, batch_rows: int) -> Iterator[RawChunk | RowBatch]:
    """The dump as pieces of whole lines (about batch_rows * BYTES_PER_BATCH_ROW bytes each), in file order;
    after a quote that never closes, the rest as rows read serially. Decompression errors name the line
    they happen on."""
    chunk_bytes = max(batch_rows * BYTES_PER_BATCH_ROW, 4096)
    stream, raw = open_binary(Path(layout.path), fast=True)
    quoted = layout.format in ("csv", "tsv")
    buffer = b""
    line = 1  # number of buffer's first line
    started = False
    handed_over = False
    try:
        while True:
            try:
                block = stream.read(chunk_bytes)
            except READ_ERRORS as exc:
                raise InputError(layout.path, f"cannot read: {exc}", row=failing_line(Path(layout.path))) from None
            if not started:
                started = True
                if block.startswith(_BOM):
                    block = block[len(_BOM):]
            if not block:
                if buffer:
                    yield RawChunk(buffer, line, _tell(raw))
                return
            buffer += block
            cut = buffer.rfind(b"\n") + 1
            if cut == 0:
                if len(buffer) > MAX_LINE_CHARS + 1:
                    raise InputError(layout.path, f"line is longer than {MAX_LINE_CHARS} characters; this is "
                                     "not a dump of records", row=line)
                continue
            opened = first_open_record(buffer[:cut], layout.delimiter or ",") if quoted else -1
            if opened >= 0:
                if opened > 0:
                    yield RawChunk(buffer[:opened], line, _tell(raw))
                    line += buffer.count(b"\n", 0, opened)
                handed_over = True
                rest: BinaryIO = _Chained(buffer[opened:], stream)  # type: ignore[assignment]  # a raw byte stream
                yield from read_batches_from(layout, (rest, raw), line - 1, batch_rows)
                return
            yield RawChunk(buffer[:cut], line, _tell(raw))
            line += buffer.count(b"\n", 0, cut)
            buffer = buffer[cut:]
    finally:
        if not handed_over:
            stream.close()
            raw.close()


def _quoted_lines(data: bytes) -> tuple[list[int], list[str]]:
    """(byte offset, text with its line end) of each line of `data` that holds a quote, in order."""
    starts: list[int] = []
    lines: list[str] = []
    quote = data.find(b'"')
    while quote >= 0:
        start = data.rfind(b"\n", 0, quote) + 1
        end = data.find(b"\n", quote) + 1 or len(data)
        starts.append(start)
        lines.append(data[start:end].decode("utf-8", errors="replace"))
        quote = data.find(b'"', end)
    return starts, lines


def first_open_record(data: bytes, delimiter: str) -> int:
    """Byte offset of the first line of `data` (whole lines) that starts a record spanning several lines (a
    quoted field still open at the line's end, as Python's csv module reads the line), -1 if none."""
    if delimiter.isascii() and delimiter not in '"\r\n\0':  # lines whose quoting is regular open no record
        starts: list[int] = [int(start) for start in irregular_quoted_lines(np.frombuffer(data, dtype=np.uint8),
                                                                            byte_kinds(delimiter))]
        lines = [data[start:data.find(b"\n", start) + 1 or len(data)].decode("utf-8", errors="replace")
                 for start in starts]
    else:
        starts, lines = _quoted_lines(data)
    # One csv pass over all the lines with quotes: if no line leaves a quoted field open, each line is one
    # record and no field holds a line end.
    try:
        reader = csv.reader(lines, delimiter=delimiter)
        records = list(reader)
        if reader.line_num == len(records) == len(lines) and not any("\n" in f for r in records for f in r):
            return -1
    except csv.Error:
        pass
    for start, text in zip(starts, lines, strict=True):  # find the first such line
        try:
            record = next(csv.reader([text], delimiter=delimiter), [])
        except csv.Error:
            return start  # the serial read reports it, naming the line
        if any("\n" in field for field in record):
            return start
    return -1


def _tell(raw: BinaryIO) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


class _Chained(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head.nbytes:
            size = min(len(target), self._head.nbytes)
            target[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


class _ChunkLines:
    """The numbered lines of one piece, as a serial read gives them."""

    def __init__(self, layout: DumpLayout, chunk: RawChunk) -> None:
        self.path = layout.path
        self.chunk = chunk
        self.line = chunk.first_line - 1

    def bytes_read(self) -> int:
        """Bytes of the file consumed when the piece was cut."""
        return self.chunk.bytes_read

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""
        data = self.chunk.data
        if len(data) > MAX_LINE_CHARS:
            self._check_lengths(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = self.chunk.first_line + data.count(b"\n", 0, exc.start)
            raise InputError(self.path, f"not valid UTF-8 text ({exc.reason}); give the right one with "
                             "--encoding", row=row) from None
        pieces = text.split("\n")
        last = pieces.pop()
        for piece in pieces:
            self.line += 1
            yield piece + "\n"
        if last:
            self.line += 1
            yield last

    def _check_lengths(self, data: bytes) -> None:
        for offset, line in enumerate(data.split(b"\n")):
            if len(line) > MAX_LINE_CHARS and not (len(line) == MAX_LINE_CHARS + 1 and line.endswith(b"\r")):
                raise InputError(self.path, f"line is longer than {MAX_LINE_CHARS} characters; this is not a "
                                 "dump of records", row=self.chunk.first_line + offset)


def rows_of_chunk(layout: DumpLayout, chunk: RawChunk) -> RowBatch:
    """All rows of one piece (its malformed rows included), numbered as in the whole file: read by Polars
    where the piece is plain enough for both readers to agree, else by the serial reader's code."""
    fast = _polars_rows(layout, chunk)
    if fast is not None:
        return fast
    batches = list(rows_from_source(layout, _ChunkLines(layout, chunk), 1 << 62))
    if not batches:
        return RowBatch([], [] if layout.country_column else None, np.zeros(0, dtype=np.uint16),
                        np.zeros(0, dtype=np.int64), [], chunk.bytes_read)
    return batches[0]


#: Bytes that make a piece go to the serial reader's code: NUL, and the separators Python's str.strip() treats
#: as white space but Polars' strip_chars() does not.
_ODD_BYTES = (b"\0", b"\x1c", b"\x1d", b"\x1e", b"\x1f")


def _polars_rows(layout: DumpLayout, chunk: RawChunk) -> RowBatch | None:
    """The rows of a CSV/TSV piece read without the csv module, or None where another reader might read it
    otherwise than Python's csv module (blank lines, lone CR, records over several lines, rows with a
    different number of fields, quotes read differently, invalid UTF-8: the serial code then reports them
    as before). Where every line is regular (`csvscan.py`), the phone and country values are taken from the
    piece's bytes as they stand; else Polars reads the piece and its lines with quotes are compared with
    the csv module's reading."""
    delimiter = layout.delimiter
    if layout.format not in ("csv", "tsv") or delimiter is None or len(delimiter) != 1:
        return None
    data = chunk.data
    first_row_line = chunk.first_line
    if layout.has_header and chunk.first_line == 1:
        end = data.find(b"\n")
        if end < 0:
            return None
        data = data[end + 1:]
        first_row_line += 1
    if not data:
        return None
    if delimiter.isascii() and delimiter not in '"\r\n\0\x1c\x1d\x1e\x1f':
        fast = _regular_rows(layout, chunk, data, first_row_line)
        if fast is not None:
            return fast
    if (any(odd in data for odd in _ODD_BYTES) or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
            or data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data):
        return None
    return _polars_rows_checked(layout, chunk, data, first_row_line)


def _regular_rows(layout: DumpLayout, chunk: RawChunk, data: bytes, first_row_line: int) -> RowBatch | None:
    """The rows of a piece whose lines are all regular and hold the layout's fields, None otherwise."""
    delimiter = layout.delimiter or ","
    columns = layout.columns
    width = len(columns)
    column_bits = np.zeros(width, dtype=np.uint16)
    for column, data_class in layout.class_columns.items():
        column_bits[columns.index(column)] |= 1 << DATA_CLASS_BITS.index(data_class)
    phone_at = columns.index(layout.phone_column or "")
    kept = [phone_at] + ([columns.index(layout.country_column)] if layout.country_column else [])
    raw = np.frombuffer(data, dtype=np.uint8)
    masks, irregular, unsure, ranges = scan_lines(raw, byte_kinds(delimiter), width, column_bits,
                                                  np.array(kept, dtype=np.int64))
    if irregular.shape[0]:  # invalid UTF-8 among them: the serial code names the line
        return None
    if unsure.shape[0]:  # white space beyond ASCII: as str.strip() sees it
        _judge_masks(data, unsure, delimiter, column_bits, masks)
    rows = np.arange(first_row_line, first_row_line + masks.shape[0], dtype=np.int64)
    if (ranges[:, 0::2] < 0).any():  # doubled quotes inside a phone or country value: Polars unescapes them
        wanted = sorted(set(kept))  # Polars keeps file order
        try:
            frame = pl.read_csv(data, has_header=False, infer_schema=False, separator=delimiter, quote_char='"',
                                columns=wanted)
        except pl.exceptions.PolarsError:
            return None
        if frame.height != masks.shape[0] or frame.width != len(wanted):
            return None
        phone: Texts = frame.to_series(wanted.index(phone_at)).fill_null("")
        hints: Hints = (frame.to_series(wanted.index(kept[1])).fill_null("") if len(kept) > 1 else None)
        return RowBatch(phone, hints, masks, rows, [], chunk.bytes_read)
    phone = Utf8Texts(raw, ranges[:, 0], ranges[:, 1])
    hints = Utf8Texts(raw, ranges[:, 2], ranges[:, 3]) if len(kept) > 1 else None
    return RowBatch(phone, hints, masks, rows, [], chunk.bytes_read)


def _judge_masks(data: bytes, starts: np.ndarray, delimiter: str, column_bits: np.ndarray,
                 masks: np.ndarray) -> None:
    """Set the masks of the lines at `starts` (regular lines) from their fields as Python's csv module reads
    them, a field counting when str.strip() leaves something."""
    line_starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1])
    for line, start in zip(np.searchsorted(line_starts, starts).tolist(), starts.tolist(), strict=True):
        end = data.find(b"\n", start) + 1 or len(data)
        fields = next(csv.reader([data[start:end].decode("utf-8")], delimiter=delimiter))
        mask = 0
        for column, field in enumerate(fields):
            if column < column_bits.shape[0] and field.strip():
                mask |= int(column_bits[column])
        masks[line] = mask


def _polars_rows_checked(layout: DumpLayout, chunk: RawChunk, data: bytes, first_row_line: int) -> RowBatch | None:
    """The rows of a piece with irregular quoting read by Polars, or None where a line reads otherwise with
    Python's csv module."""
    delimiter = layout.delimiter or ","
    width = len(layout.columns)
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        frame = pl.read_csv(data, has_header=False, infer_schema=False, separator=delimiter, quote_char='"')
    except pl.exceptions.PolarsError:  # a parse error: the serial code reads (and reports) it
        return None
    if frame.height != lines or frame.width != width:
        return None
    if not _same_fields(data, lines, delimiter, width, frame):
        return None
    columns = layout.columns
    names = frame.columns
    phone = frame.to_series(columns.index(layout.phone_column or "")).fill_null("")
    hints = (frame.to_series(columns.index(layout.country_column)).fill_null("")
             if layout.country_column else None)
    by_class: dict[str, list[pl.Expr]] = {}
    for column, data_class in layout.class_columns.items():
        present = pl.col(names[columns.index(column)]).str.strip_chars().str.len_bytes().fill_null(0) > 0
        by_class.setdefault(data_class, []).append(present)
    # Several columns can share a data class (device model and OS version): OR within a class; the classes'
    # bits differ, so their sum is their OR.
    bits = [pl.any_horizontal(present).cast(pl.UInt16) * (1 << DATA_CLASS_BITS.index(data_class))
            for data_class, present in by_class.items()]
    masks = (frame.select(pl.sum_horizontal(bits).cast(pl.UInt16)).to_series().to_numpy() if bits
             else np.zeros(frame.height, dtype=np.uint16))
    rows = np.arange(first_row_line, first_row_line + frame.height, dtype=np.int64)
    return RowBatch(phone, hints, masks, rows, [], chunk.bytes_read)


def _same_fields(data: bytes, lines: int, delimiter: str, width: int, frame: pl.DataFrame) -> bool:
    """Every line holds `width` fields, and the lines with quotes read the same with Python's csv module.
    (Polars refuses a line with more fields than the first, so when the lines without quotes hold exactly
    (width - 1) delimiters each on average, each holds exactly that many.)"""
    starts, texts = _quoted_lines(data)
    quoted_delimiters = sum(text.count(delimiter) for text in texts)
    if data.count(delimiter.encode()) - quoted_delimiters != (width - 1) * (lines - len(texts)):
        return False
    if not texts:
        return True
    records = list(csv.reader(texts, delimiter=delimiter))
    if len(records) != len(texts):
        return False
    rows, row, previous = [], 0, 0
    for start in starts:
        row += data.count(b"\n", previous, start)
        rows.append(row)
        previous = start
    polars_rows = frame[rows].fill_null("").rows()
    return all(len(r) == width and tuple(r) == p for r, p in zip(records, polars_rows, strict=True))
