"""The in-process token-bucket limiter, with an injected clock."""

from __future__ import annotations

from breachwatch.guard.limiter import BucketPolicy, Decision, RateLimiter, TokenBucketLimiter


def _limiter(now: list[float], max_buckets: int = 100_000) -> TokenBucketLimiter:
    return TokenBucketLimiter({"key": BucketPolicy(rate=10, burst=100)}, default=BucketPolicy(rate=1, burst=3),
                              clock=lambda: now[0], max_buckets=max_buckets)


def test_cost_is_counted_in_numbers_and_refills_over_time() -> None:
    now = [0.0]
    limiter: RateLimiter = _limiter(now)
    assert limiter.hit("key:a", 100) == Decision(True, 0)
    assert limiter.hit("key:a", 1) == Decision(False, 1)
    assert limiter.hit("key:a", 50) == Decision(False, 5)   # 50 tokens at 10/s
    now[0] = 5.0
    assert limiter.hit("key:a", 50).allowed
    assert not limiter.hit("key:a", 1).allowed


def test_buckets_are_separate_and_policies_follow_the_prefix() -> None:
    now = [0.0]
    limiter = _limiter(now)
    assert [limiter.hit("ip:x").allowed for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("ip:y").allowed
    assert limiter.hit("key:a", 100).allowed


def test_a_refused_hit_charges_nothing_and_an_impossible_cost_says_a_full_refill() -> None:
    now = [0.0]
    limiter = _limiter(now)
    assert limiter.hit("key:a", 60).allowed
    assert not limiter.hit("key:a", 60).allowed
    assert limiter.hit("key:a", 40).allowed  # the refused 60 took nothing
    assert limiter.hit("key:b", 101) == Decision(False, 10)


def test_full_buckets_are_pruned_past_the_limit() -> None:
    now = [0.0]
    limiter = _limiter(now, max_buckets=10)
    for i in range(10):
        limiter.hit(f"ip:{i}")
    now[0] = 100.0
    limiter.hit("ip:new")
    assert len(limiter._buckets) == 1
