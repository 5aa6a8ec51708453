"""Sending one-time codes by SMS: an interface with a console backend (development, tests) and a generic
HTTP gateway backend (JSON POST)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Protocol

import httpx

from ..errors import BreachwatchError
from ..phone import mask_e164


class DeliveryError(BreachwatchError):
    """A message could not be handed to its transport (SMS gateway, SMTP server, webhook receiver)."""


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
    """A generic HTTP SMS gateway: POST {"to", "text", "sender"} as JSON with a bearer token."""

    def __init__(self, url: str, token: str | None, sender: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.sender = sender
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def send(self, to_e164: str, text: str) -> None:
        """POST the message; any non-2xx answer or network error is a DeliveryError."""
        try:
            response = self._client.post(self.url, json={"to": to_e164, "text": text, "sender": self.sender},
                                         headers=self._headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if not response.is_success:
            raise DeliveryError(f"SMS gateway answered HTTP {response.status_code}")
