"""Subscribing cannot be turned against people or the operator's SMS bill: other sites cannot make their
visitors subscribe, per-number caps hold under concurrency (SQLite and PostgreSQL), a daily cap per number,
a global SMS budget per hour, verify attempts limited per number, and the email link confirms only on POST.
All on the real app over real HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from breachwatch.config import load_config
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from tests.support.backends import postgres_schema_url
from tests.support.cli import TEST_KEY
from tests.support.http import serve_in_thread
from tests.support.notify import OPEN_GUARD, smtp_server

NUMBER = "+447911654321"
OTHERS = ["+447911654322", "+447911654323", "+447911654324", "+447911654325", "+447911654326"]
#: Limits of the generic guard opened wide, so that only the subscription caps under test can refuse.
def _codes_sent(home: Path, number: str) -> int:
    path = home / "sms.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if json.loads(line)["to"] == mask_e164(number))


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    home = tmp_path / "home"
    environ = {"BREACHWATCH_SECRET_KEY": TEST_KEY, "BREACHWATCH_SMS_PER_HOUR": "1000", **OPEN_GUARD}
    with (postgres_schema_url() if request.param == "postgresql" else _no_url()) as url:
        if url is not None:
            environ["BREACHWATCH_DATABASE_URL"] = url
        services = Services(load_config(environ=environ, home=home))
        now = [1_000_000.0]
        services.notifier.clock = lambda: now[0]
        base_url, server, thread = serve_in_thread(services)
        try:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                yield {"client": client, "home": home, "now": now, "base_url": base_url, "services": services}
        finally:
            server.should_exit = True
            thread.join(10)
            services.close()


class _no_url:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _subscribe(client: httpx.Client, number: str, **headers: str) -> httpx.Response:
    return client.post("/api/v1/subscriptions", json={"number": number, "webhook_url": "https://hooks.test/a"},
                       headers=headers)


def test_other_sites_cannot_make_visitors_subscribe(served: dict[str, Any]) -> None:
    client: httpx.Client = served["client"]
    body = json.dumps({"number": NUMBER, "webhook_url": "https://hooks.test/a"})
    plain = client.post("/api/v1/subscriptions", content=body, headers={"content-type": "text/plain",
                                                                        "origin": "https://evil.test"})
    form = client.post("/api/v1/subscriptions", data={"number": NUMBER})
    foreign = _subscribe(client, NUMBER, origin="https://evil.test")
    fetched = _subscribe(client, NUMBER, **{"sec-fetch-site": "cross-site"})
    assert (plain.status_code, form.status_code, foreign.status_code, fetched.status_code) == (403, 415, 403, 403)
    assert plain.headers["content-type"] == "application/problem+json"
    assert _codes_sent(served["home"], NUMBER) == 0
    # This site's own page (the Origin of the host it was sent to) and clients without an Origin may subscribe.
    assert _subscribe(client, NUMBER, origin=served["base_url"]).status_code == 202
    assert _subscribe(client, NUMBER).status_code == 202
    assert _codes_sent(served["home"], NUMBER) == 2


def test_concurrent_subscribes_never_pass_the_per_number_cap(served: dict[str, Any]) -> None:
    client: httpx.Client = served["client"]
    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(lambda _: _subscribe(client, NUMBER).status_code, range(30)))
    assert statuses.count(202) == 3 and statuses.count(429) == 27, statuses
    assert _codes_sent(served["home"], NUMBER) == 3


def test_daily_cap_per_number(served: dict[str, Any]) -> None:
    client: httpx.Client = served["client"]
    sent = 0
    for _ in range(3):  # three code lifetimes of one day: 3 + 2 codes, then the day is spent
        for _ in range(3):
            sent += _subscribe(client, NUMBER).status_code == 202
        served["now"][0] += 601
    assert sent == 5
    refused = _subscribe(client, NUMBER)
    assert refused.status_code == 429 and "today" in refused.json()["detail"]
    served["now"][0] += 86_400
    assert _subscribe(client, NUMBER).status_code == 202


def test_global_sms_budget_per_hour(served: dict[str, Any]) -> None:
    client: httpx.Client = served["client"]
    subscriptions = served["services"].notifier.subscriptions
    subscriptions.policy = dataclasses.replace(subscriptions.policy, sms_per_hour=4)
    statuses = [_subscribe(client, n).status_code for n in OTHERS]
    assert statuses == [202, 202, 202, 202, 429]
    refused = _subscribe(client, OTHERS[-1])
    assert refused.status_code == 429 and "this hour" in refused.json()["detail"]
    served["now"][0] += 3600
    assert _subscribe(client, OTHERS[-1]).status_code == 202


def test_verify_attempts_are_limited_per_number(served: dict[str, Any]) -> None:
    """New codes do not buy new guesses: ten attempts per number per day, over all its subscriptions."""
    client: httpx.Client = served["client"]
    statuses = []
    for _ in range(4):  # a fresh subscription (and code) every code lifetime, 3 wrong guesses each
        sub = _subscribe(client, NUMBER).json()
        for _ in range(3):
            statuses.append(client.post("/api/v1/subscriptions/verify",
                                        json={"id": sub["id"], "code": "000000"}).status_code)
        served["now"][0] += 601
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]


def test_email_link_confirms_only_on_post(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with smtp_server() as (port, mailbox):
        services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY, "BREACHWATCH_SMTP_HOST":
                                                 "127.0.0.1", "BREACHWATCH_SMTP_PORT": str(port),
                                                 "BREACHWATCH_SMTP_TLS": "none", **OPEN_GUARD}, home=home))
        base_url, server, thread = serve_in_thread(services)
        try:
            with httpx.Client(base_url=base_url, timeout=30) as client:
                sub = client.post("/api/v1/subscriptions", json={"number": NUMBER, "email": "a@mail.test"}).json()
                (message,) = mailbox.to("a@mail.test")
                payload = message.get_payload(decode=True)
                assert isinstance(payload, bytes)
                link = next(w for w in payload.decode().split() if "/confirm?token=" in w)
                path = link.split("://", 1)[1].split("/", 1)[1]
                page = client.get("/" + path)
                assert page.status_code == 200 and '<form method="post"' in page.text
                assert not services.notifier.store.get_subscription(sub["id"]).email_confirmed  # a scanner's GET
                assert client.post("/" + path, headers={"origin": "https://evil.test"}).status_code == 403
                assert client.post("/" + path).status_code == 200
                assert services.notifier.store.get_subscription(sub["id"]).email_confirmed
        finally:
            server.should_exit = True
            thread.join(10)
            services.close()
