"""The notification store on PostgreSQL: matching, idempotent outbox writes and lease claims work there too.
Skips without a server, except in CI (BREACHWATCH_REQUIRE_SERVICES=1), where it fails."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services

PG_URL = os.environ.get("BREACHWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
KEY = "42" * 32


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3, autocommit=True) as conn:
            schema = f"bw_notify_{uuid.uuid4().hex[:12]}"
            conn.execute(f'create schema "{schema}"')
    except Exception as exc:  # any failure means: no usable server here
        reason = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if os.environ.get("BREACHWATCH_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'drop schema "{schema}" cascade')


def test_match_and_outbox_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": KEY, "BREACHWATCH_DATABASE_URL": pg_url},
                                    home=home))
    try:
        notifier = services.notifier
        sub = notifier.subscriptions.subscribe("+201001234567", webhook_url="https://hooks.test/x")
        text = json.loads((home / "sms.jsonl").read_text().splitlines()[-1])["text"]
        notifier.subscriptions.verify(sub.id, text.split("code is ")[1][:6])
        notifier.organisations.add_from_file("Acme", None, ["+3222000000-+3222000999"], None, "https://hooks.test/o")
        dump = tmp_path / "leak.txt"
        dump.write_text("+201001234567\n+3222000500\n+12025550123\n")
        services.ingest(dump, IngestOptions(breach="PgLeak"))
        rows = notifier.store.outbox_rows()
        assert sorted((r.target_kind, r.channel) for r in rows) == [("organisation", "webhook"),
                                                                     ("subscription", "webhook")]
        assert notifier.match_breach("PgLeak").notifications_queued == 0
        first = notifier.store.claim(rows[0].id, "A", now=2e9, lease_seconds=60)
        assert first is not None
        assert notifier.store.claim(rows[0].id, "B", now=2e9, lease_seconds=60) is None
        assert notifier.store.mark_delivered(rows[0].id, "A", now=2e9)
        assert notifier.store.outbox_counts() == {"delivered": 1, "pending": 1}
    finally:
        services.close()
