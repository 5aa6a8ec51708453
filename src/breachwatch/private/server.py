"""The server side of the private check: the breaches' bucket files, memory-mapped, and the OPRF evaluation."""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalog import Catalog
from . import oprf
from .protocol import (
    BUCKETS,
    ENTRY_BYTES,
    FILE_SUFFIX,
    HEADER_SIZE,
    PAD_QUANTUM,
    PREFIX_BITS,
    PrivateIndexError,
    bucket_path,
    key_id,
    read_header,
    server_key,
)


class BucketFile:
    """One breach's bucket file, memory-mapped: header, offset table (BUCKETS + 1 uint64), entries."""

    def __init__(self, path: Path, expected_key_id: bytes) -> None:
        self.path = path
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < HEADER_SIZE:
                raise PrivateIndexError(f"{path}: private bucket file is truncated")
            self._mmap = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        self.header = read_header(self._mmap[:HEADER_SIZE], path)
        if (self.header.prefix_bits, self.header.entry_bytes) != (PREFIX_BITS, ENTRY_BYTES):
            raise PrivateIndexError(f"{path}: made for another bucket layout; rebuild it")
        if self.header.key_id != expected_key_id:
            raise PrivateIndexError(f"{path}: made with another OPRF key; rebuild it")
        table_end = HEADER_SIZE + (BUCKETS + 1) * 8
        if size != table_end + self.header.count * ENTRY_BYTES:
            raise PrivateIndexError(f"{path}: private bucket file has the wrong size")
        self.offsets = np.frombuffer(self._mmap, dtype="<u8", count=BUCKETS + 1, offset=HEADER_SIZE)
        self._body = table_end

    def counts(self) -> np.ndarray:
        """Entries per bucket."""
        return np.diff(self.offsets).astype(np.int64)

    def bucket(self, prefix: int) -> bytes:
        """The raw entries of one bucket."""
        start, end = int(self.offsets[prefix]), int(self.offsets[prefix + 1])
        return self._mmap[self._body + start * ENTRY_BYTES:self._body + end * ENTRY_BYTES]

    def close(self) -> None:
        """Release the mapping."""
        del self.offsets
        self._mmap.close()


def padded_size(max_count: int) -> int:
    """Entries in every response: the largest bucket rounded up to PAD_QUANTUM (at least one quantum)."""
    return max(PAD_QUANTUM, -(-max_count // PAD_QUANTUM) * PAD_QUANTUM)


@dataclass
class _Snapshot:
    files: dict[str, BucketFile]
    padded: int
    stamp: tuple[object, ...]


class PrivateIndex:
    """Server side: evaluates blinded elements and serves padded buckets from the breaches whose bucket files
    are built for their current segment (a breach that is re-ingested is left out until rebuilt)."""

    def __init__(self, catalog: Catalog, directory: Path, master_key: bytes, refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog = catalog
        self.directory = Path(directory)
        self._pair = server_key(master_key)
        self.key_id = key_id(self._pair)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = -1e18
        self._snapshot = _Snapshot({}, PAD_QUANTUM, ())

    def evaluate(self, blinded_element: bytes) -> bytes:
        """BlindEvaluate under the server key; raises InvalidElementError for a malformed element."""
        return oprf.blind_evaluate(self._pair.sk, blinded_element)

    def _stamp(self) -> tuple[object, ...]:
        parts: list[object] = [self._catalog.generation()]
        if self.directory.exists():
            for path in sorted(self.directory.glob(f"*{FILE_SUFFIX}")):
                st = path.stat()
                parts.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(parts)

    def _current(self) -> _Snapshot:
        now = self._clock()
        with self._lock:
            if now - self._checked_at < self._refresh_seconds:
                return self._snapshot
            self._checked_at = now
            stamp = self._stamp()
            if stamp == self._snapshot.stamp:
                return self._snapshot
            files: dict[str, BucketFile] = {}
            for breach in self._catalog.list_breaches():
                path = bucket_path(self.directory, breach.name)
                if not path.exists():
                    continue
                try:
                    bucket_file = BucketFile(path, self.key_id)
                except PrivateIndexError:
                    continue  # another key or layout: not served until rebuilt
                if bucket_file.header.segment_checksum != breach.segment_checksum:
                    bucket_file.close()
                    continue
                files[breach.name] = bucket_file
            total = np.zeros(BUCKETS, dtype=np.int64)
            for bucket_file in files.values():
                total += bucket_file.counts()
            # The old snapshot is not closed here: a request in another thread may still be reading it; its
            # mappings are released when the last reference goes.
            self._snapshot = _Snapshot(files, padded_size(int(total.max()) if files else 0), stamp)
            return self._snapshot

    def breaches(self) -> list[str]:
        """Names of the breaches served privately, sorted."""
        return sorted(self._current().files)

    def padded_entries(self) -> int:
        """Entries in every served bucket (real ones plus random padding)."""
        return self._current().padded

    def bucket(self, prefix: int) -> tuple[bytes, list[str]]:
        """(the padded bucket for `prefix`, breaches served) — every bucket has the same size."""
        if not 0 <= prefix < BUCKETS:
            raise PrivateIndexError(f"prefix must be an integer in [0, {BUCKETS})")
        snap = self._current()
        real = b"".join(f.bucket(prefix) for f in snap.files.values())
        count = len(real) // ENTRY_BYTES
        entries = np.frombuffer(real + os.urandom((snap.padded - count) * ENTRY_BYTES), dtype=np.uint8)
        entries = entries.reshape(snap.padded, ENTRY_BYTES)
        # Sorting by tag mixes padding and every breach's entries, so order says nothing about their origin.
        keys = entries[:, :8].copy().view(">u8").ravel()
        return entries[np.argsort(keys, kind="stable")].tobytes(), sorted(snap.files)

    def close(self) -> None:
        """Release the mappings."""
        with self._lock:
            for bucket_file in self._snapshot.files.values():
                bucket_file.close()
            self._snapshot = _Snapshot({}, PAD_QUANTUM, ())
            self._checked_at = -1e18
