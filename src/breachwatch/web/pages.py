"""The web pages: check a number (works without JavaScript) and the list of breaches with charts, in the
visitor's language (web/locale.py).

The number is posted in a form body, never put in the URL, so it cannot end up in access logs."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..analysis.population import LICENCE, LICENCE_URL, SOURCE, SOURCE_URL, population_share, source_year
from ..check.advice import steps_for
from ..check.shapes import public_hits
from ..i18n import Translator, translator
from ..models import CheckResult
from ..phone import REGIONS, country_code_for_region
from ..services import Services
from .bodies import BodyLimit, BodyRoute, read_body
from .charts import country_bars
from .context import context_of
from .locale import render, request_language
from .problems import Problem

MAX_FORM_BYTES = 4096
_STATIC = Path(__file__).parent / "static"


@cache
def region_choices(code: str = "en") -> list[tuple[str, str, int]]:
    """(ISO region, name in the language, calling code) of every region libphonenumber knows, by name."""
    t = translator(code)
    found = [(r, t.country(r), country_code_for_region(r)) for r in REGIONS if r not in ("001", "ZZ")]
    return sorted(found, key=lambda item: item[1].casefold())


def form_of(body: bytes) -> dict[str, str]:
    """A urlencoded form body as {field: first value}."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def chosen_region(form: dict[str, str]) -> str:
    """The region picked in a form, if it is one of the picker's."""
    region = form.get("region", "").strip().upper()
    return region if region in {r for r, _, _ in region_choices()} else ""


def population_note(t: Translator) -> Markup:
    """The sentence naming the population figures' source and licence, with links."""
    source = Markup('<a href="%s">%s</a>') % (SOURCE_URL, SOURCE)
    licence = Markup('<a href="%s">%s</a>') % (LICENCE_URL, LICENCE)
    return escape(t.raw_gettext("Share of population: a country's numbers in the breach divided by its "
                                "population in %(year)s, from %(source)s (licence %(licence)s).")) % {
        "year": source_year(), "source": source, "licence": licence}


async def home(request: Request) -> Response:
    """GET /: the check form."""
    code = request_language(request)
    return render(request, "index.html", {"regions": region_choices(code), "region": "", "result": None,
                                          "hits": [], "steps": [], "error": None}, code=code)


async def check(request: Request) -> Response:
    """POST /check: check the number typed in the form (limited per client IP; no key needed)."""
    ctx = context_of(request)
    code = request_language(request)
    t = translator(code)
    form = form_of(await read_body(request))
    number = form.get("number", "").strip()[:64]
    region = chosen_region(form)
    values: dict[str, object] = {"regions": region_choices(code), "region": region, "number": number,
                                 "result": None, "hits": [], "steps": [], "error": None}
    if not number:
        values["error"] = t.gettext("Type a phone number first.")
        return render(request, "index.html", values, status=400, code=code, here="/")
    try:
        ctx.charge(request, None, 1)
    except Problem as exc:
        values["error"] = t.gettext("Too many requests from your connection. Please wait %(seconds)s seconds.",
                                    seconds=exc.headers["retry-after"])
        response = render(request, "index.html", values, status=429, code=code, here="/")
        response.headers["retry-after"] = exc.headers["retry-after"]
        return response
    result: CheckResult = ctx.services.checker.check(number, region or None)
    ctx.observe(request, None, [result])
    if result.error:
        values["error"] = t.gettext("We cannot read this as a phone number. Type it with + and the country code, "
                                    "or choose the country.")
        return render(request, "index.html", values, status=400, code=code, here="/")
    hits = public_hits(result)
    # Advice follows what the shown breaches leaked: hidden (sensitive, retired) ones must not shape it.
    steps = steps_for({c for hit in hits for c in hit.data_classes}) if hits else []
    values.update(result=result, hits=hits, steps=steps, breach_count=len(ctx.breaches.get().by_name))
    return render(request, "index.html", values, code=code, here="/")


async def breaches(request: Request) -> Response:
    """GET /breaches: every breach with its data classes, a per-country chart and table, and each country's
    share of its population."""
    ctx = context_of(request)
    code = request_language(request)
    t = translator(code)
    items = []
    # Newest breach first; breaches without a date last.
    for b in sorted(ctx.breaches.get().by_name.values(),
                    key=lambda b: (b.breach_date is not None, b.breach_date or dt.date.min), reverse=True):
        countries = ctx.services.catalog.countries(b.name)
        rows = [{"region": c.region, "name": t.country(c.region), "numbers": c.numbers, "valid": c.valid,
                 "share": population_share(c.region, c.numbers)} for c in countries[:12]]
        title = t.gettext("Numbers per country in %(title)s", title=b.title)
        chart = country_bars(countries, title, label=t.country, number=t.number,
                             other=t.gettext("Other countries"), ident=b.name)
        items.append({"breach": b, "countries": rows, "more": max(0, len(countries) - 12),
                      "chart": Markup(chart)})  # noqa: S704 - built from escaped parts
    return render(request, "breaches.html", {"items": items, "population_note": population_note(t)}, code=code)


def routes(services: Services) -> list[BaseRoute]:
    """The page routes and the static files."""
    return [
        Route("/", home, methods=["GET"]),
        BodyRoute("/check", check, methods=["POST"], body=BodyLimit(MAX_FORM_BYTES)),
        Route("/breaches", breaches, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
