"""Errors as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import Response

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


async def handle_problem(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for Problem (the instance is the route template, never a number)."""
    assert isinstance(exc, Problem)
    return problem_response(exc, instance=route_template(request))


def route_template(request: Request) -> str:
    """The matched route's path template (e.g. /api/v1/check/{number}), or '-' before routing."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "-"
