"""Personal subscriptions: a number proved by an SMS code, plus a confirmed email address or a webhook.
Nothing here looks at the index, so no answer can say whether a number is in a breach."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..catalog.notify_store import NotifyStore, Quota, SubscriptionRecord, signed_int
from ..errors import NumberError
from ..i18n import CODES, DEFAULT
from ..index import NumberHasher
from ..phone import mask_e164, normalize
from .destinations import Destinations
from .errors import InvalidCodeError, InvalidTokenError, SubscriptionInputError, TooManyRequestsError
from .mail import EmailSender
from .messages import code_sms, confirmation_email
from .sms import SmsSender
from .tokens import NotifySecrets, same

_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$")


@dataclass(frozen=True)
class SubscribeResult:
    """What the subscriber is told: the id to verify with, and for webhooks the secret and unsubscribe token."""

    id: str
    channel: str
    webhook_secret: str | None = None
    unsubscribe_token: str | None = None


@dataclass(frozen=True)
class SubscriptionPolicy:
    """Limits of the verification flow."""

    code_ttl: float = 600.0
    max_attempts: int = 5
    #: Codes sent to one number per code lifetime, and per day.
    codes_per_number: int = 3
    codes_per_day: int = 5
    #: Verify attempts for one number per day, whatever the code or subscription.
    verify_per_day: int = 10
    #: Codes the whole service sends per hour (SMS cost and SMS-pumping fraud).
    sms_per_hour: int = 200


_DAY = 86_400.0
_TOO_MANY = {
    "sms-hour": "this service has sent as many codes as it may this hour; try again later",
    "codes": "too many codes were sent to this number; try again later",
    "codes-day": "too many codes were sent to this number today; try again tomorrow",
    "verify-day": "too many attempts to verify this number today; try again tomorrow",
}


def check_email(email: str) -> str:
    """The address, trimmed, if it looks deliverable; else SubscriptionInputError."""
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise SubscriptionInputError(f"email {email[:40]!r} is not a valid address")
    return email


def _lang_param(language: str) -> str:
    """The query parameter that opens a link's page in the subscription's language."""
    return f"&lang={language}" if language != DEFAULT else ""


def check_language(language: str | None) -> str:
    """A catalog id breachwatch speaks (DEFAULT when none is given); else SubscriptionInputError."""
    if language is None:
        return DEFAULT
    if language not in CODES:
        raise SubscriptionInputError(f"language {language[:16]!r} is not one of {', '.join(CODES)}")
    return language


def check_webhook_url(url: str, destinations: Destinations | None = None) -> str:
    """The URL if it is an absolute http(s) URL without credentials whose host is not a refused internal address
    (see notify/destinations.py); else SubscriptionInputError."""
    return (destinations or Destinations()).check_url(url)


class Subscriptions:
    """Subscribe, verify the number, confirm the email, unsubscribe."""

    def __init__(self, store: NotifyStore, hasher: NumberHasher, secrets: NotifySecrets, sms: SmsSender,
                 email: EmailSender, public_url: str, mail_from: str,
                 policy: SubscriptionPolicy | None = None, clock: Callable[[], float] = time.time,
                 destinations: Destinations | None = None) -> None:
        self.store, self.hasher, self.secrets = store, hasher, secrets
        self.destinations = destinations
        self.sms, self.email = sms, email
        self.public_url = public_url.rstrip("/")
        self.mail_from = mail_from
        self.policy = policy or SubscriptionPolicy()
        self.clock = clock

    def subscribe(self, number: str, email: str | None = None, webhook_url: str | None = None,
                  region: str | None = None, language: str | None = None) -> SubscribeResult:
        """Create a pending subscription and send the code to the number (and a link to the address), in
        `language` (a catalog id of breachwatch.i18n; English by default), which its alerts keep."""
        if (email is None) == (webhook_url is None):
            raise SubscriptionInputError("give exactly one of email or webhook_url")
        language = check_language(language)
        email = check_email(email) if email is not None else None
        webhook_url = check_webhook_url(webhook_url, self.destinations) if webhook_url is not None else None
        norm = normalize(number, region)
        if norm.e164 is None:
            raise NumberError(f"cannot read the number as a phone number ({norm.reason})")
        hashed = signed_int(self.hasher.hash_e164(norm.e164))
        now = self.clock()
        policy = self.policy
        self._take([Quota("sms-hour", 3600.0, policy.sms_per_hour),
                    Quota(f"codes:{hashed}", policy.code_ttl, policy.codes_per_number),
                    Quota(f"codes-day:{hashed}", _DAY, policy.codes_per_day)], now)
        sub_id = self.secrets.new_id()
        code = self.secrets.new_code()
        channel = "email" if email is not None else "webhook"
        masked = mask_e164(norm.e164)
        self.store.add_subscription({
            "id": sub_id, "number_hash": hashed, "number_masked": masked, "channel": channel, "email": email,
            "webhook_url": webhook_url, "code_hash": self.secrets.code_hash(sub_id, code),
            "code_expires": now + self.policy.code_ttl, "code_attempts": 0, "number_verified": False,
            "email_confirmed": False, "active": False, "created": now, "language": language,
        })
        self.sms.send(norm.e164, code_sms(code, max(1, int(self.policy.code_ttl // 60)), language))
        if email is not None:
            token = self.secrets.email_token(sub_id, email)
            self.email.send(confirmation_email(masked, f"{self.public_url}/api/v1/subscriptions/{sub_id}/confirm"
                                                       f"?token={token}{_lang_param(language)}",
                                               self.unsubscribe_url(sub_id, language), self.mail_from, email,
                                               language))
            return SubscribeResult(sub_id, channel)
        return SubscribeResult(sub_id, channel, self.secrets.webhook_secret("subscription", sub_id),
                               self.secrets.unsubscribe_token(sub_id))

    def verify(self, sub_id: str, code: str) -> None:
        """Accept the code sent to the number; any failure raises the same InvalidCodeError."""
        sub = self.store.get_subscription(sub_id)
        offered = self.secrets.code_hash(sub_id, code)
        if sub is None or sub.code_hash is None or sub.code_expires is None:
            same(offered, offered)  # same work as a real comparison
            raise InvalidCodeError
        self._take([Quota(f"verify-day:{sub.number_hash}", _DAY, self.policy.verify_per_day)], self.clock())
        self.store.count_code_attempt(sub_id)
        expired = self.clock() > sub.code_expires
        exhausted = sub.code_attempts >= self.policy.max_attempts
        matches = same(offered, sub.code_hash)
        if expired or exhausted or not matches or not self.store.mark_number_verified(sub_id, sub.code_hash):
            raise InvalidCodeError

    def _take(self, quotas: list[Quota], now: float) -> None:
        """Count one use against each quota, or raise TooManyRequestsError naming the one exhausted."""
        exhausted = self.store.take_quotas(quotas, now)
        if exhausted is not None:
            raise TooManyRequestsError(_TOO_MANY[exhausted.name.split(":", 1)[0]])

    def confirm_email(self, sub_id: str, token: str) -> None:
        """Accept the email-confirmation link."""
        sub = self.store.get_subscription(sub_id)
        expected = self.secrets.email_token(sub_id, sub.email) if sub is not None and sub.email else None
        if not same(expected, token):
            raise InvalidTokenError
        self.store.confirm_email(sub_id)

    def unsubscribe(self, sub_id: str, token: str) -> None:
        """Delete the subscription (and cancel its pending notifications) given its unsubscribe token."""
        if not same(self.secrets.unsubscribe_token(sub_id), token) or not self.store.delete_subscription(sub_id):
            raise InvalidTokenError

    def unsubscribe_url(self, sub_id: str, language: str = DEFAULT) -> str:
        """The link to the page that shows what a subscription is and stops it (in its language)."""
        return self.public_url + self.unsubscribe_path(sub_id, language)

    def unsubscribe_path(self, sub_id: str, language: str = DEFAULT) -> str:
        """The path and query of `unsubscribe_url` (for links within the site)."""
        return f"/api/v1/subscriptions/{sub_id}/unsubscribe?token={self.secrets.unsubscribe_token(sub_id)}" \
               f"{_lang_param(language)}"

    def show(self, sub_id: str, token: str) -> SubscriptionRecord:
        """What a subscription is (masked number, address, language, state), given its unsubscribe token."""
        sub = self.store.get_subscription(sub_id)
        if not same(self.secrets.unsubscribe_token(sub_id), token) or sub is None:
            raise InvalidTokenError
        return sub
