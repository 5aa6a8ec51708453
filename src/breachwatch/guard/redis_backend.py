"""The Redis backend: the same buckets and flags shared by several API nodes, taken atomically by one Lua
script. The only module that imports redis. Key names hold keyed hashes only."""

from __future__ import annotations

import math
from typing import Any

import redis

from .buckets import BackendUnavailable, TakeRequest, TakeResult, _scope, wait_seconds

# KEYS: block flags, throttle flags, buckets.  ARGV: now, cost, factor, #block, #throttle, then per bucket
# capacity, rate, ttl.  Returns {allowed, wait (ms), index of the bucket that refused or -1/-2}.
_TAKE = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local nblock = tonumber(ARGV[4])
local nthrottle = tonumber(ARGV[5])
local blocked = 0
for i = 1, nblock do
  local until_ = tonumber(redis.call('GET', KEYS[i]) or '0')
  if until_ > blocked then blocked = until_ end
end
if blocked > now then return {0, math.ceil((blocked - now) * 1000), -1} end
local throttled = 0
for i = nblock + 1, nblock + nthrottle do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > now then throttled = 1 end
end
if throttled == 1 then cost = cost * tonumber(ARGV[3]) end
local first = nblock + nthrottle
local levels = {}
local wait = 0
local refuser = 0
for j = first + 1, #KEYS do
  local a = 6 + (j - first - 1) * 3
  local cap = tonumber(ARGV[a])
  local rate = tonumber(ARGV[a + 1])
  if cost > cap then return {0, math.ceil(cap / rate * 1000), -(j - first) - 10} end
  local state = redis.call('HMGET', KEYS[j], 't', 'ts')
  local tokens = cap
  if state[1] then
    tokens = math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
  end
  levels[j] = tokens
  if tokens < cost then
    local need = (cost - tokens) / rate
    if need > wait then wait = need; refuser = j - first end
  end
end
if refuser > 0 then return {0, math.ceil(wait * 1000), refuser} end
for j = first + 1, #KEYS do
  local a = 6 + (j - first - 1) * 3
  redis.call('HSET', KEYS[j], 't', tostring(levels[j] - cost), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[j], tonumber(ARGV[a + 2]))
end
return {1, 0, throttled}
"""

_SET_FLAG = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = tonumber(ARGV[1])
if until_ > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, math.ceil((until_ - tonumber(ARGV[2])) * 1000)))
end
return 1
"""


class RedisBackend:
    """Buckets and flags in Redis, their names under `prefix`; every take is one atomic script call."""

    def __init__(self, url: str, prefix: str = "bw:", timeout: float = 0.5) -> None:
        self.prefix = prefix
        self._client: Any = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._take = self._client.register_script(_TAKE)
        self._set_flag = self._client.register_script(_SET_FLAG)

    def take(self, request: TakeRequest) -> TakeResult:
        """See LimiterBackend.take."""
        p = self.prefix
        keys = [p + k for k in (*request.block_flags, *request.throttle_flags, *(b.name for b in request.buckets))]
        args: list[float | int] = [request.now, request.cost, request.throttle_factor,
                                   len(request.block_flags), len(request.throttle_flags)]
        for bucket in request.buckets:
            args += [bucket.limit.capacity, bucket.limit.rate, math.ceil(bucket.limit.period) + 1]
        try:
            allowed, wait_ms, which = self._take(keys=keys, args=args)
        except redis.RedisError as exc:
            raise BackendUnavailable(type(exc).__name__) from None
        if allowed:
            return TakeResult(True, 0, "throttled" if which == 1 else "ok")
        if which == -1:
            return TakeResult(False, wait_seconds(wait_ms / 1000), "blocked")
        if which <= -10:
            name = request.buckets[-which - 11].name
            return TakeResult(False, wait_seconds(wait_ms / 1000), f"too-large:{_scope(name)}")
        return TakeResult(False, wait_seconds(wait_ms / 1000), f"limit:{_scope(request.buckets[which - 1].name)}")

    def set_flag(self, name: str, until: float, now: float) -> None:
        """See LimiterBackend.set_flag."""
        try:
            self._set_flag(keys=[self.prefix + name], args=[until, now])
        except redis.RedisError as exc:
            raise BackendUnavailable(type(exc).__name__) from None

    def keys(self) -> list[str]:
        """Every key under this backend's prefix (for inspection and tests)."""
        return [k.decode() for k in self._client.scan_iter(match=self.prefix + "*", count=1000)]

    def clear(self) -> None:
        """Delete every key under this backend's prefix."""
        names = self._client.keys(self.prefix + "*")
        if names:
            self._client.delete(*names)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
