"""web/coalesce.py: the writes of one event-loop turn reach the socket together and in order; closing,
aborting and a vanished peer keep what was written before them right; and uvicorn over the coalescing
protocol answers every kind of response correctly on a real keep-alive connection."""

from __future__ import annotations

import asyncio
import http.client
from typing import Any

import pytest

from breachwatch.web.coalesce import FLUSH_BYTES, CoalescingTransport
from tests.support.http import serve_in_thread


class RecordingTransport:
    """Stands for a socket transport: records what reaches it, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def writelines(self, lines: list[bytes]) -> None:
        self.calls.append(("writelines", list(lines)))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.calls.append(("close", None))

    def abort(self) -> None:
        self.calls.append(("abort", None))

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _run(body: Any) -> RecordingTransport:
    async def main() -> RecordingTransport:
        inner = RecordingTransport()
        await body(CoalescingTransport(inner, asyncio.get_running_loop()), inner)  # type: ignore[arg-type]
        return inner
    return asyncio.run(main())


def test_writes_of_one_turn_go_out_together_at_its_end() -> None:
    async def body(t: CoalescingTransport, inner: RecordingTransport) -> None:
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")  # nothing to send: no piece of its own
        t.write(b"body")
        assert inner.calls == []  # held until the turn ends
        assert t.get_write_buffer_size() == 7 + len(b"HTTP/1.1 200 OK\r\n\r\n") + 4
        await asyncio.sleep(0)
        assert inner.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"])]
        t.write(b"next")  # a later turn: its own write
        await asyncio.sleep(0)
        assert inner.calls[-1] == ("write", b"next")
        assert t.get_write_buffer_size() == 7
        assert t.get_extra_info("peername") == "info:peername"  # everything else is the transport's

    _run(body)


def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    async def body(t: CoalescingTransport, inner: RecordingTransport) -> None:
        t.write(b"a")
        t.write(b"b")
        t.close()
        assert inner.calls == [("writelines", [b"a", b"b"]), ("close", None)]
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        assert len(inner.calls) == 2
        t.write(b"lost")
        t.abort()
        await asyncio.sleep(0)
        assert inner.calls[2:] == [("abort", None)]

    _run(body)


def test_large_bodies_are_not_held_and_a_gone_peer_gets_nothing() -> None:
    async def body(t: CoalescingTransport, inner: RecordingTransport) -> None:
        t.write(b"h")
        t.write(bytes(FLUSH_BYTES))
        assert inner.calls == [("writelines", [b"h", bytes(FLUSH_BYTES)])]  # at once, past the threshold
        t.write(b"tail")
        inner.closing = True  # the peer went away before the turn ended
        await asyncio.sleep(0)
        assert len(inner.calls) == 1

    _run(body)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/big":
        body = bytes(range(256)) * 400  # 100 KB: the size of a private bucket and more
    elif path == "/echo":
        message = await receive()
        body = message.get("body", b"")[::-1]
    else:
        body = b"ok"
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)  # parts in different turns
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()), (b"x-path", path.encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def base() -> Any:
    url, server, thread = serve_in_thread(services=None, app=_app)  # type: ignore[arg-type]
    yield url
    server.should_exit = True
    thread.join(10)


def test_uvicorn_over_the_coalescing_protocol_answers_on_one_keep_alive_connection(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/small")
            r = conn.getresponse()
            assert (r.status, r.getheader("x-path"), r.read()) == (200, "/small", b"ok")
            conn.request("GET", "/big")
            r = conn.getresponse()
            assert r.read() == bytes(range(256)) * 400
            conn.request("HEAD", "/small")  # uvicorn writes no body for HEAD: the head alone must still go out
            r = conn.getresponse()
            assert (r.status, r.getheader("content-length"), r.read()) == (200, "2", b"")
            conn.request("POST", "/echo", body=b"abc" * 1000)
            r = conn.getresponse()
            assert r.read() == (b"abc" * 1000)[::-1]
            conn.request("GET", "/stream")
            r = conn.getresponse()
            assert r.read() == b"one,two,three"
    finally:
        conn.close()


def test_serve_runs_uvicorn_over_the_coalescing_protocol(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    from breachwatch.config import load_config
    from breachwatch.web.coalesce import CoalescingHttpToolsProtocol
    from breachwatch.web.server import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: seen.update(options, target=target))
    monkeypatch.setenv("BREACHWATCH_HOME", str(tmp_path))  # serve sets it for its workers
    serve(load_config(environ={}, home=tmp_path), "127.0.0.1", 8000, 2)
    assert seen["http"] is CoalescingHttpToolsProtocol and seen["workers"] == 2 and seen["access_log"] is False
