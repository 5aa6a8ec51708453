"""Bounded-memory de-duplication of hashed numbers: records are spilled to 256 bucket files by the top
byte of their hash, then each bucket is sorted and merged on its own. Because buckets split the hash
space in order, the concatenated buckets are globally sorted. Peak memory is one bucket, about
1/256 of the breach (12 bytes per row), plus one read batch."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


class RadixSpill:
    """Spills (hash, mask, region, valid) records into bucket files under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._files: list[BinaryIO] = [open(self.workdir / f"b{i:03d}.rec", "ab")  # noqa: SIM115
                                       for i in range(BUCKETS)]

    def add(self, hashes: np.ndarray, masks: np.ndarray, regions: np.ndarray, valid: np.ndarray) -> None:
        """Append records; arrays must have equal length."""
        if hashes.shape[0] == 0:
            return
        rec = np.empty(hashes.shape[0], dtype=RECORD)
        rec["h"], rec["m"], rec["r"], rec["v"] = hashes, masks, regions, valid
        bucket = (hashes >> np.uint64(56)).astype(np.uint8)
        order = np.argsort(bucket, kind="stable")
        rec, bucket = rec[order], bucket[order]
        bounds = np.searchsorted(bucket, np.arange(BUCKETS + 1), side="left")
        for b in np.flatnonzero(bounds[1:] > bounds[:-1]):
            self._files[b].write(rec[bounds[b]:bounds[b + 1]].tobytes())

    def merged(self) -> Iterator[MergedBucket]:
        """Each bucket in hash order, sorted and de-duplicated; its file is deleted once read."""
        for f in self._files:
            f.close()
        for i in range(BUCKETS):
            path = self.workdir / f"b{i:03d}.rec"
            rec = np.fromfile(path, dtype=RECORD)
            path.unlink()
            if rec.shape[0] == 0:
                continue
            yield merge_records(rec)

    def close(self) -> None:
        """Close the bucket files, keeping them for a merge by another process."""
        for f in self._files:
            if not f.closed:
                f.close()

    def cleanup(self) -> None:
        """Close and delete every bucket file."""
        for f in self._files:
            if not f.closed:
                f.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


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
