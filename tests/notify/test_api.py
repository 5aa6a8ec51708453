"""The notification HTTP routes on a real uvicorn server: subscribe/verify/unsubscribe, identical failures for
leaked and clean numbers, admin-only organisation endpoints, problem+json errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from breachwatch.web import create_app
from tests.support.notify import OPEN_GUARD, free_port, sms_code

KEY = "42" * 32
LEAKED = "+201001234567"
CLEAN = "+447911654321"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[dict[str, Any]]:
    home = tmp_path / "home"
    now = [1_000_000.0]
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": KEY, "BREACHWATCH_NOTIFY_CODE_TTL": "600",
                                             "BREACHWATCH_NOTIFY_CODE_ATTEMPTS": "3", **OPEN_GUARD}, home=home))
    dump = tmp_path / "leak.txt"
    dump.write_text(LEAKED + "\n+12025550123\n")
    services.ingest(dump, IngestOptions(breach="Known"))
    services.notifier.clock = lambda: now[0]
    admin_key, _ = services.api_keys.create("admin", ["admin"])
    app = create_app(services)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield {"client": client, "services": services, "home": home, "now": now, "admin": admin_key}
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def _failure(response: httpx.Response) -> tuple[int, str, Any]:
    return response.status_code, response.headers["content-type"], response.json()


def test_subscribe_and_failures_never_reveal_a_leak(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    a = client.post("/api/v1/subscriptions", json={"number": LEAKED, "webhook_url": "https://hooks.test/a"})
    b = client.post("/api/v1/subscriptions", json={"number": CLEAN, "webhook_url": "https://hooks.test/a"})
    assert a.status_code == b.status_code == 202
    strip = lambda r: {k: v for k, v in r.json().items()  # noqa: E731
                       if k not in ("id", "webhook_secret", "unsubscribe_token")}
    assert strip(a) == strip(b) == {"status": "pending", "channel": "webhook",
                                    "detail": "A code was sent by SMS to the number; POST it to "
                                              "/api/v1/subscriptions/verify."}
    ida, idb = a.json()["id"], b.json()["id"]

    wrong_a = client.post("/api/v1/subscriptions/verify", json={"id": ida, "code": "000000"})
    wrong_b = client.post("/api/v1/subscriptions/verify", json={"id": idb, "code": "000000"})
    unknown = client.post("/api/v1/subscriptions/verify", json={"id": "nope", "code": "000000"})
    assert _failure(wrong_a) == _failure(wrong_b) == _failure(unknown)
    assert wrong_a.status_code == 400
    assert wrong_a.headers["content-type"] == "application/problem+json"
    assert wrong_a.json()["detail"] == "invalid or expired code"

    # Expired: the right code, too late, fails the same way for both.
    code_a, code_b = sms_code(api["home"], mask_e164(LEAKED)), sms_code(api["home"], mask_e164(CLEAN))
    api["now"][0] += 601
    late_a = client.post("/api/v1/subscriptions/verify", json={"id": ida, "code": code_a})
    late_b = client.post("/api/v1/subscriptions/verify", json={"id": idb, "code": code_b})
    assert _failure(late_a) == _failure(late_b) == _failure(wrong_a)


def test_attempts_are_limited_and_codes_single_use(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    sub = client.post("/api/v1/subscriptions", json={"number": LEAKED, "webhook_url": "https://hooks.test/a"}).json()
    code = sms_code(api["home"], mask_e164(LEAKED))
    for _ in range(3):
        assert client.post("/api/v1/subscriptions/verify", json={"id": sub["id"], "code": "999999"}).status_code == 400
    exhausted = client.post("/api/v1/subscriptions/verify", json={"id": sub["id"], "code": code})
    assert exhausted.status_code == 400 and exhausted.json()["detail"] == "invalid or expired code"

    other = client.post("/api/v1/subscriptions", json={"number": CLEAN, "webhook_url": "https://hooks.test/b"}).json()
    code = sms_code(api["home"], mask_e164(CLEAN))
    ok = client.post("/api/v1/subscriptions/verify", json={"id": other["id"], "code": code})
    assert ok.status_code == 200 and ok.json() == {"id": other["id"], "status": "verified"}
    again = client.post("/api/v1/subscriptions/verify", json={"id": other["id"], "code": code})
    assert again.status_code == 400
    assert api["services"].notifier.store.get_subscription(other["id"]).active


def test_codes_per_number_are_limited(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    for _ in range(3):
        ok = client.post("/api/v1/subscriptions", json={"number": CLEAN, "email": "x@mail.test"})
        assert ok.status_code == 202
    refused = client.post("/api/v1/subscriptions", json={"number": CLEAN, "email": "x@mail.test"})
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"


def test_bad_requests_are_problems(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    cases = [
        ({"number": "12", "email": "x@mail.test"}, "Invalid number"),
        ({"number": CLEAN}, "Invalid request"),
        ({"number": CLEAN, "email": "not-an-address"}, "Invalid request"),
        ({"number": CLEAN, "webhook_url": "ftp://x.test/"}, "Invalid request"),
        ({"number": CLEAN, "webhook_url": "http://169.254.169.254/latest/meta-data/"}, "Invalid request"),
        ({"number": CLEAN, "webhook_url": "http://0x7f000001:6379/"}, "Invalid request"),
    ]
    for body, title in cases:
        response = client.post("/api/v1/subscriptions", json=body)
        assert response.status_code == 400, body
        assert response.json()["title"] == title
    assert client.post("/api/v1/subscriptions", content=b"{not json").status_code == 415
    assert client.post("/api/v1/subscriptions", content=b"{not json",
                       headers={"content-type": "application/json"}).status_code == 400


def test_unsubscribe_with_the_token_only(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    sub = client.post("/api/v1/subscriptions", json={"number": CLEAN, "webhook_url": "https://hooks.test/a"}).json()
    wrong = client.delete(f"/api/v1/subscriptions/{sub['id']}", params={"token": "0" * 40})
    assert wrong.status_code == 403 and wrong.headers["content-type"] == "application/problem+json"
    page = client.get(f"/api/v1/subscriptions/{sub['id']}/unsubscribe", params={"token": sub["unsubscribe_token"]})
    assert page.status_code == 200 and "<form method=\"post\"" in page.text  # GET never acts
    assert api["services"].notifier.store.get_subscription(sub["id"]) is not None
    gone = client.delete(f"/api/v1/subscriptions/{sub['id']}", params={"token": sub["unsubscribe_token"]})
    assert gone.status_code == 204
    assert api["services"].notifier.store.get_subscription(sub["id"]) is None
    assert client.delete(f"/api/v1/subscriptions/{sub['id']}",
                         params={"token": sub["unsubscribe_token"]}).status_code == 403


def test_organisation_endpoints_need_admin(api: dict[str, Any]) -> None:
    client: httpx.Client = api["client"]
    body = {"name": "Acme", "numbers": [LEAKED], "ranges": ["+3222000000-+3222000099"],
            "webhook_url": "https://hooks.test/acme"}
    assert client.post("/api/v1/organisations", json=body).status_code == 401
    assert client.post("/api/v1/organisations", json=body, headers={"hibp-api-key": "wrong"}).status_code == 401
    check_key, _ = api["services"].api_keys.create("app", ["check"])
    assert client.post("/api/v1/organisations", json=body, headers={"hibp-api-key": check_key}).status_code == 403
    admin = {"hibp-api-key": api["admin"]}
    created = client.post("/api/v1/organisations", json=body, headers=admin)
    assert created.status_code == 201
    assert created.json()["numbers"] == 101 and created.json()["webhook_secret"].startswith("whsec_")
    assert client.post("/api/v1/organisations", json=body, headers=admin).status_code == 409
    too_big = client.post("/api/v1/organisations", headers=admin,
                          json={**body, "name": "Big", "ranges": ["+3222000000-+3232000000"]})
    assert too_big.status_code == 400 and "at most 1,000,000" in too_big.json()["detail"]
    listed = client.get("/api/v1/organisations", headers=admin).json()
    assert [(o["name"], o["numbers"]) for o in listed] == [("Acme", 101)]
    assert client.delete("/api/v1/organisations/Acme", headers=admin).status_code == 204
    assert client.delete("/api/v1/organisations/Acme", headers=admin).status_code == 404
