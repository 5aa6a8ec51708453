"""Parts of notifications: webhook signatures, the HTTP SMS gateway backend, organisations from the CLI,
range limits, and no whole number stored anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from breachwatch.cli import main
from breachwatch.client import WebhookSignatureError, sign_webhook, verify_webhook_signature
from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.notify.errors import SubscriptionInputError
from breachwatch.notify.orgs import parse_range
from breachwatch.notify.sms import DeliveryError, HttpSmsSender
from breachwatch.services import Services
from tests.support.cli import TEST_KEY, run_cli
from tests.support.notify import WebhookReceiver


def test_webhook_signature_round_trip_and_refusals() -> None:
    body = b'{"id":"bw_1"}'
    header = sign_webhook("whsec_x", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_webhook_signature("whsec_x", header, body, now=1_700_000_100) == 1_700_000_000
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook_signature("whsec_x", header, body + b" ", now=1_700_000_100)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_webhook_signature("whsec_other", header, body, now=1_700_000_100)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_webhook_signature("whsec_x", header, body, tolerance=300, now=1_700_000_301)
    with pytest.raises(WebhookSignatureError, match="lacks"):
        verify_webhook_signature("whsec_x", "v1=abc", body)


def test_http_sms_gateway_posts_json_with_bearer_token() -> None:
    # The gateway is the operator's: a loopback address is fine for it (no address filter).
    gateway = WebhookReceiver(status=lambda d: 202 if d.headers["authorization"] == "Bearer tok" else 401).start()
    try:
        HttpSmsSender(gateway.url + "/send", "tok", "bw").send("+201001234567", "code 123456")
        assert gateway.requests[0].path == "/send"
        assert json.loads(gateway.requests[0].body) == {"to": "+201001234567", "text": "code 123456", "sender": "bw"}
        with pytest.raises(DeliveryError, match="HTTP 401"):
            HttpSmsSender(gateway.url + "/send", "bad", "bw").send("+201001234567", "x")
    finally:
        gateway.stop()


def test_range_limits() -> None:
    assert parse_range("+3222000000-+3222009999", 1_000_000) == (3222000000, 3222009999)
    for text, message in (("+3222000000-+32220099", "same number of digits"),
                          ("+3222000009-+3222000000", "greater than"),
                          ("+3222000000-+3223000000", "at most 1,000 are allowed"),
                          ("3222 000000", "must look like")):
        with pytest.raises(SubscriptionInputError, match=message):
            parse_range(text, 1000)


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The CLI in-process (fast); the subprocess form is exercised by the first call of the test below."""
    return CliRunner(env={"BREACHWATCH_SECRET_KEY": TEST_KEY, **(env or {})}).invoke(main, ["--home", str(home), *args])


def test_org_cli_and_org_webhook(tmp_path: Path, home: Path) -> None:
    # The CLI reads the catalog in HOME, so this test uses that SQLite catalog (not the parametrized fixture).
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home))
    receiver = WebhookReceiver().start()
    try:
        numbers = tmp_path / "numbers.txt"
        numbers.write_text("# our phones\n+201001234567\n0470 12 34 56\n")
        added = run_cli("org", "add", "Acme", "--numbers", str(numbers), "--region", "BE",
                        "--range", "+3222000000-+3222000999", "--webhook", receiver.url + "/acme", home=home,
                        env=receiver.allow_env)
        assert added.returncode == 0, added.stderr
        assert "with 1,002 numbers" in added.stdout
        secret = added.stdout.split("keep it safe): ")[1].split()[0]
        bad = _cli(home, "org", "add", "Bad", "--range", "+3222000000-+3242000000", "--email", "a@b.test")
        assert bad.exit_code == 1 and bad.exception is not None and "Traceback" not in bad.output
        assert "at most 1,000,000 are allowed" in " ".join(bad.output.split())
        bad_file = tmp_path / "bad.txt"
        bad_file.write_text("+201001234567\nhello\n")
        bad = _cli(home, "org", "add", "Bad", "--numbers", str(bad_file), "--email", "a@b.test")
        assert bad.exit_code == 1 and "bad.txt, row 2: not a phone number" in " ".join(bad.output.split())
        listed = _cli(home, "org", "list", "--json")
        assert [(o["name"], o["numbers"]) for o in json.loads(listed.output)] == [("Acme", 1002)]

        dump = tmp_path / "leak.csv"
        dump.write_text("msisdn,name\n201001234567,A\n3222000500,B\n32470123456,C\n12025550123,D\n")
        services.ingest(dump, IngestOptions(breach="OrgLeak"))
        assert "queued 0 new notifications" in _cli(home, "notify", "--breach", "OrgLeak").output
        assert "delivered 1" in _cli(home, "notify", "run", "--once", env=receiver.allow_env).output
        assert len(receiver.requests) == 1
        delivery = receiver.requests[0]
        verify_webhook_signature(secret, delivery.headers["breachwatch-signature"], delivery.body)
        body = json.loads(delivery.body)
        assert body["type"] == "organisation.breach.match" and body["organisation"] == "Acme"
        assert body["matched_numbers"] == 3
        assert sorted(n["number"] for n in body["numbers"]) == ["+20100*****67", "+32220***00", "+32470****56"]
        assert body["unsubscribe_url"].startswith("http://127.0.0.1:8000/api/v1/organisations/")

        assert "removed organisation" in _cli(home, "org", "remove", "Acme").output
        assert _cli(home, "org", "remove", "Acme").exit_code == 1
    finally:
        receiver.stop()
        services.close()


def test_no_whole_number_is_stored(services: Services, home: Path) -> None:
    services.notifier.subscriptions.subscribe("+201001234567", email="m@mail.test")
    services.notifier.organisations.add_from_file("Acme", None, ["+3222000000-+3222000099"], "a@b.test", None)
    services.close()
    for path in home.rglob("*"):
        if path.is_file() and path.name != "secret.key":
            data = path.read_bytes()
            assert b"201001234567" not in data and b"3222000042" not in data, path


def test_claims_are_exclusive_until_the_lease_runs_out(services: Services, tmp_path: Path) -> None:
    notifier = services.notifier
    sub = notifier.subscriptions.subscribe("+201001234567", webhook_url="https://hooks.test/x")
    store = notifier.store
    code_row = store.get_subscription(sub.id)
    assert code_row is not None and code_row.code_hash is not None
    lines = (services.config.home / "sms.jsonl").read_text().splitlines()
    notifier.subscriptions.verify(sub.id, json.loads(lines[-1])["text"].split("code is ")[1][:6])
    dump = tmp_path / "leak.txt"
    dump.write_text("+201001234567\n")
    services.ingest(dump, IngestOptions(breach="Lease"))
    (row_id,) = store.due(now=2e9, limit=10)
    first = store.claim(row_id, "A", now=2e9, lease_seconds=60)
    assert first is not None and first.lease_owner == "A"
    assert store.claim(row_id, "B", now=2e9 + 59, lease_seconds=60) is None
    assert store.due(now=2e9 + 59, limit=10) == []
    taken_over = store.claim(row_id, "B", now=2e9 + 61, lease_seconds=60)  # A died: B takes over
    assert taken_over is not None and taken_over.lease_owner == "B"
    assert not store.mark_delivered(row_id, "A", now=2e9 + 62)  # the old holder can no longer mark it
    assert store.mark_delivered(row_id, "B", now=2e9 + 62)
    assert store.outbox_counts() == {"delivered": 1}
