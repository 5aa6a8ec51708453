"""The notification system of one process, built from settings: subscriptions, organisations, the matcher
and the outbox dispatcher, with the SMS, email and webhook backends the settings choose."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property

from ..catalog import Catalog
from ..catalog.notify_store import NotifyStore
from ..config import Config
from ..datahome import DataHome
from ..errors import ConfigError
from ..index import NumberHasher
from .destinations import Destinations
from .dispatcher import Dispatcher, RetryPolicy
from .mail import EmailSender, FileEmailSender, SmtpEmailSender
from .matcher import Matcher, MatchReport
from .orgs import Organisations
from .sms import ConsoleSmsSender, HttpSmsSender, SmsSender
from .subscriptions import SubscriptionPolicy, Subscriptions
from .tokens import NotifySecrets
from .webhooks import WebhookSender


def sms_sender_from(config: Config) -> SmsSender:
    """The SMS backend the settings choose."""
    if config.sms_backend == "console":
        return ConsoleSmsSender(DataHome(config).sms_log)
    if config.sms_backend == "http":
        if not config.sms_gateway_url:
            raise ConfigError("BREACHWATCH_SMS_BACKEND=http needs BREACHWATCH_SMS_GATEWAY_URL")
        return HttpSmsSender(config.sms_gateway_url, config.sms_gateway_token, config.sms_sender,
                             config.notify_http_timeout)
    raise ConfigError(f"BREACHWATCH_SMS_BACKEND={config.sms_backend!r}: use console or http")


def email_sender_from(config: Config) -> EmailSender:
    """The email backend the settings choose: SMTP when a host is set, else .eml files in HOME/mail."""
    if config.smtp_host:
        if config.smtp_tls not in ("starttls", "ssl", "none"):
            raise ConfigError(f"BREACHWATCH_SMTP_TLS={config.smtp_tls!r}: use starttls, ssl or none")
        return SmtpEmailSender(config.smtp_host, config.smtp_port, config.smtp_tls, config.smtp_username,
                               config.smtp_password)
    return FileEmailSender(DataHome(config).mail)


class Notifier:
    """Entry point of the notification features."""

    def __init__(self, config: Config, catalog: Catalog, hasher: NumberHasher, master_key: bytes,
                 sms: SmsSender | None = None, email: EmailSender | None = None,
                 webhook: WebhookSender | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config, self.catalog, self.hasher = config, catalog, hasher
        self.store = NotifyStore(catalog.engine)
        self.secrets = NotifySecrets(master_key)
        self._sms, self._email, self._webhook = sms, email, webhook
        self.clock = clock

    @cached_property
    def sms(self) -> SmsSender:
        """The SMS backend."""
        return self._sms or sms_sender_from(self.config)

    @cached_property
    def email(self) -> EmailSender:
        """The email backend."""
        return self._email or email_sender_from(self.config)

    @cached_property
    def destinations(self) -> Destinations:
        """Where webhooks may go: public addresses and what BREACHWATCH_WEBHOOK_ALLOW names."""
        return Destinations.parse(self.config.webhook_allow)

    @cached_property
    def webhook(self) -> WebhookSender:
        """The webhook sender."""
        return self._webhook or WebhookSender(self.config.notify_http_timeout, self.destinations)

    @cached_property
    def subscriptions(self) -> Subscriptions:
        """Personal subscriptions."""
        config = self.config
        policy = SubscriptionPolicy(config.notify_code_ttl, config.notify_code_attempts,
                                    config.notify_codes_per_number, config.notify_codes_per_day,
                                    config.notify_verify_per_day, config.sms_per_hour)
        return Subscriptions(self.store, self.hasher, self.secrets, self.sms, self.email, self.config.public_url,
                             self.config.mail_from, policy, self.clock, destinations=self.destinations)

    @cached_property
    def organisations(self) -> Organisations:
        """Organisations and their numbers."""
        return Organisations(self.store, self.hasher, self.secrets, self.config.org_range_max, self.clock,
                             destinations=self.destinations)

    @cached_property
    def matcher(self) -> Matcher:
        """The breach matcher."""
        return Matcher(self.catalog, self.store, self.hasher.fingerprint, self.config.segments_dir, self.clock)

    def dispatcher(self) -> Dispatcher:
        """A new dispatcher (one per running loop)."""
        policy = RetryPolicy(self.config.notify_retry_base, self.config.notify_retry_max,
                             self.config.notify_max_attempts, self.config.notify_lease)
        return Dispatcher(self.store, self.secrets, self.email, self.webhook, self.config.public_url,
                          self.config.mail_from, policy, self.clock)

    def match_breach(self, name: str) -> MatchReport:
        """Queue notifications for everyone watching a number of breach `name` (idempotent)."""
        return self.matcher.match_breach(name)
