"""Request bodies are bounded before they are read: `breachwatch serve` as a user runs it, flooded with
300 MB bodies on every POST route (declared and streamed, with and without a key), slow senders, and JSON
nested too deeply. The server's memory is read from /proc."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from breachwatch.web import create_app
from tests.support.cli import TEST_KEY
from tests.support.http import ServeProcess, serve_process

FLOOD = 300 * 1024 * 1024
BODY_TIMEOUT = 2  # seconds, the served app's BREACHWATCH_BODY_TIMEOUT


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("bodies")
    home = root / "home"
    (root / "d.txt").write_text("+201001234567\n+447911123456\n")
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home))
    services.ingest(root / "d.txt", IngestOptions(breach="Tiny"))
    admin, _ = services.api_keys.create("admin", ["admin"])
    posts = sorted(re.sub(r"\{[^}]+\}", "x", r.path) for r in create_app(services).routes
                   if isinstance(r, Route) and r.methods is not None and "POST" in r.methods)
    services.close()
    with serve_process(home, "--workers", "1", "--no-dispatcher",
                       env={"BREACHWATCH_BODY_TIMEOUT": str(BODY_TIMEOUT)}) as server:
        yield {"server": server, "admin": admin, "posts": posts, "port": int(server.base_url.rsplit(":", 1)[1])}
    assert "Traceback" not in server.output


def _status(pid: int, field: str) -> int:
    """A /proc/PID/status memory figure, in bytes."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB$", text, re.M)
    assert match is not None
    return int(match.group(1)) * 1024


def _request_head(path: str, key: str | None, length: int | None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json", "user-agent: t"]
    if key is not None:
        lines.append(f"hibp-api-key: {key}")
    lines.append(f"content-length: {length}" if length is not None else "transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response_status(sock: socket.socket) -> int | None:
    """The status of the answer waiting on `sock`, or None when the connection was reset first."""
    sock.settimeout(10)
    try:
        head = sock.recv(4096)
    except OSError:
        return None
    match = re.match(rb"HTTP/1\.1 (\d{3})", head)
    return int(match.group(1)) if match else None


def _flood(port: int, path: str, key: str | None, declared: bool) -> tuple[int | None, int]:
    """Send a 300 MB body (declared with Content-Length, or chunked), stopping as soon as the server answers
    or closes; returns (the answer's status or None, bytes of body sent)."""
    piece = b"[" * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(_request_head(path, key, FLOOD if declared else None))
        readable, _, _ = select.select([sock], [], [], 0.5)  # an early answer comes before any body
        while not readable and sent < FLOOD:
            frame = piece if declared else b"%x\r\n%b\r\n" % (len(piece), piece)
            try:
                sock.sendall(frame)
            except OSError:
                break
            sent += len(piece)
            readable, _, _ = select.select([sock], [], [], 0)
        return _response_status(sock), sent


def test_300_mb_bodies_to_every_post_route_leave_memory_flat(served: dict[str, Any]) -> None:
    server: ServeProcess = served["server"]
    pid = server.proc.pid  # one worker: uvicorn serves in this very process
    assert len(served["posts"]) >= 8, served["posts"]
    for path in served["posts"]:  # warm up every route (lazy imports, caches) with a small valid-size body
        with socket.create_connection(("127.0.0.1", served["port"]), timeout=30) as sock:
            sock.sendall(_request_head(path, served["admin"], 2) + b"{}")
            _response_status(sock)
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
    start = _status(pid, "VmRSS")
    outcomes = {}
    for path in served["posts"]:
        for key in (None, served["admin"]):
            for declared in (True, False):
                status, sent = _flood(served["port"], path, key, declared)
                outcomes[(path, key is not None, declared)] = (status, sent)
                if declared:  # refused from the header alone, before any of the body is read
                    assert status == 413, (path, key is not None, status)
                else:
                    assert sent < FLOOD, (path, key is not None, "the whole streamed body was accepted")
    peak = _status(pid, "VmHWM")
    assert peak - start < 50 * 1024 * 1024, (start, peak, outcomes)
    # Without a key, routes that need one answer before reading any of the body.
    for path in ("/api/v1/check", "/api/v1/private/evaluate", "/api/v1/organisations", "/api/v1/triage"):
        status, sent = outcomes[(path, False, False)]
        assert status in (401, None) and sent <= 2 * 1024 * 1024, (path, status, sent)


def test_slow_bodies_are_cut_at_the_deadline(served: dict[str, Any]) -> None:
    """50 clients that announce a body and send a byte every half second get 408 and are closed once the
    body deadline passes."""
    socks = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", served["port"]), timeout=5)
        sock.sendall(_request_head("/check", None, 1000) + b"n")
        socks.append(sock)
    started = time.monotonic()
    statuses: dict[int, int | None] = {}
    try:
        while len(statuses) < len(socks) and time.monotonic() - started < BODY_TIMEOUT + 8:
            for i, sock in enumerate(socks):
                if i in statuses:
                    continue
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    statuses[i] = _response_status(sock)
                    continue
                try:
                    sock.sendall(b" ")
                except OSError:
                    statuses[i] = None
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    assert len(statuses) == len(socks), f"{len(socks) - len(statuses)} slow senders were still connected"
    assert set(statuses.values()) <= {408, None} and 408 in statuses.values()
    assert elapsed < BODY_TIMEOUT + 5


@pytest.mark.parametrize(("path", "depth", "with_key"), [
    ("/api/v1/check", 100_000, True),
    ("/api/v1/subscriptions", 3_000, False),
    ("/api/v1/subscriptions/verify", 400, False),
    ("/api/v1/organisations", 100_000, True),
    ("/api/v1/private/evaluate", 2_000, True),
])
def test_deep_or_malformed_json_is_a_400_problem(served: dict[str, Any], path: str, depth: int,
                                                 with_key: bool) -> None:
    for body in (b"[" * depth + b"]" * depth, b'{"numbers": [', b"\xff\xfe"):
        with socket.create_connection(("127.0.0.1", served["port"]), timeout=30) as sock:
            sock.sendall(_request_head(path, served["admin"] if with_key else None, len(body)) + body)
            sock.settimeout(10)
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (path, head[:80])
        assert b"content-type: application/problem+json" in head.lower()
        problem = json.loads(payload)
        assert problem["status"] == 400 and ("JSON" in problem["detail"] or "nested" in problem["detail"])
