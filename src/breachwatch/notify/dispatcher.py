"""The outbox dispatcher: claims due notifications under a lease, delivers them, marks them delivered, and
retries failures with exponential backoff.

Delivery is at-least-once: a dispatcher killed after sending but before marking leaves the row leased; when
the lease runs out another dispatcher sends it again with the SAME idempotency key (webhook header
`Idempotency-Key`; email headers `Breachwatch-Idempotency-Key` and a Message-ID derived from the key).
Receivers that drop a key they have seen get each notification effectively once. The lease (compare-and-set
claim) keeps two running dispatchers from sending the same row at the same time."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..catalog.notify_store import NotifyStore, OutboxRecord
from .mail import EmailSender
from .messages import breach_email, webhook_body
from .sms import DeliveryError
from .tokens import NotifySecrets
from .webhooks import WebhookSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff and lease settings of a dispatcher."""

    base: float = 30.0
    maximum: float = 3600.0
    max_attempts: int = 12
    lease: float = 120.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return float(min(self.maximum, self.base * 2 ** max(attempts - 1, 0)))


@dataclass
class DispatchReport:
    """What one pass delivered, postponed, gave up on, or dropped."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        """Accumulate another pass."""
        self.delivered += other.delivered
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled
        self.errors += other.errors


class Dispatcher:
    """Delivers the outbox through the email and webhook senders."""

    def __init__(self, store: NotifyStore, secrets: NotifySecrets, email: EmailSender, webhook: WebhookSender,
                 public_url: str, mail_from: str, policy: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.secrets = store, secrets
        self.email, self.webhook = email, webhook
        self.public_url = public_url.rstrip("/")
        self.mail_from = mail_from
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def run_once(self, batch: int = 100, should_stop: Callable[[], bool] = lambda: False) -> DispatchReport:
        """Deliver what is due now (one batch); rows leased by others or scheduled later are left alone, and so
        are the rest of the batch once `should_stop()` says so."""
        report = DispatchReport()
        for row_id in self.store.due(self.clock(), batch):
            if should_stop():
                break
            row = self.store.claim(row_id, self.owner, self.clock(), self.policy.lease)
            if row is not None:
                self._deliver(row, report)
        return report

    def drain(self, should_stop: Callable[[], bool] = lambda: False) -> DispatchReport:
        """Run passes until nothing is due now (or `should_stop()`)."""
        total = DispatchReport()
        while not should_stop():
            report = self.run_once(should_stop=should_stop)
            total.add(report)
            if not (report.delivered or report.retried or report.failed or report.cancelled):
                break
        return total

    def run_forever(self, poll: float, should_stop: Callable[[], bool] = lambda: False,
                    sleep: Callable[[float], None] = time.sleep) -> None:
        """Deliver continuously, sleeping `poll` seconds (with `sleep`) when nothing is due, until `should_stop()`;
        a delivery in hand is finished first (each is bounded by the HTTP deadline or the SMTP timeout)."""
        while not should_stop():
            report = self.drain(should_stop)
            if report.delivered or report.retried or report.failed or report.cancelled:
                log.info("notify: delivered %d, retrying %d, failed %d, cancelled %d", report.delivered,
                         report.retried, report.failed, report.cancelled)
            if not should_stop():
                sleep(poll)

    def _deliver(self, row: OutboxRecord, report: DispatchReport) -> None:
        try:
            target = self._target(row)
            if target is None:
                self.store.cancel(row.id, self.owner, "recipient removed")
                report.cancelled += 1
                return
            destination, unsubscribe_url, secret, language = target
            if row.channel == "email":
                self.email.send(breach_email(row.idempotency_key, row.payload, unsubscribe_url, self.mail_from,
                                             destination, language))
            else:
                self.webhook.send(destination, secret, webhook_body(row.idempotency_key, row.payload,
                                                                    unsubscribe_url, row.created),
                                  row.idempotency_key)
        except DeliveryError as exc:
            self._failed(row, str(exc), report)
            return
        except Exception as exc:  # a bug or an unexpected transport error must not stop the dispatcher
            log.exception("notify: unexpected error delivering notification %d", row.id)
            self._failed(row, f"unexpected {type(exc).__name__}", report)
            return
        self.store.mark_delivered(row.id, self.owner, self.clock())
        report.delivered += 1

    def _failed(self, row: OutboxRecord, error: str, report: DispatchReport) -> None:
        attempts = row.attempts + 1
        final = attempts >= self.policy.max_attempts
        self.store.mark_retry(row.id, self.owner, error, self.clock() + self.policy.delay(attempts), final)
        report.errors.append(error)
        if final:
            report.failed += 1
        else:
            report.retried += 1

    def _target(self, row: OutboxRecord) -> tuple[str, str, str, str] | None:
        """(address or URL, unsubscribe link, webhook secret, language) of the row's recipient, or None if
        gone."""
        language = "en"
        if row.target_kind == "subscription":
            sub = self.store.get_subscription(row.target_id)
            if sub is None or not sub.active:
                return None
            destination = sub.email if row.channel == "email" else sub.webhook_url
            language = sub.language
            unsubscribe = (f"{self.public_url}/api/v1/subscriptions/{sub.id}/unsubscribe?token="
                           f"{self.secrets.unsubscribe_token(sub.id)}" + (f"&lang={language}" if language != "en"
                                                                          else ""))
        else:
            org = self.store.organisation_by_id(row.target_id)
            if org is None:
                return None
            destination = org.email if row.channel == "email" else org.webhook_url
            unsubscribe = (f"{self.public_url}/api/v1/organisations/{org.id}/unsubscribe?token="
                           f"{self.secrets.unsubscribe_token('organisation:' + org.id)}")
        if not destination:
            return None
        return destination, unsubscribe, self.secrets.webhook_secret(row.target_kind, row.target_id), language
