"""Delivering webhooks: a signed JSON POST carrying the notification's idempotency key, sent only to addresses
the destination policy allows (resolved at send time, connected to as checked), under one deadline, reading at
most 64 KiB of the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ..webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign_webhook
from .destinations import Destinations
from .errors import DeliveryError
from .outbound import BoundedPoster, NetworkBackend, Resolver, parse_target, system_resolver


class WebhookSender:
    """POSTs JSON bodies signed with the recipient's secret; 2xx means delivered. `timeout` is the deadline of
    one whole delivery; `destinations` says which addresses may be reached (default: public ones only)."""

    def __init__(self, timeout: float = 10.0, destinations: Destinations | None = None,
                 clock: Callable[[], float] = time.time, resolver: Resolver = system_resolver,
                 network_backend: NetworkBackend | None = None) -> None:
        self.destinations = destinations or Destinations()
        self._poster = BoundedPoster(timeout, "webhook", self.destinations.vet, resolver,
                                     network_backend=network_backend)
        self._clock = clock

    def send(self, url: str, secret: str, payload: dict[str, Any], idempotency_key: str) -> None:
        """Deliver one payload; a refused address, a network error, the deadline or a non-2xx answer is a
        DeliveryError."""
        try:
            target = parse_target(url)
        except ValueError:
            raise DeliveryError("webhook URL is not an absolute http(s) URL") from None
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "breachwatch-webhook/1",
            IDEMPOTENCY_HEADER: idempotency_key,
            SIGNATURE_HEADER: sign_webhook(secret, body, int(self._clock())),
        }
        answer = self._poster.post(target, body, headers)
        if not answer.ok:
            raise DeliveryError(f"webhook answered HTTP {answer.status}")

    def close(self) -> None:
        """Nothing to release: each delivery uses its own connection, closed when it is done."""
