"""Parquet (Polars) and xlsx (openpyxl, read-only) files: their column names and rows as text, in batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from ..errors import InputError


def table_batches(path: str, fmt: str, batch_rows: int) -> Iterator[tuple[list[str], list[list[str]]]]:
    """(column names, rows of text) of a Parquet or xlsx file, in batches of at most `batch_rows` rows."""
    if fmt == "parquet":
        yield from _parquet(path, batch_rows)
    else:
        yield from _xlsx(path, batch_rows)


def _parquet(path: str, batch_rows: int) -> Iterator[tuple[list[str], list[list[str]]]]:
    try:
        frame = pl.scan_parquet(path)
        names = frame.collect_schema().names()
        for batch in frame.select(pl.all().cast(pl.String)).collect_batches(chunk_size=batch_rows):
            yield names, [["" if v is None else v for v in row] for row in batch.rows()]
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(path, f"not readable as Parquet: {exc}") from None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _xlsx(path: str, batch_rows: int) -> Iterator[tuple[list[str], list[list[str]]]]:
    import openpyxl  # type: ignore[import-untyped]  # only xlsx ingests load it
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(Path(path), read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise InputError(path, f"not readable as xlsx: {exc}") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(path, "the first sheet is empty")
        names = [_cell(v) or f"col{i + 1}" for i, v in enumerate(header)]
        batch: list[list[str]] = []
        for row in rows:
            cells = [_cell(v) for v in row]
            batch.append(cells + [""] * (len(names) - len(cells)))  # a row's empty last cells may be left out
            if len(batch) >= batch_rows:
                yield names, batch
                batch = []
        if batch:
            yield names, batch
    finally:
        book.close()
