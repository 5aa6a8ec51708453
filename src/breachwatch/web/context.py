"""Per-app state shared by the route modules: services, the cached breach list, limits and metrics."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from ..catalog.keys import ApiKey
from ..guard.limiter import RateLimiter
from ..models import Breach
from ..services import Services
from .metrics import Metrics
from .problems import Problem


@dataclass(frozen=True)
class BreachSnapshot:
    """The breaches of one catalog generation, by name and lower-cased name, newest-added first."""

    generation: int
    by_name: dict[str, Breach]
    by_lower: dict[str, Breach]
    newest_first: list[Breach]


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

    def __post_init__(self) -> None:
        self.breaches = BreachCache(self.services)

    def client_bucket(self, request: Request) -> str:
        """The rate-limit bucket of the client's IP: a keyed hash, never the address itself."""
        host = request.client.host if request.client else "-"
        digest = hashlib.blake2b(host.encode(), key=self.services.client_hash_key[:32], digest_size=8)
        return "ip:" + digest.hexdigest()

    def charge(self, request: Request, key: ApiKey | None, cost: int) -> None:
        """Charge `cost` numbers to the key's bucket (or the client IP's without a key); 429 when over."""
        bucket = f"key:{key.key_id}" if key is not None else self.client_bucket(request)
        decision = self.limiter.hit(bucket, cost)
        if not decision.allowed:
            self.metrics.rate_limited.inc()
            raise Problem(429, f"Rate limit is exceeded. Try again in {decision.retry_after} seconds.",
                          headers={"retry-after": str(decision.retry_after)})


def context_of(request: Request) -> AppContext:
    """The AppContext of the app serving `request`."""
    ctx: AppContext = request.app.state.ctx
    return ctx
