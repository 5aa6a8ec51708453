"""End to end over real HTTP on 127.0.0.1: uvicorn serving the app, breaches ingested with --private and
their dumps deleted. The client finds a leaked number with its breaches and not a clean one, nothing the
server received or logged contains either number, buckets download byte-identical and cacheable, and a key
past its evaluation budget is refused while an alert names it."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breachwatch.client import PrivateClient, ServerError, prepare, private_check
from breachwatch.services import Services
from breachwatch.web import create_app
from tests.support.cli import run_cli
from tests.support.private import loaded, small  # noqa: F401 - fixture


class Recorder:
    """ASGI middleware keeping everything the server received: path, query, headers, body."""

    def __init__(self, app: ASGIApp, sink: list[bytes]) -> None:
        self.app, self.sink = app, sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.sink.append(scope["path"].encode() + b"?" + scope["query_string"])
            self.sink.extend(k + b": " + v for k, v in scope["headers"])

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.sink.append(message.get("body", b""))
            return message

        await self.app(scope, recording_receive, send)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(small: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # noqa: F811
    """uvicorn on 127.0.0.1 serving the app, with its logs and received bytes captured, and a key with the
    private-check scope."""
    root = tmp_path_factory.mktemp("private-http")
    services: Services = loaded(small, root)
    received: list[bytes] = []
    key, _ = services.api_keys.create("private", ["private-check"])
    app = Recorder(create_app(services), sink=received)
    handler = _ListHandler()
    logger = logging.getLogger()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="debug",
                            access_log=True, lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "received": received, "logs": handler.lines, "key": key,
               "services": services, "home": root / "home"}
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        services.close()


def _evaluations(server: dict[str, Any]) -> int:
    """Evaluations the guard admitted so far."""
    return int(server["services"].guard.metrics().get("guard_admitted_numbers_total", 0))


def _numbers(small: dict[str, Any]) -> tuple[str, str]:  # noqa: F811
    return sorted(small["csv"]["truth"]["numbers"])[7], small["csv"]["truth"]["clean_numbers"][0]


def _assert_never_seen(server: dict[str, Any], numbers: list[str]) -> None:
    blob = b"\n".join(server["received"])
    logs = "\n".join(server["logs"])
    assert server["received"] and server["logs"], "the capture saw nothing: the test would prove nothing"
    for number in numbers:
        digits = number.lstrip("+")
        assert digits.encode() not in blob
        assert digits not in logs


def test_leaked_found_clean_not_after_the_dump_was_deleted(server: dict[str, Any], small: dict[str, Any]) -> None:  # noqa: F811
    leaked, clean = _numbers(small)
    assert not list(Path(server["home"]).parent.joinpath("scratch").iterdir())  # the dumps ingested are gone
    before = _evaluations(server)
    found = private_check(server["url"], leaked, server["key"])
    assert found.found
    ordinary = server["services"].checker.check(leaked)
    assert {h.breach: h.data_classes for h in found.hits} == {h.breach.name: h.data_classes for h in ordinary.hits}
    assert found.breaches_checked == ["Alpha", "Beta"]
    missing = private_check(server["url"], clean, server["key"])
    assert not missing.found
    assert found.response_bytes == missing.response_bytes <= 64 * 1024
    assert _evaluations(server) == before + 2
    _assert_never_seen(server, [leaked, clean])


def test_cli_check_private(server: dict[str, Any], small: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    leaked, clean = _numbers(small)
    result = run_cli("check", "--private", "--server", server["url"], "--json", leaked, clean,
                     home=tmp_path / "client-home", env={"BREACHWATCH_API_KEY": server["key"]}, check=True)
    data = json.loads(result.stdout)
    assert [d["found"] for d in data] == [True, False]
    assert data[0]["breaches"][0]["name"] in ("Alpha", "Beta")
    no_key = run_cli("check", "--private", "--server", server["url"], leaked, home=tmp_path / "client-home",
                     env={"BREACHWATCH_API_KEY": ""})
    assert no_key.returncode == 1 and "API key" in no_key.stderr and "Traceback" not in no_key.stderr
    _assert_never_seen(server, [leaked, clean])


def test_bucket_downloads_are_identical_and_cacheable(server: dict[str, Any]) -> None:
    params = httpx.get(server["url"] + "/api/v1/private/parameters").json()
    assert params["prefix_bits"] == 17 and params["entry_bytes"] == 10 and params["key_epoch"] == 1
    assert params["breaches"] == ["Alpha", "Beta"] and len(params["generation"]) == 32
    url = server["url"] + "/api/v1/private/buckets/0abcd"
    first = httpx.get(url, params={"generation": params["generation"]})
    second = httpx.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and len(first.content) == params["bucket_bytes"]
    assert first.headers["content-type"] == "application/octet-stream"
    assert "immutable" in first.headers["cache-control"] and first.headers["etag"] == second.headers["etag"]
    assert "immutable" not in second.headers["cache-control"]
    cached = httpx.get(url, headers={"if-none-match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    for listed in (f'"other", W/{first.headers["etag"]}', "*"):  # a list, a weak tag, or any current bucket
        assert httpx.get(url, headers={"if-none-match": listed}).status_code == 304
    assert httpx.get(url, headers={"if-none-match": '"other"'}).status_code == 200
    stale = httpx.get(url, params={"generation": "0" * 32})
    assert stale.status_code == 409 and stale.headers["content-type"] == "application/problem+json"
    for bad in ("abcd", "0ABCD", "2ffff", "zzzzz"):
        answer = httpx.get(server["url"] + f"/api/v1/private/buckets/{bad}")
        assert answer.status_code == 400 and "bucket" in answer.json()["detail"]


@pytest.mark.parametrize("blinded", [["ff" * 32], ["00" * 32], ["zz" * 32], ["01" * 31], [12], None, "ab" * 32,
                                     [], ["ab" * 32] * 65])
def test_malformed_evaluations_are_400_and_free(server: dict[str, Any], blinded: Any) -> None:
    before = _evaluations(server)
    response = httpx.post(server["url"] + "/api/v1/private/evaluate", json={"blinded": blinded},
                          headers={"hibp-api-key": server["key"]})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "blinded" in response.json()["detail"]
    assert _evaluations(server) == before


def test_an_encoding_off_the_group_is_charged_then_400(server: dict[str, Any]) -> None:
    """An element that passes the checks needing no point decoding (32 bytes, not the identity, bit 255 clear)
    is charged before the multiplication decodes it: s = 1 is odd, so no ristretto255 point has it."""
    off_group = "01" + "00" * 31
    before = _evaluations(server)
    response = httpx.post(server["url"] + "/api/v1/private/evaluate", json={"blinded": [off_group]},
                          headers={"hibp-api-key": server["key"]})
    assert response.status_code == 400 and "not a valid element" in response.json()["detail"]
    assert _evaluations(server) == before + 1


def test_a_tampered_element_is_400_and_a_good_one_is_not(server: dict[str, Any]) -> None:
    query = prepare("+201001234567")
    tampered = bytearray(query.blinded)
    tampered[31] ^= 0x80  # the top bit: never a canonical encoding
    url = server["url"] + "/api/v1/private/evaluate"
    headers = {"hibp-api-key": server["key"]}
    assert httpx.post(url, json={"blinded": [tampered.hex()]}, headers=headers).status_code == 400
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    good = httpx.post(url, json={"blinded": [query.blinded.hex()]}, headers=headers)
    assert good.status_code == 200 and len(good.json()["evaluated"]) == 1


def test_wrong_api_key_is_refused(server: dict[str, Any], small: dict[str, Any]) -> None:  # noqa: F811
    with pytest.raises(ServerError, match="401"):
        private_check(server["url"], _numbers(small)[0], "wrong-key")


def test_a_key_past_its_budget_is_refused_and_named_in_an_alert(server: dict[str, Any]) -> None:
    services: Services = server["services"]
    key, record = services.api_keys.create("greedy", ["private-check"])
    key_hash = services.client_hasher.hash("key", record.key_id)
    url = server["url"] + "/api/v1/private/evaluate"
    headers = {"hibp-api-key": key}
    blinded = [prepare(f"+2010012345{i:02d}").blinded.hex() for i in range(64)]
    before = len(server["logs"])
    assert httpx.post(url, json={"blinded": blinded}, headers=headers).status_code == 200
    assert httpx.post(url, json={"blinded": blinded[:36]}, headers=headers).status_code == 200  # 100: the budget
    refused = httpx.post(url, json={"blinded": blinded[:1]}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"] == "application/problem+json"
    alerts = [line for line in server["logs"][before:] if "guard alert private-volume" in line]
    assert alerts and f"key:{key_hash[:12]}" in alerts[0]
    services.guard.flush()
    audit = [json.loads(line) for path in sorted(Path(server["home"], "audit").glob("audit-*.jsonl"))
             for line in path.read_text().splitlines()]
    mine = [r for r in audit if r.get("key") == key_hash]
    assert sum(r["count"] for r in mine if r.get("kind") == "oprf" and r["decision"] == "ok") == 100
    assert any(r["decision"].startswith("denied") for r in mine)
    with PrivateClient(server["url"], server["key"]) as other:  # another key keeps its own budget
        assert len(other.evaluate([prepare("+201001234567")])) == 1
