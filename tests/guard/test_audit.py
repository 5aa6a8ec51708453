"""The audit log: a line per check with keyed hashes only, denials recorded, rotation by size and day."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from breachwatch.guard.audit import AuditLog
from breachwatch.guard.facade import Guard
from breachwatch.guard.policy import Limit, Policy
from tests.support.guard import client

MIDNIGHT = 1_800_057_600.0  # 2027-01-16 00:00:00 UTC
RAW_KEY, RAW_IP = "bw_live_TOPSECRETKEY", "203.0.113.45"
NUMBERS = ["+201001234567", "+393331234567", "+12025550143"]


def test_every_check_is_recorded_with_hashes_only(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit", b"\x07" * 32)
    policy = Policy(limits={**Policy().limits, "key": (Limit(3, 3600),)})
    guard = Guard(policy, audit=audit)
    who = client(RAW_KEY, RAW_IP)
    now = MIDNIGHT + 3600
    assert guard.admit(client=who, numbers=3, kind="check", now=now).allowed
    guard.observe(client=who, e164_numbers=NUMBERS, found=[2, 0, 1], now=now)
    assert not guard.admit(client=who, numbers=2, kind="check", now=now + 1).allowed
    guard.close()
    files = sorted((tmp_path / "audit").iterdir())
    assert [f.name for f in files] == ["audit-2027-01-16.jsonl"]
    text = files[0].read_text()
    for secret in (RAW_KEY, RAW_IP, "TOPSECRET", "203.0.113", *NUMBERS, *(n[1:] for n in NUMBERS), "5550143"):
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["found"] for r in records[:3]] == [2, 0, 1]
    assert {r["number"] for r in records[:3]} == {audit.number_hash(n) for n in NUMBERS}
    assert all(r["key"] == who.key and r["ip"] == who.ip and r["subnet"] == who.subnet for r in records)
    assert records[3] == {"t": now + 1, "key": who.key, "ip": who.ip, "subnet": who.subnet, "kind": "check",
                          "numbers": 2, "decision": "denied:limit:key"}


def test_rotates_by_size_and_by_day_and_only_appends(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, b"\x07" * 32, max_bytes=1000)
    who = client(None, RAW_IP)
    for i in range(30):
        audit.record_checks(who, [NUMBERS[i % 3]], [0], "ok", MIDNIGHT - 100 + i * 5)  # crosses midnight
    audit.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith("audit-2027-01-15") for n in names)
    assert any(n.startswith("audit-2027-01-16.") and n.count(".") == 2 for n in names)  # a size rotation
    assert all(p.stat().st_size <= 1000 + 400 for p in tmp_path.iterdir())
    lines = sum(len(p.read_text().splitlines()) for p in tmp_path.iterdir())
    assert lines == 30
    again = AuditLog(tmp_path, b"\x07" * 32, max_bytes=1000)  # a restart appends, never truncates
    again.record_checks(who, [NUMBERS[0]], [1], "ok", MIDNIGHT + 200)
    again.close()
    assert sum(len(p.read_text().splitlines()) for p in tmp_path.iterdir()) == 31


def test_processes_sharing_a_directory_rotate_by_the_files_real_size(tmp_path: Path) -> None:
    # Two workers of one server append to the same day's file: each must see the other's lines when deciding
    # to rotate, or a file grows to twice max_bytes.
    first = AuditLog(tmp_path, b"\x07" * 32, max_bytes=2000, flush_lines=1)
    second = AuditLog(tmp_path, b"\x07" * 32, max_bytes=2000, flush_lines=1)
    who = client(None, RAW_IP)
    for i in range(60):
        (first if i % 2 else second).record_checks(who, [NUMBERS[i % 3]], [i], "ok", MIDNIGHT + i)
    first.close()
    second.close()
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    line = max(len(raw) + 1 for p in tmp_path.iterdir() for raw in p.read_bytes().splitlines())
    assert len(sizes) >= 3 and max(sizes) <= 2000 + line
    assert sorted(r["found"] for r in _lines(tmp_path)) == list(range(60))


def _lines(directory: Path) -> list[dict[str, Any]]:
    if not directory.exists():
        return []
    records = [json.loads(line) for p in directory.iterdir() for line in p.read_text().splitlines()]
    return sorted(records, key=lambda r: float(r["t"]))


def test_lines_are_appended_in_batches_of_flush_lines(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, b"\x07" * 32, flush_lines=3, flush_seconds=3600)
    who = client(RAW_KEY, RAW_IP)
    audit.record_checks(who, NUMBERS[:2], [1, 0], "ok", MIDNIGHT + 10)
    assert _lines(tmp_path) == []  # buffered: two lines wait for a third
    audit.record_denied(who, 5, "check", "denied:limit:key", MIDNIGHT + 11)
    records = _lines(tmp_path)
    assert [r.get("found", r.get("numbers")) for r in records] == [1, 0, 5]
    audit.close()


def test_buffered_lines_reach_the_file_after_flush_seconds(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, b"\x07" * 32, flush_lines=1000, flush_seconds=0.05)
    audit.record_checks(client(None, RAW_IP), [NUMBERS[0]], [2], "ok", MIDNIGHT + 10)
    deadline = time.monotonic() + 10
    while not _lines(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["found"] for r in _lines(tmp_path)] == [2]
    audit.record_checks(client(None, RAW_IP), [NUMBERS[1]], [0], "ok", MIDNIGHT + 20)  # the thread wakes again
    while len(_lines(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["found"] for r in _lines(tmp_path)] == [2, 0]
    audit.close()


def test_close_writes_everything_and_later_lines_are_written_at_once(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path, b"\x07" * 32, flush_lines=1000, flush_seconds=3600)
    who = client(RAW_KEY, RAW_IP)
    for i in range(10):
        audit.record_checks(who, [NUMBERS[i % 3]], [i], "ok", MIDNIGHT + i)
    assert _lines(tmp_path) == []
    audit.close()
    assert [r["found"] for r in _lines(tmp_path)] == list(range(10))
    audit.record_checks(who, [NUMBERS[0]], [99], "ok", MIDNIGHT + 50)  # after close: nothing may wait in memory
    assert [r["found"] for r in _lines(tmp_path)][-1] == 99
    audit.close()


def test_a_failed_timed_write_is_logged_and_the_thread_keeps_going(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "audit"
    blocker.write_text("a file where the audit directory should be")
    audit = AuditLog(blocker, b"\x07" * 32, flush_lines=1000, flush_seconds=0.02)
    with caplog.at_level(logging.ERROR, logger="breachwatch.guard"):
        audit.record_checks(client(RAW_KEY, RAW_IP), [NUMBERS[0]], [1], "ok", MIDNIGHT)
        deadline = time.monotonic() + 10
        while "could not be written" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "could not be written" in caplog.text
        blocker.unlink()  # the disk is fine again: the next batch is written by the same thread
        audit.record_checks(client(RAW_KEY, RAW_IP), [NUMBERS[1]], [0], "ok", MIDNIGHT + 1)
        while not _lines(blocker) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [r["found"] for r in _lines(blocker)] == [0]
    assert all(n[1:] not in caplog.text for n in NUMBERS)
    audit.close()
