"""Guard the lookup API: rate limits, enumeration detection, audit log, traffic simulation."""

from .limiter import Decision, RateLimiter, TokenBucketLimiter

__all__ = ["Decision", "RateLimiter", "TokenBucketLimiter"]
