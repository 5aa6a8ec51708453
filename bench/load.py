"""Load test: `breachwatch serve --workers 2` on PostgreSQL + Redis, driven for a bounded time from another
process on 127.0.0.1. Reports requests/s, p50/p99 latency and every status code; only 200 and intended 429s are
acceptable. Usage: .venv/bin/python bench/load.py [--seconds 20] [--concurrency 32] [--workers 2]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_URL = os.environ.get("BREACHWATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BREACHWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = "5a" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "breachwatch.cli", *args], env=env, capture_output=True,
                            text=True, check=True, timeout=900)
    return result.stdout


async def _drive(base_url: str, api_key: str, numbers: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"hibp-api-key": api_key, "user-agent": "breachwatch-load"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as client:
        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            while time.perf_counter() < deadline:
                number = rng.choice(numbers)
                path = f"/api/v1/check/{number}" if rng.random() < 0.5 else f"/api/v3/breachedaccount/{number}"
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[-1] += 1  # transport error: counted, never hidden
                latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else 0.0
    return {"requests": sum(statuses.values()), "seconds": round(elapsed, 2),
            "requests_per_second": round(sum(statuses.values()) / elapsed, 1),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def run_load(seconds: float, concurrency: int, workers: int, rows: int = 20_000) -> dict[str, Any]:
    """Build a PostgreSQL-backed home from a generated dump, serve it with Redis limits, drive it, stop it."""
    schema = f"bw_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    root = Path(tempfile.mkdtemp(prefix="bw-load-"))
    env = dict(os.environ, BREACHWATCH_HOME=str(root / "home"), BREACHWATCH_SECRET_KEY=KEY,
               BREACHWATCH_DATABASE_URL=f"{PG_URL}?options=-csearch_path%3D{schema}",
               BREACHWATCH_REDIS_URL=REDIS_URL, BREACHWATCH_KEY_RATE="1000000",
               BREACHWATCH_GUARD_LIMITS="key=100000000/1h;ip=100000000/1h;subnet=100000000/1h;global=100000000/1m")
    server: subprocess.Popen[bytes] | None = None
    try:
        dump, truth = root / "dump.csv", root / "truth.json"
        _cli(env, "synth", "--rows", str(rows), "--out", str(dump), "--truth", str(truth), "--seed", "11")
        _cli(env, "ingest", str(dump), "--breach", "LoadTest")
        api_key = json.loads(_cli(env, "keys", "create", "--name", "load", "--scope", "admin", "--json"))["key"]
        data = json.loads(truth.read_text())
        numbers = list(data["numbers"])[:2000] + data["clean_numbers"]
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "serve", "--port", str(port),
                                   "--workers", str(workers), "--no-dispatcher"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        result = asyncio.run(_drive(base_url, api_key, numbers, seconds, concurrency))
        result.update({"workers": workers, "concurrency": concurrency, "catalog": "postgresql", "limits": "redis"})
        return result
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'drop schema "{schema}" cascade')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run_load(args.seconds, args.concurrency, args.workers), indent=2))


if __name__ == "__main__":
    main()
