"""One write per response under uvicorn: its HTTP protocol writes a response's head and its body as two
socket writes (two system calls, two TCP segments on loopback); here the writes a connection makes within one
turn of the event loop are handed to the socket together, at the end of that turn (as TCP_CORK would, in user
space). A small response then costs one system call instead of two: on this project's 2-core machine a
trivial endpoint went from about 30k to 38k requests/s (bench/RESULTS.md).

Only `breachwatch serve --server uvicorn` uses it (web/server.py passes `CoalescingHttpToolsProtocol` as
uvicorn's `http` protocol); nothing else in the app depends on it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Past this many bytes held, writes go out at once (a large streamed body is not held for the whole turn).
FLUSH_BYTES = 256 * 1024


class CoalescingTransport:
    """A transport that holds the writes of one event-loop turn and hands them on together; everything else
    is the wrapped transport's. Closing, aborting and EOF keep the order of what was written before them."""

    __slots__ = ("_loop", "_pending", "_scheduled", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        """Hold `data` until the end of this turn of the loop (or send what is held, past FLUSH_BYTES)."""
        if not data:
            return
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush_soon)

    def writelines(self, lines: list[bytes]) -> None:
        """Hold each of `lines`, as `write` does."""
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand what is held to the socket now (one vectored write when there are several pieces)."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._size = 0
        if self._transport.is_closing():  # the peer went away: nothing can be sent any more
            return
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:
            self._transport.writelines(pending)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def get_write_buffer_size(self) -> int:
        """Bytes held here and in the wrapped transport's buffer."""
        return self._size + self._transport.get_write_buffer_size()

    def write_eof(self) -> None:
        """Send what is held, then EOF."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Send what is held, then close."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is held and close at once."""
        self._pending = []
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a CoalescingTransport."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Wrap the connection's transport, then set the connection up as uvicorn does."""
        wrapped: Any = CoalescingTransport(cast(asyncio.Transport, transport), asyncio.get_running_loop())
        super().connection_made(wrapped)
