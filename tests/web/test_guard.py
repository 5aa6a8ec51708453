"""The guard in the real request path: over HTTP on 127.0.0.1, a sweeping client is stopped and learns nothing
after it is caught, a person checking a few numbers is not, and the audit log holds no number, key or address."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from breachwatch.services import Services
from tests.support.http import build_home, serve_in_thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Services]]:
    services, truth = build_home(tmp_path)
    scraper_key, _ = services.api_keys.create("scraper", ["check"])
    person_key, _ = services.api_keys.create("person", ["check"])
    base_url, server, thread = serve_in_thread(services)
    try:
        yield base_url, {"scraper": scraper_key, "person": person_key, "leaked": next(iter(truth["numbers"]))}, \
            services
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_sequential_sweep_is_stopped_and_a_person_is_not(server: tuple[str, dict[str, str], Services]) -> None:
    base_url, keys, services = server
    statuses: list[int] = []
    with httpx.Client(base_url=base_url, timeout=10, headers={"user-agent": "sweeper"}) as http:
        # A person checking their own number a few times is answered.
        for _ in range(3):
            mine = http.get(f"/api/v1/check/{keys['leaked']}", headers={"hibp-api-key": keys["person"]})
            assert mine.status_code == 200 and mine.json()["found"] is True
        for n in range(400):
            r = http.get(f"/api/v1/check/+2010012{n:05d}", headers={"hibp-api-key": keys["scraper"]})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) > 0
                break
        assert 429 in statuses, "a sequential sweep of 400 numbers was never stopped"
        stopped_after = statuses.index(429)
        assert stopped_after < 100
        # Once caught, the sweeper's next request is refused too (blocked, not answered).
        again = http.get("/api/v1/check/+201001299999", headers={"hibp-api-key": keys["scraper"]})
        assert again.status_code == 429
    with httpx.Client(base_url="http://127.0.0.1:" + base_url.rsplit(":", 1)[1], timeout=10,
                      headers={"user-agent": "person"}) as http:
        # The sweeper's address stays blocked for a while, whoever asks from it (a person behind the same NAT
        # is told when to come back; a person elsewhere is not affected, their key is not the sweeper's).
        r = http.get(f"/api/v1/check/{keys['leaked']}", headers={"hibp-api-key": keys["person"]})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert r.headers["content-type"].startswith("application/problem+json")
    services.guard.flush()  # the audit log is written in batches; a flush (or a clean stop) writes the rest
    audit = "".join(p.read_text() for p in (services.config.home / "audit").rglob("*") if p.is_file())
    assert audit, "no audit records were written"
    for secret in (keys["scraper"], keys["person"], "127.0.0.1", keys["leaked"].lstrip("+"), "201001200000"):
        assert secret not in audit


def test_no_scope_bypasses_the_detector(tmp_path: Path) -> None:
    """An admin key sweeping a range is stopped like any other: no scope is exempt from profiling."""
    services, _ = build_home(tmp_path)
    admin, _ = services.api_keys.create("ops", ["admin"])
    base_url, server, thread = serve_in_thread(services)
    try:
        with httpx.Client(base_url=base_url, timeout=10, headers={"hibp-api-key": admin}) as http:
            statuses = [http.get(f"/api/v1/check/+2010012{n:05d}").status_code for n in range(100)]
            batch = http.post("/api/v1/check", json={"numbers": [f"+2010013{n:05d}" for n in range(100)]})
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()
    assert 429 in statuses and statuses.index(429) < 60, statuses
    assert batch.status_code == 429


def _audit_records(home: Path) -> list[dict[str, Any]]:
    files = (home / "audit").glob("*.jsonl") if (home / "audit").exists() else []
    return [json.loads(line) for p in files for line in p.read_text().splitlines()]


def test_a_clean_stop_writes_the_buffered_audit_records(tmp_path: Path) -> None:
    services, truth = build_home(tmp_path)
    key, _ = services.api_keys.create("person", ["check"])
    audit = services.guard.audit
    assert audit is not None
    audit.flush_seconds = 3600.0  # only the server's stop can write these records
    leaked = next(iter(truth["numbers"]))
    base_url, server, thread = serve_in_thread(services)
    try:
        with httpx.Client(base_url=base_url, timeout=10, headers={"user-agent": "t", "hibp-api-key": key}) as http:
            for _ in range(3):
                assert http.get(f"/api/v1/check/{leaked}").status_code == 200
        assert _audit_records(services.config.home) == []  # still buffered
    finally:
        server.should_exit = True
        thread.join(10)
    records = _audit_records(services.config.home)
    assert [r["number"] for r in records] == [audit.number_hash(leaked)] * 3
    assert all(r["found"] >= 1 and r["decision"] == "ok" for r in records)
    services.close()
