"""The served bucket file: every breach's entries, padded and sorted, one fixed-size slice per bucket.

    header (HEADER_SIZE bytes: fixed fields, then the JSON list of breaches) | bucket 0 | bucket 1 | ...

Every bucket holds `per_bucket` entries (the largest real bucket, rounded up to PAD_QUANTUM): its real entries
of every breach and pseudorandom padding entries, sorted by tag, so a bucket's bytes say nothing of how many
entries are real or which breach they belong to. The padding of bucket b is AES-128(pad key, (b, j)) for
j = 0, 1, ..., fixed for a key epoch, so two downloads of a bucket are byte-identical, and a republished
file keeps the same padding entries where it still needs them. Bucket b is bytes
[HEADER_SIZE + b * per_bucket * ENTRY_BYTES, ...): the server (or nginx) answers a slice, nothing assembled.

`publish` writes it from the breaches' part files (`parts.py`) and renames it into place atomically; the
generation is a digest of what went into it (key, layout, breaches and their segments).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .parts import PartFile
from .protocol import DEFAULT_LAYOUT, ENTRY_BYTES, TAG_BYTES, Layout, PrivateIndexError, padded_entries

SERVED_MAGIC = b"BWSERV02"
_HEADER = struct.Struct("<8sBBHIIQ16s16sI")
HEADER_SIZE = 65536
SERVED_NAME = "served.pbk"
#: Bytes of buckets assembled at a time while publishing.
_PASS_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ServedBreach:
    """One breach in a served file: its name and the index segment its entries were built from."""

    name: str
    segment_checksum: str
    entries: int


@dataclass(frozen=True)
class ServedHeader:
    """What a served file says about itself."""

    prefix_bits: int
    epoch: int
    per_bucket: int
    key_id: bytes
    generation: bytes
    breaches: tuple[ServedBreach, ...]

    def pack(self) -> bytes:
        """The header bytes (HEADER_SIZE)."""
        listing = json.dumps([[b.name, b.segment_checksum, b.entries] for b in self.breaches]).encode()
        fixed = _HEADER.pack(SERVED_MAGIC, 2, self.prefix_bits, ENTRY_BYTES, self.epoch, self.per_bucket,
                             HEADER_SIZE, self.key_id, self.generation, len(listing))
        if len(fixed) + len(listing) > HEADER_SIZE:
            raise PrivateIndexError("too many breaches for one served private file")
        return (fixed + listing).ljust(HEADER_SIZE, b"\0")


def generation_of(key_id: bytes, epoch: int, prefix_bits: int, per_bucket: int,
                  breaches: tuple[ServedBreach, ...]) -> bytes:
    """The 16-byte generation of a served file: a digest of everything its bytes are made from."""
    text = json.dumps([key_id.hex(), epoch, prefix_bits, per_bucket,
                       sorted([b.name, b.segment_checksum] for b in breaches)])
    return hashlib.blake2b(text.encode(), digest_size=16, person=b"bw-generation").digest()


def padding(pad_key: bytes, lo: int, hi: int, per_bucket: int) -> np.ndarray:
    """The padding entries of buckets [lo, hi): (hi - lo, per_bucket, ENTRY_BYTES) uint8."""
    counters = np.empty((hi - lo, per_bucket, 2), dtype=">u8")
    counters[:, :, 0] = np.arange(lo, hi, dtype=np.uint64)[:, None]
    counters[:, :, 1] = np.arange(per_bucket, dtype=np.uint64)[None, :]
    encryptor = Cipher(algorithms.AES(pad_key), modes.ECB()).encryptor()  # noqa: S305 - a PRF on distinct blocks
    stream = np.frombuffer(encryptor.update(counters.tobytes()), dtype=np.uint8)
    return stream.reshape(hi - lo, per_bucket, 16)[:, :, :ENTRY_BYTES].copy()


def _assemble(parts: list[PartFile], counts: np.ndarray, pad_key: bytes, lo: int, hi: int,
              per_bucket: int) -> np.ndarray:
    """Buckets [lo, hi) as (hi - lo, per_bucket, ENTRY_BYTES): real entries of every part, padding, sorted."""
    rows = padding(pad_key, lo, hi, per_bucket)
    real = [p.entries(lo, hi) for p in parts]
    owners = [np.repeat(np.arange(lo, hi), p.counts()[lo:hi]) for p in parts]
    if real:
        entries = np.concatenate(real)
        bucket = np.concatenate(owners)
        order = np.argsort(bucket, kind="stable")
        entries, bucket = entries[order], bucket[order]
        here = counts[lo:hi]
        starts = np.zeros(hi - lo, dtype=np.int64)
        np.cumsum(here[:-1], out=starts[1:])
        rank = np.arange(bucket.shape[0]) - starts[bucket - lo]
        # Real entries take the last slots: padding entry j of a bucket is the same in every generation.
        rows[bucket - lo, per_bucket - here[bucket - lo] + rank] = entries
    keys = rows[:, :, :TAG_BYTES].copy().view(">u8")[:, :, 0]
    order2 = np.argsort(keys, axis=1, kind="stable")
    return np.take_along_axis(rows, order2[:, :, None], axis=1)


def publish(directory: Path, parts: dict[str, tuple[Path, str]], key_id: bytes, epoch: int, pad_key: bytes,
            layout: Layout = DEFAULT_LAYOUT, progress: Callable[[int, int], None] | None = None) -> ServedHeader:
    """Write the served file of the breaches `parts` names ({breach: (part file, segment checksum)}) into
    `directory`, replacing the one served before; returns its header."""
    opened = [(name, PartFile(path), checksum) for name, (path, checksum) in sorted(parts.items())]
    try:
        for name, part, checksum in opened:
            h = part.header
            if (h.prefix_bits, h.epoch, h.key_id, h.segment_checksum) != (layout.prefix_bits, epoch, key_id,
                                                                          checksum):
                raise PrivateIndexError(f"the private part file of {name} was built for another key, epoch, "
                                        "layout or ingest of the breach; rebuild it")
        counts = np.zeros(layout.buckets, dtype=np.int64)
        for _, part, _ in opened:
            counts += part.counts()
        per_bucket = padded_entries(int(counts.max()) if opened else 0)
        breaches = tuple(ServedBreach(name, checksum, part.header.count) for name, part, checksum in opened)
        header = ServedHeader(layout.prefix_bits, epoch, per_bucket, key_id,
                              generation_of(key_id, epoch, layout.prefix_bits, per_bucket, breaches), breaches)
        final = directory / SERVED_NAME
        tmp = directory / f".{SERVED_NAME}.tmp"
        step = max(1, _PASS_BYTES // (per_bucket * ENTRY_BYTES))
        with open(tmp, "wb") as out:
            out.write(header.pack())
            for lo in range(0, layout.buckets, step):
                hi = min(layout.buckets, lo + step)
                out.write(_assemble([p for _, p, _ in opened], counts, pad_key, lo, hi, per_bucket).tobytes())
                if progress is not None:
                    progress(hi, layout.buckets)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # public data: a web server in front may serve it
        os.replace(tmp, final)
        return header
    finally:
        for _, part, _ in opened:
            part.close()


class ServedFile:
    """A served file, memory-mapped: `bucket(b)` is a slice of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < HEADER_SIZE:
                raise PrivateIndexError(f"{path}: served private file is truncated")
            self._mmap = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        try:
            self.header = _read_header(self._mmap[:HEADER_SIZE], path)
        except PrivateIndexError:
            self._mmap.close()
            raise
        self.bucket_bytes = self.header.per_bucket * ENTRY_BYTES
        self.buckets = 1 << self.header.prefix_bits
        if size != HEADER_SIZE + self.buckets * self.bucket_bytes:
            self._mmap.close()
            raise PrivateIndexError(f"{path}: served private file has the wrong size")

    def bucket(self, prefix: int) -> bytes:
        """The bytes of bucket `prefix` (0 <= prefix < buckets)."""
        start = HEADER_SIZE + prefix * self.bucket_bytes
        return self._mmap[start:start + self.bucket_bytes]

    def close(self) -> None:
        """Release the mapping."""
        self._mmap.close()


def _read_header(raw: bytes, path: Path) -> ServedHeader:
    magic, version, bits, entry_bytes, epoch, per_bucket, body, kid, generation, listing = \
        _HEADER.unpack(raw[:_HEADER.size])
    if magic != SERVED_MAGIC or version != 2 or entry_bytes != ENTRY_BYTES or body != HEADER_SIZE:
        raise PrivateIndexError(f"{path}: not a served private file of this version; run `breachwatch private "
                                "publish`")
    try:
        items = json.loads(raw[_HEADER.size:_HEADER.size + listing])
        breaches = tuple(ServedBreach(str(n), str(c), int(e)) for n, c, e in items)
    except (ValueError, TypeError) as exc:
        raise PrivateIndexError(f"{path}: unreadable breach list ({exc})") from None
    return ServedHeader(bits, epoch, per_bucket, kid, generation, breaches)
