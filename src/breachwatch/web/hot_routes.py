"""The hot endpoints' short way in: GET /api/v1/check/{number}, GET /api/v3/breachedaccount/{account} (nearly
all the clear checks) and the private check's two calls, POST /api/v1/private/evaluate and GET
/api/v1/private/buckets/{bucket}, answered before Starlette's middleware stack and router.

The same route handlers, exception handlers and metrics run as through the full stack; what is skipped is the
layers in between (the error and exception middleware, the metrics middleware's send wrapper, matching a regex
per route, the per-request wrappers). A route that reads a body gets its limit and deadline here, as BodyGuard
would give them (web/bodies.py). Any other request, a HEAD, a path that is not exactly one of the templates
(an empty or multi-segment parameter, a trailing slash) or an app mounted under a root path goes the usual
way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .bodies import DEFAULT_SECONDS, BodyLimit, BodyRoute, bound_receive
from .metrics import Metrics
from .problems import Problem, problem_response

#: The hot routes, by (method, template): the path before the one parameter and the parameter's name, or the
#: whole path and None for a route without parameters.
HOT_TEMPLATES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("GET", "/api/v1/check/{number}"): ("/api/v1/check/", "number"),
    ("GET", "/api/v3/breachedaccount/{account}"): ("/api/v3/breachedaccount/", "account"),
    ("POST", "/api/v1/private/evaluate"): ("/api/v1/private/evaluate", None),
    ("GET", "/api/v1/private/buckets/{bucket}"): ("/api/v1/private/buckets/", "bucket"),
}

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class HotRoute:
    """One hot route: its method, prefix, parameter name, Starlette Route (for `scope['route']`), handler and
    body limit (None when it reads no body)."""

    __slots__ = ("body", "endpoint", "method", "param", "prefix", "prefix_len", "route")

    def __init__(self, method: str, prefix: str, param: str | None, route: Route) -> None:
        self.method = method
        self.prefix = prefix
        self.prefix_len = len(prefix)
        self.param = param
        self.route = route
        self.endpoint: Endpoint = route.endpoint
        self.body: BodyLimit | None = route.body if isinstance(route, BodyRoute) else None


class HotRoutes:
    """Matches and answers the hot routes; `match(scope)` is None for every other request."""

    def __init__(self, routes: Sequence[BaseRoute], metrics: Metrics, exception_handlers: dict[Any, Handler],
                 body_seconds: float = DEFAULT_SECONDS) -> None:
        self._metrics = metrics
        self._handlers = exception_handlers
        self._body_seconds = body_seconds
        found: list[HotRoute] = []
        for route in routes:
            if not isinstance(route, Route) or route.methods is None:
                continue
            for method in ("GET", "POST"):
                template = HOT_TEMPLATES.get((method, route.path))
                if template is not None and method in route.methods and not any(
                        h.route.path == route.path and h.method == method for h in found):
                    found.append(HotRoute(method, *template, route))
        self._routes = tuple(found)

    @property
    def paths(self) -> tuple[str, ...]:
        """The templates of the routes taken the short way."""
        return tuple(hot.route.path for hot in self._routes)

    def match(self, scope: Scope) -> tuple[HotRoute, str] | None:
        """The hot route and the path parameter ("" for a route without one) of an HTTP request, or None when
        it is not a hot one."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        method: str = scope["method"]
        path: str = scope["path"]
        for hot in self._routes:
            if hot.method != method or not path.startswith(hot.prefix):
                continue
            if hot.param is None:
                if path == hot.prefix:
                    return hot, ""
                continue
            value = path[hot.prefix_len:]
            if value and "/" not in value:
                return hot, value
            return None
        return None

    async def handle(self, hot: HotRoute, value: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a matched request as the full stack would: route handler, problem+json for its exceptions
        (a 500 is answered, then re-raised for the server to log), one metrics record."""
        if hot.body is not None:
            try:
                receive = bound_receive(scope, receive, hot.body, self._body_seconds)
            except Problem as problem:  # answered as BodyGuard answers it: before the metrics layer
                await problem_response(problem)(scope, receive, send)
                return
        started = perf_counter()
        route = hot.route
        scope["route"] = route
        scope["endpoint"] = hot.endpoint
        scope["path_params"] = {hot.param: value} if hot.param is not None else {}
        request = Request(scope, receive, send)
        status = 500
        try:
            try:
                response = await hot.endpoint(request)
            except Exception as exc:
                handler = self._handler_for(exc)
                if handler is None:
                    raise
                response = await handler(request, exc)
                exc.__traceback__ = None
            status = response.status_code
            await response(scope, receive, send)
        except Exception as exc:
            handler = self._handlers.get(Exception)
            if handler is not None and status == 500:
                await (await handler(request, exc))(scope, receive, send)
            raise
        finally:
            self._metrics.record(route.path, hot.method, status, perf_counter() - started)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """The app's handler for an exception the route may raise (Problem, HTTPException), by class."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None
