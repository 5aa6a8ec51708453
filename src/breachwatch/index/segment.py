"""Segment file format (versioned, checksummed) and its writer.

Layout, little-endian:
  header (128 bytes): magic b"BWSEGMNT", format version u16, flags u16, reserved u32, entry count u64,
                      key fingerprint (16 bytes), BLAKE2b-256 of the body (32 bytes), zero padding
  body:   count x uint64 keyed hashes, sorted ascending, unique
          count x uint16 data-class masks (bit i: data class i of models.DATA_CLASS_BITS leaked with it)
10 bytes per (number, breach).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = b"BWSEGMNT"
SEGMENT_FORMAT_VERSION = 1
HEADER_SIZE = 128
_HEADER = struct.Struct("<8sHHIQ16s32s")


def pack_header(count: int, fingerprint: bytes, checksum: bytes) -> bytes:
    """The 128-byte header for a segment body."""
    head = _HEADER.pack(MAGIC, SEGMENT_FORMAT_VERSION, 0, 0, count, fingerprint, checksum)
    return head + b"\0" * (HEADER_SIZE - len(head))


def unpack_header(raw: bytes) -> tuple[bytes, int, int, bytes, bytes]:
    """(magic, version, count, fingerprint, checksum) from the first bytes of a segment."""
    magic, version, _flags, _reserved, count, fingerprint, checksum = _HEADER.unpack_from(raw)
    return magic, version, count, fingerprint, checksum


class SegmentWriter:
    """Writes one segment from sorted, unique chunks given in ascending order; publish() makes it durable.

    The file is written under a temporary name and renamed into place by publish(), so a reader never sees
    a partial segment.
    """

    def __init__(self, path: Path, fingerprint: bytes) -> None:
        self.path = Path(path)
        self.tmp_path = self.path.with_name(self.path.name + ".tmp")
        self._masks_path = self.path.with_name(self.path.name + ".masks.tmp")
        self._fingerprint = fingerprint
        self._out: BinaryIO = open(self.tmp_path, "wb")  # noqa: SIM115 - closed in publish/abort
        self._out.write(b"\0" * HEADER_SIZE)
        self._masks: BinaryIO = open(self._masks_path, "wb+")  # noqa: SIM115
        self._digest = hashlib.blake2b(digest_size=32)
        self.count = 0
        self._last: int | None = None

    def append(self, hashes: np.ndarray, masks: np.ndarray) -> None:
        """Append a sorted, unique chunk whose first hash is greater than every hash appended before."""
        if hashes.shape[0] == 0:
            return
        if self._last is not None and int(hashes[0]) <= self._last:
            raise ValueError("segment chunks must be appended in ascending order")
        data = np.ascontiguousarray(hashes, dtype="<u8").tobytes()
        self._out.write(data)
        self._digest.update(data)
        self._masks.write(np.ascontiguousarray(masks, dtype="<u2").tobytes())
        self.count += int(hashes.shape[0])
        self._last = int(hashes[-1])

    def publish(self) -> str:
        """Finish the file, fsync it, rename it into place; returns the body checksum (hex)."""
        self._masks.seek(0)
        while chunk := self._masks.read(1 << 22):
            self._out.write(chunk)
            self._digest.update(chunk)
        self._masks.close()
        os.unlink(self._masks_path)
        checksum = self._digest.digest()
        self._out.seek(0)
        self._out.write(pack_header(self.count, self._fingerprint, checksum))
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self.tmp_path, self.path)
        _fsync_dir(self.path.parent)
        return checksum.hex()

    def abort(self) -> None:
        """Remove everything written so far."""
        for handle in (self._out, self._masks):
            if not handle.closed:
                handle.close()
        for path in (self.tmp_path, self._masks_path):
            path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
