"""End to end over real HTTP on 127.0.0.1: uvicorn serving the private-check routes; the Python client and
the CLI find a leaked number with its breaches and not a clean one, and nothing the server logged or
received contains either number."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breachwatch.client import PrivateResult, ServerError, prepare, private_check
from breachwatch.services import Services
from breachwatch.web import create_app
from tests.private.test_check import loaded_services, small  # noqa: F401 - module fixtures reused here
from tests.support.cli import run_cli


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
def server(loaded_services: Services) -> Iterator[dict[str, Any]]:  # noqa: F811
    """uvicorn on 127.0.0.1 serving the app, with its logs and received bytes captured, and a key with the
    private-check scope."""
    received: list[bytes] = []
    key, _ = loaded_services.api_keys.create("private", ["private-check"])
    app = Recorder(create_app(loaded_services), sink=received)
    handler = _ListHandler()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
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
               "guard": loaded_services.guard}
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        root.removeHandler(handler)
        root.setLevel(old_level)


def _evaluations(server: dict[str, Any]) -> int:
    """OPRF evaluations the guard admitted so far (each is charged as one number)."""
    return int(server["guard"].metrics().get("guard_admitted_numbers_total", 0))


def _numbers(small: dict[str, Any]) -> tuple[str, str]:  # noqa: F811
    leaked = sorted(small["csv"]["truth"]["numbers"])[7]
    clean = small["csv"]["truth"]["clean_numbers"][0]
    return leaked, clean


def _assert_never_seen(server: dict[str, Any], numbers: list[str]) -> None:
    blob = b"\n".join(server["received"])
    logs = "\n".join(server["logs"])
    assert server["received"] and server["logs"], "the capture saw nothing: the test would prove nothing"
    for number in numbers:
        digits = number.lstrip("+")
        assert digits.encode() not in blob
        assert digits not in logs


def test_leaked_found_clean_not_and_server_never_sees_them(server: dict[str, Any], small: dict[str, Any],  # noqa: F811
                                                          loaded_services: Services) -> None:  # noqa: F811
    leaked, clean = _numbers(small)
    before = _evaluations(server)
    found: PrivateResult = private_check(server["url"], leaked, server["key"])
    assert found.found
    ordinary = loaded_services.checker.check(leaked)
    assert {h.breach: h.data_classes for h in found.hits} == {h.breach.name: h.data_classes for h in ordinary.hits}
    assert found.breaches_checked == ["Alpha", "Beta"]
    missing = private_check(server["url"], clean, server["key"])
    assert not missing.found
    assert found.response_bytes == missing.response_bytes  # same size whatever the bucket
    assert _evaluations(server) == before + 2
    _assert_never_seen(server, [leaked, clean])


def test_cli_check_private(server: dict[str, Any], small: dict[str, Any], tmp_path: Any) -> None:  # noqa: F811
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


def test_wrong_api_key_is_refused(server: dict[str, Any], small: dict[str, Any]) -> None:  # noqa: F811
    with pytest.raises(ServerError, match="401"):
        private_check(server["url"], _numbers(small)[0], "wrong-key")


@pytest.mark.parametrize("blinded", ["ff" * 32, "00" * 32, "zz" * 32, "01" * 31, 12, None, "ab" * 33])
def test_malformed_blinded_element_is_a_400(server: dict[str, Any], blinded: Any) -> None:
    before = _evaluations(server)
    response = httpx.post(server["url"] + "/api/v1/private/check", json={"prefix": 5, "blinded": blinded},
                          headers={"hibp-api-key": server["key"]})
    assert response.status_code == 400
    assert "blinded" in response.json()["detail"]
    assert _evaluations(server) == before


def test_tampered_element_and_bad_bodies_are_400(server: dict[str, Any]) -> None:
    query = prepare("+201001234567")
    tampered = bytearray(query.blinded)
    tampered[31] ^= 0x80  # sets the top bit: never a canonical encoding
    url = server["url"] + "/api/v1/private/check"
    headers = {"hibp-api-key": server["key"]}
    for body in ({"prefix": query.prefix, "blinded": tampered.hex()}, {"prefix": -1, "blinded": query.blinded.hex()},
                 {"prefix": 1 << 18, "blinded": query.blinded.hex()}, [1, 2]):
        assert httpx.post(url, json=body, headers=headers).status_code == 400
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(url, json={"prefix": query.prefix, "blinded": query.blinded.hex()},
                      headers=headers).status_code == 200


def test_batch_is_charged_per_evaluation(server: dict[str, Any], small: dict[str, Any]) -> None:  # noqa: F811
    queries = [prepare(n) for n in _numbers(small)] + [prepare("+201001234567")]
    url = server["url"] + "/api/v1/private/check/batch"
    headers = {"hibp-api-key": server["key"]}
    before = _evaluations(server)
    response = httpx.post(url, json={"queries": [q.body() for q in queries]}, headers=headers)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3 and len({len(r["bucket"]) for r in results}) == 1
    assert _evaluations(server) == before + 3
    bad = [q.body() for q in queries] + [{"prefix": 1, "blinded": "00" * 32}]
    assert httpx.post(url, json={"queries": bad}, headers=headers).status_code == 400
    assert httpx.post(url, json={"queries": []}, headers=headers).status_code == 400
    assert _evaluations(server) == before + 3
