"""API-key authentication for route handlers: `authenticate(request, scope) -> ApiKey`.

The key travels in the `hibp-api-key` header (as on HIBP), or as `Authorization: Bearer <key>` (what
Prometheus and most HTTP tools send). A missing, malformed, unknown or revoked key is
a 401, a valid key without the needed scope a 403, both as problem+json. Other areas' route modules call
`authenticate` the same way."""

from __future__ import annotations

from starlette.requests import Request

from ..catalog.keys import ApiKey
from .context import context_of, header
from .problems import Problem

API_KEY_HEADER = "hibp-api-key"
_API_KEY_HEADER_RAW = API_KEY_HEADER.encode()


def authenticate(request: Request, scope: str) -> ApiKey:
    """The API key of this request, which must hold `scope`; raises Problem(401/403) otherwise."""
    presented = header(request.scope, _API_KEY_HEADER_RAW)
    if not presented:
        scheme, _, credentials = (header(request.scope, b"authorization") or "").partition(" ")
        presented = credentials.strip() if scheme.lower() == "bearer" else None
    if not presented:
        raise Problem(401, f"Access denied due to missing {API_KEY_HEADER}.")
    key = context_of(request).services.api_keys.verify(presented)
    if key is None:
        raise Problem(401, f"Access denied due to invalid {API_KEY_HEADER}.")
    if not key.allows(scope):
        raise Problem(403, f"This API key lacks the {scope!r} scope.")
    return key
