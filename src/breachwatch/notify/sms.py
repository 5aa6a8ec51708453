"""Sending one-time codes by SMS: an interface with a console backend (development, tests) and a generic
HTTP gateway backend (JSON POST)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Protocol

from ..errors import ConfigError
from ..phone import mask_e164
from .errors import DeliveryError as DeliveryError  # re-exported: it was defined here first
from .outbound import BoundedPoster, parse_target


class SmsSender(Protocol):
    """Sends one text message to one E.164 number."""

    def send(self, to_e164: str, text: str) -> None:
        """Send `text` to `to_e164`; raise DeliveryError if the transport refuses it."""


class ConsoleSmsSender:
    """Development backend: appends {time, to (masked), text} as a JSON line to a file instead of sending."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, to_e164: str, text: str) -> None:
        """Append the message to the file (the number only masked)."""
        line = json.dumps({"time": time.time(), "to": mask_e164(to_e164), "text": text})
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line + "\n")


class HttpSmsSender:
    """A generic HTTP SMS gateway: POST {"to", "text", "sender"} as JSON with a bearer token. The gateway is the
    operator's, so its address is not filtered, but each request has one deadline (`timeout`) and at most 64 KiB
    of the answer is read."""

    def __init__(self, url: str, token: str | None, sender: str, timeout: float = 10.0) -> None:
        try:
            self.target = parse_target(url)
        except ValueError as exc:
            raise ConfigError(f"BREACHWATCH_SMS_GATEWAY_URL: {exc}") from None
        self._headers = {"Content-Type": "application/json", "User-Agent": "breachwatch-sms/1"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.sender = sender
        self._poster = BoundedPoster(timeout, "SMS gateway")

    def send(self, to_e164: str, text: str) -> None:
        """POST the message; any non-2xx answer, network error or the deadline is a DeliveryError."""
        body = json.dumps({"to": to_e164, "text": text, "sender": self.sender}).encode()
        answer = self._poster.post(self.target, body, self._headers)
        if not answer.ok:
            raise DeliveryError(f"SMS gateway answered HTTP {answer.status}")
