"""Memory-mapped segment readers: single and vectorized batch lookups across all segments."""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError
from .segment import HEADER_SIZE, MAGIC, SEGMENT_FORMAT_VERSION, unpack_header


class SegmentReader:
    """One segment file, memory-mapped; refuses files that are truncated, altered or of another key."""

    def __init__(self, path: Path, fingerprint: bytes, expected_checksum: str | None = None,
                 verify: bool = True) -> None:
        self.path = Path(path)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise IndexCorruptError(f"{self.path}: index segment is missing") from None
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_SIZE:
                raise IndexCorruptError(f"{self.path}: index segment is truncated ({size} bytes)")
            self._mmap = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        magic, version, count, file_fingerprint, checksum = unpack_header(self._mmap[:HEADER_SIZE])
        if magic != MAGIC:
            raise IndexCorruptError(f"{self.path}: not a breachwatch index segment")
        if version != SEGMENT_FORMAT_VERSION:
            raise IndexCorruptError(f"{self.path}: segment format version {version} is not supported "
                                    f"(this build reads version {SEGMENT_FORMAT_VERSION})")
        if size != HEADER_SIZE + 10 * count:
            raise IndexCorruptError(f"{self.path}: index segment is truncated or padded "
                                    f"({size} bytes for {count} entries)")
        if file_fingerprint != fingerprint:
            raise IndexCorruptError(f"{self.path}: segment was built with a different secret key; "
                                    "set BREACHWATCH_SECRET_KEY to the key it was built with")
        if expected_checksum is not None and checksum.hex() != expected_checksum:
            raise IndexCorruptError(f"{self.path}: segment checksum does not match the catalog")
        self.count = count
        self.checksum = checksum.hex()
        # np.asarray views: a np.memmap object costs microseconds more per call.
        self.hashes = np.frombuffer(self._mmap, dtype="<u8", count=count, offset=HEADER_SIZE)
        self.masks = np.frombuffer(self._mmap, dtype="<u2", count=count, offset=HEADER_SIZE + 8 * count)
        if verify:
            self.verify()

    def verify(self) -> None:
        """Recompute the body checksum; raise IndexCorruptError if any bit changed."""
        digest = hashlib.blake2b(digest_size=32)
        body = memoryview(self._mmap)[HEADER_SIZE:]
        step = 1 << 24
        for start in range(0, len(body), step):
            digest.update(body[start:start + step])
        body.release()
        if digest.hexdigest() != self.checksum:
            raise IndexCorruptError(f"{self.path}: index segment is corrupt (checksum mismatch)")

    def get(self, hashed: np.uint64 | int) -> int | None:
        """The data-class mask stored for one hashed number, or None if absent."""
        # A Python int would make numpy convert the whole array on every call; the method skips np.searchsorted's
        # dispatch wrappers (a microsecond of a single check).
        value = hashed if type(hashed) is np.uint64 else np.uint64(hashed)
        i = int(self.hashes.searchsorted(value))
        if i < self.count and self.hashes[i] == value:
            return int(self.masks[i])
        return None

    def get_many(self, hashed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found bool array, mask array) for an array of hashed numbers."""
        if self.count == 0:
            return np.zeros(hashed.shape[0], dtype=bool), np.zeros(hashed.shape[0], dtype=np.uint16)
        idx = np.searchsorted(self.hashes, hashed)
        idx_clipped = np.minimum(idx, self.count - 1)
        found = self.hashes[idx_clipped] == hashed
        masks = np.where(found, self.masks[idx_clipped], 0).astype(np.uint16)
        return found, masks

    def close(self) -> None:
        """Release the mapping (lookups must not be used afterwards)."""
        del self.hashes, self.masks
        self._mmap.close()


@dataclass(frozen=True)
class SegmentRef:
    """Where a breach's segment is and what its checksum must be."""

    breach: str
    path: Path
    checksum: str


class IndexReader:
    """All published segments: which breaches hold a hashed number, with what data classes."""

    def __init__(self, refs: Sequence[SegmentRef], fingerprint: bytes, verify: bool = True) -> None:
        self._segments = [(ref.breach, SegmentReader(ref.path, fingerprint, ref.checksum, verify))
                          for ref in refs]

    @property
    def breaches(self) -> list[str]:
        """Names of the breaches whose segments are open."""
        return [name for name, _ in self._segments]

    def lookup(self, hashed: np.uint64) -> dict[str, int]:
        """{breach name: data-class mask} for one hashed number."""
        hits: dict[str, int] = {}
        for name, segment in self._segments:
            mask = segment.get(hashed)
            if mask is not None:
                hits[name] = mask
        return hits

    def lookup_arrays(self, hashed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, masks) for an array of hashed numbers: bool and uint16 arrays of shape
        (len(hashed), len(breaches)), column j for breach j of `breaches`; masks are 0 where not found."""
        queries = np.asarray(hashed, dtype=np.uint64)
        found = np.zeros((queries.shape[0], len(self._segments)), dtype=bool)
        masks = np.zeros((queries.shape[0], len(self._segments)), dtype=np.uint16)
        if queries.shape[0] == 0:
            return found, masks
        # Sorted queries walk each segment's pages in order (fewer page faults on a cold mmap).
        order = np.argsort(queries, kind="stable")
        ordered = queries[order]
        for j, (_, segment) in enumerate(self._segments):
            hit, mask = segment.get_many(ordered)
            found[order, j] = hit
            masks[order, j] = mask
        return found, masks

    def lookup_many(self, hashed: np.ndarray) -> list[dict[str, int]]:
        """lookup() for each of an array of hashed numbers, vectorized per segment."""
        results: list[dict[str, int]] = [{} for _ in range(hashed.shape[0])]
        found, masks = self.lookup_arrays(hashed)
        for j, name in enumerate(self.breaches):
            rows = np.flatnonzero(found[:, j])
            for i, mask in zip(rows.tolist(), masks[rows, j].tolist(), strict=True):
                results[i][name] = mask
        return results

    def close(self) -> None:
        """Release every mapping."""
        for _, segment in self._segments:
            segment.close()
        self._segments = []
