"""The audit log: a line per check with keyed hashes only, denials recorded, rotation by size and day."""

from __future__ import annotations

import json
from pathlib import Path

from breachwatch.guard.audit import AuditLog
from breachwatch.guard.facade import Guard
from breachwatch.guard.policy import Limit, Policy
from guard_support import client

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
