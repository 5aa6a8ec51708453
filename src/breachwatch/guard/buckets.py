"""Token buckets taken atomically, several at once, behind one interface; the in-process backend.

A request names every bucket it counts against (key, IP, subnet, global, and the long-window caps) and
the entity flags (block, throttle) that apply; either all buckets have room and all are charged, or none is."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .policy import Limit


class BackendUnavailable(Exception):
    """The shared state store could not be reached; the guard then fails open or closed as configured."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket: its storage name (made of keyed hashes only) and its limit."""

    name: str
    limit: Limit


class TakeRequest(NamedTuple):
    """Charge `cost` units to every bucket, unless a block flag is set; a throttle flag multiplies the cost.
    (A named tuple: one is made per request, at a fifth of a frozen dataclass's cost.)"""

    buckets: tuple[Bucket, ...]
    cost: int
    now: float
    block_flags: tuple[str, ...] = ()
    throttle_flags: tuple[str, ...] = ()
    throttle_factor: int = 1


@dataclass(frozen=True, slots=True)
class TakeResult:
    """Outcome: admitted or not, seconds to wait before retrying, and why (ok, blocked, limit:NAME,
    too-large:NAME)."""

    allowed: bool
    retry_after: int
    reason: str


class LimiterBackend(Protocol):
    """Where bucket and flag state lives (one process, or Redis shared by several API nodes)."""

    def take(self, request: TakeRequest) -> TakeResult:
        """Atomically check and charge the request's buckets (raises BackendUnavailable)."""
        ...

    def set_flag(self, name: str, until: float, now: float) -> None:
        """Set a block or throttle flag until `until` (never shortens a longer one)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_OK = TakeResult(True, 0, "ok")
_THROTTLED = TakeResult(True, 0, "throttled")


def wait_seconds(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds - 1e-9))


class MemoryBackend:
    """In-process buckets under one lock; refilled buckets are forgotten, so memory follows recent activity."""

    def __init__(self, max_buckets: int = 1_000_000) -> None:
        self._buckets: dict[str, tuple[float, float, float]] = {}  # name -> (tokens, last update, period)
        self._flags: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max = max_buckets

    def take(self, request: TakeRequest) -> TakeResult:
        """See LimiterBackend.take."""
        now = request.now
        with self._lock:
            flags, buckets = self._flags, self._buckets
            throttled = False
            if flags:
                blocked = 0.0
                for flag in request.block_flags:
                    until = flags.get(flag, 0.0)
                    if until > blocked:
                        blocked = until
                if blocked > now:
                    return TakeResult(False, wait_seconds(blocked - now), "blocked")
                throttled = any(flags.get(f, 0.0) > now for f in request.throttle_flags)
            cost = request.cost * (request.throttle_factor if throttled else 1)
            levels = []
            wait, refuser = 0.0, ""
            for bucket in request.buckets:
                limit = bucket.limit
                capacity = limit.capacity
                if cost > capacity:
                    return TakeResult(False, wait_seconds(limit.period), f"too-large:{_scope(bucket.name)}")
                state = buckets.get(bucket.name)
                if state is None:
                    tokens = float(capacity)
                else:
                    elapsed = now - state[1]
                    tokens = state[0] + elapsed * limit.rate if elapsed > 0.0 else state[0]
                    if tokens > capacity:
                        tokens = float(capacity)
                levels.append(tokens)
                if tokens < cost:
                    need = (cost - tokens) / limit.rate
                    if need > wait:
                        wait, refuser = need, bucket.name
            if refuser:
                return TakeResult(False, wait_seconds(wait), f"limit:{_scope(refuser)}")
            for bucket, tokens in zip(request.buckets, levels, strict=True):
                buckets[bucket.name] = (tokens - cost, now, bucket.limit.period)
            if len(buckets) > self._max:
                self._prune(now)
            return _THROTTLED if throttled else _OK

    def _prune(self, now: float) -> None:
        # A bucket untouched for a whole period is full again: forgetting it changes nothing.
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < v[2]}
        self._flags = {k: v for k, v in self._flags.items() if v > now}

    def set_flag(self, name: str, until: float, now: float) -> None:
        """See LimiterBackend.set_flag."""
        with self._lock:
            if until > self._flags.get(name, 0.0):
                self._flags[name] = until

    def close(self) -> None:
        """Nothing to release."""


def _scope(name: str) -> str:
    """The scope part of a bucket name ('…b:key:HASH:0' -> 'key')."""
    parts = name.split(":")
    return parts[-3] if len(parts) >= 3 else name
