"""Breach alerts on the page over HTTP: forms need this site's CSRF token and origin, answers are the same for a
leaked and a clean number (the flow never looks at the index), the subscription keeps its language and nothing
else new about the person, and the JSON API takes the language too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from tests.support.http import Server, running_server
from tests.support.notify import smtp_server
from tests.support.page import SmsGateway, delivery_env


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    gateway = SmsGateway().start()
    with smtp_server() as (port, box):
        for srv in running_server(tmp_path_factory.mktemp("alerts"), environ=delivery_env(gateway, port)):
            yield {"srv": srv, "gateway": gateway, "box": box}
    gateway.stop()


def _form(client: httpx.Client, lang: str = "en") -> str:
    page = client.get("/alerts", params={"lang": lang})
    found = re.search(r'name="csrf" value="(\w+)"', page.text)
    assert found is not None
    return found.group(1)


def _subscribe(client: httpx.Client, number: str, email: str, lang: str = "en") -> httpx.Response:
    token = _form(client, lang)
    return client.post("/alerts", data={"csrf": token, "number": number, "email": email},
                       headers={"origin": str(client.base_url).rstrip("/")})


def _shape(html: str) -> str:
    """A page without what differs between two subscriptions (ids, tokens, the address typed)."""
    return re.sub(r'value="[^"]*"|[\w.+-]+@mail\.test', "", html)


def test_forms_need_the_token_and_this_site(site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    with httpx.Client(base_url=srv.base_url) as client:
        token = _form(client)
        data = {"csrf": token, "number": srv.clean, "email": "a@mail.test"}
        assert client.post("/alerts", data={**data, "csrf": "0" * 32}).status_code == 403
        assert client.post("/alerts", data=data, headers={"origin": "https://evil.example"}).status_code == 403
        assert client.post("/alerts", data=data, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    with httpx.Client(base_url=srv.base_url) as other:  # another browser: its cookie, not this token
        other.get("/alerts")
        assert other.post("/alerts", data=data).status_code == 403
    assert not [m for m in site["gateway"].messages if m["to"] == srv.clean]


def test_same_answer_for_leaked_and_clean_numbers_without_the_index(site: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    srv: Server = site["srv"]

    def no_index(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the subscribe flow looked at the index")

    monkeypatch.setattr(type(srv.services.checker), "check", no_index)
    monkeypatch.setattr(type(srv.services.checker), "check_many", no_index)
    with httpx.Client(base_url=srv.base_url) as client:
        leaked = _subscribe(client, srv.both, "leaked@mail.test")
        clean = _subscribe(client, srv.clean, "clean@mail.test")
    assert leaked.status_code == clean.status_code == 200
    assert _shape(leaked.text) == _shape(clean.text)


def test_the_subscription_keeps_its_language_and_nothing_more(site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    gateway: SmsGateway = site["gateway"]
    with httpx.Client(base_url=srv.base_url) as client:
        answer = _subscribe(client, srv.leaked_eg, "tr@mail.test", lang="tr")
        assert answer.status_code == 200 and answer.headers["content-language"] == "tr"
        sub_id = re.search(r'name="id" value="(\w+)"', answer.text).group(1)  # type: ignore[union-attr]
        assert "breachwatch kodunuz" in gateway.last_to(srv.leaked_eg)["text"]
        wrong = client.post("/alerts/verify", data={"csrf": re.search(r'name="csrf" value="(\w+)"', answer.text)
                                                    .group(1), "id": sub_id, "code": "000000"},  # type: ignore[union-attr]
                            headers={"origin": srv.base_url})
        assert wrong.status_code == 400 and "Bu kod yanlış" in wrong.text
    store = srv.services.notifier.store
    sub = store.get_subscription(sub_id)
    assert sub is not None and sub.language == "tr" and sub.email == "tr@mail.test"
    columns = {c["name"] for c in inspect(srv.services.catalog.engine).get_columns("notify_subscriptions")}
    assert columns == {"id", "number_hash", "number_masked", "channel", "email", "webhook_url", "code_hash",
                       "code_expires", "code_attempts", "number_verified", "email_confirmed", "active", "created",
                       "language"}
    digits = srv.leaked_eg.lstrip("+")
    assert all(digits not in str(value) for value in vars(sub).values())


def test_the_api_takes_a_language(site: dict[str, Any]) -> None:
    srv: Server = site["srv"]
    with httpx.Client(base_url=srv.base_url) as client:
        ok = client.post("/api/v1/subscriptions", json={"number": srv.hidden, "email": "api@mail.test",
                                                        "language": "ru"})
        assert ok.status_code == 202
        assert srv.services.notifier.store.get_subscription(ok.json()["id"]).language == "ru"  # type: ignore[union-attr]
        bad = client.post("/api/v1/subscriptions", json={"number": srv.hidden, "email": "api@mail.test",
                                                         "language": "xx"})
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"


def test_link_pages_answer_in_the_links_language(site: dict[str, Any], tmp_path: Path) -> None:
    srv: Server = site["srv"]
    subs = srv.services.notifier.subscriptions
    result = subs.subscribe("+201001234999", "link@mail.test", language="ar")
    url = subs.unsubscribe_path(result.id, "ar")
    with httpx.Client(base_url=srv.base_url, headers={"accept": "text/html"}) as client:
        page = client.get(url)
        assert page.status_code == 200 and 'dir="rtl"' in page.text and "+20100" in page.text
        assert client.get(url.replace("token=", "token=x")).status_code == 400
        stopped = client.post(url)
        assert stopped.status_code == 200 and "أُوقفت التنبيهات" in stopped.text
    assert subs.store.get_subscription(result.id) is None
