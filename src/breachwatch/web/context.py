"""Per-app state shared by the route modules: services, the cached breach list, limits and metrics."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from ..catalog.keys import ApiKey
from ..guard.clients import ClientId
from ..guard.limiter import Decision, RateLimiter
from ..models import Breach, CheckResult
from ..services import Services
from .metrics import Metrics
from .problems import Problem
from .render_cache import RenderCache


@dataclass(frozen=True)
class BreachSnapshot:
    """The breaches of one catalog generation, by name and lower-cased name, newest-added first."""

    generation: int
    by_name: dict[str, Breach]
    by_lower: dict[str, Breach]
    newest_first: list[Breach]


#: Where a request's ClientId is kept in its ASGI scope once worked out: (API key id or None, ClientId).
_CLIENT_SCOPE_KEY = "breachwatch.client"


class BreachCache:
    """The catalog's breaches, re-read only when the catalog generation changes (checked at most once a
    `refresh_seconds`), so request handlers never query the database."""

    def __init__(self, services: Services, refresh_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._services = services
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: BreachSnapshot | None = None
        self._checked_at = -1e18

    def get(self) -> BreachSnapshot:
        """The current snapshot."""
        now = self._clock()
        with self._lock:
            if self._snapshot is None or now - self._checked_at >= self._refresh_seconds:
                self._checked_at = now
                generation = self._services.catalog.generation()
                if self._snapshot is None or generation != self._snapshot.generation:
                    breaches = self._services.catalog.list_breaches()
                    self._snapshot = BreachSnapshot(
                        generation, {b.name: b for b in breaches}, {b.name.lower(): b for b in breaches},
                        sorted(breaches, key=lambda b: (b.added_date, b.name), reverse=True))
            return self._snapshot


@dataclass
class AppContext:
    """What handlers reach through `context_of(request)`."""

    services: Services
    limiter: RateLimiter
    metrics: Metrics
    breaches: BreachCache = field(init=False)
    reports: RenderCache = field(init=False)

    def __post_init__(self) -> None:
        self.breaches = BreachCache(self.services)
        self.reports = RenderCache()

    def client_bucket(self, request: Request) -> str:
        """The rate-limit bucket of the client's IP: a keyed hash, never the address itself."""
        host = request.client.host if request.client else "-"
        digest = hashlib.blake2b(host.encode(), key=self.services.client_hash_key[:32], digest_size=8)
        return "ip:" + digest.hexdigest()

    def client_of(self, request: Request, key: ApiKey | None) -> ClientId:
        """The guard's view of the caller: keyed hashes of its API key id, address and subnet (worked out once
        per request: charge and observe both need it)."""
        key_id = key.key_id if key is not None else None
        known = request.scope.get(_CLIENT_SCOPE_KEY)
        if known is not None and known[0] == key_id:
            client: ClientId = known[1]
            return client
        client_addr = request.scope.get("client")
        host = client_addr[0] if client_addr else "0.0.0.0"  # noqa: S104 - a label, not a bind address
        client = self.services.client_hasher.client(key_id, host)
        request.scope[_CLIENT_SCOPE_KEY] = (key_id, client)
        return client

    def charge(self, request: Request, key: ApiKey | None, cost: int, kind: str = "check") -> None:
        """Charge `cost` numbers (or OPRF evaluations) to the caller: the short-term per-key/per-IP bucket,
        then the guard's limits (key, IP, subnet, global, long-window caps, blocks); 429 when over."""
        bucket = f"key:{key.key_id}" if key is not None else self.client_bucket(request)
        decision = self.limiter.hit(bucket, cost)
        if decision.allowed:
            budget = key.private_per_day if key is not None and kind == "oprf" else None
            guarded = self.services.guard.admit(client=self.client_of(request, key), numbers=cost, kind=kind,
                                                now=time.time(), key_budget=budget)
            if not guarded.allowed:
                decision = Decision(False, max(1, guarded.retry_after))
        if not decision.allowed:
            self.metrics.rate_limited.inc()
            raise Problem(429, f"Rate limit is exceeded. Try again in {decision.retry_after} seconds.",
                          headers={"retry-after": str(decision.retry_after)})

    def charge_reports(self, request: Request) -> None:
        """Charge one report to the client's address (its own budget, apart from checks); 429 when over."""
        decision = self.limiter.hit("report:" + self.client_bucket(request).partition(":")[2], 1)
        if not decision.allowed:
            self.metrics.rate_limited.inc()
            raise Problem(429, f"Too many reports asked for. Try again in {decision.retry_after} seconds.",
                          headers={"retry-after": str(decision.retry_after)})

    def observe(self, request: Request, key: ApiKey | None, results: Sequence[CheckResult]) -> None:
        """Count the checks for /metrics and feed them to the guard (audit log, enumeration detector), whatever
        the key's scope; when they give the caller away as a scraper, answer 429 instead of the results, so
        that request teaches it nothing. Only public breaches count as found: what the guard does and what
        /metrics shows must not depend on membership in sensitive or retired breaches."""
        numbers = [r.e164 for r in results if r.e164]
        found = [sum(1 for h in r.hits if h.breach.is_public) for r in results if r.e164]
        self.metrics.lookups.inc(len(results))
        self.metrics.hits.inc(sum(1 for n in found if n))
        if not numbers:
            return
        client = self.client_of(request, key)
        guard = self.services.guard
        alerts = guard.observe(client=client, e164_numbers=numbers, found=found, now=time.time())
        if alerts and guard.withhold(client=client, alerts=alerts):
            self.metrics.rate_limited.inc()
            raise Problem(429, "This client is blocked for querying like an enumeration tool.",
                          headers={"retry-after": str(int(guard.policy.block_seconds))})

    def observe_private(self, request: Request, key: ApiKey | None, evaluations: int) -> None:
        """Feed private-check evaluations (numbers unseen) to the guard: audit, timing and the private path's
        signals; a client its alerts block gets a 429 instead of the evaluations."""
        client = self.client_of(request, key)
        guard = self.services.guard
        alerts = guard.observe_private(client=client, count=evaluations, now=time.time(),
                                       key_budget=key.private_per_day if key is not None else None)
        if alerts and guard.withhold(client=client, alerts=alerts):
            self.metrics.rate_limited.inc()
            raise Problem(429, "This client is blocked for using the private check like an enumeration tool.",
                          headers={"retry-after": str(int(guard.policy.block_seconds))})

    def observe_bucket(self, request: Request) -> None:
        """Feed one private bucket download to the guard (by address: downloads carry no key)."""
        self.services.guard.observe_download(client=self.client_of(request, None), now=time.time())


def context_of(request: Request) -> AppContext:
    """The AppContext of the app serving `request`."""
    app = request.scope["app"]
    ctx: AppContext | None = getattr(app, "ctx", None)  # BreachwatchApp keeps it as a plain attribute
    if ctx is None:
        ctx = app.state.ctx
    assert ctx is not None
    return ctx


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The first value of a request header (`name` in lower case, as ASGI servers give them), or None:
    `request.headers.get` without building a Headers object."""
    raw: bytes
    for key, raw in scope["headers"]:
        if key == name:
            return raw.decode("latin-1")
    return None
