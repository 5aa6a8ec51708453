"""What a program talking to a breachwatch server needs, in one import: the private check's client (the number
never leaves this process) and the verification of signed webhooks.

    from breachwatch.client import PrivateClient, private_check, verify_webhook_signature
"""

from .notify.webhooks import WebhookSignatureError, sign_webhook, verify_webhook_signature
from .private.client import (
    PreparedQuery,
    PrivateClient,
    PrivateHit,
    PrivateResult,
    ServerError,
    finish,
    prepare,
    private_check,
    unblind,
)

__all__ = ["PreparedQuery", "PrivateClient", "PrivateHit", "PrivateResult", "ServerError", "WebhookSignatureError",
           "finish", "prepare", "private_check", "sign_webhook", "unblind", "verify_webhook_signature"]
