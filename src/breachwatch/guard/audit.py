"""The audit log: one JSON line per check (time, hashed client, keyed hash of the number, result size,
decision), append-only, rotated by day and by size. Never holds a number, an IP or a key in clear."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..secretkey import derive_key
from .clients import ClientId

AUDIT_NUMBER_PURPOSE = "audit-number"


class AuditLog:
    """Appends records to DIR/audit-YYYY-MM-DD.jsonl (UTC day of the check); past `max_bytes` a file is
    closed and the next one is audit-YYYY-MM-DD.N.jsonl."""

    def __init__(self, directory: Path, master: bytes, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._key = derive_key(master, AUDIT_NUMBER_PURPOSE)
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._day = ""
        self._part = 0
        self._size = 0

    def number_hash(self, e164: str) -> str:
        """Keyed BLAKE2b of an E.164 number, 32 hex characters (same number, same hash, for this key)."""
        return hashlib.blake2b(e164.encode(), key=self._key, digest_size=16).hexdigest()

    def record_checks(self, client: ClientId, numbers: Sequence[str], found: Sequence[int], decision: str,
                      now: float) -> None:
        """One line per answered number."""
        base = _client_fields(client)
        lines = [json.dumps({"t": round(now, 3), **base, "number": self.number_hash(n), "found": int(f),
                             "decision": decision}, separators=(",", ":"))
                 for n, f in zip(numbers, found, strict=True)]
        self._write(lines, now)

    def record_denied(self, client: ClientId, count: int, kind: str, decision: str, now: float) -> None:
        """One line for a refused request of `count` numbers (the numbers themselves were never looked at)."""
        line = json.dumps({"t": round(now, 3), **_client_fields(client), "kind": kind, "numbers": count,
                           "decision": decision}, separators=(",", ":"))
        self._write([line], now)

    def _write(self, lines: list[str], now: float) -> None:
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        day = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%d")
        with self._lock:
            if self._handle is None or day != self._day or self._size >= self.max_bytes:
                self._open(day)
            assert self._handle is not None
            self._handle.write(text)
            self._handle.flush()
            self._size += len(text)

    def _open(self, day: str) -> None:
        if self._handle is not None:
            self._handle.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._part = self._part + 1 if day == self._day else 0
        self._day = day
        while True:
            suffix = f".{self._part}" if self._part else ""
            path = self.directory / f"audit-{day}{suffix}.jsonl"
            size = path.stat().st_size if path.exists() else 0
            if size < self.max_bytes:
                break
            self._part += 1
        self._handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open across records
        self._size = size

    def close(self) -> None:
        """Close the current file."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def _client_fields(client: ClientId) -> dict[str, str | None]:
    return {"key": client.key, "ip": client.ip, "subnet": client.subnet}
