"""The audit log: one JSON line per check (time, hashed client, keyed hash of the number, result size,
decision), append-only, rotated by day and by size. Never holds a number, an IP or a key in clear.

Lines are buffered in memory and appended in batches: when `flush_lines` are waiting, at most `flush_seconds`
after a line was recorded (a background thread), and on `flush()` / `close()` (the web app's shutdown, and
process exit), so a clean stop loses nothing; a crash loses at most the last `flush_seconds`."""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import orjson

from ..secretkey import derive_key
from .clients import ClientId

AUDIT_NUMBER_PURPOSE = "audit-number"
_DAY = 86400
log = logging.getLogger("breachwatch.guard")


class AuditLog:
    """Appends records to DIR/audit-YYYY-MM-DD.jsonl (UTC day of the check); past `max_bytes` a file is
    closed and the next one is audit-YYYY-MM-DD.N.jsonl. Several processes may append to one directory (a
    server's workers): each batch is one append, and the size that rotates a file is the file's own."""

    def __init__(self, directory: Path, master: bytes, max_bytes: int = 64 * 1024 * 1024,
                 flush_lines: int = 512, flush_seconds: float = 1.0) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.flush_lines = flush_lines
        self.flush_seconds = flush_seconds
        self._key = derive_key(master, AUDIT_NUMBER_PURPOSE)
        self._pending: list[tuple[str, bytes]] = []  # (UTC day, line), oldest first
        self._pending_lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()    # one flush at a time, so batches reach the file in order
        self._handle: IO[bytes] | None = None
        self._day = ""
        self._part = 0
        self._size = 0
        self._day_start = 0.0
        self._day_end = -1.0
        self._day_text = ""
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        atexit.register(self.flush)

    def number_hash(self, e164: str) -> str:
        """Keyed BLAKE2b of an E.164 number, 32 hex characters (same number, same hash, for this key)."""
        return hashlib.blake2b(e164.encode(), key=self._key, digest_size=16).hexdigest()

    def record_checks(self, client: ClientId, numbers: Sequence[str], found: Sequence[int], decision: str,
                      now: float) -> None:
        """One line per answered number."""
        t = round(now, 3)
        key, ip, subnet = client.key, client.ip, client.subnet
        dumps = orjson.dumps
        self._add(now, [dumps({"t": t, "key": key, "ip": ip, "subnet": subnet, "number": self.number_hash(n),
                               "found": int(f), "decision": decision})
                        for n, f in zip(numbers, found, strict=True)])

    def record_denied(self, client: ClientId, count: int, kind: str, decision: str, now: float) -> None:
        """One line for a refused request of `count` numbers (the numbers themselves were never looked at)."""
        line = orjson.dumps({"t": round(now, 3), "key": client.key, "ip": client.ip, "subnet": client.subnet,
                             "kind": kind, "numbers": count, "decision": decision})
        self._add(now, [line])

    def record_private(self, client: ClientId, kind: str, count: int, decision: str, now: float) -> None:
        """One line for a private-check request: `count` evaluations (kind 'oprf') or a bucket download
        (kind 'bucket'); nothing of what was asked (element, bucket) is recorded."""
        line = orjson.dumps({"t": round(now, 3), "key": client.key, "ip": client.ip, "subnet": client.subnet,
                             "kind": kind, "count": count, "decision": decision})
        self._add(now, [line])

    def _day_of(self, now: float) -> str:
        if not self._day_start <= now < self._day_end:
            start = now - now % _DAY
            self._day_text = dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%d")
            self._day_start, self._day_end = start, start + _DAY
        return self._day_text

    def _add(self, now: float, lines: list[bytes]) -> None:
        if not lines:
            return
        with self._pending_lock:
            day = self._day_of(now)
            pending = self._pending
            was_empty = not pending
            if len(lines) == 1:  # a single check, nearly always: no generator to set up
                pending.append((day, lines[0]))
            else:
                pending.extend([(day, line) for line in lines])
            due = len(pending) >= self.flush_lines or self._closed.is_set()
            if was_empty and not due and self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_periodically, name="audit-flush", daemon=True)
                self._flusher.start()
        if due:
            self.flush()
        elif was_empty:
            self._wake.set()

    def _flush_periodically(self) -> None:
        # Woken when the buffer stops being empty; flushes flush_seconds later, so no line waits longer.
        while not self._closed.is_set():
            self._wake.wait()
            self._wake.clear()
            self._closed.wait(self.flush_seconds)
            try:
                self.flush()
            except OSError as exc:  # e.g. a full disk: say so, and keep flushing what comes next
                log.error("audit log: a batch could not be written (%s: %s)", type(exc).__name__, exc)

    def flush(self) -> None:
        """Append every buffered line to its file now."""
        with self._write_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            if self._handle is not None:
                # Other processes (the server's other workers) append to the same file: go by its real size.
                self._size = os.fstat(self._handle.fileno()).st_size
            chunk: list[bytes] = []
            for day, line in batch:
                if self._handle is None or day != self._day or self._size >= self.max_bytes:
                    self._write(chunk)
                    chunk = []
                    self._open(day)
                chunk.append(line)
                self._size += len(line) + 1
            self._write(chunk)

    def _write(self, lines: list[bytes]) -> None:
        if lines:
            assert self._handle is not None
            self._handle.write(b"\n".join(lines) + b"\n")
            self._handle.flush()

    def _open(self, day: str) -> None:
        if self._handle is not None:
            self._handle.close()
        if not self.directory.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        self._part = self._part if day == self._day else 0  # the loop below moves past full parts
        self._day = day
        while True:
            suffix = f".{self._part}" if self._part else ""
            path = self.directory / f"audit-{day}{suffix}.jsonl"
            size = path.stat().st_size if path.exists() else 0
            if size < self.max_bytes:
                break
            self._part += 1
        # Owner-only from creation: the records hold keyed hashes of numbers, keys and addresses.
        self._handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        self._size = size

    def close(self) -> None:
        """Write what is buffered, stop the flushing thread and close the current file (lines recorded after
        this are written at once)."""
        self._closed.set()
        self._wake.set()
        self.flush()
        with self._write_lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
        atexit.unregister(self.flush)
