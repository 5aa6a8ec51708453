"""HTTP routes of notifications: subscribe, verify the number, confirm the email, unsubscribe, the admin
endpoints of organisations (/api/v1/organisations...), and an organisation key's endpoints for its own
organisation (/api/v1/organisation...: which one comes from the key, never from the request). Errors are
application/problem+json (RFC 9457). No answer says whether a number is in a breach."""

from __future__ import annotations

import html
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..catalog.keys import ApiKey
from ..catalog.notify_store import OrganisationExistsError, OrganisationRecord, UnknownOrganisationError
from ..errors import BreachwatchError, InputError, NumberError
from ..notify.errors import (
    InvalidCodeError,
    InvalidTokenError,
    OutsideGrantError,
    SubscriptionInputError,
    TooManyRequestsError,
)
from ..notify.grants import as_text
from ..notify.sms import DeliveryError
from ..services import Services
from .bodies import BodyLimit, BodyRoute, read_json
from .origin import require_json, require_same_origin
from .problems import Problem, problem_response

#: A subscription: a number, an email address or a webhook URL (at most 2,048 characters) and a region.
SUBSCRIBE_LIMIT = BodyLimit(8 * 1024)
#: A verification code and an id, or an empty form.
SMALL_LIMIT = BodyLimit(1024)
#: An organisation's list of numbers (about 400,000 written out); bigger lists go through `org add --numbers`.
ORGANISATION_LIMIT = BodyLimit(8 * 1024 * 1024, seconds=120)
#: Ranges to grant (about 1,500 written out).
GRANTS_LIMIT = BodyLimit(64 * 1024)

Authorize = Callable[[Request, str], Awaitable[ApiKey | None] | ApiKey | None]
"""Raises (a Problem, or an HTTPException) unless the request holds `scope`; returns the request's API key."""

_STATUS: tuple[tuple[type[BaseException], int, str], ...] = (
    (InvalidCodeError, 400, "Invalid or expired code"),
    (InvalidTokenError, 403, "Invalid or expired link"),
    (TooManyRequestsError, 429, "Too many requests"),
    (OrganisationExistsError, 409, "Organisation exists"),
    (OutsideGrantError, 403, "Outside granted ranges"),
    (UnknownOrganisationError, 404, "Unknown organisation"),
    (DeliveryError, 503, "Message could not be sent"),
    (SubscriptionInputError, 400, "Invalid request"),
    (NumberError, 400, "Invalid number"),
    (InputError, 400, "Invalid request"),
    (BreachwatchError, 400, "Invalid request"),
)


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """An application/problem+json response."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json")


def _problem_for(exc: BreachwatchError) -> JSONResponse:
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return problem(status, title, str(exc))
    return problem(400, "Invalid request", str(exc))  # pragma: no cover - BreachwatchError is last above


async def _json_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise SubscriptionInputError("the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise SubscriptionInputError(f"field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise SubscriptionInputError(f"field {name!r} must be a string")
    return value


def _texts(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SubscriptionInputError(f"field {name!r} must be a list of strings")
    return value


def _page(title: str, text: str, status: int = 200, form_action: str | None = None,
          button: str = "Stop these alerts") -> HTMLResponse:
    form = (f'<form method="post" action="{html.escape(form_action)}"><button type="submit">{html.escape(button)}'
            "</button></form>") if form_action else ""
    return HTMLResponse(f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
                        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</html>", status_code=status)


def _org_json(org: OrganisationRecord) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "numbers": org.numbers, "email": org.email,
            "webhook_url": org.webhook_url, "grants": [as_text(g) for g in org.grants]}


def routes(services: Services, authorize: Authorize,
           charge: Callable[[Request], None] | None = None) -> list[BaseRoute]:
    """The notification routes, bound to `services`; `authorize(request, "admin")` guards organisations,
    `authorize(request, "organisation")` an organisation's own endpoints (the key it returns names the
    organisation), and `charge(request)`, when given, rate-limits subscribing (each one sends an SMS) and
    verifying."""
    notifier = services.notifier
    public_url = services.config.public_url

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except BreachwatchError as exc:
                return _problem_for(exc)
            except Problem as exc:
                return problem_response(exc)
        return endpoint

    async def key_for(request: Request, scope: str) -> ApiKey | None:
        result = authorize(request, scope)
        if inspect.isawaitable(result):
            return await result
        return result

    async def admin(request: Request) -> None:
        await key_for(request, "admin")

    async def own_organisation(request: Request) -> OrganisationRecord:
        """The organisation of the request's organisation key (a removed organisation's key is refused like a
        revoked one, even before the key cache forgets it)."""
        key = await key_for(request, "organisation")
        org_id = key.org_id if key is not None else None
        org = await run_in_threadpool(notifier.organisations.by_id, org_id) if org_id is not None else None
        if org is None:
            raise Problem(401, "Access denied: this API key is no longer valid.")
        return org

    async def subscribe(request: Request) -> Response:
        require_same_origin(request, public_url)
        require_json(request)
        if charge is not None:
            charge(request)
        body = await _json_object(request)
        result = await run_in_threadpool(
            notifier.subscriptions.subscribe, _text(body, "number", required=True) or "",
            _text(body, "email"), _text(body, "webhook_url"), _text(body, "region"))
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
        require_same_origin(request, public_url)
        require_json(request)
        if charge is not None:
            charge(request)
        body = await _json_object(request)
        sub_id = _text(body, "id", required=True) or ""
        await run_in_threadpool(notifier.subscriptions.verify, sub_id, _text(body, "code", required=True) or "")
        return JSONResponse({"id": sub_id, "status": "verified"})

    async def unsubscribe_api(request: Request) -> Response:
        token = request.query_params.get("token") or request.headers.get("x-unsubscribe-token") or ""
        await run_in_threadpool(notifier.subscriptions.unsubscribe, request.path_params["sub_id"], token)
        return Response(status_code=204)

    async def confirm_page(request: Request) -> Response:
        if request.method == "GET":  # never act on GET: mail scanners follow links
            return _page("Confirm breach alerts", "Press the button to confirm this address for breach alerts.",
                         form_action=str(request.url.path) + "?" + str(request.url.query), button="Confirm")
        require_same_origin(request, public_url)
        try:
            await run_in_threadpool(notifier.subscriptions.confirm_email, request.path_params["sub_id"],
                                    request.query_params.get("token", ""))
        except InvalidTokenError:
            return _page("Link not valid", "This confirmation link is not valid.", 400)
        return _page("Email confirmed", "This address will be told when the number appears in a newly loaded "
                                        "breach (once the number is confirmed with its SMS code).")

    async def unsubscribe_page(request: Request) -> Response:
        if request.method == "GET":  # never act on GET: mail scanners follow links
            return _page("Stop breach alerts", "Press the button to stop these alerts.",
                         form_action=str(request.url.path) + "?" + str(request.url.query))
        require_same_origin(request, public_url)
        try:
            await run_in_threadpool(notifier.subscriptions.unsubscribe, request.path_params["sub_id"],
                                    request.query_params.get("token", ""))
        except InvalidTokenError:
            return _page("Link not valid", "This link is not valid (or the alerts were already stopped).", 400)
        return _page("Alerts stopped", "You will get no more breach alerts for this subscription.")

    async def org_unsubscribe_page(request: Request) -> Response:
        if request.method == "GET":
            return _page("Stop breach alerts", "Press the button to stop this organisation's alerts.",
                         form_action=str(request.url.path) + "?" + str(request.url.query))
        require_same_origin(request, public_url)
        done = await run_in_threadpool(notifier.organisations.unsubscribe, request.path_params["org_id"],
                                       request.query_params.get("token", ""))
        if not done:
            return _page("Link not valid", "This link is not valid (or the alerts were already stopped).", 400)
        return _page("Alerts stopped", "The organisation and its numbers were removed.")

    async def org_add(request: Request) -> Response:
        await admin(request)
        body = await _json_object(request)
        orgs = notifier.organisations

        def add() -> Any:
            sets = [orgs.numbers_from_range(r) for r in _texts(body, "ranges")]
            numbers = _texts(body, "numbers")
            if numbers:
                sets.append(orgs.numbers_from_lines(numbers, "numbers", _text(body, "region")))
            return orgs.add(_text(body, "name", required=True) or "", sets, _text(body, "email"),
                            _text(body, "webhook_url"), _texts(body, "grants"))

        added = await run_in_threadpool(add)
        return JSONResponse({**_org_json(added.organisation), "webhook_secret": added.webhook_secret},
                            status_code=201)

    async def org_list(request: Request) -> Response:
        await admin(request)
        orgs = await run_in_threadpool(notifier.organisations.list)
        return JSONResponse([_org_json(o) for o in orgs])

    async def org_remove(request: Request) -> Response:
        await admin(request)
        await run_in_threadpool(notifier.organisations.remove, request.path_params["name"])
        return Response(status_code=204)

    async def org_grant(request: Request) -> Response:
        await admin(request)
        body = await _json_object(request)
        org = await run_in_threadpool(notifier.organisations.grant, request.path_params["name"],
                                      _texts(body, "ranges"))
        return JSONResponse(_org_json(org))

    async def own_get(request: Request) -> Response:
        return JSONResponse(_org_json(await own_organisation(request)))

    async def own_add(request: Request) -> Response:
        org = await own_organisation(request)
        body = await _json_object(request)
        done = await run_in_threadpool(notifier.organisations.add_own_numbers, org.id, _texts(body, "numbers"),
                                       _texts(body, "ranges"), _text(body, "region"))
        return JSONResponse({"added": done.changed, "numbers": done.numbers})

    async def own_remove(request: Request) -> Response:
        org = await own_organisation(request)
        body = await _json_object(request)
        done = await run_in_threadpool(notifier.organisations.remove_own_numbers, org.id,
                                       _texts(body, "numbers"), _texts(body, "ranges"), _text(body, "region"))
        return JSONResponse({"removed": done.changed, "numbers": done.numbers})

    return [
        BodyRoute("/api/v1/subscriptions", guarded(subscribe), methods=["POST"], body=SUBSCRIBE_LIMIT),
        BodyRoute("/api/v1/subscriptions/verify", guarded(verify), methods=["POST"], body=SMALL_LIMIT),
        Route("/api/v1/subscriptions/{sub_id}", guarded(unsubscribe_api), methods=["DELETE"]),
        Route("/api/v1/subscriptions/{sub_id}/confirm", guarded(confirm_page), methods=["GET", "POST"]),
        Route("/api/v1/subscriptions/{sub_id}/unsubscribe", guarded(unsubscribe_page), methods=["GET", "POST"]),
        BodyRoute("/api/v1/organisations", guarded(org_add), methods=["POST"], body=ORGANISATION_LIMIT),
        Route("/api/v1/organisations", guarded(org_list), methods=["GET"]),
        Route("/api/v1/organisations/{name}", guarded(org_remove), methods=["DELETE"]),
        BodyRoute("/api/v1/organisations/{name}/grants", guarded(org_grant), methods=["POST"], body=GRANTS_LIMIT),
        Route("/api/v1/organisations/{org_id}/unsubscribe", guarded(org_unsubscribe_page),
              methods=["GET", "POST"]),
        Route("/api/v1/organisation", guarded(own_get), methods=["GET"]),
        BodyRoute("/api/v1/organisation/numbers", guarded(own_add), methods=["POST"], body=ORGANISATION_LIMIT),
        BodyRoute("/api/v1/organisation/numbers/remove", guarded(own_remove), methods=["POST"],
                  body=ORGANISATION_LIMIT),
    ]
