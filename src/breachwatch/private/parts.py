"""One breach's private entries: evaluating numbers into work records, and the breach's *part file*.

A work record is (bucket, tag, pad, mask): 16 bytes per number, never the number. Tasks write them sorted by
bucket (`write_records`); the lead merges every task's records bucket range by bucket range (duplicates of one
number across tasks have their masks OR-ed) into the part file HOME/private/parts/BREACH.pbp:

    header (128 bytes) | offsets: (buckets + 1) uint64 LE | entries sorted by (bucket, tag), ENTRY_BYTES each

`served.py` combines the part files of the breaches served into the one padded file the server answers from.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import oprf
from .protocol import DATA_BYTES, ENTRY_BYTES, TAG_BYTES, PrivateIndexError, bucket_of, entry_digest

RECORD = np.dtype([("bucket", "<u4"), ("tag", ">u8"), ("pad", "<u2"), ("mask", "<u2")])
PART_MAGIC = b"BWPART02"
_PART_HEADER = struct.Struct("<8sBBHIQ16s64s")
PART_HEADER_SIZE = 128
PART_SUFFIX = ".pbp"
#: The merge of work records reads them in this many bucket ranges, bounding its memory.
MERGE_PASSES = 32


def evaluate_numbers(sk: bytes, breach: str, numbers: np.ndarray, masks: np.ndarray, prefix_bits: int,
                     sort: bool = True) -> np.ndarray:
    """Work records of distinct E.164 numbers (as integers, with their data-class masks) under OPRF key `sk`,
    sorted by (bucket, tag) (with `sort` False: in the order of `numbers`)."""
    count = numbers.shape[0]
    records = np.empty(count, dtype=RECORD)
    outputs = oprf.evaluate_many(sk, [b"+%d" % number for number in numbers.tolist()])
    records["bucket"] = [bucket_of(y, prefix_bits) for y in outputs]
    raw = np.frombuffer(b"".join([entry_digest(y, breach) for y in outputs]), dtype=np.uint8)
    raw = raw.reshape(count, TAG_BYTES + DATA_BYTES)
    records["tag"] = raw[:, :TAG_BYTES].copy().view(">u8")[:, 0]
    records["pad"] = raw[:, TAG_BYTES:].copy().view("<u2")[:, 0]
    records["mask"] = masks
    return sort_records(records) if sort else records


def sort_records(records: np.ndarray) -> np.ndarray:
    """Records sorted by (bucket, tag), one per (bucket, tag) with the masks of duplicates OR-ed."""
    if records.shape[0] == 0:
        return records
    records = records[np.lexsort((records["tag"], records["bucket"]))]
    first = np.ones(records.shape[0], dtype=bool)
    first[1:] = (records["bucket"][1:] != records["bucket"][:-1]) | (records["tag"][1:] != records["tag"][:-1])
    if first.all():
        return records
    starts = np.flatnonzero(first)
    merged = records[starts].copy()
    merged["mask"] = np.bitwise_or.reduceat(records["mask"], starts)
    return merged


def write_records(path: Path, records: np.ndarray) -> None:
    """Write one task's sorted records (atomically, so a file that exists is whole)."""
    tmp = path.with_name(f".{path.name}.tmp.npy")
    np.save(tmp, records)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _range_of(paths: list[Path], lo: int, hi: int) -> np.ndarray:
    parts = []
    for path in paths:
        records = np.load(path, mmap_mode="r")
        b = records["bucket"]
        parts.append(np.array(records[np.searchsorted(b, lo):np.searchsorted(b, hi)]))
    return sort_records(np.concatenate(parts)) if parts else np.empty(0, dtype=RECORD)


def entries_of(records: np.ndarray) -> np.ndarray:
    """The (n, ENTRY_BYTES) uint8 entries of records: tag (big-endian) || mask ^ pad (little-endian)."""
    out = np.empty((records.shape[0], ENTRY_BYTES), dtype=np.uint8)
    out[:, :TAG_BYTES] = records["tag"].astype(">u8").view(np.uint8).reshape(-1, TAG_BYTES)
    data = (records["mask"] ^ records["pad"]).astype("<u2")
    out[:, TAG_BYTES:] = data.view(np.uint8).reshape(-1, DATA_BYTES)
    return out


@dataclass(frozen=True)
class PartHeader:
    """What a part file says about itself."""

    prefix_bits: int
    epoch: int
    count: int
    key_id: bytes
    segment_checksum: str

    def pack(self) -> bytes:
        """The fixed-size header bytes."""
        raw = _PART_HEADER.pack(PART_MAGIC, 2, self.prefix_bits, ENTRY_BYTES, self.epoch, self.count, self.key_id,
                                self.segment_checksum.encode("ascii").ljust(64, b"\0"))
        return raw.ljust(PART_HEADER_SIZE, b"\0")


def part_path(directory: Path, breach: str) -> Path:
    """Where the part file of a breach lives."""
    return directory / f"{breach}{PART_SUFFIX}"


def write_part(paths: list[Path], final: Path, header: PartHeader) -> int:
    """Merge the work record files `paths` into the part file `final` (atomically); returns its entry count."""
    buckets = 1 << header.prefix_bits
    step = max(1, buckets // MERGE_PASSES)
    tmp = final.with_name(f".{final.name}.tmp")
    counts = np.zeros(buckets, dtype=np.uint64)
    written = 0
    with open(tmp, "wb") as out:
        out.write(b"\0" * (PART_HEADER_SIZE + (buckets + 1) * 8))
        for lo in range(0, buckets, step):
            hi = min(buckets, lo + step)
            records = _range_of(paths, lo, hi)
            counts[lo:hi] = np.bincount(records["bucket"] - lo, minlength=hi - lo)
            out.write(entries_of(records).tobytes())
            written += int(records.shape[0])
        offsets = np.zeros(buckets + 1, dtype="<u8")
        np.cumsum(counts, out=offsets[1:])
        out.seek(0)
        out.write(PartHeader(header.prefix_bits, header.epoch, written, header.key_id,
                             header.segment_checksum).pack())
        out.write(offsets.tobytes())
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, final)
    return written


class PartFile:
    """A breach's part file, memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < PART_HEADER_SIZE:
                raise PrivateIndexError(f"{path}: private part file is truncated")
            self._mmap = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        magic, version, bits, entry_bytes, epoch, count, kid, checksum = \
            _PART_HEADER.unpack(self._mmap[:_PART_HEADER.size])
        if magic != PART_MAGIC or version != 2 or entry_bytes != ENTRY_BYTES:
            self._mmap.close()
            raise PrivateIndexError(f"{path}: not a private part file of this version; rebuild it")
        self.header = PartHeader(bits, epoch, count, kid, checksum.rstrip(b"\0").decode("ascii"))
        buckets = 1 << bits
        self._body = PART_HEADER_SIZE + (buckets + 1) * 8
        if size != self._body + count * ENTRY_BYTES:
            self._mmap.close()
            raise PrivateIndexError(f"{path}: private part file has the wrong size")
        self.offsets = np.frombuffer(self._mmap, dtype="<u8", count=buckets + 1, offset=PART_HEADER_SIZE)

    def counts(self) -> np.ndarray:
        """Entries per bucket."""
        return np.diff(self.offsets).astype(np.int64)

    def entries(self, lo: int, hi: int) -> np.ndarray:
        """The (n, ENTRY_BYTES) entries of buckets [lo, hi), sorted by bucket."""
        start, end = int(self.offsets[lo]), int(self.offsets[hi])
        raw = np.frombuffer(self._mmap, dtype=np.uint8, count=(end - start) * ENTRY_BYTES,
                            offset=self._body + start * ENTRY_BYTES)
        return raw.reshape(-1, ENTRY_BYTES)

    def close(self) -> None:
        """Release the mapping."""
        del self.offsets
        self._mmap.close()
