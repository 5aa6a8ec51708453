"""Delivering webhooks: a signed JSON POST carrying the notification's idempotency key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign_webhook
from .sms import DeliveryError


class WebhookSender:
    """POSTs JSON bodies signed with the recipient's secret; 2xx means delivered."""

    def __init__(self, timeout: float = 10.0, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._clock = clock

    def send(self, url: str, secret: str, payload: dict[str, Any], idempotency_key: str) -> None:
        """Deliver one payload; a network error or non-2xx answer is a DeliveryError."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "breachwatch-webhook/1",
            IDEMPOTENCY_HEADER: idempotency_key,
            SIGNATURE_HEADER: sign_webhook(secret, body, int(self._clock())),
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from None
        if not response.is_success:
            raise DeliveryError(f"webhook answered HTTP {response.status_code}")

    def close(self) -> None:
        """Release connections."""
        self._client.close()
