"""HTTP routes of the private check (docs/private-check.md):

* POST /api/v1/private/evaluate {"blinded": [hex, ...]} (1 to MAX_BATCH) -> {"evaluated": [hex, ...]}: the only
  call that costs a scalar multiplication; a key with the `private-check` scope, checked before the body is
  read; each element is charged to the private check's own budget and seen by the guard.
* GET /api/v1/private/buckets/{bucket}: the bucket's bytes (application/octet-stream), immutable for a
  generation: ETag, Cache-Control, 304 on If-None-Match. No key: a cache or CDN may answer it, and the
  bucket (a prefix of the OPRF output) says nothing about the number to anyone without the server key.
* GET /api/v1/private/parameters: layout, breaches served, generation, key epoch.

Nothing about a request (bucket, element) is logged.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..private.oprf import ELEMENT_BYTES, InvalidElementError, check_encoding
from ..private.server import Parameters, PrivateIndex
from ..services import Services
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute, read_json
from .context import context_of, header
from .problems import Problem

MAX_BATCH = 64
#: 64 elements of 66 characters of JSON each, with room to spare.
EVALUATE_BODY_LIMIT = BodyLimit(MAX_BATCH * 80 + 256)
#: Batches this large are evaluated off the event loop (one element is ~50 µs: cheaper in place).
_THREAD_FROM = 8
#: A generation's buckets never change: caches may keep them as long as they like when the URL names it.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Without the generation in the URL, a cache must revalidate (an ETag round trip) after this long.
REVALIDATE = "public, max-age=60"
_HEX_DIGITS = re.compile(r"[0-9a-f]+")
_JSON_TYPE = (b"content-type", b"application/json")
_BINARY_TYPE = (b"content-type", b"application/octet-stream")
_NO_STORE = (b"cache-control", b"no-store")
_IMMUTABLE = (b"cache-control", IMMUTABLE.encode())
_REVALIDATE = (b"cache-control", REVALIDATE.encode())
_GENERATION_QUERY = b"generation="


class EncodedResponse(Response):
    """A body already encoded, with its raw headers given directly: what `Response(body, headers=...)` sends,
    without building and lower-casing a header dict per request."""

    def __init__(self, body: bytes, headers: tuple[tuple[bytes, bytes], ...], status_code: int = 200) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        # A 304 carries no body and no Content-Length, as Starlette leaves it out.
        self.raw_headers = list(headers) if status_code == 304 else \
            [*headers, (b"content-length", str(len(body)).encode())]


def _parse(body: Any) -> list[bytes]:
    """The blinded elements of an evaluate request, decoded from hex and checked as far as that needs no point
    decoding (length, identity, bit 255); a 400 problem for anything malformed. The point itself is decoded
    once, by the evaluation, after the request is charged: an element that is not on the group costs its
    sender an evaluation like any other."""
    items = body.get("blinded") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise Problem(400, f"'blinded' must be a list of 1 to {MAX_BATCH} hex-encoded elements")
    elements = []
    for item in items:
        if not isinstance(item, str) or len(item) != 2 * ELEMENT_BYTES:
            raise Problem(400, f"each 'blinded' element must be {2 * ELEMENT_BYTES} hex characters (32 bytes)")
        try:
            elements.append(check_encoding(bytes.fromhex(item)))
        except ValueError:
            raise Problem(400, f"each 'blinded' element must be {2 * ELEMENT_BYTES} hex characters") from None
        except InvalidElementError as exc:
            raise Problem(400, f"a 'blinded' element is not a valid element: {exc}") from None
    return elements


def _encode(evaluated: list[bytes]) -> bytes:
    """The JSON answer {"evaluated": [hex, ...]}, written directly (hex needs no escaping)."""
    return b'{"evaluated":["' + b'","'.join(e.hex().encode() for e in evaluated) + b'"]}'


async def evaluate(request: Request) -> Response:
    """POST /api/v1/private/evaluate: BlindEvaluate each element, charged one evaluation each."""
    key = authenticate(request, "private-check")  # before the body is read
    elements = _parse(await read_json(request))
    ctx = context_of(request)
    ctx.charge(request, key, len(elements), kind="oprf")
    ctx.observe_private(request, key, len(elements))
    index: PrivateIndex = ctx.services.private_index
    try:
        if len(elements) >= _THREAD_FROM:
            evaluated = await run_in_threadpool(index.evaluate_all, elements)
        else:
            evaluated = index.evaluate_all(elements)
    except InvalidElementError as exc:
        raise Problem(400, f"a 'blinded' element is not a valid element: {exc}") from None
    return EncodedResponse(_encode(evaluated), (_JSON_TYPE, _NO_STORE))


#: Nothing is published for this server's key: not an error of the server (a 404, as for a missing page).
_UNPUBLISHED = ("No private check is published on this server: no breach was ingested with --private or built "
                "with `breachwatch private build`.")


def _parameters(request: Request) -> Parameters:
    params = context_of(request).services.private_index.parameters()
    if params is None:
        raise Problem(404, _UNPUBLISHED)
    return params


def _generation(request: Request) -> str | None:
    """The `generation` query parameter (read without parsing the query string in the usual case)."""
    query: bytes = request.scope.get("query_string") or b""
    if not query:
        return None
    if query.startswith(_GENERATION_QUERY) and not any(c in query for c in b"&%+;"):
        return query[len(_GENERATION_QUERY):].decode("latin-1")
    return request.query_params.get("generation")


async def bucket(request: Request) -> Response:
    """GET /api/v1/private/buckets/{bucket}: one bucket, as bytes; cacheable for its generation."""
    text = request.path_params["bucket"]
    ctx = context_of(request)
    current = ctx.services.private_index.served()  # the file and its parameters, read together
    if current is None:
        raise Problem(404, _UNPUBLISHED)
    served, params = current
    digits = -(-params.prefix_bits // 4)
    if len(text) != digits or _HEX_DIGITS.fullmatch(text) is None:
        raise Problem(400, f"the bucket is {digits} lower-case hex digits (prefix_bits {params.prefix_bits})")
    number = int(text, 16)
    if number >= 1 << params.prefix_bits:
        raise Problem(400, f"the bucket must be below {1 << params.prefix_bits:x}")
    wanted = _generation(request)
    if wanted is not None and wanted != params.generation:
        raise Problem(409, "The private buckets were published again: fetch /api/v1/private/parameters.",
                      headers={"Cache-Control": "no-store"})
    ctx.observe_bucket(request)
    etag = f'"{params.generation}"'
    caching = ((b"etag", etag.encode()), _IMMUTABLE if wanted is not None else _REVALIDATE)
    wanted_tags = (header(request.scope, b"if-none-match") or "").replace("W/", "").split(",")
    if any(tag.strip() in (etag, "*") for tag in wanted_tags):  # RFC 9110: "*" matches any current bucket
        return EncodedResponse(b"", caching, 304)
    return EncodedResponse(served.bucket(number), (_BINARY_TYPE, *caching))


async def parameters(request: Request) -> Response:
    """GET /api/v1/private/parameters: what a client needs before a private check."""
    params = _parameters(request)
    body = params.to_dict()
    body.update({"max_batch": MAX_BATCH, "bucket_path": "/api/v1/private/buckets/{bucket}?generation={generation}"})
    etag = f'"{params.generation}-{",".join(params.breaches)}"'
    return JSONResponse(body, headers={"Cache-Control": "no-cache", "ETag": etag})


def routes(services: Services) -> list[BaseRoute]:
    """The private-check routes."""
    return [BodyRoute("/api/v1/private/evaluate", evaluate, methods=["POST"], body=EVALUATE_BODY_LIMIT),
            Route("/api/v1/private/buckets/{bucket}", bucket, methods=["GET"]),
            Route("/api/v1/private/parameters", parameters, methods=["GET"])]
