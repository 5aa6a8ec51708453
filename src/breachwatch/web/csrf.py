"""CSRF protection of the page's forms, with nothing stored on the server: a random value in an HttpOnly,
SameSite=Lax cookie, and in each form a token that is a keyed hash of it (signed double submit). A form posted
by another site's page carries no valid token (it can neither read the cookie nor compute the hash), and the
Origin check refuses it besides (web/origin.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import Request

from ..secretkey import derive_key
from .context import context_of
from .origin import require_same_origin

COOKIE = "bw_csrf"
FIELD = "csrf"


@dataclass(frozen=True)
class CsrfToken:
    """The token a form carries, and the cookie value to set when the browser had none."""

    token: str
    new_cookie: str | None

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies a response must set."""
        return {COOKIE: self.new_cookie} if self.new_cookie else {}


@lru_cache(maxsize=4)
def _derived(master_key: bytes) -> bytes:
    return derive_key(master_key, "web-csrf")


def _key(request: Request) -> bytes:
    return _derived(context_of(request).services.master_key)


def _token_for(key: bytes, cookie: str) -> str:
    return hmac.new(key, cookie.encode(), hashlib.sha256).hexdigest()[:32]


def issue(request: Request) -> CsrfToken:
    """The token for the forms of the page being rendered (and a new cookie when the browser sent none)."""
    cookie = request.cookies.get(COOKIE, "")
    new = None
    if len(cookie) != 32 or not cookie.isalnum():
        cookie = new = secrets.token_hex(16)
    return CsrfToken(_token_for(_key(request), cookie), new)


def valid(request: Request, form: dict[str, str]) -> bool:
    """Whether a posted form comes from this site's page: same origin (else Problem 403, raised) and a token
    matching the browser's cookie."""
    require_same_origin(request, context_of(request).services.config.public_url)
    cookie = request.cookies.get(COOKIE, "")
    offered = form.get(FIELD, "")
    return bool(cookie) and hmac.compare_digest(_token_for(_key(request), cookie).encode(), offered.encode())
