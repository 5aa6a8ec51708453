"""Run files and their merge, the bounded-memory de-duplication of hashed numbers: each task writes one run
file of its piece's records grouped by the top byte of their hash (256 buckets); the merge then sorts and
de-duplicates one bucket at a time over every run. Because buckets split the hash space in order, the
concatenated buckets are globally sorted. Peak memory is one bucket, about 1/256 of the breach (12 bytes per
row)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

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


def run_path(workdir: Path, number: int) -> Path:
    """The run file of the task of piece `number` in an ingest's work directory."""
    return Path(workdir) / f"p{number:06d}.run"


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


def merged_buckets(workdir: Path) -> Iterator[MergedBucket]:
    """Each bucket over every run in `workdir` (in piece order, so the first record of a number wins as in a
    serial read), sorted and de-duplicated."""
    yield from merged_runs(sorted(Path(workdir).glob("p*.run")))


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
    """Sort records by hash and collapse duplicates, OR-ing their masks; the region and validity of a number
    are those of its first record."""
    hashes, masks, regions, valid, count = _sort_unique(
        np.ascontiguousarray(rec["h"]), np.ascontiguousarray(rec["m"]), np.ascontiguousarray(rec["r"]),
        np.ascontiguousarray(rec["v"]))
    return MergedBucket(hashes=hashes[:count], masks=masks[:count], regions=regions[:count], valid=valid[:count],
                        rows=int(rec.shape[0]))


_SPREAD = 16  # bits of the hash below the bucket byte that spread a bucket's records before sorting


@njit(cache=True, nogil=True)
def _sort_unique(h: np.ndarray, m: np.ndarray, r: np.ndarray, v: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Records of one bucket (keyed hashes, uniform below the bucket byte) sorted by hash, stably, then
    collapsed per hash: (hashes, OR-ed masks, first region, first validity, count). A counting pass on the
    next 16 bits of the hash places each record among a few others, which insertion sort orders."""
    n = h.shape[0]
    slots = 1 << _SPREAD
    shift = np.uint64(56 - _SPREAD)
    low = np.uint64(slots - 1)
    starts = np.zeros(slots + 1, dtype=np.int64)
    for i in range(n):
        starts[np.int64((h[i] >> shift) & low) + 1] += 1
    for k in range(slots):
        starts[k + 1] += starts[k]
    fill = starts[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    keys = np.empty(n, dtype=np.uint64)
    for i in range(n):
        slot = np.int64((h[i] >> shift) & low)
        at = fill[slot]
        fill[slot] = at + 1
        keys[at] = h[i]
        order[at] = i
    for k in range(slots):  # insertion sort within each slot (stable: equal hashes keep their order)
        for j in range(starts[k] + 1, starts[k + 1]):
            key = keys[j]
            index = order[j]
            t = j - 1
            while t >= starts[k] and keys[t] > key:
                keys[t + 1] = keys[t]
                order[t + 1] = order[t]
                t -= 1
            keys[t + 1] = key
            order[t + 1] = index
    out_h = np.empty(n, dtype=np.uint64)
    out_m = np.empty(n, dtype=np.uint16)
    out_r = np.empty(n, dtype=np.uint8)
    out_v = np.empty(n, dtype=np.uint8)
    count = 0
    for j in range(n):
        index = order[j]
        if count > 0 and keys[j] == out_h[count - 1]:
            out_m[count - 1] |= m[index]
            continue
        out_h[count] = keys[j]
        out_m[count] = m[index]
        out_r[count] = r[index]
        out_v[count] = v[index]
        count += 1
    return out_h, out_m, out_r, out_v, count
