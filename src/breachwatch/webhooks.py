"""Signed webhooks, as Stripe signs them: HMAC-SHA256 over `timestamp + "." + body`, sent in the header
`breachwatch-signature: t=<unix seconds>,v1=<hex digest>`. Receivers verify with verify_webhook_signature
and deduplicate deliveries by the `Idempotency-Key` header."""

from __future__ import annotations

import hashlib
import hmac
import time

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
