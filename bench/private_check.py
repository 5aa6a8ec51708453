"""Benchmark of the private check at the scale of the real leaks (500M (number, breach) pairs), each figure
against a baseline measured in the same run:

* bytes per bucket at 500M pairs, for several prefix lengths (bucket counts drawn as the build sees them), and
  real builds (part file and served file written by the build's own code from random work records) at the
  largest size that fits, checking the drawn figures;
* server CPU per evaluation: POST /api/v1/private/evaluate through the ASGI app in this process (requests
  one after another on one running event loop, as a server runs them), against one bare libsodium scalar
  multiplication and GET /healthz; per element of a 64-element batch too;
* private checks per second (POST evaluate + GET bucket) on 2 uvicorn workers, driven by wrk, against GET
  /healthz under the same load; the served file is a 500M-scale one (random entries in the real layout);
* build throughput: the OPRF part of the build (numbers/s on 2 processes) against the bare libsodium work of
  an evaluation (hash-to-group + scalar multiplication) and bare scalar multiplications on 2 processes, and
  `ingest --private` against a plain `ingest` of the same dump.

    .venv/bin/python bench/private_check.py                 # full: a 5.4 GB served file in a temp directory
    .venv/bin/python bench/private_check.py --scale 0.05    # when disk or time is short (fewer buckets)
    .venv/bin/python bench/private_check.py --only sizes --real-shrink 3   # real builds of 62.5M pairs
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pysodium

import http_bench  # the serve/stop helpers of the HTTP benchmark (bench/ is on the path)
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


def real_builds(root: Path, shrink_bits: int,
                bits_list: tuple[int, ...] = (15, 16, 17, 18, 19)) -> list[dict[str, Any]]:
    """Per prefix length b of the table: a real part file and served file written by the build's code
    (`write_part`, `publish`) from random work records at 500M-scale bucket sizes: PAIRS / 2**shrink_bits pairs
    over b - shrink_bits prefix bits, so each bucket holds as many entries as at 500M pairs over b bits (a
    bucket is a PRF output: uniform, as drawn here). Against the figures drawn for that same build."""
    from breachwatch.private.parts import RECORD, PartHeader, sort_records, write_part
    from breachwatch.private.protocol import Layout, pad_key
    from breachwatch.private.served import SERVED_NAME, ServedFile, publish

    rng = np.random.default_rng(11)
    master = bytes.fromhex(SECRET)
    kid = key_id(server_key(master))
    pairs = PAIRS >> shrink_bits
    rows = []
    for table_bits in bits_list:
        bits = table_bits - shrink_bits
        work = root / f"real-{bits}"
        work.mkdir(parents=True, exist_ok=True)
        records = np.empty(pairs, dtype=RECORD)
        records["bucket"] = rng.integers(0, 1 << bits, size=pairs, dtype=np.uint32)
        records["tag"] = rng.integers(0, 2**63, size=pairs, dtype=np.uint64)
        records["pad"] = rng.integers(0, 1 << 16, size=pairs, dtype=np.uint16)
        records["mask"] = rng.integers(0, 1 << 16, size=pairs, dtype=np.uint16)
        np.save(work / "private-0.npy", sort_records(records))
        del records
        began = time.perf_counter()
        part = work / "Rand.pbp"
        write_part([work / "private-0.npy"], part, PartHeader(bits, 1, 0, kid, "r" * 64))
        (work / "private-0.npy").unlink()
        header = publish(work, {"Rand": (part, "r" * 64)}, kid, 1, pad_key(master), Layout(bits))
        seconds = time.perf_counter() - began
        served = ServedFile(work / SERVED_NAME)
        drawn = padded_entries(int(rng.multinomial(pairs, np.full(1 << bits, 1.0 / (1 << bits))).max()))
        rows.append({"table_prefix_bits": table_bits, "built_prefix_bits": bits, "pairs": pairs,
                     "mean_entries": pairs / (1 << bits), "per_bucket_built": header.per_bucket,
                     "per_bucket_drawn_same_build": drawn, "bucket_bytes_built": served.bucket_bytes,
                     "padding_share_built": 1 - pairs / (header.per_bucket << bits),
                     "served_file_mb": (work / SERVED_NAME).stat().st_size / 1e6,
                     "part_file_mb": part.stat().st_size / 1e6, "write_part_and_publish_seconds": seconds,
                     "pairs_per_second": pairs / seconds})
        served.close()
        shutil.rmtree(work, ignore_errors=True)
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


async def _best_async(fn: Callable[[], Any], n: int, rounds: int = 5) -> float:
    """Best over `rounds` of the CPU seconds per awaited call, on the running loop."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            await fn()
        best = min(best, (time.process_time() - started) / n)
    return best


def inprocess(home: Path, info: dict[str, Any], n: int = 400) -> dict[str, Any]:
    """µs of CPU per request through the ASGI app called directly (no sockets, one running event loop), and
    per bare operation."""
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

    gen = f"generation={info['generation']}".encode()
    digits = -(-info["prefix_bits"] // 4)
    rng = np.random.default_rng(3)
    prefixes = [f"{int(p):0{digits}x}" for p in rng.integers(0, 1 << info["prefix_bits"], size=n)]
    it = iter(range(10**9))

    def bucket() -> Any:
        return call("GET", f"/api/v1/private/buckets/{prefixes[next(it) % n]}", query=gen)

    async def measure() -> dict[str, float]:
        return {
            "healthz_us": await _best_async(lambda: call("GET", "/healthz"), n) * 1e6,
            "evaluate_1_us": await _best_async(lambda: call("POST", "/api/v1/private/evaluate", one), n) * 1e6,
            "evaluate_64_per_element_us": await _best_async(
                lambda: call("POST", "/api/v1/private/evaluate", batch), max(1, n // 64)) * 1e6 / 64,
            "bucket_us": await _best_async(bucket, n) * 1e6,
        }

    sk = server_key(bytes.fromhex(SECRET)).sk
    blinded = bytes.fromhex(element)
    out: dict[str, Any] = {
        "scalar_mult_us": _best(lambda: pysodium.crypto_scalarmult_ristretto255(sk, blinded), n) * 1e6}
    out.update(asyncio.run(measure()))
    out["evaluate_1_steps_us"] = asyncio.run(_steps(lambda: call("POST", "/api/v1/private/evaluate", one), 10 * n))
    out["evaluate_1_beyond_scalar_mult_us"] = out["evaluate_1_us"] - out["scalar_mult_us"]
    out["evaluate_64_per_element_per_scalar_mult"] = out["evaluate_64_per_element_us"] / out["scalar_mult_us"]
    out["bucket_per_healthz"] = out["bucket_us"] / out["healthz_us"]
    services.close()
    os.environ.clear()
    os.environ.update(saved)
    bad = {s: c for s, c in statuses.items() if s != 200}
    if bad:
        raise RuntimeError(f"unexpected answers {bad}")
    return out


async def _steps(request: Callable[[], Any], n: int) -> dict[str, float]:
    """Where a one-element evaluate request spends its time (µs of wall time each, in process): the route's
    collaborators timed one by one while `n` requests run, the rest (routing, Request, answer sent, metrics)
    by difference."""
    from breachwatch.private.server import PrivateIndex
    from breachwatch.web import private_api
    from breachwatch.web.context import AppContext

    spent: dict[str, float] = dict.fromkeys(
        ("key check", "body read", "parse", "charge (limits)", "guard observation", "multiplication", "answer"), 0.0)
    targets = [(private_api, "authenticate", "key check"), (private_api, "read_json", "body read"),
               (private_api, "_parse", "parse"), (AppContext, "charge", "charge (limits)"),
               (AppContext, "observe_private", "guard observation"), (PrivateIndex, "evaluate_all", "multiplication"),
               (private_api, "_encode", "answer")]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timed(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(fn):
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    spent[label] += time.perf_counter() - started
            return timed_async

        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started
        return timed_sync

    for (owner, name, label), (_, _, fn) in zip(targets, saved, strict=True):
        setattr(owner, name, timed(fn, label))
    try:
        for _ in range(n // 5):  # warm-up
            await request()
        for label in spent:
            spent[label] = 0.0
        started = time.perf_counter()
        for _ in range(n):
            await request()
        total = time.perf_counter() - started
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    out = {label: seconds / n * 1e6 for label, seconds in spent.items()}
    out["routing, Request, sending, metrics"] = total / n * 1e6 - sum(out.values())
    out["total"] = total / n * 1e6
    return out


# ---------------------------------------------------------------------------------------------- HTTP

def start_server(home: Path, workers: int, server: str = "uvicorn") -> tuple[subprocess.Popen[bytes], int]:
    """`breachwatch serve` on a free port, without the notification dispatcher; returns once it accepts
    connections."""
    return http_bench.start_server(home, workers, server, env=_env(home), extra=("--no-dispatcher",))


stop_server = http_bench.stop_server


_LUA = """
-- Requests are formatted once, in init (wrk's advice for high rates: formatting one per call costs the load
-- generator, which shares the cores with the server); request() only cycles through them.
local bodies = {%(bodies)s}
local requests = {}
local i = 0
init = function(args)
  math.randomseed(%(seed)d)
  for n = 1, 2 * #bodies do
    if %(healthz)s then
      requests[n] = wrk.format("GET", "/healthz")
    elseif n %% 2 == 1 then
      requests[n] = wrk.format("POST", "/api/v1/private/evaluate",
                               {["content-type"]="application/json", ["hibp-api-key"]="%(key)s"},
                               bodies[(n + 1) / 2])
    else
      requests[n] = wrk.format("GET", string.format("/api/v1/private/buckets/%%0%(digits)dx?generation=%(gen)s",
                                                    math.random(0, %(top)d)))
    end
  end
end
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


def run_wrk(port: int, info: dict[str, Any], healthz: bool, seconds: int, connections: int) -> dict[str, float]:
    """Requests/s (and non-2xx/3xx answers) of wrk against the private routes or /healthz."""
    bodies = ",".join("'" + json.dumps({"blinded": [oprf.blind(f"+2010012{i:05d}".encode())[1].hex()]}) + "'"
                      for i in range(2000))
    script = _LUA % {"bodies": bodies, "healthz": "true" if healthz else "false", "key": info["key"],
                     "digits": -(-info["prefix_bits"] // 4), "gen": info["generation"],
                     "top": (1 << info["prefix_bits"]) - 1, "seed": 7}
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
        pysodium.crypto_scalarmult_ristretto255(sk, element)
    return count / (time.perf_counter() - began)


def _bare_evaluations(args: tuple[int, int]) -> float:
    """Bare libsodium work of an Evaluate (hash-to-group from 64 uniform bytes + scalar multiplication) per
    second in one process: what no build can avoid per number."""
    _, count = args
    sk = server_key(bytes.fromhex(SECRET)).sk
    uniform = [os.urandom(64) for _ in range(count)]
    began = time.perf_counter()
    for u in uniform:
        pysodium.crypto_scalarmult_ristretto255(sk, pysodium.crypto_core_ristretto255_from_hash(u))
    return count / (time.perf_counter() - began)


def build_throughput(root: Path, numbers: int, rows: int) -> dict[str, float]:
    """OPRF part on 2 processes vs bare scalar multiplications on 2 processes; ingest with and without
    --private of one dump (rows/s)."""
    ctx = multiprocessing.get_context("spawn")
    bare = evaluations = part = 0.0
    with ctx.Pool(2) as pool:
        for _ in range(2):  # interleaved, best of two: the machine is shared
            bare = max(bare, sum(pool.map(_bare, [(0, numbers // 2)] * 2)))
            evaluations = max(evaluations, sum(pool.map(_bare_evaluations, [(0, numbers // 2)] * 2)))
            part = max(part, sum(pool.map(_oprf_part, [(201_000_000_000, numbers // 2),
                                                       (201_500_000_000, numbers // 2)])))
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
    return {"bare_scalar_mult_per_s_2proc": bare, "bare_evaluations_per_s_2proc": evaluations,
            "oprf_part_numbers_per_s_2proc": part, "oprf_part_per_bare_evaluation": part / evaluations,
            "oprf_part_per_bare_scalar_mult": part / bare,
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
    parser.add_argument("--real-shrink", type=int, default=3,
                        help="Real builds of 500M / 2**N pairs over N fewer prefix bits (same bucket sizes); "
                             "-1: none.")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn",
                        help="ASGI server of `breachwatch serve` for the HTTP figures.")
    parser.add_argument("--only", choices=("all", "sizes", "serve", "build"), default="all")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bw-private-bench-"))
    result: dict[str, Any] = {"pairs": PAIRS, "bucket_sizes": bucket_sizes(PAIRS)}
    try:
        if args.only in ("all", "sizes") and args.real_shrink >= 0:
            result["real_builds"] = real_builds(root, args.real_shrink)
        if args.only in ("all", "build"):
            result["build"] = build_throughput(root, args.numbers, args.rows)
        if args.only not in ("all", "serve"):
            return
        home, info = prepare_home(root, args.scale)
        result["served"] = {k: v for k, v in info.items() if k != "key"}
        result["inprocess_us"] = inprocess(home, info)
        proc, port = start_server(home, 2, args.server)
        result["server"] = args.server
        try:
            result["http_private"] = run_wrk(port, info, False, args.seconds, args.connections)
            result["http_healthz"] = run_wrk(port, info, True, args.seconds, args.connections)
        finally:
            stop_server(proc)
        result["checks_per_second"] = result["http_private"]["requests_per_second"] / 2
        result["private_requests_per_healthz_request"] = (result["http_private"]["requests_per_second"]
                                                          / result["http_healthz"]["requests_per_second"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
