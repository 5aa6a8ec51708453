"""HIBP API v3-compatible endpoints, over phone numbers: same paths, parameters, fields and status codes.

- GET /api/v3/breachedaccount/{account}  (key with scope `check`; ?truncateResponse ?includeUnverified
  ?domain ?region) -> 200 list, 404 empty body when in no breach, 400 when not a phone number
- GET /api/v3/breaches (?domain ?isSpamList), /api/v3/breach/{name}, /api/v3/latestbreach,
  /api/v3/dataclasses: no key.
Every v3 request needs a user-agent header (403 without), as on HIBP."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..check.shapes import hibp_breach, public_hits
from ..models import DATA_CLASS_BITS, PHONE_NUMBERS
from ..phone import REGION_INDEX
from ..services import Services
from .auth import authenticate
from .context import BreachSnapshot, context_of, header
from .problems import Problem

_JSON = "application/json; charset=utf-8"
_JSON_HEADER = (b"content-type", _JSON.encode())


class JSONBytes(Response):
    """A JSON body already encoded, with its two headers (content-length, content-type) built directly: what
    `Response(body, status, media_type=_JSON)` sends, with less work per request."""

    media_type = _JSON

    def __init__(self, body: bytes, status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON_HEADER]


def json_response(data: Any, status: int = 200) -> Response:
    """A compact JSON response (UTF-8, no spaces)."""
    try:
        body = orjson.dumps(data)
    except orjson.JSONEncodeError:  # what orjson refuses (e.g. a lone surrogate) is json's to encode or refuse
        return Response(json.dumps(data, separators=(",", ":"), ensure_ascii=False), status, media_type=_JSON)
    if status < 200 or status in (204, 304):  # no body allowed: Response leaves out content-length
        return Response(body, status, media_type=_JSON)
    return JSONBytes(body, status)


def not_found() -> Response:
    """HIBP's 404: no body."""
    return Response(b"", 404)


def require_user_agent(request: Request) -> None:
    """403 without a user-agent header, as on HIBP."""
    if not header(request.scope, b"user-agent"):
        raise Problem(403, "A user-agent header is required; name the app making the request.")


def query_param(request: Request, name: str) -> str | None:
    """A query parameter, or None (without parsing anything when the URL has no query string)."""
    return request.query_params.get(name) if request.scope.get("query_string") else None


def flag(request: Request, name: str, default: bool) -> bool:
    """A boolean query parameter ('true'/'false', any case); 400 for anything else."""
    raw = query_param(request, name)
    if raw is None or raw == "":
        return default
    value = raw.lower()
    if value not in ("true", "false"):
        raise Problem(400, f"{name} must be true or false")
    return value == "true"


def region_param(request: Request) -> str | None:
    """The ?region= hint for national formats (ISO 3166 alpha-2), validated."""
    return parse_region(query_param(request, "region"))


def parse_region(raw: str | None) -> str | None:
    """A region hint (ISO 3166 alpha-2, any case) validated; None when not given; 400 when unknown."""
    if not raw:
        return None
    region = raw.strip().upper()
    if region not in REGION_INDEX or region in ("001", "ZZ"):
        raise Problem(400, f"region must be an ISO 3166-1 alpha-2 code such as EG or US, not {raw[:8]!r}")
    return region


def _domain_matches(domain: str, wanted: str | None) -> bool:
    return wanted is None or domain.lower() == wanted.lower()


async def breached_account(request: Request) -> Response:
    """GET /api/v3/breachedaccount/{account}."""
    require_user_agent(request)
    ctx = context_of(request)
    key = authenticate(request, "check")
    truncate = flag(request, "truncateResponse", True)
    include_unverified = flag(request, "includeUnverified", True)
    domain = query_param(request, "domain") or None
    region = region_param(request)
    account: str = request.path_params["account"]
    if not account.strip():
        raise Problem(400, "the account is empty; give a phone number")
    ctx.charge(request, key, 1)
    result = ctx.services.checker.check(account, region)
    ctx.observe(request, key, [result])
    if result.error:
        raise Problem(400, result.error)
    hits = [h for h in public_hits(result)
            if (include_unverified or h.breach.is_verified) and _domain_matches(h.breach.domain, domain)]
    if not hits:
        return not_found()
    if truncate:
        return json_response([{"Name": h.breach.name} for h in hits])
    return json_response([hibp_breach(h.breach) for h in hits])


async def all_breaches(request: Request) -> Response:
    """GET /api/v3/breaches (?domain=, ?isSpamList=)."""
    require_user_agent(request)
    snapshot = context_of(request).breaches.get()
    domain = request.query_params.get("domain") or None
    spam = flag(request, "isSpamList", False) if request.query_params.get("isSpamList") else None
    items = [hibp_breach(b) for _, b in sorted(snapshot.by_name.items())
             if _domain_matches(b.domain, domain) and (spam is None or b.is_spam_list == spam)]
    return json_response(items)


async def one_breach(request: Request) -> Response:
    """GET /api/v3/breach/{name} (name is case-insensitive)."""
    require_user_agent(request)
    snapshot = context_of(request).breaches.get()
    breach = snapshot.by_lower.get(request.path_params["name"].lower())
    return json_response(hibp_breach(breach)) if breach is not None else not_found()


async def latest_breach(request: Request) -> Response:
    """GET /api/v3/latestbreach: the most recently added breach."""
    require_user_agent(request)
    snapshot = context_of(request).breaches.get()
    return json_response(hibp_breach(snapshot.newest_first[0])) if snapshot.newest_first else not_found()


def data_classes(snapshot: BreachSnapshot) -> list[str]:
    """Every data class breachwatch knows or a loaded breach lists, alphabetically."""
    names = {PHONE_NUMBERS, *DATA_CLASS_BITS}
    for b in snapshot.by_name.values():
        names.update(b.data_classes)
    return sorted(names)


async def all_data_classes(request: Request) -> Response:
    """GET /api/v3/dataclasses."""
    require_user_agent(request)
    return json_response(data_classes(context_of(request).breaches.get()))


def routes(services: Services) -> list[BaseRoute]:
    """The HIBP v3 routes."""
    return [
        Route("/api/v3/breachedaccount/{account}", breached_account, methods=["GET"]),
        Route("/api/v3/breaches", all_breaches, methods=["GET"]),
        Route("/api/v3/breach/{name}", one_breach, methods=["GET"]),
        Route("/api/v3/latestbreach", latest_breach, methods=["GET"]),
        Route("/api/v3/dataclasses", all_data_classes, methods=["GET"]),
    ]
