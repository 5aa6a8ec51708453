"""The guard in the real request path: over HTTP on 127.0.0.1, a sweeping client is stopped and learns nothing
after it is caught, a person checking a few numbers is not, and the audit log holds no number, key or address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from http_support import build_home, serve_in_thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    services, truth = build_home(tmp_path)
    scraper_key, _ = services.api_keys.create("scraper", ["check"])
    person_key, _ = services.api_keys.create("person", ["check"])
    base_url, server, thread = serve_in_thread(services)
    try:
        yield base_url, {"scraper": scraper_key, "person": person_key, "leaked": next(iter(truth["numbers"]))}, \
            services.config.home
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_sequential_sweep_is_stopped_and_a_person_is_not(server: tuple[str, dict[str, str], Path]) -> None:
    base_url, keys, home = server
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
        # Another client on the same machine is a different key: checking its own number still works.
        r = http.get(f"/api/v1/check/{keys['leaked']}", headers={"hibp-api-key": keys["person"]})
        print("PERSON", r.status_code, r.text[:200])
    audit = "".join(p.read_text() for p in (home / "audit").rglob("*") if p.is_file())
    assert audit, "no audit records were written"
    for secret in (keys["scraper"], keys["person"], "127.0.0.1", keys["leaked"].lstrip("+"), "201001200000"):
        assert secret not in audit
