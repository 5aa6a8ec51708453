"""RFC 9497 OPRF, mode 0 (OPRF), ciphersuite ristretto255-SHA512, on libsodium's ristretto255 primitives.

The one module that imports `pysodium` (a ctypes binding: the system libsodium >= 1.0.18, Debian package
`libsodium23`, must be installed). Elements and scalars travel in their RFC encodings: 32 bytes each
(scalars little-endian). Every received element is validated: a non-canonical encoding or the identity is
refused with InvalidElementError.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pysodium

from ..errors import BreachwatchError

IDENTIFIER = b"ristretto255-SHA512"
MODE_OPRF = 0
CONTEXT_STRING = b"OPRFV1-" + MODE_OPRF.to_bytes(1, "big") + b"-" + IDENTIFIER
HASH_TO_GROUP_DST = b"HashToGroup-" + CONTEXT_STRING
HASH_TO_SCALAR_DST = b"HashToScalar-" + CONTEXT_STRING
DERIVE_KEY_PAIR_DST = b"DeriveKeyPair" + CONTEXT_STRING

ELEMENT_BYTES = 32
SCALAR_BYTES = 32
OUTPUT_BYTES = 64  # SHA-512
_IDENTITY = bytes(ELEMENT_BYTES)
_SCALAR_MULT = pysodium.sodium.crypto_scalarmult_ristretto255


class OprfError(BreachwatchError):
    """An OPRF operation failed (the input hashed to the identity, or a key could not be derived)."""


class InvalidElementError(OprfError):
    """A received group element is malformed: wrong length, non-canonical, not on the group, or the identity."""


def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 expand_message_xmd with SHA-512."""
    b_in_bytes, s_in_bytes = 64, 128
    ell = -(-length // b_in_bytes)
    if ell > 255 or length > 65535 or len(dst) > 255:
        raise OprfError("expand_message_xmd: requested length or DST too long")
    dst_prime = dst + _i2osp(len(dst), 1)
    msg_prime = bytes(s_in_bytes) + msg + _i2osp(length, 2) + _i2osp(0, 1) + dst_prime
    b0 = hashlib.sha512(msg_prime).digest()
    blocks = [hashlib.sha512(b0 + _i2osp(1, 1) + dst_prime).digest()]
    for i in range(2, ell + 1):
        mixed = bytes(x ^ y for x, y in zip(b0, blocks[-1], strict=True))
        blocks.append(hashlib.sha512(mixed + _i2osp(i, 1) + dst_prime).digest())
    return b"".join(blocks)[:length]


def hash_to_group(msg: bytes) -> bytes:
    """HashToGroup: hash_to_ristretto255 (expand_message_xmd SHA-512, 64 bytes, one-way map)."""
    return bytes(pysodium.crypto_core_ristretto255_from_hash(expand_message_xmd(msg, HASH_TO_GROUP_DST, 64)))


def hash_to_scalar(msg: bytes, dst: bytes = HASH_TO_SCALAR_DST) -> bytes:
    """HashToScalar: 64 uniform bytes, read little-endian and reduced modulo the group order."""
    return bytes(pysodium.crypto_core_ristretto255_scalar_reduce(expand_message_xmd(msg, dst, 64)))


def check_encoding(data: bytes) -> bytes:
    """The element itself if its encoding passes the checks that need no point decoding: 32 bytes, not the
    identity, bit 255 clear (libsodium 1.0.18 ignores that bit, but RFC 9496 decoding requires s < p: an
    encoding with it set is a second, non-canonical encoding of the same point)."""
    if len(data) != ELEMENT_BYTES:
        raise InvalidElementError(f"an element is {ELEMENT_BYTES} bytes, got {len(data)}")
    if data == _IDENTITY:
        raise InvalidElementError("the identity element is not allowed")
    if data[31] & 0x80:
        raise InvalidElementError("not a canonical ristretto255 encoding")
    return data


def validate_element(data: bytes) -> bytes:
    """The element itself if it is a canonical encoding of a non-identity ristretto255 point."""
    if not pysodium.crypto_core_ristretto255_is_valid_point(check_encoding(data)):
        raise InvalidElementError("not a canonical ristretto255 encoding")
    return data


def _scalar_mult(scalar: bytes, element: bytes) -> bytes:
    """scalar * element, libsodium called directly. libsodium decodes the element with the canonical check of
    `crypto_core_ristretto255_is_valid_point` and refuses what fails it, or a product equal to the identity."""
    product = ctypes.create_string_buffer(ELEMENT_BYTES)
    if _SCALAR_MULT(product, scalar, element) != 0:
        raise InvalidElementError("not a canonical ristretto255 encoding, or the product is the identity")
    return product.raw


@dataclass(frozen=True)
class KeyPair:
    """A server key pair: secret scalar skS and public element pkS (unused in mode 0, kept for fingerprints)."""

    sk: bytes
    pk: bytes


def derive_key_pair(seed: bytes, info: bytes) -> KeyPair:
    """DeriveKeyPair(seed, info) of RFC 9497 section 3.2.1."""
    if len(seed) != 32:
        raise OprfError("DeriveKeyPair needs a 32-byte seed")
    derive_input = seed + _i2osp(len(info), 2) + info
    for counter in range(256):
        sk = hash_to_scalar(derive_input + _i2osp(counter, 1), DERIVE_KEY_PAIR_DST)
        if sk != bytes(SCALAR_BYTES):
            return KeyPair(sk, bytes(pysodium.crypto_scalarmult_ristretto255_base(sk)))
    raise OprfError("DeriveKeyPair: no non-zero scalar after 256 tries")


def _finalize_hash(data: bytes, element: bytes) -> bytes:
    return hashlib.sha512(_i2osp(len(data), 2) + data + _i2osp(len(element), 2) + element + b"Finalize").digest()


def random_scalar() -> bytes:
    """A uniformly random non-zero scalar."""
    return bytes(pysodium.crypto_core_ristretto255_scalar_random())


def blind(data: bytes, blind_scalar: bytes | None = None) -> tuple[bytes, bytes]:
    """Client Blind(input): (blind, blindedElement). `blind_scalar` is only for test vectors."""
    scalar = blind_scalar if blind_scalar is not None else random_scalar()
    element = hash_to_group(data)
    if element == _IDENTITY:
        raise OprfError("the input hashes to the identity element")
    return scalar, _scalar_mult(scalar, element)


def blind_evaluate(sk: bytes, blinded_element: bytes) -> bytes:
    """Server BlindEvaluate(skS, blindedElement), refusing an invalid element with InvalidElementError.

    The element is decoded once, by the multiplication (`_scalar_mult`); `check_encoding` adds what libsodium
    1.0.18 leaves out."""
    return _scalar_mult(sk, check_encoding(blinded_element))


def finalize(data: bytes, blind_scalar: bytes, evaluated_element: bytes) -> bytes:
    """Client Finalize(input, blind, evaluatedElement): the 64-byte OPRF output."""
    inverse = bytes(pysodium.crypto_core_ristretto255_scalar_invert(blind_scalar))
    unblinded = _scalar_mult(inverse, validate_element(evaluated_element))
    return _finalize_hash(data, unblinded)


def evaluate(sk: bytes, data: bytes) -> bytes:
    """Server Evaluate(skS, input): the OPRF output for a known input (used to build buckets)."""
    element = hash_to_group(data)
    if element == _IDENTITY:
        raise OprfError("the input hashes to the identity element")
    return _finalize_hash(data, _scalar_mult(sk, element))


def evaluate_many(sk: bytes, inputs: Iterable[bytes]) -> list[bytes]:
    """Evaluate(skS, input) of each input, in order: the same outputs as `evaluate`, with what does not depend
    on the input (the hash state of expand_message_xmd's zero block, its suffixes) computed once and
    libsodium called directly, so that a build spends its time in the group operations."""
    # expand_message_xmd(msg, HASH_TO_GROUP_DST, 64) has one block (ell = 1): b0 then b1.
    dst_prime = HASH_TO_GROUP_DST + _i2osp(len(HASH_TO_GROUP_DST), 1)
    head = hashlib.sha512(bytes(128))
    tail0 = _i2osp(64, 2) + _i2osp(0, 1) + dst_prime
    tail1 = _i2osp(1, 1) + dst_prime
    sha512 = hashlib.sha512
    lib = pysodium.sodium
    from_hash, scalar_mult = lib.crypto_core_ristretto255_from_hash, lib.crypto_scalarmult_ristretto255
    point = ctypes.create_string_buffer(ELEMENT_BYTES)
    product = ctypes.create_string_buffer(ELEMENT_BYTES)
    element_len = _i2osp(ELEMENT_BYTES, 2)
    outputs = []
    for data in inputs:
        h = head.copy()
        h.update(data + tail0)
        uniform = sha512(h.digest() + tail1).digest()
        if from_hash(point, uniform) != 0 or point.raw == _IDENTITY:
            raise OprfError("the input hashes to the identity element")
        if scalar_mult(product, sk, point) != 0:
            raise InvalidElementError("scalar multiplication gave the identity")
        outputs.append(sha512(_i2osp(len(data), 2) + data + element_len + product.raw + b"Finalize").digest())
    return outputs
