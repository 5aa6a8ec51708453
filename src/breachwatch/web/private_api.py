"""HTTP routes of the private check: POST /api/v1/private/check and /api/v1/private/check/batch.

Request: {"prefix": int, "blinded": hex of a 32-byte ristretto255 element} (batch: {"queries": [...]}).
Response: {"evaluated": hex, "bucket": base64 of padded entries, "entry_bytes", "prefix_bits", "breaches"}
(batch: {"results": [...]}). Nothing about the request is logged. The key (scope `private-check`) is checked
before the body is read; every evaluation is one scalar multiplication and is charged to the caller.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from ..catalog.keys import ApiKey
from ..private.oprf import InvalidElementError, validate_element
from ..private.protocol import BUCKETS, ENTRY_BYTES, PREFIX_BITS
from ..private.server import PrivateIndex
from ..services import Services
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute, read_json
from .context import context_of
from .problems import Problem

MAX_BATCH = 64
#: A query is under 100 bytes of JSON; a batch of MAX_BATCH, with room to spare.
BODY_LIMIT = BodyLimit(1024)
BATCH_BODY_LIMIT = BodyLimit(MAX_BATCH * 160)


def _parse_query(item: Any) -> tuple[int, bytes]:
    if not isinstance(item, dict):
        raise Problem(400, "each query is an object with 'prefix' and 'blinded'")
    prefix, blinded = item.get("prefix"), item.get("blinded")
    if not isinstance(prefix, int) or isinstance(prefix, bool) or not 0 <= prefix < BUCKETS:
        raise Problem(400, f"'prefix' must be an integer in [0, {BUCKETS})")
    if not isinstance(blinded, str) or len(blinded) != 64:
        raise Problem(400, "'blinded' must be 64 hex characters (a 32-byte element)")
    try:
        return prefix, validate_element(bytes.fromhex(blinded))
    except ValueError:
        raise Problem(400, "'blinded' must be 64 hex characters (a 32-byte element)") from None
    except InvalidElementError as exc:
        raise Problem(400, f"'blinded' is not a valid element: {exc}") from None


def _answer(index: PrivateIndex, prefix: int, blinded: bytes) -> dict[str, Any]:
    evaluated = index.evaluate(blinded)
    bucket, breaches = index.bucket(prefix)
    return {"evaluated": evaluated.hex(), "bucket": base64.b64encode(bucket).decode("ascii"),
            "entry_bytes": ENTRY_BYTES, "prefix_bits": PREFIX_BITS, "breaches": breaches}


def _answer_many(index: PrivateIndex, queries: list[tuple[int, bytes]]) -> list[dict[str, Any]]:
    return [_answer(index, prefix, blinded) for prefix, blinded in queries]


async def _evaluate(request: Request, key: ApiKey, queries: list[tuple[int, bytes]], many: bool) -> Response:
    ctx = context_of(request)
    ctx.charge(request, key, len(queries), kind="oprf")
    ctx.observe_blind(request, key, len(queries))
    try:
        if many:
            answer: Any = {"results": await run_in_threadpool(_answer_many, ctx.services.private_index, queries)}
        else:
            answer = await run_in_threadpool(_answer, ctx.services.private_index, *queries[0])
    except InvalidElementError as exc:
        raise Problem(400, f"a 'blinded' value is not a valid element: {exc}") from None
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


async def check(request: Request) -> Response:
    """POST /api/v1/private/check: one OPRF evaluation and its bucket."""
    key = authenticate(request, "private-check")  # before the body is read
    return await _evaluate(request, key, [_parse_query(await read_json(request))], many=False)


async def check_batch(request: Request) -> Response:
    """POST /api/v1/private/check/batch: up to MAX_BATCH evaluations, charged one each."""
    key = authenticate(request, "private-check")  # before the body is read
    body = await read_json(request)
    items = body.get("queries") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise Problem(400, f"'queries' must be a list of 1 to {MAX_BATCH} queries")
    return await _evaluate(request, key, [_parse_query(item) for item in items], many=True)


def routes(services: Services) -> list[BaseRoute]:
    """The private-check routes."""
    return [BodyRoute("/api/v1/private/check", check, methods=["POST"], body=BODY_LIMIT),
            BodyRoute("/api/v1/private/check/batch", check_batch, methods=["POST"], body=BATCH_BODY_LIMIT)]
