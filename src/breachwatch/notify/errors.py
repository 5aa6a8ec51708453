"""Errors of the notification flows. Their messages never say whether a number is in a breach."""

from __future__ import annotations

from ..errors import BreachwatchError


class InvalidCodeError(BreachwatchError):
    """A verification code is wrong, expired, used, or tried too often (one message for all of these)."""

    def __init__(self) -> None:
        super().__init__("invalid or expired code")


class InvalidTokenError(BreachwatchError):
    """A link token (email confirmation, unsubscribe) does not match."""

    def __init__(self) -> None:
        super().__init__("invalid or expired link")


class TooManyRequestsError(BreachwatchError):
    """Too many codes were requested for one number; try again later."""


class SubscriptionInputError(BreachwatchError):
    """A subscription or organisation request is malformed (names the field and why)."""


class DeliveryError(BreachwatchError):
    """A message could not be handed to its transport (SMS gateway, SMTP server, webhook receiver)."""


class OutsideGrantError(BreachwatchError):
    """An organisation key asked for a number or range outside the ranges granted to its organisation."""
