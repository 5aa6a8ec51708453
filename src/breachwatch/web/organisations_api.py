"""HTTP routes of organisations: an admin's (/api/v1/organisations...: register, list, remove, grant ranges),
an organisation key's for its own organisation (/api/v1/organisation...: which one comes from the key, never
from the request; numbers only inside the granted ranges), and the unsubscribe link sent to organisations.
Adding numbers never looks at the index: the answer is the same for leaked and clean numbers.

- POST   /api/v1/organisations                 admin  {"name", "numbers"?, "ranges"?, "grants"?, "email"?,
                                                      "webhook_url"?}
- GET    /api/v1/organisations                 admin
- DELETE /api/v1/organisations/{name}          admin
- POST   /api/v1/organisations/{name}/grants   admin  {"ranges": [...]}
- GET    /api/v1/organisation                  organisation key
- POST   /api/v1/organisation/numbers          organisation key  {"numbers"?, "ranges"?, "region"?}
- POST   /api/v1/organisation/numbers/remove   organisation key  (same body)
- GET|POST /api/v1/organisations/{org_id}/unsubscribe?token=  (acts on POST)"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..catalog.notify_store import OrganisationRecord
from ..notify.grants import as_text
from ..notify.orgs import Organisations
from ..services import Services
from . import link_pages
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute, read_object, text_field, text_list
from .context import context_of
from .origin import require_same_origin
from .problems import Problem

#: An organisation's list of numbers (about 400,000 written out); bigger lists go through `org add --numbers`.
ORGANISATION_LIMIT = BodyLimit(8 * 1024 * 1024, seconds=120)
#: Ranges to grant (about 1,500 written out).
GRANTS_LIMIT = BodyLimit(64 * 1024)


def _organisations(request: Request) -> Organisations:
    return context_of(request).services.notifier.organisations


def _org_json(org: OrganisationRecord) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "numbers": org.numbers, "email": org.email,
            "webhook_url": org.webhook_url, "grants": [as_text(g) for g in org.grants]}


async def _own_organisation(request: Request) -> OrganisationRecord:
    """The organisation of the request's organisation key (a removed organisation's key is refused like a
    revoked one, even before the key cache forgets it)."""
    key = authenticate(request, "organisation")
    org = await run_in_threadpool(_organisations(request).by_id, key.org_id) if key.org_id is not None else None
    if org is None:
        raise Problem(401, "Access denied: this API key is no longer valid.")
    return org


async def add(request: Request) -> Response:
    """POST /api/v1/organisations."""
    authenticate(request, "admin")
    body = await read_object(request)
    orgs = _organisations(request)

    def register() -> Any:
        sets = [orgs.numbers_from_range(r) for r in text_list(body, "ranges")]
        numbers = text_list(body, "numbers")
        if numbers:
            sets.append(orgs.numbers_from_lines(numbers, "numbers", text_field(body, "region")))
        return orgs.add(text_field(body, "name", required=True) or "", sets, text_field(body, "email"),
                        text_field(body, "webhook_url"), text_list(body, "grants"))

    added = await run_in_threadpool(register)
    return JSONResponse({**_org_json(added.organisation), "webhook_secret": added.webhook_secret},
                        status_code=201)


async def list_all(request: Request) -> Response:
    """GET /api/v1/organisations."""
    authenticate(request, "admin")
    return JSONResponse([_org_json(o) for o in await run_in_threadpool(_organisations(request).list)])


async def remove(request: Request) -> Response:
    """DELETE /api/v1/organisations/{name}."""
    authenticate(request, "admin")
    await run_in_threadpool(_organisations(request).remove, request.path_params["name"])
    return Response(status_code=204)


async def grant(request: Request) -> Response:
    """POST /api/v1/organisations/{name}/grants."""
    authenticate(request, "admin")
    body = await read_object(request)
    org = await run_in_threadpool(_organisations(request).grant, request.path_params["name"],
                                  text_list(body, "ranges"))
    return JSONResponse(_org_json(org))


async def own(request: Request) -> Response:
    """GET /api/v1/organisation."""
    return JSONResponse(_org_json(await _own_organisation(request)))


async def own_add(request: Request) -> Response:
    """POST /api/v1/organisation/numbers."""
    org = await _own_organisation(request)
    body = await read_object(request)
    done = await run_in_threadpool(_organisations(request).add_own_numbers, org.id, text_list(body, "numbers"),
                                   text_list(body, "ranges"), text_field(body, "region"))
    return JSONResponse({"added": done.changed, "numbers": done.numbers})


async def own_remove(request: Request) -> Response:
    """POST /api/v1/organisation/numbers/remove."""
    org = await _own_organisation(request)
    body = await read_object(request)
    done = await run_in_threadpool(_organisations(request).remove_own_numbers, org.id, text_list(body, "numbers"),
                                   text_list(body, "ranges"), text_field(body, "region"))
    return JSONResponse({"removed": done.changed, "numbers": done.numbers})


async def unsubscribe_page(request: Request) -> Response:
    """GET|POST /api/v1/organisations/{org_id}/unsubscribe?token=."""
    if request.method == "GET":
        return link_pages.ask(request, "Stop breach alerts", "Press the button to stop this organisation's alerts.",
                              "Stop these alerts")
    require_same_origin(request, context_of(request).services.config.public_url)
    done = await run_in_threadpool(_organisations(request).unsubscribe, request.path_params["org_id"],
                                   request.query_params.get("token", ""))
    if not done:
        return link_pages.refuse(request, 400, "Link not valid",
                                 "This link is not valid (or the alerts were already stopped).")
    return link_pages.page("Alerts stopped", "The organisation and its numbers were removed.")


def routes(services: Services) -> list[BaseRoute]:
    """The organisation routes."""
    return [
        BodyRoute("/api/v1/organisations", add, methods=["POST"], body=ORGANISATION_LIMIT),
        Route("/api/v1/organisations", list_all, methods=["GET"]),
        Route("/api/v1/organisations/{name}", remove, methods=["DELETE"]),
        BodyRoute("/api/v1/organisations/{name}/grants", grant, methods=["POST"], body=GRANTS_LIMIT),
        Route("/api/v1/organisations/{org_id}/unsubscribe", unsubscribe_page, methods=["GET", "POST"]),
        Route("/api/v1/organisation", own, methods=["GET"]),
        BodyRoute("/api/v1/organisation/numbers", own_add, methods=["POST"], body=ORGANISATION_LIMIT),
        BodyRoute("/api/v1/organisation/numbers/remove", own_remove, methods=["POST"], body=ORGANISATION_LIMIT),
    ]
