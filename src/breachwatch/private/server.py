"""The server side of the private check: the OPRF evaluation, and the served bucket file, memory-mapped."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Catalog
from . import oprf
from .protocol import DEFAULT_EPOCH, ENTRY_BYTES, PrivateIndexError, key_id, server_key
from .served import SERVED_NAME, ServedFile


@dataclass(frozen=True)
class Parameters:
    """What a client needs to know before checking: the layout, the breaches served, the generation."""

    prefix_bits: int
    entry_bytes: int
    bucket_entries: int
    breaches: tuple[str, ...]
    generation: str
    key_epoch: int

    def to_dict(self) -> dict[str, object]:
        """The JSON form answered by GET /api/v1/private/parameters."""
        return {"oprf": "ristretto255-SHA512", "prefix_bits": self.prefix_bits, "entry_bytes": self.entry_bytes,
                "bucket_entries": self.bucket_entries, "bucket_bytes": self.bucket_entries * self.entry_bytes,
                "breaches": list(self.breaches), "generation": self.generation, "key_epoch": self.key_epoch}


@dataclass
class _Snapshot:
    served: ServedFile | None
    parameters: Parameters | None
    stamp: tuple[object, ...]


class PrivateIndex:
    """Server side: evaluates blinded elements, and answers buckets from the served file. Of the breaches in
    it, only those whose segment is still the catalog's are announced (a breach re-ingested or removed since
    is left out until the file is published again: its entries are then as good as padding)."""

    def __init__(self, catalog: Catalog, directory: Path, master_key: bytes, epoch: int = DEFAULT_EPOCH,
                 refresh_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog = catalog
        self.directory = Path(directory)
        self.epoch = epoch
        self._pair = server_key(master_key, epoch)
        self.key_id = key_id(self._pair)
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = -1e18
        self._snapshot = _Snapshot(None, None, ())

    def evaluate(self, blinded_element: bytes) -> bytes:
        """BlindEvaluate under the server key; raises InvalidElementError for an invalid element."""
        return oprf.blind_evaluate(self._pair.sk, blinded_element)

    def evaluate_all(self, elements: list[bytes]) -> list[bytes]:
        """BlindEvaluate of each element, in order; raises InvalidElementError at the first invalid one."""
        sk = self._pair.sk
        evaluate = oprf.blind_evaluate
        return [evaluate(sk, e) for e in elements]

    def _stamp(self) -> tuple[object, ...]:
        path = self.directory / SERVED_NAME
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return (self._catalog.generation(),)
        return (self._catalog.generation(), st.st_mtime_ns, st.st_size, st.st_ino)

    def _current(self) -> _Snapshot:
        now = self._clock()
        with self._lock:
            if now - self._checked_at < self._refresh_seconds:
                return self._snapshot
            self._checked_at = now
            stamp = self._stamp()
            if stamp == self._snapshot.stamp:
                return self._snapshot
            # The old mapping is not closed here: a request in another thread may still be reading it; it is
            # released when the last reference goes.
            self._snapshot = self._load(stamp)
            return self._snapshot

    def _load(self, stamp: tuple[object, ...]) -> _Snapshot:
        path = self.directory / SERVED_NAME
        if len(stamp) == 1:
            return _Snapshot(None, None, stamp)
        try:
            served = ServedFile(path)
        except (PrivateIndexError, OSError):
            return _Snapshot(None, None, stamp)
        h = served.header
        if h.key_id != self.key_id or h.epoch != self.epoch:
            served.close()  # made with another key or epoch: not served until rebuilt
            return _Snapshot(None, None, stamp)
        current = {b.name: b.segment_checksum for b in self._catalog.list_breaches()}
        names = tuple(sorted(b.name for b in h.breaches if current.get(b.name) == b.segment_checksum))
        return _Snapshot(served, Parameters(h.prefix_bits, ENTRY_BYTES, h.per_bucket, names, h.generation.hex(),
                                            h.epoch), stamp)

    def parameters(self) -> Parameters | None:
        """The parameters of the file served now (None when there is none for this key)."""
        return self._current().parameters

    def breaches(self) -> list[str]:
        """Names of the breaches served privately, sorted."""
        params = self._current().parameters
        return list(params.breaches) if params is not None else []

    def served(self) -> tuple[ServedFile, Parameters] | None:
        """The file served now and its parameters, read together (None when there is none for this key)."""
        snap = self._current()
        if snap.served is None or snap.parameters is None:
            return None
        return snap.served, snap.parameters

    def bucket(self, prefix: int) -> tuple[bytes, Parameters]:
        """(the bytes of bucket `prefix`, the parameters of the file it comes from)."""
        snap = self._current()
        if snap.served is None or snap.parameters is None:
            raise PrivateIndexError("no private buckets are published for this key")
        if not 0 <= prefix < snap.served.buckets:
            raise PrivateIndexError(f"bucket must be in [0, {snap.served.buckets})")
        return snap.served.bucket(prefix), snap.parameters

    def close(self) -> None:
        """Release the mapping."""
        with self._lock:
            if self._snapshot.served is not None:
                self._snapshot.served.close()
            self._snapshot = _Snapshot(None, None, ())
            self._checked_at = -1e18
