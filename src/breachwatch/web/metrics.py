"""Prometheus metrics: requests, latencies, numbers looked up and hits; and the ASGI middleware that counts
requests by route template (never by path, which may hold a number)."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: The buckets' "le" labels as prometheus_client writes them ('0.0005', '1.0', '+Inf').
_BUCKET_LABELS = (*map(repr, _BUCKETS), "+Inf")


class Tally:
    """A counter without labels: `inc(amount)` under the owning Metrics' lock."""

    __slots__ = ("_lock", "created", "value")

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        """Add `amount` (callers pass counts, never negative)."""
        with self._lock:
            self.value += amount


class _RouteTimes:
    """One route's latency histogram: a count per bucket (the last is +Inf) and the sum of the seconds timed."""

    __slots__ = ("counts", "created", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)
        self.total = 0.0
        self.created = time.time()


class Metrics:
    """The app's own registry (so several apps can live in one process, as in tests), exposing the same
    Prometheus series as prometheus_client's Counter and Histogram would. Requests are recorded with one lock
    and plain integers (prometheus_client takes a lock per value: five per request), and turned into metric
    families only when /metrics is scraped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], list[float]] = {}  # (route, method, status) -> [n, created]
        self._times: dict[str, _RouteTimes] = {}
        self.lookups = Tally(self._lock)
        self.hits = Tally(self._lock)
        self.rate_limited = Tally(self._lock)
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)  # a collector: it has collect() and describe()

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request under its route template, method and status, and time it."""
        with self._lock:
            counted = self._requests.get((route, method, status))
            if counted is None:
                counted = self._requests[(route, method, status)] = [0.0, time.time()]
            counted[0] += 1
            times = self._times.get(route)
            if times is None:
                times = self._times[route] = _RouteTimes()
            times.counts[bisect_left(_BUCKETS, seconds)] += 1  # le: the first bound >= seconds
            times.total += seconds

    def collect(self) -> Iterator[Metric]:
        """The metric families, as the registry asks for them on a scrape."""
        with self._lock:
            requests = {key: tuple(value) for key, value in self._requests.items()}
            times = {route: (list(t.counts), t.total, t.created) for route, t in self._times.items()}
            tallies = [(t.value, t.created) for t in (self.lookups, self.hits, self.rate_limited)]
        answered = CounterMetricFamily("breachwatch_http_requests", "HTTP requests answered.",
                                       labels=["route", "method", "status"])
        for (route, method, status), (count, created) in requests.items():
            answered.add_metric([route, method, str(status)], count, created=created)
        yield answered
        latency = HistogramMetricFamily("breachwatch_http_request_duration_seconds", "Time to answer a request.",
                                        labels=["route"])
        for route, (counts, total, created) in times.items():
            cumulative, buckets = 0, []
            for bound, count in zip(_BUCKET_LABELS, counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            latency.add_metric([route], buckets, total)
            latency.samples.append(Sample(f"{latency.name}_created", {"route": route}, created))
        yield latency
        names = (("breachwatch_lookups", "Phone numbers checked."),
                 ("breachwatch_lookup_hits", "Checked numbers found in at least one breach."),
                 ("breachwatch_rate_limited", "Requests refused with 429."))
        for (name, documentation), (value, created) in zip(names, tallies, strict=True):
            family = CounterMetricFamily(name, documentation)
            family.add_metric([], value, created=created)
            yield family

    def describe(self) -> list[Metric]:
        """No fixed description: the registry calls collect() when it needs the names."""
        return []

    def render(self) -> Response:
        """The Prometheus text exposition of this registry."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI middleware (BaseHTTPMiddleware costs far more per request) timing every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.record(route, scope["method"], status, perf_counter() - started)
