"""Request bodies, bounded before they are read.

One ASGI layer (`BodyGuard`, the app's outermost) gives every request its route's body limit: a declared
Content-Length above it is answered 413 before a byte of the body is read; a streamed (chunked) body is cut
with 413 as soon as it passes it; and the whole body must arrive before a deadline (408), so slow senders
cannot hold connections. Routes declare their limit with `BodyRoute`; every other route gets
`DEFAULT_LIMIT`. Handlers then read with `read_body` / `read_json`, which turn malformed or too-deep JSON
into a 400 problem. The problems raised while reading reach the app's exception handlers like any other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import Problem, problem_response


@dataclass(frozen=True)
class BodyLimit:
    """How much body a route accepts, and in how many seconds it must arrive (None: the app's default)."""

    max_bytes: int
    seconds: float | None = None


#: Routes that declare nothing: bodies they might read are small.
DEFAULT_LIMIT = BodyLimit(16 * 1024)
#: Default deadline for receiving a whole body (seconds); the body_timeout setting overrides it.
DEFAULT_SECONDS = 10.0


class BodyRoute(Route):
    """A Route with its request-body limit."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: list[str], body: BodyLimit,
                 **kwargs: Any) -> None:
        super().__init__(path, endpoint, methods=methods, **kwargs)
        self.body = body


class BodyTooLarge(Problem):
    """The body is larger than the route accepts (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this endpoint accepts ({limit:,} bytes)",
                         headers={"connection": "close"})


class BodyTimeout(Problem):
    """The body did not arrive in time (408)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} seconds",
                         headers={"connection": "close"})


class BodyGuard:
    """ASGI middleware: per-route body limits and deadlines."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute], default_seconds: float = DEFAULT_SECONDS,
                 clock: Callable[[], float] | None = None) -> None:
        self.app = app
        self.default_seconds = default_seconds
        self._limited = [r for r in routes if isinstance(r, BodyRoute)]
        self._clock = clock

    def limit_for(self, scope: Scope) -> BodyLimit:
        """The body limit of the route this request goes to (DEFAULT_LIMIT when it declares none)."""
        for route in self._limited:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.body
        return DEFAULT_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            bounded = self.bound(scope, receive, self.limit_for(scope))
        except Problem as problem:
            await problem_response(problem)(scope, receive, send)
            return
        await self.app(scope, bounded, send)

    def bound(self, scope: Scope, receive: Receive, limit: BodyLimit) -> Receive:
        """`receive` held to `limit` (see `bound_receive`), with this app's default deadline."""
        return bound_receive(scope, receive, limit, self.default_seconds, self._clock)


def bound_receive(scope: Scope, receive: Receive, limit: BodyLimit, default_seconds: float = DEFAULT_SECONDS,
                  clock: Callable[[], float] | None = None) -> Receive:
    """`receive` held to `limit` (size, and its deadline or `default_seconds`); raises a Problem (400, 413)
    when the declared Content-Length is malformed or too large, before a byte of the body is read. The hot
    routes (web/hot_routes.py), which skip BodyGuard, call it for the routes that read a body."""
    seconds = limit.seconds if limit.seconds is not None else default_seconds
    declared = _content_length(scope)
    if declared == -1:
        raise Problem(400, "the Content-Length header is not a number", headers={"connection": "close"})
    if declared is not None and declared > limit.max_bytes:
        raise BodyTooLarge(limit.max_bytes)
    return _bounded(receive, limit.max_bytes, seconds, clock)


def _content_length(scope: Scope) -> int | None:
    """The declared Content-Length; None when absent, -1 when malformed."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 19 else -1
    return None


def _bounded(receive: Receive, max_bytes: int, seconds: float, clock: Callable[[], float] | None) -> Receive:
    """`receive` that raises BodyTooLarge past `max_bytes` of body and BodyTimeout once `seconds` have passed
    before the body was whole; after the body, messages (a disconnect) are passed on without a deadline."""
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    deadline = now() + seconds
    received = 0
    complete = False

    async def receive_bounded() -> Message:
        nonlocal received, complete
        if complete:
            return await receive()
        remaining = deadline - now()
        if remaining <= 0:
            raise BodyTimeout(seconds)
        try:
            async with asyncio.timeout(remaining):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout(seconds) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge(max_bytes)
            complete = not message.get("more_body", False)
        else:
            complete = True
        return message

    return receive_bounded


async def read_body(request: Request) -> bytes:
    """The whole request body (bounded by the route's limit and deadline through BodyGuard); raises
    ClientDisconnect when the client goes away first. Kept on the request, as `Request.body()` keeps it.

    The messages are read here rather than through `Request.body()`, whose async-generator stream cost the
    private evaluation ~10 µs a request (bench/RESULTS.md)."""
    kept: bytes | None = getattr(request, "_body", None)
    if kept is not None:
        return kept
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # what Request.body() and Request.stream() answer from now on
    return body


async def read_json(request: Request, example: str = "") -> Any:
    """The request body parsed as JSON; a 400 problem when it is empty, malformed or nested too deep."""
    raw = await read_body(request)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        why = "nested too deeply" if "recursion" in str(exc).lower() else "not valid JSON"
        hint = f": {example}" if example else ""
        raise Problem(400, f"the request body is {why}{hint}") from None


async def read_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; a 400 problem otherwise."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise Problem(400, "the request body must be a JSON object", title="Invalid request")
    return body


def text_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    """A string field of a JSON object (None when absent); a 400 problem when it is not a string."""
    value = body.get(name)
    if value is None:
        if required:
            raise Problem(400, f"field {name!r} is required", title="Invalid request")
        return None
    if not isinstance(value, str):
        raise Problem(400, f"field {name!r} must be a string", title="Invalid request")
    return value


def text_list(body: dict[str, Any], name: str) -> list[str]:
    """A list-of-strings field of a JSON object (empty when absent); a 400 problem otherwise."""
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Problem(400, f"field {name!r} must be a list of strings", title="Invalid request")
    return value
