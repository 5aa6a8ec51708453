"""Pages behind links sent to people (confirm an email address, stop alerts): they act only on POST, since mail
scanners follow links, and are plain HTML for a browser; an error is HTML for a browser that asks for it and
problem+json for everything else, like every other error of the app."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .context import header
from .problems import Problem

_HEADERS = {"content-security-policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
            # same-origin, not no-referrer: with no-referrer a browser posts the form with `Origin: null`, which
            # the same-site check (web/origin.py) must refuse.
            "referrer-policy": "same-origin", "cache-control": "no-store"}


def page(title: str, text: str, form_action: str | None = None, button: str = "") -> HTMLResponse:
    """A small page with a title, a sentence and, with `form_action`, a button that POSTs to it."""
    form = (f'<form method="post" action="{html.escape(form_action)}"><button type="submit">{html.escape(button)}'
            "</button></form>") if form_action else ""
    return HTMLResponse(f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
                        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</html>", headers=_HEADERS)


def ask(request: Request, title: str, text: str, button: str) -> HTMLResponse:
    """The page a GET of a link shows: it posts the same link back."""
    return page(title, text, form_action=f"{request.url.path}?{request.url.query}", button=button)


def refuse(request: Request, status: int, title: str, text: str) -> Response:
    """A link that is not valid: an HTML page for a browser, a problem for any other client."""
    if "text/html" not in (header(request.scope, b"accept") or ""):
        raise Problem(status, text, title=title)
    response = page(title, text)
    response.status_code = status
    return response
