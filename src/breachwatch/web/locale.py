"""The pages' language and templates: which language a request gets (the `lang` query parameter of the
language picker, remembered in a cookie; else Accept-Language; else English), one Jinja environment per
language with gettext installed, and rendering with the pages' security headers."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..i18n import Translator, languages, negotiate, supported, translator
from ..i18n.terms import STATUSES
from .context import header

_TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "bw_lang"
#: A year: the language picker's choice outlives the visit.
_LANG_COOKIE_AGE = 365 * 86400
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    # Not no-referrer: under it browsers send `Origin: null` with the page's own forms, which the Origin check
    # must refuse. same-origin still sends nothing to other sites.
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "vary": "accept-language, cookie",
}


def request_language(request: Request) -> str:
    """The catalog id a request's page is written in."""
    chosen = supported(request.query_params.get("lang"))
    if chosen is not None:
        return chosen
    remembered = supported(request.cookies.get(LANG_COOKIE))
    if remembered is not None:
        return remembered
    return negotiate(header(request.scope, b"accept-language"))


def ltr(value: object) -> Markup:
    """A phone number, code or address kept left to right inside right-to-left text."""
    return Markup('<bdi dir="ltr">%s</bdi>') % escape(str(value))


@cache
def environment(code: str) -> Environment:
    """The Jinja environment of one language: gettext, its translator `t` and the language list."""
    t = translator(code)
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(t.raw_gettext, t.raw_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(t=t, lang=t.language, languages=languages(), statuses=STATUSES)
    env.filters["ltr"] = ltr
    return env


def language_links(request: Request, path: str | None = None) -> dict[str, str]:
    """Where each entry of the language picker leads: this page (or `path`, for answers to a POST) in that
    language, keeping the query (a link's token) but its `lang`."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] if path is None else []
    base = path if path is not None else request.url.path
    return {lang.code: base + "?" + urlencode([*query, ("lang", lang.code)]) for lang in languages()}


def render(request: Request, name: str, values: dict[str, Any], status: int = 200, code: str | None = None,
           here: str | None = None, cookies: dict[str, str] | None = None) -> HTMLResponse:
    """A template in the request's language (or `code`) as an HTML response with the pages' security headers.
    `here` is the page the language picker reloads (default: this one). A `lang` query parameter is
    remembered in a cookie."""
    code = code or request_language(request)
    t: Translator = translator(code)
    body = environment(code).get_template(name).render(**values, languages_here=language_links(request, here))
    response = HTMLResponse(body, status_code=status, headers={**HEADERS, "content-language": t.tag})
    secure = request.url.scheme == "https"
    if supported(request.query_params.get("lang")) == code and request.cookies.get(LANG_COOKIE) != code:
        response.set_cookie(LANG_COOKIE, code, max_age=_LANG_COOKIE_AGE, samesite="lax", secure=secure)
    for cookie, value in (cookies or {}).items():
        response.set_cookie(cookie, value, httponly=True, samesite="lax", secure=secure)
    return response


