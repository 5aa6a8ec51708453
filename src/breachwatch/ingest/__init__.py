"""Ingest: a leaked dump in, a breach's index segment out. One module per stage, in the order data flows
(each imports only those before it):

    sources    opening a dump: plain or gzip (ISA-L), decoding, numbered lines, the line a read fails on
    members    the files of one dump: paths, a directory's files, zip and tar members streamed (nested
               archives, encrypted members and zip bombs refused)
    columns    what a column holds: phone numbers, a country, a leaked data class (from names, values, shapes)
    jsondocs   JSON documents: the records of a top-level array (or an object's array), streamed with ijson
    sqldumps   SQL dumps: rows of MySQL/PostgreSQL INSERTs and COPY blocks, with their column names
    tables     Parquet (Polars) and xlsx (openpyxl, read-only): column names and rows as text, in batches
    sniff      the dump's layout (`DumpLayout`): format, encoding, delimiter (, ; tab | :), header, the columns'
               roles, ragged rows (a delimiter inside later fields)
    scan       compiled passes (numba) over a piece's lines: regular quoting, field byte ranges, masks
    chunks     cutting the dump into pieces of whole lines (`Piece`), and the `Rest` after a record over lines
    rows       a piece's rows (`PieceRows`): the scan path, the Polars path, the serial reader
    records    the rows of record dumps (JSON documents, SQL dumps, Parquet, xlsx) in batches, read by the lead
    runs       run files of hashed records and their bucket-by-bucket merge
    tasks      what a worker does with a piece (`PieceTask` -> `PieceResult`): rows, normalize, hash, run
    runners    where tasks run (inline, local processes, Dask) and results back in order; also the private
               build's
    pipeline   `ingest()`: the stages above, then the segment and one catalog transaction

Beside them: `taskkeys` (tasks name the key, each process loads its own copy), `cluster` (the one importer of
dask.distributed: TLS schedulers only, unless opted in), and `synthlayouts` and `synth` (fake dumps with known
ground truth, in every layout dumps are traded in).

`IngestOptions`, `ingest` and `ProgressCallback` are importable from here; they are loaded on first use, so
that a worker process importing a stage does not load the pipeline's catalog (SQLAlchemy, Alembic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import IngestOptions, ProgressCallback, ingest

__all__ = ["IngestOptions", "ProgressCallback", "ingest"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
