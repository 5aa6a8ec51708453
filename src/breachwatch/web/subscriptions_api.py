"""HTTP routes of personal subscriptions: subscribe (a code goes to the number by SMS), verify the number,
confirm the email address, unsubscribe. Nothing here looks at the index, so no answer says whether a number
is in a breach. Subscribe and verify act without a key: they take JSON only, refuse other sites' pages
(web/origin.py) and are charged to the caller's address.

- POST   /api/v1/subscriptions                  {"number", "email" | "webhook_url", "region"?, "language"?} -> 202
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

from ..i18n import N_, language, translator
from ..notify.errors import InvalidTokenError
from ..services import Services
from .bodies import BodyLimit, BodyRoute, read_object, text_field
from .context import context_of
from .locale import render, request_language
from .origin import require_json, require_same_origin
from .problems import Problem

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
        text_field(body, "webhook_url"), text_field(body, "region"), text_field(body, "language"))
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


def _link_refused(request: Request, text: str) -> Response:
    """A link that is not valid: a page in the visitor's language for a browser, a problem for other clients."""
    if "text/html" not in (request.headers.get("accept") or ""):
        raise Problem(400, text, title="Link not valid")
    t = translator(request_language(request))
    return render(request, "message.html", {"title": t.gettext("Link not valid"), "paragraphs": [
        t.gettext(text)]}, status=400)


async def confirm_page(request: Request) -> Response:
    """GET|POST /api/v1/subscriptions/{sub_id}/confirm?token=: the email confirmation link (a page in the
    subscription's language, which the link names)."""
    t = translator(request_language(request))
    if request.method == "GET":
        return render(request, "message.html", {
            "title": t.gettext("Confirm breach alerts"),
            "paragraphs": [t.gettext("Press the button to confirm this address for breach alerts.")],
            "action": f"{request.url.path}?{request.url.query}", "button": t.gettext("Confirm")})
    ctx = context_of(request)
    require_same_origin(request, ctx.services.config.public_url)
    try:
        await run_in_threadpool(ctx.services.notifier.subscriptions.confirm_email, request.path_params["sub_id"],
                                request.query_params.get("token", ""))
    except InvalidTokenError:
        return _link_refused(request, N_("This confirmation link is not valid."))
    return render(request, "message.html", {"title": t.gettext("Email confirmed"), "status": True, "paragraphs": [
        t.gettext("This address will be told when the number appears in a newly loaded breach (once the number "
                  "is confirmed with its SMS code).")]})


async def unsubscribe_page(request: Request) -> Response:
    """GET|POST /api/v1/subscriptions/{sub_id}/unsubscribe?token=: the link in every notification. GET shows
    what is subscribed (masked number, address, language, state) and a button; POST stops the alerts."""
    ctx = context_of(request)
    subscriptions = ctx.services.notifier.subscriptions
    sub_id, token = request.path_params["sub_id"], request.query_params.get("token", "")
    not_valid = N_("This link is not valid (or the alerts were already stopped).")
    if request.method == "GET":
        try:
            sub = await run_in_threadpool(subscriptions.show, sub_id, token)
        except InvalidTokenError:
            return _link_refused(request, not_valid)
        return render(request, "subscription.html", {"sub": sub, "sub_language": language(sub.language),
                                                     "action": f"{request.url.path}?{request.url.query}"})
    require_same_origin(request, ctx.services.config.public_url)
    try:
        await run_in_threadpool(subscriptions.unsubscribe, sub_id, token)
    except InvalidTokenError:
        return _link_refused(request, not_valid)
    t = translator(request_language(request))
    return render(request, "message.html", {"title": t.gettext("Alerts stopped"), "status": True, "paragraphs": [
        t.gettext("You will get no more breach alerts for this subscription.")]})


def routes(services: Services) -> list[BaseRoute]:
    """The subscription routes."""
    return [
        BodyRoute("/api/v1/subscriptions", subscribe, methods=["POST"], body=SUBSCRIBE_LIMIT),
        BodyRoute("/api/v1/subscriptions/verify", verify, methods=["POST"], body=VERIFY_LIMIT),
        Route("/api/v1/subscriptions/{sub_id}", unsubscribe, methods=["DELETE"]),
        Route("/api/v1/subscriptions/{sub_id}/confirm", confirm_page, methods=["GET", "POST"]),
        Route("/api/v1/subscriptions/{sub_id}/unsubscribe", unsubscribe_page, methods=["GET", "POST"]),
    ]
