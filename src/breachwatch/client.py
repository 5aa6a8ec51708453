"""Client-side helpers for talking to a breachwatch server and receiving its notifications."""

from .webhooks import WebhookSignatureError, sign_webhook, verify_webhook_signature  # noqa: F401 - re-exported
