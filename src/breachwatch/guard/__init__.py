"""Abuse guards: rate limiting (in-process now; Redis and the enumeration detector plug in behind the same
interface)."""

from .limiter import Decision, RateLimiter, TokenBucketLimiter

__all__ = ["Decision", "RateLimiter", "TokenBucketLimiter"]
