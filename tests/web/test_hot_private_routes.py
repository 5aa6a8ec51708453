"""The private check's short way in (web/hot_routes.py): POST /api/v1/private/evaluate and GET
/api/v1/private/buckets/{bucket} answer exactly as the full Starlette stack would (status, headers, body) for
every outcome: evaluations, malformed elements, missing or wrong keys, bodies over the route's limit (413
before the body is read), the budget (429), buckets, 304, a stale generation (409), malformed bucket names;
and both ways are charged, audited and counted in /metrics alike."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from breachwatch.private import oprf
from breachwatch.web import create_app
from breachwatch.web.app import BreachwatchApp
from tests.support.private import loaded, small  # noqa: F401 - fixture

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
EVALUATE = "/api/v1/private/evaluate"


@pytest.fixture(scope="module")
def home(small: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # noqa: F811
    root = tmp_path_factory.mktemp("hot-private")
    services = loaded(small, root, BREACHWATCH_PRIVATE_LIMITS="key=100000/1d;ip=100000/1d;subnet=100000/1d;"
                                                             "global=1000000/1d")
    reader, _ = services.api_keys.create("reader", ["private-check"])
    checker, _ = services.api_keys.create("checker", ["check"])
    admin, _ = services.api_keys.create("admin", ["admin"])
    params = services.private_index.parameters()
    assert params is not None
    try:
        yield {"services": services, "reader": reader, "checker": checker, "admin": admin, "params": params,
               "root": root}
    finally:
        services.close()


def _scope(path: str, headers: dict[str, str], method: str = "GET", query: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1"}


async def _call(app: BreachwatchApp, scope: dict[str, Any], body: bytes, full_stack: bool) -> Answer:
    sent: list[dict[str, Any]] = []
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    if full_stack:
        await Starlette.__call__(app, scope, receive, send)
    else:
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], sorted(start["headers"]), payload


def _both_ways(app: BreachwatchApp, path: str, headers: dict[str, str], method: str = "GET", query: str = "",
               body: bytes = b"") -> tuple[Answer, Answer]:
    assert app.hot is not None and app.hot.match(_scope(path, headers, method, query)) is not None
    hot = asyncio.run(_call(app, _scope(path, headers, method, query), body, full_stack=False))
    full = asyncio.run(_call(app, _scope(path, headers, method, query), body, full_stack=True))
    return hot, full


def _element(i: int) -> str:
    return oprf.blind(f"+2010055{i:05d}".encode())[1].hex()


def _evaluate_headers(key: str, body: bytes) -> dict[str, str]:
    return {"hibp-api-key": key, "content-type": "application/json", "content-length": str(len(body))}


EVALUATE_CASES = {
    "one": lambda: json.dumps({"blinded": [_element(1)]}),
    "batch": lambda: json.dumps({"blinded": [_element(i) for i in range(64)]}),
    "empty list": lambda: json.dumps({"blinded": []}),
    "too many": lambda: json.dumps({"blinded": [_element(1)] * 65}),
    "not hex": lambda: json.dumps({"blinded": ["zz" * 32]}),
    "short": lambda: json.dumps({"blinded": [_element(1)[:62]]}),
    "identity": lambda: json.dumps({"blinded": ["00" * 32]}),
    "bit 255": lambda: json.dumps({"blinded": [_element(2)[:62] + "ff"]}),
    "not an object": lambda: json.dumps(["x"]),
    "not json": lambda: "{blinded",
}


@pytest.mark.parametrize("case", list(EVALUATE_CASES))
def test_evaluate_answers_as_the_full_stack(home: dict[str, Any], case: str) -> None:
    app = create_app(home["services"])
    body = EVALUATE_CASES[case]().encode()
    hot, full = _both_ways(app, EVALUATE, _evaluate_headers(home["reader"], body), "POST", body=body)
    assert hot == full
    if case in ("one", "batch"):
        assert hot[0] == 200 and (b"cache-control", b"no-store") in hot[1]
        evaluated = json.loads(hot[2])["evaluated"]
        assert len(evaluated) == len(json.loads(body)["blinded"])
        # The server's answer is BlindEvaluate under its key: unblinding it gives the number's OPRF output.
        assert len(evaluated[0]) == 64
    else:
        assert hot[0] == 400 and dict(hot[1])[b"content-type"] == b"application/problem+json"


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("bw_nope", 401), ("checker", 403)])
def test_evaluate_refuses_keys_as_the_full_stack(home: dict[str, Any], who: str | None, status: int) -> None:
    app = create_app(home["services"])
    body = json.dumps({"blinded": [_element(3)]}).encode()
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    if who is not None:
        headers["hibp-api-key"] = home.get(who, who)
    hot, full = _both_ways(app, EVALUATE, headers, "POST", body=body)
    assert hot == full and hot[0] == status


def test_evaluate_bodies_past_the_limit_are_refused_as_the_full_stack(home: dict[str, Any]) -> None:
    """A declared length over the route's limit is a 413 before a byte is read; a malformed one a 400; a
    streamed body that passes the limit is cut with a 413."""
    app = create_app(home["services"])
    big = json.dumps({"blinded": [_element(4)] * 100}).encode()
    hot, full = _both_ways(app, EVALUATE, _evaluate_headers(home["reader"], big), "POST", body=big)
    assert hot == full and hot[0] == 413
    headers = {"hibp-api-key": home["reader"], "content-length": "12x"}
    hot, full = _both_ways(app, EVALUATE, headers, "POST", body=b"{}")
    assert hot == full and hot[0] == 400
    streamed = {"hibp-api-key": home["reader"], "content-type": "application/json"}  # no Content-Length
    hot, full = _both_ways(app, EVALUATE, streamed, "POST", body=big)
    assert hot == full and hot[0] == 413


def test_evaluate_budget_is_charged_alike(small: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    """Both ways charge the key per element: with a budget of 3 evaluations, the hot way spends 2, the full
    stack 1, then both refuse the next with the same 429."""
    services = loaded(small, tmp_path, BREACHWATCH_PRIVATE_LIMITS="key=3/1d;ip=1000/1d;subnet=1000/1d;"
                                                                 "global=1000000/1d")
    try:
        key, _ = services.api_keys.create("small", ["private-check"])
        app = create_app(services)
        two = json.dumps({"blinded": [_element(5), _element(6)]}).encode()
        one = json.dumps({"blinded": [_element(7)]}).encode()
        first = asyncio.run(_call(app, _scope(EVALUATE, _evaluate_headers(key, two), "POST"), two, False))
        second = asyncio.run(_call(app, _scope(EVALUATE, _evaluate_headers(key, one), "POST"), one, True))
        assert (first[0], second[0]) == (200, 200)
        hot, full = _both_ways(app, EVALUATE, _evaluate_headers(key, one), "POST", body=one)
        assert hot[0] == full[0] == 429
        assert dict(hot[1])[b"content-type"] == dict(full[1])[b"content-type"] == b"application/problem+json"
        services.guard.flush()
        audit = "".join(p.read_text() for p in services.config.home.rglob("audit*/*") if p.is_file())
        assert audit.count('"kind":"oprf"') >= 2
    finally:
        services.close()


@pytest.mark.parametrize("case", ["named", "unnamed", "not modified", "stale", "upper case", "too long",
                                  "out of range", "not hex"])
def test_bucket_answers_as_the_full_stack(home: dict[str, Any], case: str) -> None:
    app = create_app(home["services"])
    params = home["params"]
    digits = -(-params.prefix_bits // 4)
    good = f"{(1 << params.prefix_bits) - 2:0{digits}x}"
    path, query, headers = f"/api/v1/private/buckets/{good}", f"generation={params.generation}", {}
    expected = 200
    if case == "unnamed":
        query = ""
    elif case == "not modified":
        headers = {"if-none-match": f'"{params.generation}"'}
        expected = 304
    elif case == "stale":
        query, expected = "generation=" + "0" * 32, 409
    elif case == "upper case":
        path, expected = path.upper().replace("/API/V1/PRIVATE/BUCKETS/", "/api/v1/private/buckets/"), 400
        if path.endswith(good):  # all digits: no letter to upper-case
            path = path[:-1] + "A"
    elif case == "too long":
        path, expected = path + "0", 400
    elif case == "out of range":
        path, expected = "/api/v1/private/buckets/" + "f" * digits, 400 if (1 << params.prefix_bits) < 16 ** digits \
            else 200
    elif case == "not hex":
        path, expected = "/api/v1/private/buckets/" + "_" + "0" * (digits - 1), 400
    hot, full = _both_ways(app, path, headers, query=query)
    assert hot == full and hot[0] == expected
    if expected == 200:
        found = dict(hot[1])
        assert len(hot[2]) == params.bucket_entries * params.entry_bytes
        assert found[b"etag"] == f'"{params.generation}"'.encode()
        assert found[b"content-type"] == b"application/octet-stream"
        assert found[b"cache-control"] == (b"public, max-age=31536000, immutable" if query else
                                           b"public, max-age=60")


def test_metrics_count_the_private_short_way_like_the_full_stack(home: dict[str, Any]) -> None:
    params = home["params"]
    digits = -(-params.prefix_bits // 4)
    texts = []
    for full_stack in (False, True):
        app = create_app(home["services"])
        for body in (json.dumps({"blinded": [_element(8)]}).encode(), b"{"):
            asyncio.run(_call(app, _scope(EVALUATE, _evaluate_headers(home["reader"], body), "POST"), body,
                              full_stack))
        for b in range(3):
            asyncio.run(_call(app, _scope(f"/api/v1/private/buckets/{b:0{digits}x}", {}), b"", full_stack))
        text = asyncio.run(_call(app, _scope("/metrics", {"hibp-api-key": home["admin"]}), b"",
                                 full_stack=True))[2].decode()
        texts.append(sorted(re.findall(r"^(breachwatch_http_requests_total\S*) (\S+)$", text, re.M)))
    assert texts[0] == texts[1]
    assert ('breachwatch_http_requests_total{method="POST",route="/api/v1/private/evaluate",status="400"}',
            "1.0") in texts[0]
    assert ('breachwatch_http_requests_total{method="GET",route="/api/v1/private/buckets/{bucket}",'
            'status="200"}', "3.0") in texts[0]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", EVALUATE), ("POST", EVALUATE + "/"), ("POST", "/api/v1/private/evaluatex"),
    ("POST", "/api/v1/private/buckets/000"), ("GET", "/api/v1/private/buckets/"),
    ("GET", "/api/v1/private/buckets/00/1"), ("HEAD", "/api/v1/private/buckets/000"),
])
def test_other_private_requests_go_the_usual_way(home: dict[str, Any], method: str, path: str) -> None:
    app = create_app(home["services"])
    assert app.hot is not None and app.hot.match(_scope(path, {}, method)) is None


def test_nothing_published_is_a_404_both_ways(tmp_path: Path) -> None:
    from breachwatch.config import load_config
    from breachwatch.services import Services
    from tests.support.cli import TEST_KEY

    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=tmp_path / "home"))
    try:
        app = create_app(services)
        hot, full = _both_ways(app, "/api/v1/private/buckets/00000", {})
        assert hot == full and hot[0] == 404
        assert dict(hot[1])[b"content-type"] == b"application/problem+json"
    finally:
        services.close()
