"""Rate limits: exact under concurrency (threads in-process, several processes on one Redis), counted on
numbers, anonymous tighter, retry-after honest, blocks, failure modes, no clear identifiers in state."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from breachwatch.guard.buckets import Bucket, LimiterBackend, MemoryBackend, TakeRequest
from breachwatch.guard.facade import Guard
from breachwatch.guard.policy import Limit, Policy
from tests.support.guard import REDIS_URL, client, redis_backend

NOW = 1_800_000_000.0
SLOW = 10**9  # a period so long that nothing refills during a test


def _policy(**limits: tuple[Limit, ...]) -> Policy:
    base = {"key": (Limit(1000, 3600), Limit(20000, 10 * 86400)), "ip": (Limit(10**6, 3600),),
            "subnet": (Limit(10**6, 3600),), "anon_ip": (Limit(30, 3600), Limit(100, 86400)),
            "anon_subnet": (Limit(10**6, 3600),), "global": (Limit(10**7, 60),)}
    return Policy(limits={**base, **limits})


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[LimiterBackend]:
    """Each test runs on the in-process backend and on Redis."""
    if request.param == "memory":
        yield MemoryBackend()
        return
    with redis_backend() as redis:
        yield redis  # type: ignore[misc]


def test_a_batch_costs_its_size_and_retry_after_is_honest(backend: LimiterBackend) -> None:
    guard = Guard(_policy(), backend)
    org = client("org-key", "198.51.100.20")
    assert guard.admit(client=org, numbers=1000, kind="check", now=NOW).allowed
    refused = guard.admit(client=org, numbers=1, kind="check", now=NOW)
    assert not refused.allowed and refused.reason == "limit:key"
    assert refused.retry_after == 4  # 1,000 per hour refills one number in 3.6 s
    assert not guard.admit(client=org, numbers=1, kind="check", now=NOW + refused.retry_after - 1).allowed
    assert guard.admit(client=org, numbers=1, kind="check", now=NOW + refused.retry_after).allowed
    too_big = guard.admit(client=org, numbers=1001, kind="check", now=NOW + 10**5)
    assert not too_big.allowed and too_big.reason == "too-large:key"


def test_long_window_cap_holds_after_the_hourly_bucket_refills(backend: LimiterBackend) -> None:
    guard = Guard(_policy(), backend)
    org = client("org-key", "198.51.100.20")
    admitted = 0
    for hour in range(30):
        if guard.admit(client=org, numbers=1000, kind="check", now=NOW + hour * 3600).allowed:
            admitted += 1000
    # 20,000 at once, plus what the 10-day cap refills in 29 hours (20,000 * 29/240 = 2,416).
    assert admitted == 22000
    refused = guard.admit(client=org, numbers=1000, kind="check", now=NOW + 30 * 3600)
    assert refused.reason == "limit:key" and refused.retry_after > 3600


def test_anonymous_clients_get_the_tightest_limits(backend: LimiterBackend) -> None:
    guard = Guard(_policy(), backend)
    person = client(None, "203.0.113.7")
    assert guard.admit(client=person, numbers=30, kind="check", now=NOW).allowed
    refused = guard.admit(client=person, numbers=1, kind="check", now=NOW)
    assert refused.reason == "limit:anon_ip" and refused.retry_after == 120
    keyed = client("k1", "203.0.113.7")  # the same address with a key has its own, larger budget
    assert guard.admit(client=keyed, numbers=500, kind="check", now=NOW).allowed


def test_oprf_evaluations_have_a_budget_of_their_own(backend: LimiterBackend) -> None:
    guard = Guard(_policy(), backend)
    keyed = client("app-key", "203.0.113.8")
    assert guard.admit(client=keyed, numbers=100, kind="oprf", now=NOW).allowed  # the default: 100 a day
    refused = guard.admit(client=keyed, numbers=1, kind="oprf", now=NOW + 60)
    assert not refused.allowed and refused.reason == "limit:key" and refused.retry_after > 0
    assert guard.admit(client=keyed, numbers=500, kind="check", now=NOW + 60).allowed  # checks are apart
    assert guard.admit(client=keyed, numbers=1, kind="oprf", now=NOW + 86400).allowed  # refilled a day later
    person = client(None, "203.0.113.9")
    assert guard.admit(client=person, numbers=30, kind="oprf", now=NOW).allowed
    assert not guard.admit(client=person, numbers=1, kind="oprf", now=NOW).allowed
    assert guard.admit(client=person, numbers=10, kind="check", now=NOW).allowed


def test_blocks_and_throttles_apply_to_every_request_of_the_entity(backend: LimiterBackend) -> None:
    guard = Guard(_policy(), backend)
    bad = client("bad-key", "192.0.2.1")
    other_key_same_ip = client("other", "192.0.2.1")
    backend.set_flag(guard._flag("block", ("ip", bad.ip)), NOW + 600, NOW)
    decision = guard.admit(client=other_key_same_ip, numbers=1, kind="check", now=NOW)
    assert decision == type(decision)(False, 600, "blocked")
    assert guard.admit(client=other_key_same_ip, numbers=1, kind="check", now=NOW + 600).allowed
    throttled = client("slow", "192.0.2.99")
    backend.set_flag(guard._flag("throttle", ("key", throttled.key or "")), NOW + 600, NOW)
    assert guard.admit(client=throttled, numbers=100, kind="check", now=NOW).allowed  # costs 1,000
    assert not guard.admit(client=throttled, numbers=1, kind="check", now=NOW).allowed


def test_in_process_limits_hold_exactly_under_threads() -> None:
    backend = MemoryBackend()
    request = TakeRequest((Bucket("t:key:x:0", Limit(500, SLOW)),), cost=1, now=NOW)
    admitted: list[int] = []

    def worker() -> None:
        admitted.append(sum(backend.take(request).allowed for _ in range(200)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 500


_WORKER = textwrap.dedent("""
    import sys, time
    from breachwatch.guard.buckets import Bucket, TakeRequest
    from breachwatch.guard.policy import Limit
    from breachwatch.guard.redis_backend import RedisBackend
    url, prefix, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    backend = RedisBackend(url, prefix=prefix, timeout=5)
    buckets = (Bucket("b:key:k:0", Limit(700, 10**9)), Bucket("b:global:-:0", Limit(10**6, 10**9)))
    while time.time() < start:
        time.sleep(0.001)
    print(sum(backend.take(TakeRequest(buckets, cost=3, now=time.time())).allowed for _ in range(150)))
""")


def test_redis_limits_hold_exactly_across_processes() -> None:
    import time

    with redis_backend() as backend:
        prefix = backend.prefix  # type: ignore[attr-defined]
        start = time.time() + 1.5
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, REDIS_URL, prefix, str(start)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(4)]
        counts = [int(p.communicate(timeout=60)[0]) for p in procs]
        # 4 x 150 attempts of 3 units against 700: exactly 233 admitted (699 units), never 234.
        assert sum(counts) == 700 // 3
        assert all(p.returncode == 0 for p in procs)


def test_redis_state_holds_no_clear_key_or_address() -> None:
    with redis_backend() as backend:
        guard = Guard(_policy(), backend)  # type: ignore[arg-type]
        raw_key, raw_ip = "bw_live_SECRETKEYID", "203.0.113.77"
        who = client(raw_key, raw_ip)
        guard.admit(client=who, numbers=5, kind="check", now=NOW)
        backend.set_flag(guard._flag("block", ("key", who.key or "")), NOW + 60, NOW)  # type: ignore[attr-defined]
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        keys = backend.keys()  # type: ignore[attr-defined]
        assert len(keys) >= 5
        dump = " ".join(keys) + " ".join(str(r.dump(k)) for k in keys)
        for secret in (raw_key, raw_ip, "203.0.113", "SECRETKEYID"):
            assert secret not in dump
        assert who.key in dump and who.ip in dump


def test_redis_down_fails_closed_for_anonymous_and_open_for_keys_and_is_counted() -> None:
    from breachwatch.guard.redis_backend import RedisBackend

    guard = Guard(_policy(), RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    anonymous = guard.admit(client=client(None, "203.0.113.9"), numbers=1, kind="check", now=NOW)
    keyed = guard.admit(client=client("k", "203.0.113.9"), numbers=1, kind="check", now=NOW)
    assert (anonymous.allowed, anonymous.reason) == (False, "backend-down")
    assert (keyed.allowed, keyed.reason) == (True, "backend-down")
    metrics = guard.metrics()
    assert metrics["guard_backend_errors_total"] == 2
    assert metrics["guard_fail_open_total"] == 1 and metrics["guard_fail_closed_total"] == 1
    closed = Guard(Policy(redis_fail="closed"), RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    assert not closed.admit(client=client("k", "203.0.113.9"), numbers=1, kind="check", now=NOW).allowed
