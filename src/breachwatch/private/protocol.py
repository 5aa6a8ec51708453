"""Private membership checks: what server, builder and client derive from a number's OPRF output y.

y is the RFC 9497 OPRF output (64 bytes) of the number's E.164 string under the server key of one key epoch.
Everything below is derived from y, so without the server key nothing here says anything about a number:

    bucket (PREFIX_BITS)  = first bits of BLAKE2b-64("bw-bucket", y)            one bucket for all breaches
    entry (10 bytes)      = tag (8) || data-class mask (uint16 LE) XOR pad (2)
    tag || pad            = BLAKE2b-80(person "bw-entry", len(breach) || breach || y)

A bucket is a sorted array of ENTRY_BYTES entries (by tag, as bytes), padded at build time with pseudorandom
entries to one size for every bucket (`served.py`); the client computes its tag for each breach served and
looks it up. Tags of one number in two breaches are unrelated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..errors import BreachwatchError
from ..secretkey import derive_key, key_fingerprint
from . import oprf

#: 2^17 buckets: at 500M (number, breach) pairs, about 3,815 entries (37 KB) a bucket, padded to ~40 KB.
PREFIX_BITS = 17
TAG_BYTES = 8
DATA_BYTES = 2
ENTRY_BYTES = TAG_BYTES + DATA_BYTES
#: Served bucket sizes are multiples of this many entries.
PAD_QUANTUM = 16
OPRF_KEY_INFO = b"breachwatch private check v2"
#: The key epoch used when the settings name none.
DEFAULT_EPOCH = 1


class PrivateIndexError(BreachwatchError):
    """A private bucket file is missing, truncated, of another layout or made with another key."""


def server_key(master: bytes, epoch: int = DEFAULT_EPOCH) -> oprf.KeyPair:
    """The OPRF key pair of this deployment for key epoch `epoch`, derived from the master secret."""
    if epoch < 1:
        raise PrivateIndexError("the private key epoch is a positive integer")
    return oprf.derive_key_pair(derive_key(master, f"oprf-ristretto255-sha512/epoch-{epoch}"), OPRF_KEY_INFO)


def key_id(pair: oprf.KeyPair) -> bytes:
    """A 16-byte public fingerprint of the OPRF key, stored in bucket files to detect a key change."""
    return key_fingerprint(pair.pk)


def pad_key(master: bytes, epoch: int = DEFAULT_EPOCH) -> bytes:
    """The AES-128 key of the padding entries (a pseudorandom stream per bucket, fixed for a key epoch)."""
    return derive_key(master, f"private-padding/epoch-{epoch}", 16)


def bucket_of(output: bytes, prefix_bits: int = PREFIX_BITS) -> int:
    """The bucket of a number, from its OPRF output y."""
    digest = hashlib.blake2b(output, digest_size=8, person=b"bw-bucket").digest()
    return int.from_bytes(digest, "big") >> (64 - prefix_bits)


def entry_digest(output: bytes, breach: str) -> bytes:
    """tag (TAG_BYTES) || pad (DATA_BYTES, little-endian) of a number (by its OPRF output y) in one breach."""
    name = breach.encode()
    return hashlib.blake2b(len(name).to_bytes(2, "big") + name + output, digest_size=TAG_BYTES + DATA_BYTES,
                           person=b"bw-entry").digest()


def entry_parts(output: bytes, breach: str) -> tuple[bytes, int]:
    """(tag, pad) of a number (by its OPRF output y) in one breach: the entry is tag || (mask ^ pad) LE."""
    digest = entry_digest(output, breach)
    return digest[:TAG_BYTES], int.from_bytes(digest[TAG_BYTES:], "little")


def make_entry(output: bytes, breach: str, mask: int) -> bytes:
    """The bucket entry of a (number, breach) pair with its data-class mask."""
    tag, pad = entry_parts(output, breach)
    return tag + ((mask ^ pad) & 0xFFFF).to_bytes(DATA_BYTES, "little")


def find_in_bucket(bucket: bytes, output: bytes, breaches: list[str]) -> dict[str, int]:
    """{breach: data-class mask} of the entries of a (sorted) bucket that belong to the number with output y."""
    if len(bucket) % ENTRY_BYTES:
        raise PrivateIndexError(f"bucket of {len(bucket)} bytes is not a whole number of entries")
    count = len(bucket) // ENTRY_BYTES
    view = memoryview(bucket)
    hits: dict[str, int] = {}
    for breach in breaches:
        tag, pad = entry_parts(output, breach)
        lo, hi = 0, count
        while lo < hi:  # binary search: entries are sorted by tag
            mid = (lo + hi) // 2
            if bytes(view[mid * ENTRY_BYTES:mid * ENTRY_BYTES + TAG_BYTES]) < tag:
                lo = mid + 1
            else:
                hi = mid
        at = lo * ENTRY_BYTES
        if lo < count and bytes(view[at:at + TAG_BYTES]) == tag:
            hits[breach] = int.from_bytes(view[at + TAG_BYTES:at + ENTRY_BYTES], "little") ^ pad
    return hits


def padded_entries(largest: int) -> int:
    """Entries in every served bucket: the largest bucket rounded up to PAD_QUANTUM (at least one quantum)."""
    return max(PAD_QUANTUM, -(-largest // PAD_QUANTUM) * PAD_QUANTUM)


@dataclass(frozen=True)
class Layout:
    """The public shape of a deployment's buckets."""

    prefix_bits: int = PREFIX_BITS
    entry_bytes: int = ENTRY_BYTES

    @property
    def buckets(self) -> int:
        """How many buckets there are."""
        return 1 << self.prefix_bits

    @property
    def hex_digits(self) -> int:
        """Hex digits of a bucket number in a URL."""
        return -(-self.prefix_bits // 4)


#: The layout built and served by default.
DEFAULT_LAYOUT = Layout()
