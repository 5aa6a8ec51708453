"""Load: the API with 2 workers on PostgreSQL + Redis, driven for a bounded time from another process on
127.0.0.1: every response is an intended one (200, 404 for a clean number on the HIBP path, or 429)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support.backends import postgres_schema_url

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.mark.slow
def test_two_workers_on_postgresql_and_redis_answer_only_intended_statuses() -> None:
    with postgres_schema_url():  # skips (or fails in CI) without PostgreSQL
        pass
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    result = module.run_load(seconds=8, concurrency=8, workers=2, rows=5000)
    assert result["requests"] > 50
    unexpected = {code: n for code, n in result["statuses"].items() if code not in ("200", "404", "429")}
    assert unexpected == {}
    assert result["p99_ms"] > 0
