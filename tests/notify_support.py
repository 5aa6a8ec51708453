"""Test helpers for notifications: a real SMTP server (aiosmtpd), a real webhook receiver (http.server), both
on 127.0.0.1, and readers for codes and links."""

from __future__ import annotations

import email
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


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
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 recording every POST; dedups by Idempotency-Key like a good receiver.
    `block_on` makes the N-th request (1-based) wait on `gate` before answering."""

    def __init__(self, port: int | None = None, block_on: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[Delivery] = []
        self.block_on = block_on
        self.gate = threading.Event()
        self.seen_blocked = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Base URL of the receiver."""
        return f"http://127.0.0.1:{self.port}"

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
                with receiver._lock:
                    receiver.requests.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    n = len(receiver.requests)
                if receiver.block_on == n:
                    receiver.seen_blocked.set()
                    receiver.gate.wait(30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
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
