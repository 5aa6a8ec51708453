"""The notification routes are mounted in the main app: public subscribing (rate-limited), admin-only organisations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.http import build_home, serve_in_thread


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    services, _truth = build_home(tmp_path)
    key, _ = services.api_keys.create("check-only", ["check"])
    admin, _ = services.api_keys.create("ops", ["admin"])
    base_url, server, thread = serve_in_thread(services)
    try:
        yield base_url, key, admin
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_subscribe_and_organisations_through_the_main_app(app_server: tuple[str, str, str]) -> None:
    base_url, key, admin = app_server
    with httpx.Client(base_url=base_url, timeout=10, headers={"user-agent": "t"}) as http:
        r = http.post("/api/v1/subscriptions", json={"number": "+32470123456", "email": "a@example.com"})
        assert r.status_code == 202 and "id" in r.json()
        assert "+32470123456" not in r.text
        assert http.get("/api/v1/organisations").status_code == 401
        assert http.get("/api/v1/organisations", headers={"hibp-api-key": key}).status_code == 403
        made = http.post("/api/v1/organisations", headers={"hibp-api-key": admin},
                         json={"name": "acme", "ranges": ["+3222000000-+3222000099"],
                               "webhook_url": "https://hooks.example/acme"})
        assert made.status_code == 201, made.text
        listed = http.get("/api/v1/organisations", headers={"hibp-api-key": admin}).json()
        assert [o["name"] for o in listed] == ["acme"]
        # Anonymous subscribing is rate-limited per address: it sends SMS.
        codes = [http.post("/api/v1/subscriptions", json={"number": f"+3247012{n:04d}"}).status_code
                 for n in range(60)]
        assert 429 in codes
