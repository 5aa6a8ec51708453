"""The master secret: loaded from settings or generated once into the data directory, and the
purpose-bound subkeys derived from it (index hashing, OPRF, client hashing...)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat

from .config import Config
from .datahome import DataHome
from .errors import ConfigError


def load_master_key(config: Config, create: bool = True) -> bytes:
    """Return the 32-byte master secret from BREACHWATCH_SECRET_KEY or HOME/secret.key (created 0600)."""
    if config.secret_key:
        try:
            key = bytes.fromhex(config.secret_key.strip())
        except ValueError:
            raise ConfigError("BREACHWATCH_SECRET_KEY must be hexadecimal (64 characters)") from None
        if len(key) < 32:
            raise ConfigError("BREACHWATCH_SECRET_KEY must hold at least 32 bytes (64 hex characters)")
        return key
    path = DataHome(config).secret_key_file
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"{path} can be read or changed by other users (mode {mode:04o}); the key reverses "
                              f"every stored number: run `chmod 600 {path}`")
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise ConfigError(f"{path}: the secret key is not hexadecimal") from None
        if len(key) < 32:
            raise ConfigError(f"{path}: secret key is shorter than 32 bytes")
        return key
    if not create:
        raise ConfigError(f"{path}: no secret key yet (nothing has been ingested into this home)")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # O_EXCL: two processes starting at once must not each write their own key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_master_key(config, create=False)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return key


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """A subkey bound to `purpose`, so no two uses of the master secret share a key."""
    out = b""
    counter = 0
    while len(out) < length:
        counter += 1
        out += hmac.new(master, f"breachwatch/v1/{purpose}/{counter}".encode(), hashlib.sha256).digest()
    return out[:length]


def key_fingerprint(key: bytes) -> bytes:
    """A 16-byte public fingerprint of a key, stored beside data made with it to detect a key change."""
    return hashlib.blake2b(key, digest_size=16, person=b"bw-fingerprint").digest()
