"""breachwatch's own API: richer checks (E.164, status, per-number data classes, advice) and breach stats.

- GET  /api/v1/check/{number}?region=XX   key with scope `check`; 200 with the result, 400 if unreadable
- POST /api/v1/check  {"numbers": [...], "region": "XX"}  up to 1,000 numbers, costs one unit per number
- GET  /api/v1/breaches/{name}/stats      no key; per-country counts and valid share
Sensitive and retired breaches are left out of check results unless the key has the `admin` scope."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..check.shapes import breach_stats, public_hits, result_dict
from ..errors import UnknownBreachError
from ..services import Services
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute, read_json
from .context import context_of
from .hibp_api import json_response, parse_region, region_param
from .problems import Problem

MAX_BATCH = 1000
#: A batch of MAX_BATCH numbers written out in full, with room to spare.
BATCH_BODY_BYTES = 256 * 1024


async def check_one(request: Request) -> Response:
    """GET /api/v1/check/{number}."""
    ctx = context_of(request)
    key = authenticate(request, "check")
    region = region_param(request)
    ctx.charge(request, key, 1)
    result = ctx.services.checker.check(request.path_params["number"], region)
    ctx.observe(request, key, [result])
    if result.error:
        raise Problem(400, result.error, title="Not a phone number")
    hits = public_hits(result, include_hidden="admin" in key.scopes)
    return json_response(result_dict(result, hits))


async def check_batch(request: Request) -> Response:
    """POST /api/v1/check."""
    ctx = context_of(request)
    key = authenticate(request, "check")
    body = await read_json(request, '{"numbers": ["+20...", ...], "region": "EG"}')
    numbers = body.get("numbers") if isinstance(body, dict) else None
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise Problem(400, "\"numbers\" must be a list of strings")
    if not numbers:
        raise Problem(400, "\"numbers\" is empty")
    if len(numbers) > MAX_BATCH:
        raise Problem(413, f"at most {MAX_BATCH} numbers per request, got {len(numbers)}")
    region_raw = body.get("region")
    if region_raw is not None and not isinstance(region_raw, str):
        raise Problem(400, "\"region\" must be a string such as \"EG\"")
    region = parse_region(region_raw)
    ctx.charge(request, key, len(numbers))
    results = ctx.services.checker.check_many(numbers, region)
    ctx.observe(request, key, results)
    include_hidden = "admin" in key.scopes
    shaped = [result_dict(r, public_hits(r, include_hidden)) for r in results]
    return json_response({"results": shaped})


async def stats(request: Request) -> Response:
    """GET /api/v1/breaches/{name}/stats."""
    ctx = context_of(request)
    breach = ctx.breaches.get().by_lower.get(request.path_params["name"].lower())
    if breach is None:
        raise Problem(404, "no breach of that name", title="Unknown breach")
    try:
        countries = ctx.services.catalog.countries(breach.name)
    except UnknownBreachError:
        raise Problem(404, "no breach of that name", title="Unknown breach") from None
    return json_response(breach_stats(breach, countries))


def routes(services: Services) -> list[BaseRoute]:
    """The /api/v1 routes."""
    return [
        Route("/api/v1/check/{number}", check_one, methods=["GET"]),
        BodyRoute("/api/v1/check", check_batch, methods=["POST"], body=BodyLimit(BATCH_BODY_BYTES)),
        Route("/api/v1/breaches/{name}/stats", stats, methods=["GET"]),
    ]
