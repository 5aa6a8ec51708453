"""Rate limiting by cost (numbers checked, not requests) behind a small interface.

`RateLimiter` is what callers use: `hit(bucket_key, cost) -> Decision`. `TokenBucketLimiter` is the
in-process backend: one token bucket per key, refilled at `rate` tokens per second up to `burst`. A bucket
key is an opaque string chosen by the caller (e.g. "key:<id>" or "ip:<keyed hash>"): the limiter never sees
a raw IP or API key. A Redis backend (shared across workers and nodes) can implement the same protocol."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit: allowed or not, and if not, whole seconds to wait before retrying."""

    allowed: bool
    retry_after: int = 0


_ALLOWED = Decision(True, 0)


class RateLimiter(Protocol):
    """Anything that can charge `cost` units to a bucket and say whether that is allowed now."""

    def hit(self, bucket_key: str, cost: int = 1) -> Decision:
        """Charge `cost` to `bucket_key`; refuse (charging nothing) when the bucket holds too little."""
        ...


@dataclass(frozen=True)
class BucketPolicy:
    """Refill rate (units per second) and capacity (the largest burst) of a family of buckets."""

    rate: float
    burst: float


class TokenBucketLimiter:
    """In-process token buckets, one per bucket key; the policy is picked by the key's prefix (before ':').

    Thread-safe. Memory is bounded: past `max_buckets` keys, buckets that have refilled completely (and so
    carry no state worth keeping) are dropped."""

    def __init__(self, policies: dict[str, BucketPolicy], default: BucketPolicy,
                 clock: Callable[[], float] = time.monotonic, max_buckets: int = 100_000) -> None:
        self._policies = policies
        self._default = default
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)
        self._lock = threading.Lock()

    def policy(self, bucket_key: str) -> BucketPolicy:
        """The policy that applies to a bucket key."""
        return self._policies.get(bucket_key.partition(":")[0], self._default)

    def hit(self, bucket_key: str, cost: int = 1) -> Decision:
        """Charge `cost` to `bucket_key`; refuse (charging nothing) when the bucket holds too little."""
        policy = self.policy(bucket_key)
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(bucket_key, (policy.burst, now))
            tokens = min(policy.burst, tokens + (now - updated) * policy.rate)
            if cost <= tokens:
                self._buckets[bucket_key] = (tokens - cost, now)
                if len(self._buckets) > self._max_buckets:
                    self._prune(now)
                return _ALLOWED
            self._buckets[bucket_key] = (tokens, now)
        if policy.rate <= 0 or cost > policy.burst:
            # Never satisfiable as asked: say "wait a full refill" rather than loop forever.
            wait = policy.burst / policy.rate if policy.rate > 0 else 3600.0
        else:
            wait = (cost - tokens) / policy.rate
        return Decision(False, max(1, math.ceil(wait)))

    def _prune(self, now: float) -> None:
        for key, (tokens, updated) in list(self._buckets.items()):
            policy = self.policy(key)
            if tokens + (now - updated) * policy.rate >= policy.burst:
                del self._buckets[key]
