"""Limiter overhead per request, in µs: Guard.admit on the in-process backend and on Redis, against a
baseline of building the request (ClientId hashing excluded: the web app hashes once per request).

Run: .venv/bin/python bench/limiter.py [--requests N] [--redis URL]"""

from __future__ import annotations

import argparse
import platform
import random
import time
import uuid

from breachwatch.guard.buckets import LimiterBackend, MemoryBackend
from breachwatch.guard.clients import ClientHasher, ClientId
from breachwatch.guard.detector import Detector
from breachwatch.guard.facade import Guard
from breachwatch.guard.policy import Limit, Policy


def _clients(n: int) -> list[ClientId]:
    hasher = ClientHasher(b"\x01" * 32)
    return [hasher.client(f"key{i}" if i % 2 else None, f"10.{i // 256 % 256}.{i % 256}.7") for i in range(n)]


def _policy() -> Policy:
    # Limits high enough that every request is admitted: the benchmark measures the work, not refusals.
    big = (Limit(10**9, 3600),)
    return Policy(limits={s: big for s in ("key", "ip", "subnet", "anon_ip", "anon_subnet", "global")})


def _admit_us(backend: LimiterBackend, clients: list[ClientId], requests: int) -> float:
    guard = Guard(_policy(), backend)
    start = time.perf_counter()
    for i in range(requests):
        guard.admit(client=clients[i % len(clients)], numbers=1, kind="check", now=time.time())
    return (time.perf_counter() - start) / requests * 1e6


def _baseline_us(clients: list[ClientId], requests: int) -> float:
    guard = Guard(_policy(), MemoryBackend())
    start = time.perf_counter()
    for i in range(requests):
        guard.buckets(clients[i % len(clients)])
    return (time.perf_counter() - start) / requests * 1e6


def _observe_us(clients: list[ClientId], requests: int) -> float:
    detector = Detector()
    rng = random.Random(0)
    numbers = [f"+2010{rng.randrange(10**8):08d}" for _ in range(requests)]
    start = time.perf_counter()
    for i in range(requests):
        detector.observe(clients[i % len(clients)], [numbers[i]], [0], 1e9 + i)
    return (time.perf_counter() - start) / requests * 1e6


def main() -> None:
    """Print µs per request for each backend and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    clients = _clients(1000)
    base = _baseline_us(clients, args.requests)
    rows = [("baseline: bucket names only", base), ("admit, in-process", _admit_us(MemoryBackend(), clients,
                                                                                       args.requests))]
    try:
        from breachwatch.guard.redis_backend import RedisBackend

        redis_backend = RedisBackend(args.redis, prefix=f"bwbench-{uuid.uuid4().hex[:8]}:")
        redis_backend.keys()
        n = max(1000, args.requests // 4)
        rows.append(("admit, Redis (1 script call)", _admit_us(redis_backend, clients, n)))
        redis_backend.clear()
        redis_backend.close()
    except Exception as exc:  # no Redis here: report and go on
        rows.append((f"admit, Redis: unavailable ({type(exc).__name__})", float("nan")))
    rows.append(("detector observe, 1 number", _observe_us(clients, args.requests)))
    print(f"python {platform.python_version()}, {args.requests:,} requests over 1,000 clients")
    for name, us in rows:
        print(f"  {name:<40} {us:8.1f} µs/request   {us / base:6.1f}x baseline")


if __name__ == "__main__":
    main()
