"""The check endpoints' short way in: GET /api/v1/check/{number} and GET /api/v3/breachedaccount/{account}
(nearly all the traffic) answered before Starlette's middleware stack and router.

The same route handlers, exception handlers and metrics run as through the full stack; what is skipped is the
layers in between (the error and exception middleware, the metrics middleware's send wrapper, matching a regex
per route, the per-request wrappers). Any other request, a HEAD, a path that is not exactly one of the two
templates (an empty or multi-segment number, a trailing slash) or an app mounted under a root path goes the usual
way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from .metrics import Metrics

#: The hot route templates: the path before the one parameter, and the parameter's name.
HOT_TEMPLATES = {"/api/v1/check/{number}": ("/api/v1/check/", "number"),
                 "/api/v3/breachedaccount/{account}": ("/api/v3/breachedaccount/", "account")}

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class HotRoute:
    """One hot route: its prefix, parameter name, Starlette Route (for `scope['route']`) and handler."""

    __slots__ = ("endpoint", "param", "prefix", "prefix_len", "route")

    def __init__(self, prefix: str, param: str, route: Route) -> None:
        self.prefix = prefix
        self.prefix_len = len(prefix)
        self.param = param
        self.route = route
        self.endpoint: Endpoint = route.endpoint


class HotRoutes:
    """Matches and answers the hot routes; `match(scope)` is None for every other request."""

    def __init__(self, routes: Sequence[BaseRoute], metrics: Metrics,
                 exception_handlers: dict[Any, Handler]) -> None:
        self._metrics = metrics
        self._handlers = exception_handlers
        found: list[HotRoute] = []
        for route in routes:
            if (isinstance(route, Route) and route.path in HOT_TEMPLATES and route.methods is not None
                    and "GET" in route.methods and not any(h.route.path == route.path for h in found)):
                found.append(HotRoute(*HOT_TEMPLATES[route.path], route))
        self._routes = tuple(found)

    @property
    def paths(self) -> tuple[str, ...]:
        """The templates of the routes taken the short way."""
        return tuple(hot.route.path for hot in self._routes)

    def match(self, scope: Scope) -> tuple[HotRoute, str] | None:
        """The hot route and the path parameter of an HTTP request, or None when it is not a hot one."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        for hot in self._routes:
            if path.startswith(hot.prefix):
                value = path[hot.prefix_len:]
                if value and "/" not in value:
                    return hot, value
                return None
        return None

    async def handle(self, hot: HotRoute, value: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a matched request as the full stack would: route handler, problem+json for its exceptions
        (a 500 is answered, then re-raised for the server to log), one metrics record."""
        started = perf_counter()
        route = hot.route
        scope["route"] = route
        scope["endpoint"] = hot.endpoint
        scope["path_params"] = {hot.param: value}
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
            self._metrics.record(route.path, "GET", status, perf_counter() - started)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """The app's handler for an exception the route may raise (Problem, HTTPException), by class."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None
