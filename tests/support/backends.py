"""Catalog backends for tests: SQLite in the data directory, and PostgreSQL in a schema of its own per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get("BREACHWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("BREACHWATCH_REQUIRE_SERVICES") == "1"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any failure means: no usable server here
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
    return None


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A catalog URL confined to a fresh schema, dropped afterwards; skips (or fails in CI) without a server."""
    problem = _pg_available()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(problem)
        pytest.skip(problem)
    import psycopg

    schema = f"bw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'drop schema "{schema}" cascade')
