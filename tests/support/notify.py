"""Test helpers for notifications: a real SMTP server (aiosmtpd), a real webhook receiver (http.server), a raw
TCP receiver that misbehaves on purpose (endless or trickling answers), all on 127.0.0.1, and readers for codes
and links. Webhooks to 127.0.0.1 are refused unless BREACHWATCH_WEBHOOK_ALLOW names the receiver:
`receiver.allow_env` does."""

from __future__ import annotations

import email
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

# A guard that never gets in the way of a notification test (the guard has tests of its own).
OPEN_GUARD = {"BREACHWATCH_IP_RATE": "10000", "BREACHWATCH_GUARD_LIMITS": "anon_ip=100000/1h;anon_subnet=100000/1h"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """Messages received by the SMTP server."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        """Messages addressed to `address`."""
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on 127.0.0.1 (no TLS, no auth): (port, mailbox)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@dataclass
class Delivery:
    """One request the webhook receiver got, and the client's (address, port)."""

    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] = ("", 0)


class WebhookReceiver:
    """A real HTTP server on `host` (127.0.0.1) recording every POST; dedups by Idempotency-Key like a good
    receiver. `block_on` makes the N-th request (1-based) wait on `gate` before answering; `status` picks the
    answer's status from the request (default 200)."""

    def __init__(self, port: int | None = None, block_on: int | None = None, host: str = "127.0.0.1",
                 status: Callable[[Delivery], int] | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.requests: list[Delivery] = []
        self.block_on = block_on
        self.status = status
        self.gate = threading.Event()
        self.seen_blocked = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://{self.host}:{self.port}"

    @property
    def allow(self) -> str:
        """The BREACHWATCH_WEBHOOK_ALLOW entry naming this receiver (its address and port only)."""
        return f"{self.host}:{self.port}"

    @property
    def allow_env(self) -> dict[str, str]:
        """Environment that lets webhooks reach this receiver."""
        return {"BREACHWATCH_WEBHOOK_ALLOW": self.allow}

    def keys(self) -> list[str]:
        """Idempotency keys of all requests, in arrival order (with repeats)."""
        return [r.headers.get("idempotency-key", "") for r in self.requests]

    def unique(self) -> dict[str, Delivery]:
        """The first delivery of each idempotency key (what a deduplicating receiver acts on)."""
        out: dict[str, Delivery] = {}
        for r in self.requests:
            out.setdefault(r.headers.get("idempotency-key", ""), r)
        return out

    def start(self) -> WebhookReceiver:
        """Start listening (in a thread)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                delivery = Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                    self.client_address[:2])
                with receiver._lock:
                    receiver.requests.append(delivery)
                    n = len(receiver.requests)
                if receiver.block_on == n:
                    receiver.seen_blocked.set()
                    receiver.gate.wait(30)
                self.send_response(receiver.status(delivery) if receiver.status else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class RawReceiver:
    """A TCP server on 127.0.0.1 that reads each request's head and body, then lets `answer(connection, self)`
    write whatever it likes (raw bytes, as slowly as it likes). Counts connections and bytes sent."""

    def __init__(self, answer: Callable[[socket.socket, RawReceiver], None]) -> None:
        self.answer = answer
        self.connections = 0
        self.sent = 0
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def allow(self) -> str:
        """The BREACHWATCH_WEBHOOK_ALLOW entry naming this receiver."""
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:
                    body += connection.recv(65536)
                self.answer(connection, self)
            except OSError:
                pass  # the client hung up: what these tests want

    def send(self, connection: socket.socket, data: bytes) -> None:
        """Send and count."""
        connection.sendall(data)
        self.sent += len(data)

    def stop(self) -> None:
        """Stop listening and end the answers in progress."""
        self.stopped.set()
        self._listener.close()


def endless_answer(limit: int = 256 << 20) -> Callable[[socket.socket, RawReceiver], None]:
    """200 with Content-Length 1.5 GB, then zeros until the client hangs up (or `limit` bytes, so that a client
    that reads everything fails a test instead of filling the machine)."""
    def answer(connection: socket.socket, receiver: RawReceiver) -> None:
        receiver.send(connection, b"HTTP/1.1 200 OK\r\nContent-Length: 1610612736\r\n\r\n")
        block = bytes(65536)
        while receiver.sent < limit and not receiver.stopped.is_set():
            receiver.send(connection, block)
    return answer


def trickle_answer(interval: float, in_head: bool, total: float = 12.0) -> Callable[[socket.socket, RawReceiver],
                                                                                    None]:
    """A 200 answer sent one byte every `interval` seconds, in its head or in its body, for `total` seconds at
    most (each byte well within any per-read timeout; the whole far past a deadline)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    def answer(connection: socket.socket, receiver: RawReceiver) -> None:
        if not in_head:
            receiver.send(connection, head)
        end = time.monotonic() + total
        for i in range(10_000):
            if time.monotonic() > end or receiver.stopped.wait(interval):
                return
            receiver.send(connection, head[i:i + 1] if in_head and i < len(head) else b"x")
    return answer


def socket_owners(local_port: int, remote_port: int | None = None) -> set[int]:
    """Ids of the processes holding a TCP socket (IPv4 or IPv6) bound to `local_port`: the listener when
    `remote_port` is None, else the connection to `remote_port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16), \
                fields[3], fields[9]
            if local == local_port and (state == "0A" if remote_port is None else remote == remote_port):
                inodes.add(f"socket:[{inode}]")
    owners = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                owners.add(int(fd_dir.parent.name))
        except OSError:  # gone, or not ours to look at
            continue
    return owners


def parent_of(pid: int) -> int:
    """The parent process id of `pid` (Linux /proc)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def is_running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (Linux /proc)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sms_code(home: Path, masked: str) -> str:
    """The last code the console SMS backend 'sent' to the number shown as `masked`."""
    lines = [json.loads(line) for line in (home / "sms.jsonl").read_text().splitlines()]
    text = [m["text"] for m in lines if m["to"] == masked][-1]
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, text
    return found.group(1)


def link_in(message: Message, pattern: str) -> str:
    """The first URL in a plain-text message whose path matches `pattern`."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    found = re.search(r"https?://\S*" + pattern + r"\S*", payload.decode())
    assert found is not None, payload
    return found.group(0)


def body_of(message: Message) -> str:
    """The decoded text of a plain-text message."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()
