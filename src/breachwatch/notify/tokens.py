"""Codes and tokens of the notification flows: one-time codes stored as keyed hashes, link tokens and
webhook secrets derived from the master key (nothing to store, nothing to leak from the catalog)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..secretkey import derive_key

CODE_DIGITS = 6


class NotifySecrets:
    """Keys for codes, link tokens, webhook signing and idempotency keys, all derived from the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._code_key = derive_key(master_key, "notify-code")
        self._email_key = derive_key(master_key, "notify-email-confirm")
        self._unsubscribe_key = derive_key(master_key, "notify-unsubscribe")
        self._webhook_key = derive_key(master_key, "notify-webhook-secret")

    @staticmethod
    def new_code() -> str:
        """A fresh random numeric one-time code."""
        return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"

    @staticmethod
    def new_id() -> str:
        """A fresh random identifier (unguessable, URL-safe)."""
        return secrets.token_hex(16)

    def code_hash(self, sub_id: str, code: str) -> str:
        """The stored form of a code: a keyed hash bound to its subscription."""
        return _mac(self._code_key, f"{sub_id}:{code.strip()}")

    def email_token(self, sub_id: str, email: str) -> str:
        """The token of a subscription's email-confirmation link."""
        return _mac(self._email_key, f"{sub_id}:{email.lower()}")[:40]

    def unsubscribe_token(self, sub_id: str) -> str:
        """The token that lets its holder delete a subscription."""
        return _mac(self._unsubscribe_key, sub_id)[:40]

    def webhook_secret(self, kind: str, target_id: str) -> str:
        """The secret a subscription's or organisation's webhooks are signed with."""
        return "whsec_" + _mac(self._webhook_key, f"{kind}:{target_id}")[:48]


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two secrets (False if either is missing)."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def idempotency_key(kind: str, target_id: str, breach: str, channel: str) -> str:
    """The one key of a notification: the same recipient, breach and channel always give the same key."""
    return "bw_" + hashlib.sha256(f"{kind}\0{target_id}\0{breach}\0{channel}".encode()).hexdigest()[:40]


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
