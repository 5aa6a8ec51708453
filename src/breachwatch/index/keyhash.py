"""The stored form of a number: AES-128 (a PRF under the secret key) over a 16-byte block holding the
E.164 number as an integer, truncated to 64 bits. One ECB call hashes a whole batch."""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..secretkey import derive_key, key_fingerprint

# The upper half of every block: a domain tag so these blocks never collide with another use of the key.
_DOMAIN_TAG = np.uint64(0x6277_6E75_6D62_0001)  # "bwnumb" v1


class NumberHasher:
    """Keyed 64-bit hashes of E.164 numbers (given as integers: country code and national digits)."""

    def __init__(self, master_key: bytes) -> None:
        self._key = derive_key(master_key, "index-number-hash", 16)
        self.fingerprint = key_fingerprint(self._key)

    def hash_many(self, numbers: np.ndarray) -> np.ndarray:
        """Hash an array of E.164 integers (uint64) into an array of uint64 keyed hashes."""
        numbers = np.ascontiguousarray(numbers, dtype=np.uint64)
        blocks = np.empty((numbers.shape[0], 2), dtype="<u8")
        blocks[:, 0] = numbers
        blocks[:, 1] = _DOMAIN_TAG
        encryptor = Cipher(algorithms.AES(self._key), modes.ECB()).encryptor()  # noqa: S305 - PRF on single blocks
        out = encryptor.update(blocks.tobytes()) + encryptor.finalize()
        return np.frombuffer(out, dtype="<u8")[0::2].astype(np.uint64)

    def hash_one(self, number: int) -> np.uint64:
        """Hash one E.164 integer."""
        return np.uint64(self.hash_many(np.array([number], dtype=np.uint64))[0])

    def hash_e164(self, e164: str) -> np.uint64:
        """Hash one E.164 string ('+201001234567')."""
        return self.hash_one(int(e164.lstrip("+")))
