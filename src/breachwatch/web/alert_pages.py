"""Breach alerts on the page, without JavaScript: enter the number and an email address, get a code by SMS,
enter it, confirm the address by the emailed link. The same service, caps and per-address charge as
/api/v1/subscriptions (notify/subscriptions.py); forms carry a CSRF token and refuse other sites (web/csrf.py).
Nothing here looks at the index: every answer is the same whether or not the number is in a breach.

- GET  /alerts          the form
- POST /alerts          subscribe: sends the code (and the confirmation link), shows the code form
- POST /alerts/verify   the code: confirms the number
What a subscription is, and stopping it, are on the page its links open (subscriptions_api.unsubscribe_page)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import NumberError
from ..i18n import Translator, translator
from ..notify.errors import DeliveryError, InvalidCodeError, SubscriptionInputError, TooManyRequestsError
from ..services import Services
from . import csrf
from .bodies import BodyLimit, BodyRoute, read_body
from .context import context_of
from .locale import render, request_language
from .pages import chosen_region, form_of, region_choices
from .problems import Problem

#: A form with a number, a region, an email address, a code and a token.
FORM_LIMIT = BodyLimit(4096)


def _too_many(t: Translator) -> str:
    return t.gettext("Too many codes were asked for this number, or sent by this service. Please try again later.")


async def alerts(request: Request) -> Response:
    """GET /alerts: the subscribe form."""
    code = request_language(request)
    token = csrf.issue(request)
    return render(request, "alerts.html", {"regions": region_choices(code), "region": "", "number": "",
                                           "email": "", "error": None, "csrf": token.token},
                  code=code, cookies=token.cookies)


async def _checked_form(request: Request, t: Translator) -> tuple[dict[str, str], str | None, int]:
    """The posted form, and an error and its status when it did not come from this site's page (403) or the
    address is over its limit (429; charged like an anonymous check, as the API's subscribe)."""
    form = form_of(await read_body(request))
    expired = t.gettext("This form has expired. Reload the page and try again.")
    try:
        if not csrf.valid(request, form):
            return form, expired, 403
        context_of(request).charge(request, None, 1)
    except Problem as exc:
        if exc.status == 429:
            return form, t.gettext("Too many requests from your connection. Please wait %(seconds)s seconds.",
                                   seconds=exc.headers["retry-after"]), 429
        return form, expired, 403
    return form, None, 400


async def subscribe(request: Request) -> Response:
    """POST /alerts: create the subscription (in the page's language) and send the code and the link."""
    code = request_language(request)
    t = translator(code)
    form, error, status = await _checked_form(request, t)
    number, email = form.get("number", "").strip()[:64], form.get("email", "").strip()[:254]
    region = chosen_region(form)
    if error is None and not number:
        error = t.gettext("Type a phone number first.")
    elif error is None and not email:
        error = t.gettext("Type your email address.")
    if error is None:
        subscriptions = context_of(request).services.notifier.subscriptions
        try:
            result = await run_in_threadpool(subscriptions.subscribe, number, email, None, region or None, code)
        except NumberError:
            error = t.gettext("We cannot read this as a phone number. Type it with + and the country code, "
                              "or choose the country.")
        except SubscriptionInputError:
            error = t.gettext("This email address does not look right.")
        except TooManyRequestsError:
            error, status = _too_many(t), 429
        except DeliveryError:
            error, status = t.gettext("We could not send the SMS or the email just now. Please try again later."), 503
        else:
            token = csrf.issue(request)
            return render(request, "alerts_code.html", {"sub_id": result.id, "email": email, "error": None,
                                                        "csrf": token.token}, code=code, here="/alerts",
                          cookies=token.cookies)
    token = csrf.issue(request)
    return render(request, "alerts.html", {"regions": region_choices(code), "region": region, "number": number,
                                           "email": email, "error": error, "csrf": token.token},
                  status=status, code=code, here="/alerts", cookies=token.cookies)


async def verify(request: Request) -> Response:
    """POST /alerts/verify: the code sent to the number."""
    code = request_language(request)
    t = translator(code)
    form, error, status = await _checked_form(request, t)
    sub_id, email = form.get("id", "")[:64], form.get("email", "")[:254]
    if error is None:
        subscriptions = context_of(request).services.notifier.subscriptions
        try:
            await run_in_threadpool(subscriptions.verify, sub_id, form.get("code", "").replace(" ", "")[:12])
        except InvalidCodeError:
            error = t.gettext("This code is wrong or has expired. Check the SMS, or start again.")
        except TooManyRequestsError:
            error, status = _too_many(t), 429
        else:
            return render(request, "message.html", {
                "title": t.gettext("Your number is confirmed"), "status": True,
                "paragraphs": [t.gettext("Alerts start once you have also confirmed your email address with the "
                                         "link we sent to it.")],
                "link": {"href": subscriptions.unsubscribe_path(sub_id, code),
                         "text": t.gettext("See or stop these alerts")}},
                code=code, here="/alerts")
    token = csrf.issue(request)
    return render(request, "alerts_code.html", {"sub_id": sub_id, "email": email, "error": error,
                                                "csrf": token.token}, status=status, code=code, here="/alerts",
                  cookies=token.cookies)


def routes(services: Services) -> list[BaseRoute]:
    """The alert pages."""
    return [
        Route("/alerts", alerts, methods=["GET"]),
        BodyRoute("/alerts", subscribe, methods=["POST"], body=FORM_LIMIT),
        BodyRoute("/alerts/verify", verify, methods=["POST"], body=FORM_LIMIT),
    ]
