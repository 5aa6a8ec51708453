"""Errors as RFC 9457 problem details (application/problem+json), and the one place where the library's
errors become HTTP statuses: handlers raise (a `Problem`, or any `BreachwatchError`), the app maps."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..catalog.notify_store import OrganisationExistsError, UnknownOrganisationError
from ..errors import BreachwatchError, ConfigError, IndexCorruptError, InputError, NumberError, UnknownBreachError
from ..notify.errors import (
    DeliveryError,
    InvalidCodeError,
    InvalidTokenError,
    OutsideGrantError,
    SubscriptionInputError,
    TooManyRequestsError,
)
from ..private.protocol import PrivateIndexError

log = logging.getLogger("breachwatch.web")

#: Library errors as (status, title), most specific first. Errors of the server's own state (a broken index, a
#: bad setting) answer without their message, which names files; the rest tell the client what was wrong.
ERROR_STATUS: tuple[tuple[type[BreachwatchError], int, str], ...] = (
    (InvalidCodeError, 400, "Invalid or expired code"),
    (InvalidTokenError, 403, "Invalid or expired link"),
    (TooManyRequestsError, 429, "Too many requests"),
    (OrganisationExistsError, 409, "Organisation exists"),
    (OutsideGrantError, 403, "Outside granted ranges"),
    (UnknownOrganisationError, 404, "Unknown organisation"),
    (UnknownBreachError, 404, "Unknown breach"),
    (DeliveryError, 503, "Message could not be sent"),
    (SubscriptionInputError, 400, "Invalid request"),
    (NumberError, 400, "Invalid number"),
    (InputError, 400, "Invalid request"),
)
_SERVER_STATE: tuple[tuple[type[BreachwatchError], int, str], ...] = (
    (IndexCorruptError, 503, "The index is unavailable; the operator can see why with `breachwatch doctor`."),
    (PrivateIndexError, 503, "The private check's files are unavailable."),
    (ConfigError, 500, "internal error"),
)

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """An error to answer with a problem+json body and the given status (and extra headers)."""

    def __init__(self, status: int, detail: str, title: str | None = None, type_: str = "about:blank",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.headers = headers or {}


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    """The HTTP response for a Problem."""
    body: dict[str, object] = {"type": problem.type, "title": problem.title, "status": problem.status,
                               "detail": problem.detail}
    if instance is not None:
        body["instance"] = instance
    return Response(json.dumps(body), status_code=problem.status, media_type=PROBLEM_TYPE,
                    headers=problem.headers)


def problem_for(exc: BreachwatchError) -> Problem:
    """The problem a library error is answered with."""
    for kind, status, detail in _SERVER_STATE:
        if isinstance(exc, kind):
            log.error("%s: answered %d", type(exc).__name__, status)
            return Problem(status, detail)
    for kind, status, title in ERROR_STATUS:
        if isinstance(exc, kind):
            return Problem(status, str(exc), title=title)
    return Problem(400, str(exc), title="Invalid request")


async def handle_library_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for BreachwatchError (see ERROR_STATUS)."""
    assert isinstance(exc, BreachwatchError)
    return problem_response(problem_for(exc), instance=route_template(request))


async def handle_problem(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for Problem (the instance is the route template, never a number)."""
    assert isinstance(exc, Problem)
    return problem_response(exc, instance=route_template(request))


def route_template(request: Request) -> str:
    """The matched route's path template (e.g. /api/v1/check/{number}), or '-' before routing."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "-"


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, method not allowed) as problems; a browser asking for a page
    that does not exist gets a short text instead."""
    assert isinstance(exc, HTTPException)
    accept = request.headers.get("accept", "")
    if exc.status_code == 404 and not request.url.path.startswith("/api/") and "text/html" in accept:
        return Response("Not found", 404, media_type="text/plain; charset=utf-8")
    return problem_response(Problem(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})),
                            instance=route_template(request))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Any other exception: a 500 problem, logged by type and route template only (the path or the message
    may hold a number)."""
    log.error("unhandled %s on %s", type(exc).__name__, route_template(request))
    return problem_response(Problem(500, "internal error"))


#: The app's exception handlers: every error answered as a problem.
EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    Problem: handle_problem, BreachwatchError: handle_library_error, HTTPException: handle_http_error,
    Exception: handle_unexpected}
