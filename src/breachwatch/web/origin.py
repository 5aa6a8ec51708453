"""Requests that a browser may send on another site's behalf: refused unless they come from this site.

A web page elsewhere can make its visitors' browsers POST to breachwatch (a form, or fetch with a "simple"
content type, which needs no CORS preflight). Endpoints that act without an API key (subscribing sends an SMS)
therefore take only `application/json` bodies (which a foreign page cannot send without a preflight that is
never granted) and refuse an `Origin` (or `Sec-Fetch-Site`) naming another site. Clients that are not
browsers send neither header and are not affected."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from .context import header
from .problems import Problem


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def require_same_origin(request: Request, public_url: str) -> None:
    """403 when a browser says the request comes from another site than this one (its public URL or the
    host it was sent to)."""
    scope = request.scope
    if (header(scope, b"sec-fetch-site") or "").lower() == "cross-site":
        raise Problem(403, "requests from other sites are refused")
    origin = header(scope, b"origin")
    if origin is None:
        return
    allowed = {_origin_of(public_url)}
    host = header(scope, b"host")
    if host:
        allowed.add(f"{scope.get('scheme', 'http')}://{host}".lower())
    if origin.strip().lower() not in allowed:
        raise Problem(403, "requests from other sites are refused")


def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON (application/json, with or without parameters)."""
    content_type = (header(request.scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise Problem(415, "send the body as application/json")
