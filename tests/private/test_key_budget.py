"""A key's own budget of private-check evaluations (`keys create --private-per-day N`): it replaces the
settings' per-key limit for that key only (another key keeps the default), is stored with the key, and such a
key, shared by an app's users, may evaluate from many addresses without the rotation signal blocking it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from breachwatch.private import oprf
from breachwatch.services import Services
from breachwatch.web import create_app
from tests.support.cli import run_cli
from tests.support.private import loaded, small  # noqa: F401 - fixture

LIMITS = "key=100/1d;ip=100000/1d;subnet=100000/1d;global=1000000/1d"


def _evaluate(app: Any, key: str, count: int, address: str = "127.0.0.1") -> int:
    body = json.dumps({"blinded": [oprf.blind(b"+201001234567")[1].hex()] * count}).encode()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {"type": "http", "method": "POST", "path": "/api/v1/private/evaluate", "raw_path": b"",
             "root_path": "", "query_string": b"", "client": (address, 5000), "server": ("127.0.0.1", 80),
             "scheme": "http", "http_version": "1.1",
             "headers": [(b"hibp-api-key", key.encode()), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    asyncio.run(app(scope, receive, send))
    return statuses[0]


def _create(home: Path, *args: str) -> str:
    outcome = run_cli("keys", "create", "--name", "app", "--scope", "private-check", *args, "--json", home=home)
    assert outcome.returncode == 0, outcome.stderr
    created = json.loads(outcome.stdout)
    return str(created["key"])


def test_a_key_with_its_own_budget_gets_it_and_others_keep_the_default(small: dict[str, Any],  # noqa: F811
                                                                       tmp_path: Path) -> None:
    services = loaded(small, tmp_path, BREACHWATCH_PRIVATE_LIMITS=LIMITS)
    home = services.config.home
    services.close()
    shared = _create(home, "--private-per-day", "250")
    person = _create(home)
    listed = json.loads(run_cli("keys", "list", "--json", home=home).stdout)
    assert sorted(str(k["private_per_day"]) for k in listed) == ["250", "None"]

    services = Services(services.config)
    try:
        app = create_app(services)
        # Shared by an app's users: 250 evaluations from 10 addresses, then refused.
        answers = [_evaluate(app, shared, 25, f"198.51.100.{i}") for i in range(10)]
        assert answers == [200] * 10
        assert _evaluate(app, shared, 1, "198.51.100.77") == 429
        # The default budget (100 a key) still holds for a key without one.
        assert [_evaluate(app, person, 50) for _ in range(2)] == [200, 200]
        assert _evaluate(app, person, 1) == 429
        # The shared key was not blocked as one key cycling addresses; the guard counted its evaluations.
        metrics = services.guard.metrics()
        assert not metrics.get("guard_alerts_total:private-rotation")
        assert metrics["guard_denied_total:limit"] >= 2
    finally:
        services.close()


def test_without_its_own_budget_a_key_cycling_addresses_is_blocked(small: dict[str, Any],  # noqa: F811
                                                                   tmp_path: Path) -> None:
    services = loaded(small, tmp_path, BREACHWATCH_PRIVATE_LIMITS=LIMITS)
    try:
        key, _ = services.api_keys.create("cycler", ["private-check"])
        app = create_app(services)
        answers = [_evaluate(app, key, 1, f"198.51.100.{i}") for i in range(8)]
        assert 429 in answers and services.guard.metrics()["guard_alerts_total:private-rotation"] >= 1
    finally:
        services.close()


@pytest.mark.parametrize(("args", "message"), [(("--private-per-day", "0"), "positive"),
                                               (("--private-per-day", "x"), "not a valid integer")])
def test_a_bad_budget_is_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    outcome = run_cli("keys", "create", "--name", "app", "--scope", "private-check", *args, home=tmp_path / "h")
    assert outcome.returncode != 0 and re.search(message, outcome.stderr) and "Traceback" not in outcome.stderr


def test_a_budget_needs_the_private_check_scope(tmp_path: Path) -> None:
    outcome = run_cli("keys", "create", "--name", "app", "--scope", "check", "--private-per-day", "5",
                      home=tmp_path / "h")
    assert outcome.returncode != 0 and "private-check" in outcome.stderr
