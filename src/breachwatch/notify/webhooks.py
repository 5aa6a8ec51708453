"""Webhooks: signed as Stripe signs them (HMAC-SHA256 over `timestamp + "." + body`, in the header
`breachwatch-signature: t=<unix seconds>,v1=<hex digest>`), delivered as JSON POSTs carrying the notification's
idempotency key, only to addresses the destination policy allows (resolved at send time, connected to as
checked), under one deadline, reading at most 64 KiB of the answer. Receivers verify with
verify_webhook_signature and deduplicate deliveries by the `Idempotency-Key` header."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from .destinations import Destinations
from .errors import DeliveryError
from .outbound import BoundedPoster, NetworkBackend, Resolver, parse_target, system_resolver

SIGNATURE_HEADER = "breachwatch-signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class WebhookSignatureError(ValueError):
    """A webhook's signature header is missing, malformed, stale, or does not match the body."""


def sign_webhook(secret: bytes | str, body: bytes, timestamp: int | None = None) -> str:
    """The `breachwatch-signature` header value for `body` sent at `timestamp` (default: now)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(secret, t, body)}"


def verify_webhook_signature(secret: bytes | str, header: str, body: bytes, tolerance: int = 300,
                             now: float | None = None) -> int:
    """Check a `breachwatch-signature` header against the raw body; returns its timestamp or raises
    WebhookSignatureError. Signatures older or newer than `tolerance` seconds are refused (replays)."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureError("signature timestamp is not an integer") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError("signature header lacks t= or v1=")
    current = time.time() if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise WebhookSignatureError("signature timestamp is outside the tolerance (possible replay)")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureError("signature does not match the body")
    return timestamp


def _digest(secret: bytes | str, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


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
