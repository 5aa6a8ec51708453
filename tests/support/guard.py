"""Helpers for the guard tests: a Redis backend under a unique key prefix (skipped without a server,
failing instead when BREACHWATCH_REQUIRE_SERVICES=1), and client ids from raw test values."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from breachwatch.guard.clients import ClientHasher, ClientId

REDIS_URL = os.environ.get("BREACHWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("BREACHWATCH_REQUIRE_SERVICES") == "1"
HASHER = ClientHasher(b"\x42" * 32)


def client(key: str | None, ip: str) -> ClientId:
    """The ClientId of raw test values."""
    return HASHER.client(key, ip)


def _redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure means: no usable server here
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@contextmanager
def redis_backend() -> Iterator[object]:
    """A RedisBackend confined to a fresh key prefix, cleared afterwards."""
    problem = _redis_problem()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(problem)
        pytest.skip(problem)
    from breachwatch.guard.redis_backend import RedisBackend

    backend = RedisBackend(REDIS_URL, prefix=f"bwtest-{uuid.uuid4().hex[:10]}:")
    try:
        yield backend
    finally:
        backend.clear()
        backend.close()
