"""The web pages: check a number (works without JavaScript) and the list of breaches with charts.

The number is posted in a form body, never put in the URL, so it cannot end up in access logs."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..check.shapes import public_hits
from ..models import CheckResult
from ..phone import REGIONS, country_code_for_region
from ..services import Services
from .bodies import BodyLimit, BodyRoute, read_body
from .charts import country_bars
from .context import context_of
from .problems import Problem

_HERE = Path(__file__).parent
_ENV = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}
MAX_FORM_BYTES = 4096


@cache
def region_choices() -> list[tuple[str, int]]:
    """(ISO region, calling code) of every region libphonenumber knows, for the country picker."""
    return [(r, country_code_for_region(r)) for r in REGIONS if r not in ("001", "ZZ")]


def render(name: str, values: dict[str, object], status: int = 200) -> HTMLResponse:
    """Render a template as an HTML response with the pages' security headers."""
    return HTMLResponse(_ENV.get_template(name).render(**values), status_code=status, headers=_HEADERS)


async def home(request: Request) -> Response:
    """GET /: the check form."""
    return render("index.html", {"regions": region_choices(), "region": "", "result": None, "hits": [], "error": None})


async def check(request: Request) -> Response:
    """POST /check: check the number typed in the form (limited per client IP; no key needed)."""
    ctx = context_of(request)
    body = await read_body(request)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    number = form.get("number", "").strip()[:64]
    region = form.get("region", "").strip().upper()
    if region not in {r for r, _ in region_choices()}:
        region = ""
    values: dict[str, object] = {"regions": region_choices(), "region": region, "number": number,
                                 "result": None, "hits": [], "error": None}
    if not number:
        values["error"] = "Type a phone number first."
        return render("index.html", values, status=400)
    try:
        ctx.charge(request, None, 1)
    except Problem as exc:
        values["error"] = f"Too many checks from your connection. Please wait {exc.headers['retry-after']} seconds."
        response = render("index.html", values, status=429)
        response.headers["retry-after"] = exc.headers["retry-after"]
        return response
    result: CheckResult = ctx.services.checker.check(number, region or None)
    ctx.observe(request, None, [result])
    if result.error:
        values["error"] = result.error.replace(repr(result.query), "this")
        return render("index.html", values, status=400)
    hits = public_hits(result)
    values.update(result=result, hits=hits, breach_count=len(ctx.breaches.get().by_name))
    return render("index.html", values)


async def breaches(request: Request) -> Response:
    """GET /breaches: every breach with its data classes and a per-country chart."""
    ctx = context_of(request)
    items = []
    # Newest breach first; breaches without a date last.
    for b in sorted(ctx.breaches.get().by_name.values(),
                    key=lambda b: (b.breach_date is not None, b.breach_date or dt.date.min), reverse=True):
        countries = ctx.services.catalog.countries(b.name)
        items.append({"breach": b, "countries": countries[:12], "more": max(0, len(countries) - 12),
                      "chart": Markup(country_bars(countries, f"Numbers per country in {b.title}"))})  # noqa: S704 - built from escaped parts
    return render("breaches.html", {"items": items})


def routes(services: Services) -> list[BaseRoute]:
    """The page routes and the static files."""
    return [
        Route("/", home, methods=["GET"]),
        BodyRoute("/check", check, methods=["POST"], body=BodyLimit(MAX_FORM_BYTES)),
        Route("/breaches", breaches, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
