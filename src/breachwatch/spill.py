"""Bounded-memory de-duplication of hashed numbers: each task writes one run file of its records grouped by
the top byte of their hash (256 buckets); the merge then sorts and de-duplicates one bucket at a time over
every run. Because buckets split the hash space in order, the concatenated buckets are globally sorted. Peak
memory is one bucket, about 1/256 of the breach (12 bytes per row)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD = np.dtype([("h", "<u8"), ("m", "<u2"), ("r", "u1"), ("v", "u1")])
BUCKETS = 256


@dataclass
class MergedBucket:
    """Unique hashes of one bucket, ascending, with OR-ed data-class masks, region index and validity."""

    hashes: np.ndarray
    masks: np.ndarray
    regions: np.ndarray
    valid: np.ndarray
    rows: int


def write_run(path: Path, hashes: np.ndarray, masks: np.ndarray, regions: np.ndarray, valid: np.ndarray) -> None:
    """Write one task's records as a run file: BUCKETS + 1 record offsets, then the records grouped by bucket
    (the top byte of the hash), each group in the task's row order."""
    rec = np.empty(hashes.shape[0], dtype=RECORD)
    rec["h"], rec["m"], rec["r"], rec["v"] = hashes, masks, regions, valid
    bucket = (hashes >> np.uint64(56)).astype(np.uint8)
    order = np.argsort(bucket, kind="stable")
    offsets = np.zeros(BUCKETS + 1, dtype="<u8")
    np.cumsum(np.bincount(bucket, minlength=BUCKETS), out=offsets[1:])
    partial = path.with_name(path.name + ".tmp")
    with open(partial, "wb") as out:
        out.write(offsets.tobytes())
        out.write(rec[order].tobytes())
    partial.rename(path)


def merged_runs(paths: list[Path]) -> Iterator[MergedBucket]:
    """Each bucket over every run (in the order given, so the first record of a number wins), sorted and
    de-duplicated; peak memory is one bucket of every run."""
    maps = [np.memmap(p, dtype=np.uint8, mode="r") for p in paths]
    try:
        tables = [np.frombuffer(m, dtype="<u8", count=BUCKETS + 1) for m in maps]
        records = [np.frombuffer(m, dtype=RECORD, offset=(BUCKETS + 1) * 8) for m in maps]
        for b in range(BUCKETS):
            chunks = [r[int(t[b]):int(t[b + 1])] for r, t in zip(records, tables, strict=True) if t[b + 1] > t[b]]
            if chunks:
                yield merge_records(np.concatenate(chunks))
    finally:
        del tables, records
        for m in maps:
            m._mmap.close()  # type: ignore[attr-defined]


def merge_records(rec: np.ndarray) -> MergedBucket:
    """Sort records by hash and collapse duplicates, OR-ing their masks."""
    order = np.argsort(rec["h"], kind="stable")
    rec = rec[order]
    h = rec["h"]
    first = np.empty(h.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(h[1:], h[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return MergedBucket(
        hashes=h[starts], masks=np.bitwise_or.reduceat(rec["m"], starts).astype(np.uint16),
        regions=rec["r"][starts], valid=rec["v"][starts], rows=int(h.shape[0]),
    )
