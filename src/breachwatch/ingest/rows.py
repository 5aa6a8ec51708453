"""Turning a dump's lines into rows (`PieceRows`): phone text, region hints, data-class masks and row numbers.

A task reads its `Piece` (`rows_of_piece`) by the fastest way that reads it exactly as the serial reader
would: where every line is regular (`scan.py`), the phone and country values are byte ranges of the piece's
buffer; else Polars reads the piece and its lines with quotes are compared with Python's csv module; else
the serial reader's code reads it. The serial reader (`read_rows`) reads whole dumps in other encodings than
UTF-8, and the `Rest` of a dump after a record spanning lines."""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from ..errors import InputError
from ..models import DATA_CLASS_BITS
from ..phone import Hints, Texts
from ..phone.texts import Utf8Texts
from .chunks import Piece, Rest, cut_pieces, quoted_lines
from .scan import byte_kinds, scan_lines
from .sniff import DumpLayout, flatten
from .sources import MAX_LINE_CHARS, LineSource, TextSource, is_utf8


@dataclass
class PieceRows:
    """The rows of a piece of a dump (or of a batch of at most batch_rows rows read serially): raw phone
    text, optional region hints, data-class masks, and row numbers. Rows that could not be read as records
    at all are listed in `malformed` (row, reason)."""

    phones: Texts
    hints: Hints
    masks: np.ndarray
    rows: np.ndarray
    malformed: list[tuple[int, str]] = field(default_factory=list)
    bytes_read: int = 0


def read_pieces(layout: DumpLayout, batch_rows: int, source: tuple[BinaryIO, BinaryIO] | None = None
                ) -> Iterator[Piece | PieceRows]:
    """The dump as the lead hands it out, in file order: pieces of whole lines of a UTF-8 dump, for tasks to
    read (`rows_of_piece`), and rows the lead reads serially (a dump in another encoding; the rest of a
    dump after a record spanning lines), in batches of at most `batch_rows`. `source`: the dump's opened
    (decompressed stream, file whose position gives progress), else the file `layout.path` is opened."""
    if not is_utf8(layout.encoding):
        if source is not None:
            yield from _read_rows_from(layout, source, 0, batch_rows)
        else:
            yield from read_rows(layout, batch_rows)
        return
    with contextlib.closing(cut_pieces(layout, batch_rows, source)) as pieces:
        for piece in pieces:
            if isinstance(piece, Rest):
                yield from _read_rows_from(layout, (piece.stream, piece.raw), piece.line, batch_rows)
            else:
                yield piece


# ---------------------------------------------------------------------------------------------- serial reader

def read_rows(layout: DumpLayout, batch_rows: int) -> Iterator[PieceRows]:
    """The dump's rows read serially, in batches of at most `batch_rows`, in file order."""
    source = TextSource(Path(layout.path), layout.encoding)
    try:
        yield from rows_of_lines(layout, source, batch_rows)
    finally:
        source.close()


def _read_rows_from(layout: DumpLayout, opened: tuple[BinaryIO, BinaryIO], line: int,
                    batch_rows: int) -> Iterator[PieceRows]:
    """Like read_rows, from an already opened (stream, raw file) positioned after `line` lines."""
    source = TextSource(Path(layout.path), layout.encoding, opened, line)
    try:
        yield from rows_of_lines(layout, source, batch_rows)
    finally:
        source.close()


def rows_of_lines(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[PieceRows]:
    """The rows of the lines of `source`, in batches of at most `batch_rows`."""
    if layout.format == "txt":
        yield from _read_txt(layout, source, batch_rows)
    elif layout.format == "jsonl":
        yield from _read_jsonl(layout, source, batch_rows)
    else:
        yield from _read_delimited(layout, source, batch_rows)


class _RowsBuilder:
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

    def take(self) -> PieceRows:
        rows = PieceRows(self.phones, self.hints if self.with_hints else None,
                         np.array(self.masks, dtype=np.uint16), np.array(self.rows, dtype=np.int64),
                         self.malformed, self.source.bytes_read())
        self.reset()
        return rows


def _class_bits(layout: DumpLayout) -> list[tuple[str, int]]:
    return [(col, 1 << DATA_CLASS_BITS.index(cls)) for col, cls in layout.class_columns.items()]


def _or_bits(bits: Iterator[int]) -> int:
    # Several columns can share a data class (device model and OS version): OR, never add.
    mask = 0
    for bit in bits:
        mask |= bit
    return mask


def _read_txt(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[PieceRows]:
    builder = _RowsBuilder(False, source)
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


def _read_jsonl(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[PieceRows]:
    builder = _RowsBuilder(layout.country_column is not None, source)
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


def _read_delimited(layout: DumpLayout, source: LineSource, batch_rows: int) -> Iterator[PieceRows]:
    builder = _RowsBuilder(layout.country_column is not None, source)
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


# ---------------------------------------------------------------------------------------------- pieces

class _PieceLines:
    """The numbered lines of one piece, as a serial read gives them."""

    def __init__(self, layout: DumpLayout, piece: Piece) -> None:
        self.path = layout.path
        self.piece = piece
        self.line = piece.first_line - 1

    def bytes_read(self) -> int:
        """Bytes of the file consumed when the piece was cut."""
        return self.piece.bytes_read

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""
        data = self.piece.data
        if len(data) > MAX_LINE_CHARS:
            self._check_lengths(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = self.piece.first_line + data.count(b"\n", 0, exc.start)
            raise InputError(self.path, f"not valid UTF-8 text ({exc.reason}); give the right one with "
                             "--encoding", row=row) from None
        lines = text.split("\n")
        last = lines.pop()
        for line in lines:
            self.line += 1
            yield line + "\n"
        if last:
            self.line += 1
            yield last

    def _check_lengths(self, data: bytes) -> None:
        for offset, line in enumerate(data.split(b"\n")):
            if len(line) > MAX_LINE_CHARS and not (len(line) == MAX_LINE_CHARS + 1 and line.endswith(b"\r")):
                raise InputError(self.path, f"line is longer than {MAX_LINE_CHARS} characters; this is not a "
                                 "dump of records", row=self.piece.first_line + offset)


def rows_of_piece(layout: DumpLayout, piece: Piece) -> PieceRows:
    """All rows of one piece (its malformed rows included), numbered as in the whole file: from the scan or
    Polars where the piece is plain enough for them to read it as the serial reader does, else by the serial
    reader's code."""
    fast = _polars_rows(layout, piece)
    if fast is not None:
        return fast
    read = list(rows_of_lines(layout, _PieceLines(layout, piece), 1 << 62))
    if not read:
        return PieceRows([], [] if layout.country_column else None, np.zeros(0, dtype=np.uint16),
                         np.zeros(0, dtype=np.int64), [], piece.bytes_read)
    return read[0]


#: Bytes that make a piece go to the serial reader's code: NUL, and the separators Python's str.strip() treats
#: as white space but Polars' strip_chars() does not.
_ODD_BYTES = (b"\0", b"\x1c", b"\x1d", b"\x1e", b"\x1f")


def _polars_rows(layout: DumpLayout, piece: Piece) -> PieceRows | None:
    """The rows of a CSV/TSV piece read without the csv module, or None where another reader might read it
    otherwise than Python's csv module (blank lines, lone CR, records over several lines, rows with a
    different number of fields, quotes read differently, invalid UTF-8: the serial code then reports them
    as before). Where every line is regular (`scan.py`), the phone and country values are taken from the
    piece's bytes as they stand; else Polars reads the piece and its lines with quotes are compared with
    the csv module's reading."""
    delimiter = layout.delimiter
    if layout.format not in ("csv", "tsv") or delimiter is None or len(delimiter) != 1:
        return None
    data = piece.data
    first_row_line = piece.first_line
    if layout.has_header and piece.first_line == 1:
        end = data.find(b"\n")
        if end < 0:
            return None
        data = data[end + 1:]
        first_row_line += 1
    if not data:
        return None
    if delimiter.isascii() and delimiter not in '"\r\n\0\x1c\x1d\x1e\x1f':
        fast = _regular_rows(layout, piece, data, first_row_line)
        if fast is not None:
            return fast
    if (any(odd in data for odd in _ODD_BYTES) or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
            or data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data):
        return None
    return _polars_rows_checked(layout, piece, data, first_row_line)


def _regular_rows(layout: DumpLayout, piece: Piece, data: bytes, first_row_line: int) -> PieceRows | None:
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
                                                  np.array(kept, dtype=np.int64), layout.loose)
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
        return PieceRows(phone, hints, masks, rows, [], piece.bytes_read)
    phone = Utf8Texts(raw, ranges[:, 0], ranges[:, 1])
    hints = Utf8Texts(raw, ranges[:, 2], ranges[:, 3]) if len(kept) > 1 else None
    return PieceRows(phone, hints, masks, rows, [], piece.bytes_read)


def _judge_masks(data: bytes, starts: np.ndarray, delimiter: str, column_bits: np.ndarray,
                 masks: np.ndarray) -> None:
    """Set the masks of the lines at `starts` (regular lines) from their fields as Python's csv module reads
    them, a field counting when str.strip() leaves something."""
    line_starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1])
    for line, start in zip(np.searchsorted(line_starts, starts).tolist(), starts.tolist(), strict=True):
        end = data.find(b"\n", start) + 1 or len(data)
        fields = next(csv.reader([data[start:end].decode("utf-8")], delimiter=delimiter))
        mask = 0
        for column, value in enumerate(fields):
            if column < column_bits.shape[0] and value.strip():
                mask |= int(column_bits[column])
        masks[line] = mask


def _polars_rows_checked(layout: DumpLayout, piece: Piece, data: bytes, first_row_line: int) -> PieceRows | None:
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
    return PieceRows(phone, hints, masks, rows, [], piece.bytes_read)


def _same_fields(data: bytes, lines: int, delimiter: str, width: int, frame: pl.DataFrame) -> bool:
    """Every line holds `width` fields, and the lines with quotes read the same with Python's csv module.
    (Polars refuses a line with more fields than the first, so when the lines without quotes hold exactly
    (width - 1) delimiters each on average, each holds exactly that many.)"""
    starts, texts = quoted_lines(data)
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
