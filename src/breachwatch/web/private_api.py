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

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import BreachwatchError
from ..private.oprf import ELEMENT_BYTES, InvalidElementError, validate_element
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


def _parse(body: Any) -> list[bytes]:
    items = body.get("blinded") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise Problem(400, f"'blinded' must be a list of 1 to {MAX_BATCH} hex-encoded elements")
    elements = []
    for item in items:
        if not isinstance(item, str) or len(item) != 2 * ELEMENT_BYTES:
            raise Problem(400, f"each 'blinded' element must be {2 * ELEMENT_BYTES} hex characters (32 bytes)")
        try:
            elements.append(validate_element(bytes.fromhex(item)))
        except ValueError:
            raise Problem(400, f"each 'blinded' element must be {2 * ELEMENT_BYTES} hex characters") from None
        except InvalidElementError as exc:
            raise Problem(400, f"a 'blinded' element is not a valid element: {exc}") from None
    return elements


def _evaluate_all(index: PrivateIndex, elements: list[bytes]) -> list[str]:
    return [index.evaluate(e).hex() for e in elements]


async def evaluate(request: Request) -> Response:
    """POST /api/v1/private/evaluate: BlindEvaluate each element, charged one evaluation each."""
    key = authenticate(request, "private-check")  # before the body is read
    elements = _parse(await read_json(request))
    ctx = context_of(request)
    ctx.charge(request, key, len(elements), kind="oprf")
    ctx.observe_private(request, key, len(elements))
    index = ctx.services.private_index
    try:
        if len(elements) >= _THREAD_FROM:
            evaluated = await run_in_threadpool(_evaluate_all, index, elements)
        else:
            evaluated = _evaluate_all(index, elements)
    except InvalidElementError as exc:
        raise Problem(400, f"a 'blinded' element is not a valid element: {exc}") from None
    return JSONResponse({"evaluated": evaluated}, headers={"Cache-Control": "no-store"})


def _parameters(request: Request) -> Parameters:
    params = context_of(request).services.private_index.parameters()
    if params is None:
        raise Problem(404, "No private check is published on this server: no breach was ingested with --private "
                           "or built with `breachwatch private build`.")
    return params


async def bucket(request: Request) -> Response:
    """GET /api/v1/private/buckets/{bucket}: one bucket, as bytes; cacheable for its generation."""
    text = request.path_params["bucket"]
    ctx = context_of(request)
    index = ctx.services.private_index
    params = _parameters(request)
    digits = -(-params.prefix_bits // 4)
    if len(text) != digits or text != text.lower() or any(c not in "0123456789abcdef" for c in text):
        raise Problem(400, f"the bucket is {digits} lower-case hex digits (prefix_bits {params.prefix_bits})")
    number = int(text, 16)
    if number >= 1 << params.prefix_bits:
        raise Problem(400, f"the bucket must be below {1 << params.prefix_bits:x}")
    wanted = request.query_params.get("generation")
    if wanted is not None and wanted != params.generation:
        raise Problem(409, "The private buckets were published again: fetch /api/v1/private/parameters.",
                      headers={"Cache-Control": "no-store"})
    ctx.observe_bucket(request)
    etag = f'"{params.generation}"'
    caching = {"ETag": etag, "Cache-Control": IMMUTABLE if wanted is not None else REVALIDATE}
    if etag in (header(request.scope, b"if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=caching)
    try:
        data, served = index.bucket(number)
    except BreachwatchError:
        raise Problem(503, "The private check's files are unavailable.") from None
    if served.generation != params.generation:  # published again between the two reads: answer the new one
        caching["ETag"] = f'"{served.generation}"'
    return Response(data, media_type="application/octet-stream", headers=caching)


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
