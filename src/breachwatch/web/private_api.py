"""HTTP routes of the private check: POST /api/v1/private/check and /api/v1/private/check/batch.

Request: {"prefix": int, "blinded": hex of a 32-byte ristretto255 element} (batch: {"queries": [...]}).
Response: {"evaluated": hex, "bucket": base64 of padded entries, "entry_bytes", "prefix_bits", "breaches"}
(batch: {"results": [...]}). Nothing about the request is logged. Every evaluation is one scalar
multiplication and is charged to the caller through `authorize(request, cost)`, injected by the app: it may
be sync or async, raise starlette's HTTPException to refuse, or return a Response to send instead.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..oprf import InvalidElementError, validate_element
from ..private import BUCKETS, ENTRY_BYTES, PREFIX_BITS, PrivateIndex

Authorize = Callable[[Request, int], "Awaitable[Response | None] | Response | None"]
MAX_BODY_BYTES = 64 * 1024
MAX_BATCH = 64


class HasPrivateIndex(Protocol):
    """What the routes need of the services object."""

    @property
    def private_index(self) -> PrivateIndex:
        """The server side of the private check."""


class BadRequest(Exception):
    """The request body is not a valid private-check query."""


def _parse_query(item: Any) -> tuple[int, bytes]:
    if not isinstance(item, dict):
        raise BadRequest("each query is an object with 'prefix' and 'blinded'")
    prefix, blinded = item.get("prefix"), item.get("blinded")
    if not isinstance(prefix, int) or isinstance(prefix, bool) or not 0 <= prefix < BUCKETS:
        raise BadRequest(f"'prefix' must be an integer in [0, {BUCKETS})")
    if not isinstance(blinded, str) or len(blinded) != 64:
        raise BadRequest("'blinded' must be 64 hex characters (a 32-byte element)")
    try:
        return prefix, validate_element(bytes.fromhex(blinded))
    except ValueError:
        raise BadRequest("'blinded' must be 64 hex characters (a 32-byte element)") from None
    except InvalidElementError as exc:
        raise BadRequest(f"'blinded' is not a valid element: {exc}") from None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not JSON") from None


def _answer(index: PrivateIndex, prefix: int, blinded: bytes) -> dict[str, Any]:
    evaluated = index.evaluate(blinded)
    bucket, breaches = index.bucket(prefix)
    return {"evaluated": evaluated.hex(), "bucket": base64.b64encode(bucket).decode("ascii"),
            "entry_bytes": ENTRY_BYTES, "prefix_bits": PREFIX_BITS, "breaches": breaches}


def _answer_many(index: PrivateIndex, queries: list[tuple[int, bytes]]) -> list[dict[str, Any]]:
    return [_answer(index, prefix, blinded) for prefix, blinded in queries]


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _charge(authorize: Authorize, request: Request, cost: int) -> Response | None:
    outcome = authorize(request, cost)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


def routes(services: HasPrivateIndex, authorize: Authorize) -> list[BaseRoute]:
    """The private-check routes over `services.private_index`, charging `authorize` per evaluation."""

    async def check(request: Request) -> Response:
        try:
            query = _parse_query(await _body(request))
        except BadRequest as exc:
            return _bad(str(exc))
        refused = await _charge(authorize, request, 1)
        if refused is not None:
            return refused
        try:
            answer = await run_in_threadpool(_answer, services.private_index, *query)
        except InvalidElementError as exc:
            return _bad(f"'blinded' is not a valid element: {exc}")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def check_batch(request: Request) -> Response:
        try:
            body = await _body(request)
            items = body.get("queries") if isinstance(body, dict) else None
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
                raise BadRequest(f"'queries' must be a list of 1 to {MAX_BATCH} queries")
            queries = [_parse_query(item) for item in items]
        except BadRequest as exc:
            return _bad(str(exc))
        refused = await _charge(authorize, request, len(queries))
        if refused is not None:
            return refused
        try:
            results = await run_in_threadpool(_answer_many, services.private_index, queries)
        except InvalidElementError as exc:
            return _bad(f"a 'blinded' value is not a valid element: {exc}")
        return JSONResponse({"results": results}, headers={"Cache-Control": "no-store"})

    return [Route("/api/v1/private/check", check, methods=["POST"]),
            Route("/api/v1/private/check/batch", check_batch, methods=["POST"])]
