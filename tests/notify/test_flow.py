"""End to end: subscribe -> verify -> ingest a breach holding the number -> exactly one email (real SMTP) and
one signed webhook (real HTTP) with the right content; a clean number gets nothing; retries after an outage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from breachwatch.client import verify_webhook_signature
from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from tests.support.notify import Mailbox, WebhookReceiver, body_of, link_in, sms_code, smtp_server

KEY = "42" * 32
LEAKED = "+201001234567"
ALSO_LEAKED = "+447911123456"
CLEAN = "+447911654321"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as server:
        yield server


def make_services(home: Path, smtp_port: int, **env: str) -> Services:
    environ = {"BREACHWATCH_SECRET_KEY": KEY, "BREACHWATCH_SMTP_HOST": "127.0.0.1",
               "BREACHWATCH_SMTP_PORT": str(smtp_port), "BREACHWATCH_SMTP_TLS": "none",
               "BREACHWATCH_PUBLIC_URL": "https://bw.example", **env}
    return Services(load_config(environ=environ, home=home))


def subscribe_email(services: Services, home: Path, number: str, address: str, box: Mailbox) -> str:
    subs = services.notifier.subscriptions
    result = subs.subscribe(number, email=address)
    subs.verify(result.id, sms_code(home, mask_e164(number)))
    confirm = link_in(box.to(address)[-1], "/confirm")
    token = parse_qs(urlsplit(confirm).query)["token"][0]
    subs.confirm_email(result.id, token)
    return result.id


def write_dump(path: Path, numbers: list[str]) -> Path:
    rows = ["msisdn,name,email"] + [f"{n.lstrip('+')},Person {i},p{i}@mail.test" for i, n in enumerate(numbers)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_subscribers_get_exactly_one_email_and_one_signed_webhook(tmp_path: Path, smtp: tuple[int, Mailbox]) -> None:
    port, box = smtp
    home = tmp_path / "home"
    receiver = WebhookReceiver().start()
    services = make_services(home, port, **receiver.allow_env)
    try:
        subs = services.notifier.subscriptions
        email_sub = subscribe_email(services, home, LEAKED, "mona@mail.test", box)
        clean_sub = subscribe_email(services, home, CLEAN, "clean@mail.test", box)
        hook = subs.subscribe(ALSO_LEAKED, webhook_url=receiver.url + "/hooks/bw")
        subs.verify(hook.id, sms_code(home, mask_e164(ALSO_LEAKED)))
        assert hook.webhook_secret and hook.unsubscribe_token
        assert services.notifier.store.get_subscription(email_sub)
        assert services.notifier.store.get_subscription(clean_sub)

        dump = write_dump(tmp_path / "leak.csv", [LEAKED, ALSO_LEAKED, "+12025550123", "+33612345678"])
        services.ingest(dump, IngestOptions(breach="SynthLeak", title="Synthetic Leak"))
        report = services.notifier.dispatcher().drain()
        assert report.delivered == 2 and report.retried == 0

        alerts = [m for m in box.messages if "Breachwatch-Idempotency-Key" in m]
        assert [m["To"] for m in alerts] == ["mona@mail.test"]
        mail = alerts[0]
        text = body_of(mail)
        key = mail["Breachwatch-Idempotency-Key"]
        assert mail["Message-ID"] == f"<{key}@breachwatch>"
        assert "Synthetic Leak" in mail["Subject"] and mask_e164(LEAKED) in mail["Subject"]
        assert LEAKED not in text and LEAKED.lstrip("+") not in text
        assert "Phone numbers, Names, Email addresses" in text
        assert "two-step verification" in text and "phishing emails" in text
        unsubscribe = link_in(mail, "/unsubscribe")
        assert unsubscribe.startswith(f"https://bw.example/api/v1/subscriptions/{email_sub}/unsubscribe?token=")
        assert mail["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert not box.to("clean@mail.test")[1:]  # only its confirmation email

        assert len(receiver.requests) == 1
        delivery = receiver.requests[0]
        assert delivery.path == "/hooks/bw"
        verify_webhook_signature(hook.webhook_secret, delivery.headers["breachwatch-signature"], delivery.body)
        body = json.loads(delivery.body)
        assert body["id"] == delivery.headers["idempotency-key"]
        assert body["type"] == "breach.match"
        assert body["breach"]["name"] == "SynthLeak" and body["number"] == mask_e164(ALSO_LEAKED)
        assert body["data_classes"] == ["Phone numbers", "Names", "Email addresses"]
        assert any("two-step verification" in step for step in body["advice"])
        assert body["unsubscribe_url"].endswith(f"/api/v1/subscriptions/{hook.id}/unsubscribe?token="
                                                f"{hook.unsubscribe_token}")

        # Matching the same breach again queues nothing; a second pass sends nothing.
        assert services.notifier.match_breach("SynthLeak").notifications_queued == 0
        assert services.notifier.dispatcher().drain().delivered == 0
        assert len(receiver.requests) == 1
        assert services.notifier.store.outbox_counts() == {"delivered": 2}
    finally:
        receiver.stop()
        services.close()


def test_unconfirmed_or_unsubscribed_get_nothing(tmp_path: Path, smtp: tuple[int, Mailbox]) -> None:
    port, box = smtp
    home = tmp_path / "home"
    services = make_services(home, port)
    try:
        subs = services.notifier.subscriptions
        pending = subs.subscribe(LEAKED, email="pending@mail.test")  # code never entered
        gone = subscribe_email(services, home, ALSO_LEAKED, "gone@mail.test", box)
        subs.unsubscribe(gone, services.notifier.secrets.unsubscribe_token(gone))
        assert services.notifier.store.get_subscription(gone) is None
        services.ingest(write_dump(tmp_path / "leak.csv", [LEAKED, ALSO_LEAKED]), IngestOptions(breach="L"))
        assert services.notifier.store.outbox_rows() == []
        assert services.notifier.store.get_subscription(pending.id) is not None
    finally:
        services.close()


def test_receiver_down_for_a_while_gets_it_after_retries(tmp_path: Path, smtp: tuple[int, Mailbox]) -> None:
    port, _box = smtp
    now = [1_000_000.0]
    home = tmp_path / "home"
    receiver = WebhookReceiver()  # not started yet: connection refused
    services = make_services(home, port, BREACHWATCH_NOTIFY_RETRY_BASE="10", BREACHWATCH_NOTIFY_RETRY_MAX="15",
                             **receiver.allow_env)
    try:
        notifier = services.notifier
        notifier.clock = lambda: now[0]
        hook = notifier.subscriptions.subscribe(LEAKED, webhook_url=receiver.url + "/in")
        notifier.subscriptions.verify(hook.id, sms_code(home, mask_e164(LEAKED)))
        services.ingest(write_dump(tmp_path / "leak.csv", [LEAKED]), IngestOptions(breach="Outage"))
        dispatcher = notifier.dispatcher()

        assert dispatcher.drain().retried == 1
        row = notifier.store.outbox_rows()[0]
        assert (row.status, row.attempts, row.next_attempt) == ("pending", 1, now[0] + 10)
        assert "unreachable" in (row.last_error or "")
        assert dispatcher.drain().retried == 0  # not due before the backoff
        now[0] += 10
        assert dispatcher.drain().retried == 1
        row = notifier.store.outbox_rows()[0]
        assert (row.attempts, row.next_attempt) == (2, now[0] + 15)  # 20 s capped at the 15 s maximum

        receiver.start()
        now[0] += 15
        assert dispatcher.drain().delivered == 1
        assert len(receiver.requests) == 1
        assert notifier.store.outbox_rows()[0].status == "delivered"
    finally:
        receiver.stop()
        services.close()
