"""Test helpers for the page: a local SMS gateway (a real HTTP server on 127.0.0.1 that records what the `http`
SMS backend posts to it) and the settings that send codes there and emails to a test SMTP server."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.notify import free_port


class SmsGateway:
    """A real HTTP SMS gateway on 127.0.0.1: records each {"to", "text", "sender"} posted to /sms."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where the SMS backend posts."""
        return f"http://127.0.0.1:{self.port}/sms"

    def start(self) -> SmsGateway:
        """Start listening (in a thread)."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with gateway._lock:
                    gateway.messages.append(body)
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
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def last_to(self, e164: str) -> dict[str, Any]:
        """The last message sent to a number."""
        with self._lock:
            return [m for m in self.messages if m["to"] == e164][-1]

    def code_for(self, e164: str) -> str:
        """The 6-digit code in the last message sent to a number."""
        found = re.search(r"\b(\d{6})\b", self.last_to(e164)["text"])
        assert found is not None
        return found.group(1)


def delivery_env(gateway: SmsGateway, smtp_port: int) -> dict[str, str]:
    """Settings that send SMS to `gateway` and email to the SMTP server on `smtp_port` (no TLS)."""
    return {"BREACHWATCH_SMS_BACKEND": "http", "BREACHWATCH_SMS_GATEWAY_URL": gateway.url,
            "BREACHWATCH_SMTP_HOST": "127.0.0.1", "BREACHWATCH_SMTP_PORT": str(smtp_port),
            "BREACHWATCH_SMTP_TLS": "none"}
