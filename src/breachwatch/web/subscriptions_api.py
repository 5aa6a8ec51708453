"""HTTP routes of personal subscriptions: subscribe (a code goes to the number by SMS), verify the number,
confirm the email address, unsubscribe. Nothing here looks at the index, so no answer says whether a number
is in a breach. Subscribe and verify act without a key: they take JSON only, refuse other sites' pages
(web/origin.py) and are charged to the caller's address.

- POST   /api/v1/subscriptions                  {"number", "email" | "webhook_url", "region"?} -> 202
- POST   /api/v1/subscriptions/verify           {"id", "code"} -> 200
- DELETE /api/v1/subscriptions/{sub_id}?token=  -> 204
- GET|POST /api/v1/subscriptions/{sub_id}/confirm?token=      (acts on POST)
- GET|POST /api/v1/subscriptions/{sub_id}/unsubscribe?token=  (acts on POST, RFC 8058 one-click)"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..notify.errors import InvalidTokenError
from ..services import Services
from . import link_pages
from .bodies import BodyLimit, BodyRoute, read_object, text_field
from .context import context_of
from .origin import require_json, require_same_origin

#: A subscription: a number, an email address or a webhook URL (at most 2,048 characters) and a region.
SUBSCRIBE_LIMIT = BodyLimit(8 * 1024)
#: A verification code and an id.
VERIFY_LIMIT = BodyLimit(1024)


def _guard_anonymous(request: Request) -> None:
    """What every keyless action goes through: same site, JSON, charged to the address (an SMS costs money)."""
    ctx = context_of(request)
    require_same_origin(request, ctx.services.config.public_url)
    require_json(request)
    ctx.charge(request, None, 1)


async def subscribe(request: Request) -> Response:
    """POST /api/v1/subscriptions."""
    _guard_anonymous(request)
    body = await read_object(request)
    subscriptions = context_of(request).services.notifier.subscriptions
    result = await run_in_threadpool(
        subscriptions.subscribe, text_field(body, "number", required=True) or "", text_field(body, "email"),
        text_field(body, "webhook_url"), text_field(body, "region"))
    answer: dict[str, Any] = {
        "id": result.id, "status": "pending", "channel": result.channel,
        "detail": "A code was sent by SMS to the number; POST it to /api/v1/subscriptions/verify."
                  + (" Also confirm the email address with the link sent to it." if result.channel == "email"
                     else ""),
    }
    if result.webhook_secret:
        answer["webhook_secret"] = result.webhook_secret
        answer["unsubscribe_token"] = result.unsubscribe_token
    return JSONResponse(answer, status_code=202)


async def verify(request: Request) -> Response:
    """POST /api/v1/subscriptions/verify."""
    _guard_anonymous(request)
    body = await read_object(request)
    sub_id = text_field(body, "id", required=True) or ""
    code = text_field(body, "code", required=True) or ""
    await run_in_threadpool(context_of(request).services.notifier.subscriptions.verify, sub_id, code)
    return JSONResponse({"id": sub_id, "status": "verified"})


async def unsubscribe(request: Request) -> Response:
    """DELETE /api/v1/subscriptions/{sub_id}?token= (or the x-unsubscribe-token header)."""
    token = request.query_params.get("token") or request.headers.get("x-unsubscribe-token") or ""
    await run_in_threadpool(context_of(request).services.notifier.subscriptions.unsubscribe,
                            request.path_params["sub_id"], token)
    return Response(status_code=204)


async def confirm_page(request: Request) -> Response:
    """GET|POST /api/v1/subscriptions/{sub_id}/confirm?token=: the email confirmation link."""
    if request.method == "GET":
        return link_pages.ask(request, "Confirm breach alerts",
                              "Press the button to confirm this address for breach alerts.", "Confirm")
    ctx = context_of(request)
    require_same_origin(request, ctx.services.config.public_url)
    try:
        await run_in_threadpool(ctx.services.notifier.subscriptions.confirm_email, request.path_params["sub_id"],
                                request.query_params.get("token", ""))
    except InvalidTokenError:
        return link_pages.refuse(request, 400, "Link not valid", "This confirmation link is not valid.")
    return link_pages.page("Email confirmed", "This address will be told when the number appears in a newly "
                                              "loaded breach (once the number is confirmed with its SMS code).")


async def unsubscribe_page(request: Request) -> Response:
    """GET|POST /api/v1/subscriptions/{sub_id}/unsubscribe?token=: the link in every notification."""
    if request.method == "GET":
        return link_pages.ask(request, "Stop breach alerts", "Press the button to stop these alerts.",
                              "Stop these alerts")
    ctx = context_of(request)
    require_same_origin(request, ctx.services.config.public_url)
    try:
        await run_in_threadpool(ctx.services.notifier.subscriptions.unsubscribe, request.path_params["sub_id"],
                                request.query_params.get("token", ""))
    except InvalidTokenError:
        return link_pages.refuse(request, 400, "Link not valid",
                                 "This link is not valid (or the alerts were already stopped).")
    return link_pages.page("Alerts stopped", "You will get no more breach alerts for this subscription.")


def routes(services: Services) -> list[BaseRoute]:
    """The subscription routes."""
    return [
        BodyRoute("/api/v1/subscriptions", subscribe, methods=["POST"], body=SUBSCRIBE_LIMIT),
        BodyRoute("/api/v1/subscriptions/verify", verify, methods=["POST"], body=VERIFY_LIMIT),
        Route("/api/v1/subscriptions/{sub_id}", unsubscribe, methods=["DELETE"]),
        Route("/api/v1/subscriptions/{sub_id}/confirm", confirm_page, methods=["GET", "POST"]),
        Route("/api/v1/subscriptions/{sub_id}/unsubscribe", unsubscribe_page, methods=["GET", "POST"]),
    ]
