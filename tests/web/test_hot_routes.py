"""The check endpoints' short way in (web/hot_routes.py) answers exactly as the full Starlette stack would:
same status, headers and body for every outcome (200, 400, 401, 403, 404, 429, 500), same metrics; requests
it does not take (HEAD, other paths, a root path) go the usual way. The private check's hot routes are
tested in test_hot_private_routes.py."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from breachwatch.guard.limiter import BucketPolicy, TokenBucketLimiter
from breachwatch.web import create_app
from breachwatch.web.app import BreachwatchApp
from tests.support.http import build_home

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    services, truth = build_home(tmp_path_factory.mktemp("hot"))
    key, _ = services.api_keys.create("tests", ["check"])
    admin, _ = services.api_keys.create("admin", ["admin"])
    reader, _ = services.api_keys.create("reader", ["private-check"])
    numbers = list(truth["numbers"])
    clean = next(n for n in truth["clean_numbers"] if n.startswith("+20"))
    try:
        yield {"services": services, "key": key, "admin": admin, "reader": reader, "both": numbers[0],
               "hidden": numbers[3], "clean": clean}
    finally:
        services.close()


def _scope(app: Starlette, path: str, headers: dict[str, str], method: str = "GET", query: str = "",
           root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": root_path,
            "query_string": query.encode(), "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1"}


async def _call(app: BreachwatchApp, scope: dict[str, Any], full_stack: bool) -> Answer:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    if full_stack:
        await Starlette.__call__(app, scope, receive, send)  # what the app did before the short way in
    else:
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], sorted(start["headers"]), body


def _both_ways(app: BreachwatchApp, path: str, headers: dict[str, str], query: str = "") -> tuple[Answer, Answer]:
    hot = asyncio.run(_call(app, _scope(app, path, headers, query=query), full_stack=False))
    full = asyncio.run(_call(app, _scope(app, path, headers, query=query), full_stack=True))
    return hot, full


CASES = [
    ("/api/v1/check/{both}", {"user-agent": "t", "hibp-api-key": "{key}"}, ""),
    ("/api/v1/check/{hidden}", {"user-agent": "t", "hibp-api-key": "{key}"}, ""),
    ("/api/v1/check/{hidden}", {"user-agent": "t", "hibp-api-key": "{admin}"}, ""),
    ("/api/v1/check/{clean}", {"hibp-api-key": "{key}"}, ""),
    ("/api/v1/check/{clean}", {"hibp-api-key": "{key}"}, "region=EG"),
    ("/api/v1/check/{clean}", {"hibp-api-key": "{key}"}, "region=XX"),
    ("/api/v1/check/not-a-number", {"hibp-api-key": "{key}"}, ""),
    ("/api/v1/check/{both}", {}, ""),
    ("/api/v1/check/{both}", {"hibp-api-key": "bw_nope"}, ""),
    ("/api/v1/check/{both}", {"hibp-api-key": "{reader}"}, ""),
    ("/api/v3/breachedaccount/{both}", {"user-agent": "t", "hibp-api-key": "{key}"}, ""),
    ("/api/v3/breachedaccount/{both}", {"user-agent": "t", "hibp-api-key": "{key}"}, "truncateResponse=false"),
    ("/api/v3/breachedaccount/{both}", {"user-agent": "t", "hibp-api-key": "{key}"},
     "includeUnverified=false&domain=example.com"),
    ("/api/v3/breachedaccount/{both}", {"user-agent": "t", "hibp-api-key": "{key}"}, "truncateResponse=maybe"),
    ("/api/v3/breachedaccount/{clean}", {"user-agent": "t", "hibp-api-key": "{key}"}, ""),
    ("/api/v3/breachedaccount/%20", {"user-agent": "t", "hibp-api-key": "{key}"}, ""),
    ("/api/v3/breachedaccount/{both}", {"hibp-api-key": "{key}"}, ""),
    ("/api/v3/breachedaccount/{both}", {"user-agent": "t"}, ""),
]


@pytest.mark.parametrize(("template", "headers", "query"), CASES)
def test_same_answer_as_the_full_stack(home: dict[str, Any], template: str, headers: dict[str, str],
                                       query: str) -> None:
    app = create_app(home["services"])
    path = template.format(**home).replace("%20", " ")
    headers = {k: v.format(**home) for k, v in headers.items()}
    assert app.hot is not None and app.hot.match(_scope(app, path, headers)) is not None
    hot, full = _both_ways(app, path, headers, query)
    assert hot == full


def test_rate_limited_answer_is_the_same(home: dict[str, Any]) -> None:
    limiter = TokenBucketLimiter({"key": BucketPolicy(0.001, 1)}, default=BucketPolicy(0.001, 1))
    app = create_app(home["services"], limiter=limiter)
    headers = {"user-agent": "t", "hibp-api-key": home["key"]}
    path = f"/api/v1/check/{home['clean']}"
    assert asyncio.run(_call(app, _scope(app, path, headers), full_stack=False))[0] == 200
    hot, full = _both_ways(app, path, headers)
    assert hot[0] == 429 and dict(hot[1])[b"retry-after"]
    assert hot == full


def test_metrics_count_the_short_way_like_the_full_stack(home: dict[str, Any]) -> None:
    texts = []
    for full_stack in (False, True):
        app = create_app(home["services"])
        for who in ("key", "admin"):
            for number in (home["both"], home["clean"], "junk"):
                headers = {"user-agent": "t", "hibp-api-key": home[who]}
                for path in (f"/api/v1/check/{number}", f"/api/v3/breachedaccount/{number}"):
                    asyncio.run(_call(app, _scope(app, path, headers), full_stack))
        text = asyncio.run(_call(app, _scope(app, "/metrics", {"hibp-api-key": home["admin"]}),
                                 full_stack=True))[2].decode()
        texts.append(sorted(re.findall(r"^(breachwatch_(?:http_requests_total|lookups_total|lookup_hits_total"
                                       r"|http_request_duration_seconds_count)\S*) (\S+)$", text, re.M)))
    assert texts[0] == texts[1]
    assert ('breachwatch_http_requests_total{method="GET",route="/api/v3/breachedaccount/{account}",'
            'status="404"}', "2.0") in texts[0]


def test_an_unexpected_error_is_a_500_problem_and_not_passed_to_the_server(home: dict[str, Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways in answer the same 500 problem; the app then keeps the exception from the ASGI server, whose
    log would print its traceback (Starlette's own stack re-raises it)."""
    app = create_app(home["services"])

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(home["services"].checker, "check", broken)
    headers = {"user-agent": "t", "hibp-api-key": home["key"]}
    answers = []
    for full_stack in (False, True):
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        scope = _scope(app, f"/api/v1/check/{home['both']}", headers)
        if full_stack:
            with pytest.raises(RuntimeError, match="boom"):
                asyncio.run(Starlette.__call__(app, scope, receive, send))
        else:
            asyncio.run(app(scope, receive, send))
        answers.append((sent[0]["status"], sorted(sent[0]["headers"]), sent[1]["body"]))
    assert answers[0] == answers[1] and answers[0][0] == 500


@pytest.mark.parametrize(("method", "path", "root_path"), [
    ("HEAD", "/api/v1/check/+201001234567", ""),
    ("POST", "/api/v1/check/+201001234567", ""),
    ("GET", "/api/v1/check/", ""),
    ("GET", "/api/v1/check/+20/100", ""),
    ("GET", "/api/v3/breachedaccount/", ""),
    ("GET", "/api/v1/check", ""),
    ("GET", "/healthz", ""),
    ("GET", "/api/v1/check/+201001234567", "/prefix"),
])
def test_other_requests_go_the_usual_way(home: dict[str, Any], method: str, path: str, root_path: str) -> None:
    app = create_app(home["services"])
    assert app.hot is not None
    assert app.hot.match(_scope(app, path, {}, method=method, root_path=root_path)) is None


def test_the_app_is_still_starlette_with_the_hot_routes(home: dict[str, Any]) -> None:
    app = create_app(home["services"])
    assert isinstance(app, Starlette) and app.hot is not None
    assert app.hot.paths == ("/api/v1/check/{number}", "/api/v3/breachedaccount/{account}",
                             "/api/v1/private/evaluate", "/api/v1/private/buckets/{bucket}")


def test_a_server_process_freezes_its_startup_heap(home: dict[str, Any]) -> None:
    """app_factory's apps (one per server process) leave what startup built out of garbage collection."""
    import gc

    async def start_and_stop(app: Starlette) -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    try:
        assert asyncio.run(start_and_stop(create_app(home["services"]))) == 0
        assert asyncio.run(start_and_stop(create_app(home["services"], freeze_heap=True))) > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("path", ["/api/v1/check/+201001234567", "/api/v1/check"])
def test_a_crash_is_logged_by_type_only(home: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture, path: str) -> None:
    """Served for real (uvicorn, its loggers captured): an unexpected error is a 500 problem, and no log line
    holds its message or a traceback, which may hold what the user sent."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    def broken(*args: Any) -> Any:
        raise RuntimeError(f"cannot handle {args[0]!r}")

    services = home["services"]
    monkeypatch.setattr(services.checker, "check", broken)
    monkeypatch.setattr(services.checker, "check_many", broken)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_config=None, log_level="debug", lifespan="off",
                                           access_log=False))  # as `breachwatch serve` runs it
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    caplog.set_level(logging.DEBUG)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
        headers = {"hibp-api-key": home["key"]}
        if path.endswith("check"):
            response = httpx.post(url, json={"numbers": ["+201001234567"]}, headers=headers)
        else:
            response = httpx.get(url, headers=headers)
    finally:
        server.should_exit = True
        thread.join(10)
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                        if r.name.startswith(("uvicorn", "breachwatch", "starlette")))
    assert "unhandled RuntimeError" in logged
    assert "201001234567" not in logged and "Traceback" not in logged and "cannot handle" not in logged
