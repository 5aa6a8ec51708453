"""Private membership checks: the protocol's pieces shared by server, builder and client, and the server-side
index of bucket files.

A number's public *prefix* is the first PREFIX_BITS bits of SHA-256 of its E.164 string. For each leaked
(number, breach) pair a bucket file holds one ENTRY_BYTES entry:

    tag (16) = SHA-512("bw-private-tag" 0 || y || breach)[:16]
    nonce (12) || AES-256-GCM(key = SHA-512("bw-private-key" 0 || y || breach)[:32],
                              plaintext = data-class mask (uint16 LE), aad = "bw-private-v1" || tag || breach)

where y is the RFC 9497 OPRF output of the E.164 string under the server key. Only someone who knows y (the
number's owner after an online, rate-limited evaluation, or the key holder) can find or open its entries;
tags of one number in two breaches are unrelated. Responses carry the bucket padded with random entries to
one size for every bucket.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BreachwatchError
from ..secretkey import derive_key, key_fingerprint
from . import oprf

PREFIX_BITS = 18
BUCKETS = 1 << PREFIX_BITS
TAG_BYTES = 16
NONCE_BYTES = 12
CIPHERTEXT_BYTES = 2 + 16  # uint16 mask + GCM tag
ENTRY_BYTES = TAG_BYTES + NONCE_BYTES + CIPHERTEXT_BYTES
PAD_QUANTUM = 16  # padded bucket sizes are multiples of this many entries
OPRF_KEY_INFO = b"breachwatch private check v1"

MAGIC = b"BWPRIV01"
_HEADER = struct.Struct("<8sBHQ16s64s")
HEADER_SIZE = 128
FILE_SUFFIX = ".pbk"


class PrivateIndexError(BreachwatchError):
    """A private bucket file is missing, truncated or made with another key."""


def server_key(master: bytes) -> oprf.KeyPair:
    """The OPRF key pair of this deployment, derived from the master secret."""
    return oprf.derive_key_pair(derive_key(master, "oprf-ristretto255-sha512"), OPRF_KEY_INFO)


def key_id(pair: oprf.KeyPair) -> bytes:
    """A 16-byte public fingerprint of the OPRF key, stored in bucket files to detect a key change."""
    return key_fingerprint(pair.pk)


def prefix_of(e164: str) -> int:
    """The public bucket number of an E.164 string: its SHA-256's first PREFIX_BITS bits."""
    return int.from_bytes(hashlib.sha256(e164.encode("ascii")).digest()[:4], "big") >> (32 - PREFIX_BITS)


def entry_tag(output: bytes, breach: str) -> bytes:
    """The lookup tag of a number (by its OPRF output) in one breach."""
    return hashlib.sha512(b"bw-private-tag\x00" + output + breach.encode()).digest()[:TAG_BYTES]


def entry_key(output: bytes, breach: str) -> bytes:
    """The AES-256-GCM key that opens a number's entry in one breach."""
    return hashlib.sha512(b"bw-private-key\x00" + output + breach.encode()).digest()[:32]


def _aad(tag: bytes, breach: str) -> bytes:
    return b"bw-private-v1" + tag + breach.encode()


def seal_entry(tag: bytes, key: bytes, breach: str, mask: int) -> bytes:
    """One bucket entry: tag, random nonce, and the data-class mask encrypted under the entry key."""
    nonce = os.urandom(NONCE_BYTES)
    return tag + nonce + AESGCM(key).encrypt(nonce, struct.pack("<H", mask), _aad(tag, breach))


def open_entry(entry: bytes, output: bytes, breach: str) -> int | None:
    """The data-class mask in `entry` if it is this number's entry for `breach`, else None."""
    tag = entry[:TAG_BYTES]
    if tag != entry_tag(output, breach):
        return None
    nonce = entry[TAG_BYTES:TAG_BYTES + NONCE_BYTES]
    try:
        plain = AESGCM(entry_key(output, breach)).decrypt(nonce, entry[TAG_BYTES + NONCE_BYTES:],
                                                          _aad(tag, breach))
    except InvalidTag:
        return None
    return int(struct.unpack("<H", plain)[0])


def find_in_bucket(bucket: bytes, output: bytes, breaches: list[str]) -> dict[str, int]:
    """{breach: data-class mask} of the entries of `bucket` that belong to the number with OPRF output y."""
    if len(bucket) % ENTRY_BYTES:
        raise PrivateIndexError(f"bucket of {len(bucket)} bytes is not a whole number of entries")
    tags = {bytes(bucket[i:i + TAG_BYTES]): i for i in range(0, len(bucket), ENTRY_BYTES)}
    hits: dict[str, int] = {}
    for breach in breaches:
        at = tags.get(entry_tag(output, breach))
        if at is not None:
            mask = open_entry(bytes(bucket[at:at + ENTRY_BYTES]), output, breach)
            if mask is not None:
                hits[breach] = mask
    return hits


# ---------------------------------------------------------------------------------------------- files

@dataclass(frozen=True)
class FileHeader:
    """What a bucket file says about itself."""

    prefix_bits: int
    entry_bytes: int
    count: int
    key_id: bytes
    segment_checksum: str

    def pack(self) -> bytes:
        """The fixed-size header bytes."""
        raw = _HEADER.pack(MAGIC, self.prefix_bits, self.entry_bytes, self.count, self.key_id,
                           self.segment_checksum.encode("ascii").ljust(64, b"\0"))
        return raw.ljust(HEADER_SIZE, b"\0")


def read_header(raw: bytes, path: Path) -> FileHeader:
    """Parse and check a bucket file header."""
    if len(raw) < HEADER_SIZE:
        raise PrivateIndexError(f"{path}: private bucket file is truncated")
    magic, bits, entry_bytes, count, kid, checksum = _HEADER.unpack(raw[:_HEADER.size])
    if magic != MAGIC:
        raise PrivateIndexError(f"{path}: not a breachwatch private bucket file")
    return FileHeader(bits, entry_bytes, count, kid, checksum.rstrip(b"\0").decode("ascii"))


def bucket_path(directory: Path, breach: str) -> Path:
    """Where the bucket file of a breach lives."""
    return directory / f"{breach}{FILE_SUFFIX}"
