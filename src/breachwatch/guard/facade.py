"""The guard's facade for the web app: `admit` before answering a request (rate limits, blocks, throttles),
`observe` after answering it (detector, actions, audit). Counters for /metrics."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import BreachwatchError
from .audit import AuditLog
from .buckets import BackendUnavailable, Bucket, LimiterBackend, MemoryBackend, TakeRequest
from .clients import ClientId
from .detector import Alert, Detector
from .policy import KINDS, Limit, Policy
from .private_watch import PrivateWatch

log = logging.getLogger("breachwatch.guard")
_PLAN_CACHE_SIZE = 65_536  # clients whose buckets and flags are remembered


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to answer; if not, seconds for a 429's Retry-After and a reason (blocked, limit:SCOPE,
    too-large:SCOPE, backend-down)."""

    allowed: bool
    retry_after: int
    reason: str


_ADMITTED = Decision(True, 0, "ok")


class AlertSink(Protocol):
    """Where alerts go (a log line by default; the notifier can be plugged in)."""

    def emit(self, alert: Alert) -> None:
        """Deliver one alert."""
        ...


class LogSink:
    """Alerts as WARNING log lines (masked numbers and shortened hashes only)."""

    def emit(self, alert: Alert) -> None:
        """Log the alert."""
        targets = ",".join(f"{scope}:{h[:12]}" for scope, h in alert.targets)
        log.warning("guard alert %s on %s: %s %s", alert.signal, targets, alert.evidence, " ".join(alert.samples))


class Guard:
    """Rate limits + detector + actions + audit, over a limiter backend (in-process or Redis)."""

    def __init__(self, policy: Policy | None = None, backend: LimiterBackend | None = None,
                 detector: Detector | None = None, audit: AuditLog | None = None,
                 sink: AlertSink | None = None) -> None:
        self.policy = policy or Policy()
        self.backend: LimiterBackend = backend or MemoryBackend()
        self.detector = detector or Detector(self.policy.thresholds, self.policy.alert_cooldown)
        self.private_watch = PrivateWatch(self.policy.thresholds, self.policy.alert_cooldown)
        self.audit = audit
        self.sink: AlertSink = sink or LogSink()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._plans: dict[tuple[ClientId, bool, int | None],
                          tuple[tuple[Bucket, ...], tuple[str, ...], tuple[str, ...]]] = {}
        self._plans_policy = self.policy

    # ------------------------------------------------------------------------------------------ admit

    def admit(self, *, client: ClientId, numbers: int, kind: str, now: float,
              key_budget: int | None = None) -> Decision:
        """Decide whether a request checking `numbers` numbers (or OPRF evaluations: kind 'oprf', charged to
        the private check's own limits) may be answered. `key_budget`: the key's own evaluations a day, in
        place of the per-key private limit (kind 'oprf' only)."""
        if kind not in KINDS:
            raise BreachwatchError(f"unknown request kind {kind!r} (one of {', '.join(KINDS)})")
        if numbers <= 0:
            return _ADMITTED
        private = kind == "oprf"
        buckets, block_flags, throttle_flags = self._plan(client, private, key_budget if private else None)
        request = TakeRequest(buckets, numbers, now, block_flags, throttle_flags, self.policy.throttle_factor)
        try:
            result = self.backend.take(request)
            decision = _ADMITTED if result.allowed and result.reason == "ok" else \
                Decision(result.allowed, result.retry_after, result.reason)
        except BackendUnavailable:
            opened = self.policy.fails_open(client.anonymous)
            self._count("guard_backend_errors_total", f"guard_fail_{'open' if opened else 'closed'}_total")
            decision = Decision(opened, 0 if opened else 5, "backend-down")
        if decision.allowed:
            with self._lock:
                counts = self._counts
                counts["guard_admitted_requests_total"] += 1
                counts["guard_admitted_numbers_total"] += numbers
        else:
            self._count("guard_denied_requests_total", f"guard_denied_total:{decision.reason.split(':')[0]}")
            if self.audit is not None:
                self.audit.record_denied(client, numbers, kind, f"denied:{decision.reason}", now)
        return decision

    def _plan(self, client: ClientId, private: bool,
              key_budget: int | None = None) -> tuple[tuple[Bucket, ...], tuple[str, ...], tuple[str, ...]]:
        """A client's buckets, block flags and throttle flags, remembered for recent clients (under the current
        policy): building them takes a dozen string formats and objects a request."""
        plans = self._plans
        if self._plans_policy is not self.policy:
            plans.clear()
            self._plans_policy = self.policy
        plan = plans.get((client, private, key_budget))
        if plan is None:
            if len(plans) >= _PLAN_CACHE_SIZE:
                plans.clear()
            entities = client.entities()
            plan = plans[(client, private, key_budget)] = (self.buckets(client, private, key_budget),
                                               tuple(self._flag("block", e) for e in entities),
                                               tuple(self._flag("throttle", e) for e in entities))
        return plan

    def buckets(self, client: ClientId, private: bool = False, key_budget: int | None = None) -> tuple[Bucket, ...]:
        """Every bucket a request from `client` is charged to (`private`: its private-check evaluations;
        `key_budget`: the key's own evaluations a day in place of the per-key private limit)."""
        limits = self.policy.private_limits if private else self.policy.limits
        if private and key_budget is not None:
            limits = {**limits, "key": (Limit(key_budget, 86400.0),)}
        tag = "o" if private else "b"
        if client.anonymous:
            owners = [("anon_ip", client.ip), ("anon_subnet", client.subnet)]
        else:
            assert client.key is not None
            owners = [("key", client.key), ("ip", client.ip), ("subnet", client.subnet)]
        owners.append(("global", "-"))
        return tuple(Bucket(f"{tag}:{scope}:{owner}:{i}", limit)
                     for scope, owner in owners for i, limit in enumerate(limits.get(scope, ())))

    def _flag(self, kind: str, entity: tuple[str, str]) -> str:
        return f"{kind}:{entity[0]}:{entity[1]}"

    # ---------------------------------------------------------------------------------------- observe

    def observe(self, *, client: ClientId, e164_numbers: Sequence[str], found: Sequence[int],
                now: float, decision: str = "ok") -> list[Alert]:
        """Record an answered request (numbers and breach counts), run the detector, act on its alerts."""
        if self.audit is not None:
            self.audit.record_checks(client, e164_numbers, found, decision, now)
        return self._act(self.detector.observe(client, e164_numbers, found, now), now)

    def withhold(self, *, client: ClientId, alerts: Sequence[Alert]) -> bool:
        """True when `alerts` (from observe) block this very client: answer 429 instead of the results, so
        the request that gave a scraper away teaches it nothing."""
        entities = set(client.entities())
        return any(self.policy.actions.get(a.signal) == "block" and entities.intersection(a.targets)
                   for a in alerts)

    def observe_blind(self, *, client: ClientId, count: int, now: float) -> list[Alert]:
        """Record a private check / OPRF request of `count` evaluations (numbers unseen): timing signals."""
        return self._act(self.detector.observe_blind(client, count, now), now)

    def observe_private(self, *, client: ClientId, count: int, now: float,
                        key_budget: int | None = None) -> list[Alert]:
        """Record `count` private-check evaluations answered to `client` (numbers unseen): audit, timing
        signals, and the private path's own (volume, key and address rotation; see PrivateWatch for a key
        with a budget of its own)."""
        if self.audit is not None:
            self.audit.record_private(client, "oprf", count, "ok", now)
        return self._act(self.detector.observe_blind(client, count, now)
                         + self.private_watch.evaluations(client, count, now, key_budget), now)

    def observe_download(self, *, client: ClientId, now: float) -> list[Alert]:
        """Record one private bucket download by `client` (which bucket is not recorded)."""
        if self.audit is not None:
            self.audit.record_private(client, "bucket", 1, "ok", now)
        return self._act(self.private_watch.download(client, now), now)

    def _act(self, alerts: list[Alert], now: float) -> list[Alert]:
        for alert in alerts:
            action = self.policy.actions.get(alert.signal, "alert")
            self._count(f"guard_alerts_total:{alert.signal}")
            if action == "log":
                log.info("guard signal %s: %s", alert.signal, alert.evidence)
                continue
            self.sink.emit(alert)
            if action in ("throttle", "block"):
                seconds = self.policy.block_seconds if action == "block" else self.policy.throttle_seconds
                for entity in alert.targets:
                    try:
                        self.backend.set_flag(self._flag(action, entity), now + seconds, now)
                        self._count(f"guard_actions_total:{action}")
                    except BackendUnavailable:
                        self._count("guard_backend_errors_total")
        return alerts

    # ---------------------------------------------------------------------------------------- metrics

    def _count(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._counts[name] += 1

    def metrics(self) -> dict[str, int]:
        """Counters and gauges for /metrics: 'name' or 'name:label' -> value."""
        with self._lock:
            counts = dict(self._counts)
        for name, value in {**self.detector.stats(), **self.private_watch.stats()}.items():
            counts[f"guard_detector_{name}"] = value
        return counts

    def flush(self) -> None:
        """Write the audit records still buffered."""
        if self.audit is not None:
            self.audit.flush()

    def close(self) -> None:
        """Release the backend and the audit file."""
        self.backend.close()
        if self.audit is not None:
            self.audit.close()
