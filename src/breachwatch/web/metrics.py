"""Prometheus metrics: requests, latencies, numbers looked up and hits; and the ASGI middleware that counts
requests by route template (never by path, which may hold a number)."""

from __future__ import annotations

from time import perf_counter

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The app's own registry (so several apps can live in one process, as in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("breachwatch_http_requests_total", "HTTP requests answered.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("breachwatch_http_request_duration_seconds", "Time to answer a request.",
                                 ["route"], buckets=_BUCKETS, registry=self.registry)
        self.lookups = Counter("breachwatch_lookups_total", "Phone numbers checked.", registry=self.registry)
        self.hits = Counter("breachwatch_lookup_hits_total", "Checked numbers found in at least one breach.",
                            registry=self.registry)
        self.rate_limited = Counter("breachwatch_rate_limited_total", "Requests refused with 429.",
                                    registry=self.registry)
        # Label children per (route, method, status), bound once: `labels()` validates and joins its arguments
        # under a lock on every call.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request under its route template, method and status, and time it."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(route, method, str(status)),
                                              self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> Response:
        """The Prometheus text exposition of this registry."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics."""
        return self.render()


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
