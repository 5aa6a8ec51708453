"""Rows of dumps that are records rather than lines (`read_records`): JSON documents, SQL dumps, Parquet and
xlsx files, read by the lead in batches of rows (`PieceRows`) for the tasks to normalize."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import InputError
from ..models import DATA_CLASS_BITS
from .jsondocs import json_records
from .rows import PieceRows
from .sniff import DumpLayout, flatten
from .sources import TextSource
from .sqldumps import sql_rows
from .tables import table_batches


def read_records(layout: DumpLayout, stream: BinaryIO | None, batch_rows: int) -> Iterator[PieceRows]:
    """The rows of a record dump, in batches of at most `batch_rows`, in order: each record's phone value,
    country hint and data-class mask; a record without the phone field is rejected as `missing-field`."""
    builder = _Builder(layout)
    for row, record in _records(layout, stream, batch_rows):
        builder.add(row, record)
        if builder.size >= batch_rows:
            yield builder.take()
    if builder.size:
        yield builder.take()


def _records(layout: DumpLayout, stream: BinaryIO | None, batch_rows: int
             ) -> Iterator[tuple[int, dict[str, str] | None]]:
    if layout.format == "json":
        assert stream is not None and layout.table is not None
        for number, record in enumerate(json_records(layout.path, stream, layout.table), start=1):
            yield number, flatten(record) if isinstance(record, dict) else None
    elif layout.format == "sql":
        assert stream is not None
        source = TextSource(Path(layout.path), layout.encoding, (stream, stream))
        for sql in sql_rows(layout.path, source.lines()):
            if sql.table != layout.table:
                if not layout.table_given:
                    raise InputError(layout.path, f"the dump holds rows of more than one table ({layout.table}, "
                                     f"{sql.table}); one breach is one table: choose it with --table NAME",
                                     row=sql.line)
                continue
            columns = sql.columns or tuple(f"col{i + 1}" for i in range(len(sql.values)))
            yield sql.line, {c: "" if v is None else v for c, v in zip(columns, sql.values, strict=False)}
    else:
        number = 1  # the header row
        for names, rows in table_batches(layout.path, layout.format, batch_rows):
            for values in rows:
                number += 1
                yield number, dict(zip(names, values, strict=False))


class _Builder:
    def __init__(self, layout: DumpLayout) -> None:
        self.layout = layout
        self.bits = [(col, 1 << DATA_CLASS_BITS.index(cls)) for col, cls in layout.class_columns.items()]
        self.phone = layout.phone_column or ""
        self.country = layout.country_column
        self._reset()

    def _reset(self) -> None:
        self.phones: list[str] = []
        self.hints: list[str | None] = []
        self.masks: list[int] = []
        self.rows: list[int] = []
        self.malformed: list[tuple[int, str]] = []
        self.size = 0

    def add(self, row: int, record: dict[str, Any] | None) -> None:
        self.size += 1
        if record is None:
            self.malformed.append((row, "malformed-json: not an object"))
            return
        if self.phone not in record:
            self.malformed.append((row, f"missing-field: {self.phone}"))
            return
        self.phones.append(record[self.phone])
        self.hints.append(record.get(self.country) if self.country else None)
        mask = 0
        for col, bit in self.bits:
            if str(record.get(col, "")).strip():
                mask |= bit
        self.masks.append(mask)
        self.rows.append(row)

    def take(self) -> PieceRows:
        rows = PieceRows(self.phones, self.hints if self.country else None, np.array(self.masks, dtype=np.uint16),
                         np.array(self.rows, dtype=np.int64), self.malformed, 0)
        self._reset()
        return rows
