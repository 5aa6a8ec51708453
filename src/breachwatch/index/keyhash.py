"""The stored form of a number: AES-128 (a PRF under the secret key) over a 16-byte block holding the
E.164 number as an integer, truncated to 64 bits. One ECB call hashes a whole batch."""

from __future__ import annotations

import threading
from typing import NoReturn, SupportsIndex

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from ..secretkey import derive_key, key_fingerprint

# The upper half of every block: a domain tag so these blocks never collide with another use of the key.
_DOMAIN_TAG = 0x6277_6E75_6D62_0001  # "bwnumb" v1
_DOMAIN_TAG_BYTES = _DOMAIN_TAG.to_bytes(8, "little")


class NumberHasher:
    """Keyed 64-bit hashes of E.164 numbers (given as integers: country code and national digits).

    Never pickled: it holds the index key, and a pickled object travels with tasks to other processes and
    machines. A task names the key instead (`ingest.taskkeys.KeyRef`), and the process running it builds its own
    hasher from its own configuration."""

    def __init__(self, master_key: bytes) -> None:
        self._key = derive_key(master_key, "index-number-hash", 16)
        self.fingerprint = key_fingerprint(self._key)
        self._lock = threading.Lock()
        self._context: CipherContext | None = None

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        # pickle, cloudpickle (Dask), multiprocessing and copy all come through here.
        raise TypeError("a NumberHasher holds the index key and is never pickled; give a task a "
                        "breachwatch.ingest.taskkeys.KeyRef and let the process running it load the key itself "
                        "(BREACHWATCH_SECRET_KEY or HOME/secret.key)")

    def _encrypt(self, blocks: bytes) -> bytes:
        # ECB has no chaining, so one never-finalized context serves every call (creating one costs microseconds).
        with self._lock:
            if self._context is None:
                self._context = Cipher(algorithms.AES(self._key), modes.ECB()).encryptor()  # noqa: S305 - PRF
            return self._context.update(blocks)

    def hash_many(self, numbers: np.ndarray) -> np.ndarray:
        """Hash an array of E.164 integers (uint64) into an array of uint64 keyed hashes."""
        numbers = np.ascontiguousarray(numbers, dtype=np.uint64)
        blocks = np.empty((numbers.shape[0], 2), dtype="<u8")
        blocks[:, 0] = numbers
        blocks[:, 1] = _DOMAIN_TAG
        out = self._encrypt(blocks.tobytes())
        return np.frombuffer(out, dtype="<u8")[0::2].astype(np.uint64)

    def hash_one(self, number: int) -> np.uint64:
        """Hash one E.164 integer."""
        out = self._encrypt(number.to_bytes(8, "little") + _DOMAIN_TAG_BYTES)
        return np.uint64(int.from_bytes(out[:8], "little"))

    def hash_e164(self, e164: str) -> np.uint64:
        """Hash one E.164 string ('+201001234567')."""
        return self.hash_one(int(e164.lstrip("+")))
