"""Cutting a dump into pieces of whole lines: the lead reads the (decompressed) UTF-8 byte stream and hands out
`Piece`s, numbered by their first line, that tasks turn into rows (`rows.py`) just as a serial read would.

A CSV/TSV record may span lines inside quotes: from the first line that opens such a record (a quoted field
still open at the line's end, as Python's csv module reads the line alone), the rest of the file is handed
over as a `Rest`, to be read serially, so no piece ever starts or ends inside a record."""

from __future__ import annotations

import csv
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import InputError
from .scan import byte_kinds, irregular_quoted_lines
from .sniff import DumpLayout
from .sources import MAX_LINE_CHARS, READ_ERRORS, Chained, failing_line, open_binary, position

#: Bytes of decompressed text per piece, per row of the configured batch size (262,144 rows: 8 MiB, about
#: 100k rows of a typical dump).
BYTES_PER_BATCH_ROW = 32
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Piece:
    """Whole lines of a dump, the unit of ingest work: their UTF-8 bytes, the number of their first line, and
    the bytes of the file read when it was cut (for progress)."""

    data: bytes
    first_line: int
    bytes_read: int


@dataclass(frozen=True)
class Rest:
    """The rest of a dump, after `line` lines, to be read serially (a record there spans lines): its byte
    stream, and the raw file whose position gives progress. The generator that gave it closes both when
    resumed or closed."""

    stream: BinaryIO
    raw: BinaryIO
    line: int


def cut_pieces(layout: DumpLayout, batch_rows: int, source: tuple[BinaryIO, BinaryIO] | None = None
               ) -> Generator[Piece | Rest, None, None]:
    """The UTF-8 dump as pieces of whole lines (about batch_rows * BYTES_PER_BATCH_ROW bytes each), in file
    order; from the first record that spans lines, the `Rest`. Decompression errors name the line they
    happen on. `source`: the dump's (decompressed stream, file whose position gives progress), else the file
    `layout.path` is opened."""
    piece_bytes = max(batch_rows * BYTES_PER_BATCH_ROW, 4096)
    stream, raw = source or open_binary(Path(layout.path), fast=True)
    quoted = layout.format in ("csv", "tsv")
    buffer = b""
    line = 1  # number of buffer's first line
    started = False
    try:
        while True:
            try:
                block = stream.read(piece_bytes)
            except READ_ERRORS as exc:
                row = failing_line(Path(layout.path)) if Path(layout.path).is_file() else line
                raise InputError(layout.path, f"cannot read: {exc}", row=row) from None
            if not started:
                started = True
                if block.startswith(_BOM):
                    block = block[len(_BOM):]
            if not block:
                if buffer:
                    yield Piece(buffer, line, position(raw))
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
                    yield Piece(buffer[:opened], line, position(raw))
                    line += buffer.count(b"\n", 0, opened)
                rest: BinaryIO = Chained(buffer[opened:], stream)  # type: ignore[assignment]  # a raw byte stream
                yield Rest(rest, raw, line - 1)
                return
            yield Piece(buffer[:cut], line, position(raw))
            line += buffer.count(b"\n", 0, cut)
            buffer = buffer[cut:]
    finally:  # the Rest's reader has closed them already, or never opened them: closing again does nothing
        stream.close()
        raw.close()


def quoted_lines(data: bytes) -> tuple[list[int], list[str]]:
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
        starts, lines = quoted_lines(data)
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
