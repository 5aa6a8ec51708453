"""The keys a task needs, found by the process that runs it. A task carries only a `KeyRef` (the HOME path
and the public fingerprint of the index key); its process uses the key it already holds (`hold`: the process
that loaded it, or a local worker given it at start by its parent) or loads it once from its own
configuration (BREACHWATCH_SECRET_KEY, else HOME/secret.key), and refuses a key with another fingerprint.
So no key material ever travels with a task to a Dask scheduler or worker."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import load_config
from ..errors import ConfigError
from ..index import NumberHasher
from ..secretkey import load_master_key


@dataclass(frozen=True)
class KeyRef:
    """Which key a task needs: public things only."""

    #: The lead's data directory (absolute): where a worker without BREACHWATCH_SECRET_KEY finds secret.key.
    home: str
    #: NumberHasher.fingerprint of the index key (public), so a worker holding another key refuses to work.
    fingerprint: bytes


class _Held:
    """One master secret this process holds, and the keys derived from it (derived when first needed)."""

    def __init__(self, master: bytes, hasher: NumberHasher) -> None:
        self.master = master
        self.hasher = hasher
        self.derived: dict[str, bytes] = {}


_HELD: dict[bytes, _Held] = {}
_LOCK = threading.Lock()


def key_ref(home: Path | str, fingerprint: bytes) -> KeyRef:
    """The reference tasks carry for the index key with `fingerprint` in data directory `home`."""
    return KeyRef(str(Path(home).resolve()), fingerprint)


def hold(master_key: bytes) -> bytes:
    """Keep `master_key` in this process for the tasks it runs (inline, or as a local pool worker); returns
    the fingerprint of its index key."""
    hasher = NumberHasher(master_key)
    with _LOCK:
        _HELD.setdefault(hasher.fingerprint, _Held(master_key, hasher))
    return hasher.fingerprint


def held(fingerprint: bytes) -> bytes | None:
    """The master secret this process holds for `fingerprint`, if any (to start local workers with)."""
    with _LOCK:
        entry = _HELD.get(fingerprint)
    return entry.master if entry is not None else None


def index_hasher(ref: KeyRef) -> NumberHasher:
    """The hasher of the index key `ref` names (loaded once per process)."""
    return _get(ref).hasher


def derived_key(ref: KeyRef, purpose: str, derive: Callable[[bytes], bytes]) -> bytes:
    """The key `derive` makes from the master secret of the deployment whose index key `ref` names (such as
    the OPRF secret scalar), derived once per process and `purpose`."""
    entry = _get(ref)
    key = entry.derived.get(purpose)
    if key is None:
        key = entry.derived.setdefault(purpose, derive(entry.master))
    return key


def _get(ref: KeyRef) -> _Held:
    with _LOCK:
        entry = _HELD.get(ref.fingerprint)
        if entry is None:
            entry = _load(ref)
            _HELD[ref.fingerprint] = entry
        return entry


def _load(ref: KeyRef) -> _Held:
    where = f"worker process on {socket.gethostname()}"
    try:
        # The task's HOME, not this process's BREACHWATCH_HOME: the task's work files are under that path too.
        master = load_master_key(load_config(home=Path(ref.home)), create=False)
    except (ConfigError, OSError, ValueError) as exc:  # none, unreadable (another user?) or malformed
        raise ConfigError(f"{where} cannot load the secret key ({exc}); set BREACHWATCH_SECRET_KEY in its "
                          f"environment or give it the shared data directory {ref.home}") from None
    hasher = NumberHasher(master)
    if hasher.fingerprint != ref.fingerprint:
        raise ConfigError(f"{where} holds another secret key (index key fingerprint "
                          f"{hasher.fingerprint.hex()[:12]}, expected {ref.fingerprint.hex()[:12]}); set "
                          "BREACHWATCH_SECRET_KEY on the workers to the key of this data directory")
    return _Held(master, hasher)
