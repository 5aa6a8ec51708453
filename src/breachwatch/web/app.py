"""The ASGI app: `create_app(services) -> Starlette`, and `app_factory()` for any ASGI server
(`uvicorn --factory breachwatch.web:app_factory`).

One convention for every route module, `breachwatch.web.<area>_api` (or `pages`): module-level handlers, and
a function `routes(services: Services) -> list[BaseRoute]` listed in ROUTE_MODULES below (one line). A route
that reads a body declares its limit (`BodyRoute`, web/bodies.py). Handlers reach shared state with
`context_of(request)` (web/context.py), authenticate with `authenticate(request, scope)` (web/auth.py) before
reading a body, charge the guard with `context_of(request).charge(...)`, and raise: a `Problem(status,
detail)`, or any library error (`BreachwatchError`), mapped to a status in one place (web/problems.py). Every
error is answered as application/problem+json. Only web/ imports Starlette."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from ..guard.limiter import RateLimiter
from ..services import Services
from .auth import authenticate
from .bodies import BodyGuard
from .context import AppContext, context_of
from .hot_routes import HotRoutes
from .metrics import Metrics, MetricsMiddleware
from .openapi import openapi
from .problems import EXCEPTION_HANDLERS
from .proxy import ClientResolver, parse_trusted

#: Route modules under breachwatch.web, each with `routes(services) -> list[BaseRoute]`, in match order.
ROUTE_MODULES: list[str] = ["check_api", "hibp_api", "pages", "alert_pages", "private_api", "report_api",
                            "subscriptions_api", "organisations_api"]

log = logging.getLogger("breachwatch.web")


async def healthz(request: Request) -> Response:
    """GET /healthz: the process answers."""
    return Response(b'{"status":"ok"}', media_type="application/json")


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: the Prometheus text; needs a key with the `metrics` scope (or admin) unless the
    metrics_access setting is `public`."""
    ctx = context_of(request)
    if ctx.services.config.metrics_access != "public":
        authenticate(request, "metrics")
    return ctx.metrics.render()


class BreachwatchApp(Starlette):
    """Starlette, with the hot endpoints (checks, private evaluations and buckets) answered before the middleware
    stack and router (web/hot_routes.py); every other request, and the lifespan, go the usual way."""

    hot: HotRoutes | None = None
    ctx: AppContext | None = None  # also in app.state.ctx; an attribute is quicker to reach per request
    clients: ClientResolver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection (HTTP request or lifespan)."""
        if self.clients is not None and scope["type"] == "http":
            self.clients.resolve(scope)
        hot = self.hot
        matched = hot.match(scope) if hot is not None else None
        try:
            if matched is None:
                await super().__call__(scope, receive, send)
                return
            scope["app"] = self
            scope["router"] = self.router  # as the router sets it, for handlers that build URLs
            await hot.handle(*matched, scope, receive, send)  # type: ignore[union-attr]
        except Exception:
            if scope["type"] != "http":
                raise
            # Already answered with a 500 problem and logged by type (problems.handle_unexpected); re-raised only
            # so an ASGI server can log it, and its log would hold the traceback, whose text may hold user input.


def _freeze_heap() -> None:
    """Collect once, then move every object alive to the collector's permanent generation: what startup built
    (modules, phone metadata, the catalog) lives as long as the process, and a full collection walking it all
    stops the server for tens of milliseconds under load (the p99)."""
    gc.collect()
    gc.freeze()


def create_app(services: Services, limiter: RateLimiter | None = None,
               extra_routes: Sequence[BaseRoute] = (), freeze_heap: bool = False) -> BreachwatchApp:
    """The breachwatch web app over `services` (the limiter defaults to services.rate_limiter). With
    `freeze_heap` (a server process serving this one app), the heap built at startup is left out of garbage
    collection (`gc.freeze`) once the lifespan has started."""
    metrics = Metrics()
    ctx = AppContext(services, limiter if limiter is not None else services.rate_limiter, metrics)
    # Routes are matched in order, one regex each: the check endpoints (nearly all the traffic) come right after
    # /healthz, the rarely asked /metrics and /openapi.json after the route modules.
    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        routes += module.routes(services)
    routes += [Route("/metrics", metrics_endpoint, methods=["GET"]),
               Route("/openapi.json", openapi, methods=["GET"])]
    routes += list(extra_routes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.checker  # noqa: B018 - open the index before the first request
        ctx.breaches.get()
        if freeze_heap:
            _freeze_heap()
        try:
            yield
        finally:
            if "guard" in services.__dict__:  # built on first use (a cached property)
                services.guard.flush()  # buffered audit records reach their file on a clean stop

    handlers = dict(EXCEPTION_HANDLERS)
    middleware = [Middleware(BodyGuard, routes=routes, default_seconds=services.config.body_timeout),
                  Middleware(MetricsMiddleware, metrics=metrics)]
    app = BreachwatchApp(routes=routes, middleware=middleware,
                         exception_handlers=handlers, lifespan=lifespan)
    app.state.ctx = app.ctx = ctx
    app.hot = HotRoutes(app.routes, metrics, handlers, services.config.body_timeout)
    app.clients = ClientResolver(parse_trusted(services.config.trusted_proxies))
    return app


def app_factory() -> BreachwatchApp:
    """An app over Services built from the environment (BREACHWATCH_HOME, BREACHWATCH_SECRET_KEY, ...)."""
    return create_app(Services(), freeze_heap=True)
