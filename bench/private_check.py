"""Benchmark of the private check at the scale of the real leaks (500M (number, breach) pairs), each figure
against a baseline measured in the same run:

* bytes per bucket at 500M pairs, for several prefix lengths (bucket counts drawn as the build sees them);
* server CPU per evaluation: POST /api/v1/private/evaluate through the ASGI app in this process, against one
  bare libsodium scalar multiplication and GET /healthz;
* private checks per second (POST evaluate + GET bucket) on 2 uvicorn workers, driven by wrk, against GET
  /healthz under the same load; the served file is a 500M-scale one (random entries in the real layout);
* build throughput: the OPRF part of the build (numbers/s on 2 processes) against bare scalar
  multiplications on 2 processes, and `ingest --private` against a plain `ingest` of the same dump.

    .venv/bin/python bench/private_check.py                 # full: a 5.4 GB served file in a temp directory
    .venv/bin/python bench/private_check.py --scale 0.05    # when disk or time is short (fewer buckets)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from breachwatch.private import oprf
from breachwatch.private.protocol import ENTRY_BYTES, PREFIX_BITS, key_id, padded_entries, server_key

PAIRS = 500_000_000
SECRET = "5e" * 32
CLI = [sys.executable, "-m", "breachwatch.cli"]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BREACHWATCH_SECRET_KEY=SECRET, BREACHWATCH_HOME=str(home), BREACHWATCH_KEY_RATE="1e9",
               BREACHWATCH_PRIVATE_LIMITS="key=1000000000/1h;ip=1000000000/1h;subnet=1000000000/1h;"
                                          "global=1000000000/1h",
               # The load is one key on one address: the detector runs, but its signals only log here.
               BREACHWATCH_GUARD_ACTIONS="rate=log,regularity=log,private-volume=log,private-rotation=log,"
                                         "private-downloads=log")
    return env


# ------------------------------------------------------------------------------------- bytes per bucket

def bucket_sizes(pairs: int) -> list[dict[str, Any]]:
    """Per prefix length: entries per served bucket (the largest bucket, padded) and its bytes."""
    rng = np.random.default_rng(1)
    rows = []
    for bits in (15, 16, 17, 18, 19):
        counts = rng.multinomial(pairs, np.full(1 << bits, 1.0 / (1 << bits)))
        per_bucket = padded_entries(int(counts.max()))
        rows.append({"prefix_bits": bits, "buckets": 1 << bits, "mean_entries": pairs / (1 << bits),
                     "per_bucket": per_bucket, "bucket_bytes": per_bucket * ENTRY_BYTES,
                     "padding_share": 1 - pairs / (per_bucket << bits),
                     "served_file_gb": (per_bucket << bits) * ENTRY_BYTES / 1e9})
    return rows


# --------------------------------------------------------------------------------------------- home

def prepare_home(root: Path, scale: float) -> tuple[Path, dict[str, Any]]:
    """A home with one small breach ingested with --private, its served file then replaced by one with the
    bucket size of 500M pairs (random entries: the serving path does not look inside them)."""
    from breachwatch.config import load_config
    from breachwatch.ingest import IngestOptions
    from breachwatch.ingest.synth import SynthOptions, synthesize
    from breachwatch.private.served import SERVED_NAME, ServedBreach, ServedHeader, generation_of
    from breachwatch.services import Services

    home = root / "home"
    dump = root / "small.csv"
    synthesize(SynthOptions(rows=2000, out=dump, seed=4))
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": SECRET}, home=home))
    services.ingest(dump, IngestOptions(breach="Bench"), private=True)
    breach = services.catalog.get_breach("Bench")
    key, _ = services.api_keys.create("bench", ["private-check"])
    services.close()
    bits = PREFIX_BITS if scale >= 1 else max(8, PREFIX_BITS + int(np.floor(np.log2(scale))))
    per_bucket = next(r for r in bucket_sizes(PAIRS) if r["prefix_bits"] == PREFIX_BITS)["per_bucket"]
    kid = key_id(server_key(bytes.fromhex(SECRET)))
    listing = (ServedBreach("Bench", breach.segment_checksum, PAIRS),)
    header = ServedHeader(bits, 1, per_bucket, kid, generation_of(kid, 1, bits, per_bucket, listing), listing)
    rng = np.random.default_rng(7)
    path = home / "private" / SERVED_NAME
    tmp = path.with_name(".bench.tmp")
    started = time.perf_counter()
    with open(tmp, "wb") as out:
        out.write(header.pack())
        step = min(512, 1 << bits)
        for _ in range(0, 1 << bits, step):
            rows = rng.integers(0, 256, size=(step, per_bucket, ENTRY_BYTES), dtype=np.uint8)
            keys = rows[:, :, :8].copy().view(">u8")[:, :, 0]
            out.write(np.take_along_axis(rows, np.argsort(keys, axis=1)[:, :, None], axis=1).tobytes())
    os.replace(tmp, path)
    info = {"key": key, "generation": header.generation.hex(), "prefix_bits": bits, "per_bucket": per_bucket,
            "file_gb": path.stat().st_size / 1e9, "write_seconds": time.perf_counter() - started}
    return home, info


# ----------------------------------------------------------------------------------------- in process

def _best(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best over `rounds` of the CPU seconds per call (this process)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) / n)
    return best


def inprocess(home: Path, info: dict[str, Any], n: int = 400) -> dict[str, float]:
    """µs of CPU per request through the ASGI app called directly (no sockets), and per bare operation."""
    saved = dict(os.environ)
    os.environ.update(_env(home))
    logging.getLogger("breachwatch.guard").setLevel(logging.ERROR)
    from breachwatch.services import Services
    from breachwatch.web import create_app

    services = Services()
    app = create_app(services)
    statuses: dict[int, int] = {}
    element = oprf.blind(b"+201001234567")[1].hex()
    one = json.dumps({"blinded": [element]}).encode()
    batch = json.dumps({"blinded": [element] * 64}).encode()
    key = info["key"].encode()

    async def call(method: str, path: str, body: bytes = b"", query: bytes = b"") -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        headers = [(b"hibp-api-key", key), (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http",
                 "http_version": "1.1", "root_path": "", "app": app}
        await app(scope, receive, send)  # type: ignore[arg-type]

    loop = asyncio.new_event_loop()
    gen = f"generation={info['generation']}".encode()
    digits = -(-info["prefix_bits"] // 4)
    rng = np.random.default_rng(3)
    prefixes = [f"{int(p):0{digits}x}" for p in rng.integers(0, 1 << info["prefix_bits"], size=n)]
    it = iter(range(10**9))

    def bucket() -> None:
        loop.run_until_complete(call("GET", f"/api/v1/private/buckets/{prefixes[next(it) % n]}", query=gen))

    sk = server_key(bytes.fromhex(SECRET)).sk
    blinded = bytes.fromhex(element)
    out = {
        "scalar_mult_us": _best(lambda: oprf.blind_evaluate(sk, blinded), n) * 1e6,
        "healthz_us": _best(lambda: loop.run_until_complete(call("GET", "/healthz")), n) * 1e6,
        "evaluate_1_us": _best(lambda: loop.run_until_complete(call("POST", "/api/v1/private/evaluate", one)),
                               n) * 1e6,
        "evaluate_64_per_element_us": _best(lambda: loop.run_until_complete(
            call("POST", "/api/v1/private/evaluate", batch)), max(1, n // 64)) * 1e6 / 64,
        "bucket_us": _best(bucket, n) * 1e6,
    }
    loop.close()
    services.close()
    os.environ.clear()
    os.environ.update(saved)
    bad = {s: c for s, c in statuses.items() if s != 200}
    if bad:
        raise RuntimeError(f"unexpected answers {bad}")
    return out


# ---------------------------------------------------------------------------------------------- HTTP

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """`breachwatch serve` on a free port; returns once it accepts connections."""
    port = _free_port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers), "--no-dispatcher"],
                            env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(1.0 * workers)
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


_LUA = """
local bodies = {%(bodies)s}
local i = 0
request = function()
  i = i + 1
  if %(healthz)s then
    return wrk.format("GET", "/healthz")
  end
  if i %% 2 == 1 then
    local b = bodies[(math.floor(i / 2) %% #bodies) + 1]
    return wrk.format("POST", "/api/v1/private/evaluate",
                      {["content-type"]="application/json", ["hibp-api-key"]="%(key)s"}, b)
  end
  return wrk.format("GET", string.format("/api/v1/private/buckets/%%0%(digits)dx?generation=%(gen)s",
                                         math.random(0, %(top)d)))
end
"""


def run_wrk(port: int, info: dict[str, Any], healthz: bool, seconds: int, connections: int) -> dict[str, float]:
    """Requests/s (and non-2xx/3xx answers) of wrk against the private routes or /healthz."""
    bodies = ",".join("'" + json.dumps({"blinded": [oprf.blind(f"+2010012{i:05d}".encode())[1].hex()]}) + "'"
                      for i in range(200))
    script = _LUA % {"bodies": bodies, "healthz": "true" if healthz else "false", "key": info["key"],
                     "digits": -(-info["prefix_bits"] // 4), "gen": info["generation"],
                     "top": (1 << info["prefix_bits"]) - 1}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", handle.name,
                              f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_second": rps, "errors": int(errors.group(1)) if errors else 0}


# --------------------------------------------------------------------------------------------- build

def _oprf_part(args: tuple[int, int]) -> float:
    """Numbers/s of the build's OPRF part (evaluate + bucket + tag) on `count` numbers, in one process."""
    from breachwatch.private.parts import evaluate_numbers

    start, count = args
    sk = server_key(bytes.fromhex(SECRET)).sk
    numbers = np.arange(start, start + count, dtype=np.uint64)
    began = time.perf_counter()
    evaluate_numbers(sk, "Bench", numbers, np.zeros(count, dtype=np.uint16), PREFIX_BITS)
    return count / (time.perf_counter() - began)


def _bare(args: tuple[int, int]) -> float:
    """Bare scalar multiplications per second in one process (the libsodium limit)."""
    _, count = args
    sk = server_key(bytes.fromhex(SECRET)).sk
    element = oprf.hash_to_group(b"+201001234567")
    began = time.perf_counter()
    for _ in range(count):
        oprf.blind_evaluate(sk, element)
    return count / (time.perf_counter() - began)


def build_throughput(root: Path, numbers: int, rows: int) -> dict[str, float]:
    """OPRF part on 2 processes vs bare scalar multiplications on 2 processes; ingest with and without
    --private of one dump (rows/s)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        bare = sum(pool.map(_bare, [(0, numbers // 2)] * 2))
        part = sum(pool.map(_oprf_part, [(201_000_000_000, numbers // 2), (201_500_000_000, numbers // 2)]))
    from breachwatch.config import load_config
    from breachwatch.ingest import IngestOptions
    from breachwatch.ingest.synth import SynthOptions, synthesize
    from breachwatch.services import Services

    dump = root / "build.csv"
    synthesize(SynthOptions(rows=rows, out=dump, seed=5))
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": SECRET}, home=root / "build-home",
                                    batch_rows=20_000))
    services.ingest(dump, IngestOptions(breach="Warm"))  # set-up of a new home (compiled tables) not counted
    began = time.perf_counter()
    report = services.ingest(dump, IngestOptions(breach="Plain"))
    plain = time.perf_counter() - began
    began = time.perf_counter()
    services.ingest(dump, IngestOptions(breach="Private"), private=True)
    private = time.perf_counter() - began
    services.close()
    return {"bare_scalar_mult_per_s_2proc": bare, "oprf_part_numbers_per_s_2proc": part,
            "ingest_rows_per_s": rows / plain, "ingest_private_rows_per_s": rows / private,
            "ingest_private_numbers_per_s": report.unique_numbers / private, "rows": rows,
            "unique_numbers": report.unique_numbers}


def main() -> None:
    """Run every part and print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="Share of the buckets written (1: all).")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--numbers", type=int, default=20_000, help="Numbers for the OPRF-part throughput.")
    parser.add_argument("--rows", type=int, default=200_000, help="Rows of the dump ingested with --private.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bw-private-bench-"))
    result: dict[str, Any] = {"pairs": PAIRS, "bucket_sizes": bucket_sizes(PAIRS)}
    try:
        home, info = prepare_home(root, args.scale)
        result["served"] = {k: v for k, v in info.items() if k != "key"}
        result["inprocess_us"] = inprocess(home, info)
        proc, port = start_server(home, 2)
        try:
            result["http_private"] = run_wrk(port, info, False, args.seconds, args.connections)
            result["http_healthz"] = run_wrk(port, info, True, args.seconds, args.connections)
        finally:
            stop_server(proc)
        result["checks_per_second"] = result["http_private"]["requests_per_second"] / 2
        result["build"] = build_throughput(root, args.numbers, args.rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
