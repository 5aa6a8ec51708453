"""HTTP benchmark: checks/s and p50/p99 latency of /api/v1/check/{number} and /api/v3/breachedaccount/{number}
beside /healthz (the ceiling of the same server), with 1 and 2 workers, in one run, on 127.0.0.1.

    .venv/bin/python bench/http_bench.py [--rows 200000] [--seconds 8] [--connections 32] [--workers 1,2]
                                         [--rate 6000] [--wrk2 PATH]
    .venv/bin/python bench/http_bench.py --inprocess-only [--profile admin|check]

Starts the real `breachwatch serve` in a subprocess over a generated catalog (bench/out/http-home), drives it
with `wrk` (apt-get install wrk) or, without it, a Python asyncio/httpx load generator in another process,
and prints a Markdown table with each endpoint's ratio to /healthz and the server's CPU time per request (its
processes' user + system time over the run, divided by the requests answered: steadier than req/s when other work
shares the machine). The load generator shares the machine's cores with the server: numbers are a floor, not the
server's capacity on its own.

Those runs are closed-loop (each connection sends its next request when the answer comes): they find the most
requests per second, and their latency is mostly the queue of `--connections` requests. With wrk2 (Gil Tene's
constant-throughput wrk: `--wrk2 PATH`, the WRK2 environment variable, or `wrk2` on PATH; see bench/README.md) it
then offers each endpoint a fixed `--rate` of requests per second and reports the latency percentiles corrected
for coordinated omission (measured from when each request was due, not from when it was sent): the answer to
"at 6,000 checks/s (about two thirds of what 2 cores answer at saturation), what is the p99?".

Before that it measures the in-process cost of each endpoint (the ASGI app called directly, no sockets) with the
admin key and with a plain `check` key (both audited and profiled by the enumeration detector; the bench sets
the guard's actions to "alert" so a 90%-hit list is profiled but not blocked). `--inprocess-only` stops there;
`--profile admin|check` adds a cProfile of the check endpoint's request path with that key."""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import io
import json
import logging
import multiprocessing
import os
import pstats
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
SECRET = "5e" * 32
CLI = [sys.executable, "-m", "breachwatch.cli"]


def _env(home: Path) -> dict[str, str]:
    from breachwatch.guard.policy import SIGNALS

    env = dict(os.environ)
    # The load comes from one organisation's key: its contract allows the volume (guard limits raised). Every key
    # is profiled by the enumeration detector, and a 90%-hit list from one key is what the hit-ratio signal is
    # for: blocked, every answer would be a cheap 429. So the signals only alert here: the detector's work is
    # measured, not the block path (and a run with error answers stops, see `expected_errors`).
    env.update(BREACHWATCH_SECRET_KEY=SECRET, BREACHWATCH_HOME=str(home), BREACHWATCH_KEY_RATE="1e9",
               BREACHWATCH_GUARD_LIMITS="key=1000000000/1h;ip=1000000000/1h;subnet=1000000000/1h",
               BREACHWATCH_GUARD_ACTIONS=",".join(f"{signal}=alert" for signal in SIGNALS))
    return env


def check_answers(name: str, errors: float, requests: float, clean_share: float) -> None:
    """Stop the benchmark when more answers were errors than the clean numbers explain (404 on /api/v3 only): a
    429 or 401 is an error path, much cheaper than a check, and would make the figures meaningless."""
    allowed = 0.0 if "/api/v3/" not in name else clean_share * 1.5 * requests
    if errors > allowed + 10:
        raise RuntimeError(f"{name}: {errors:,.0f} of {requests:,.0f} answers were errors (429, 401?): "
                           "the figures would measure an error path")


def prepare(rows: int) -> tuple[Path, dict[str, str], list[str]]:
    """A home with one generated breach of `rows` rows, API keys ('admin' and a plain 'check' key), and a mix of
    leaked and clean numbers."""
    home = OUT / f"http-home-{rows}"
    truth = OUT / f"http-truth-{rows}.json"
    if not (home / "catalog.sqlite3").exists() or not truth.exists():
        shutil.rmtree(home, ignore_errors=True)
        dump = OUT / f"http-dump-{rows}.csv"
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([*CLI, "synth", "--rows", str(rows), "--out", str(dump), "--truth", str(truth), "--seed", "9"],
                       check=True, env=_env(home), stdout=subprocess.DEVNULL)
        subprocess.run([*CLI, "ingest", str(dump), "--breach", "Bench", "--title", "Bench"], check=True,
                       env=_env(home), stdout=subprocess.DEVNULL)
    keys = {}
    for scope in ("admin", "check"):
        out = subprocess.run([*CLI, "keys", "create", "--name", f"bench-{scope}", "--scope", scope, "--json"],
                             check=True, env=_env(home), capture_output=True, text=True).stdout
        keys[scope] = json.loads(out)["key"]
    data = json.loads(truth.read_text())
    rng = random.Random(1)
    leaked = rng.sample(list(data["numbers"]), min(900, len(data["numbers"])))
    numbers = leaked + data["clean_numbers"][:100]
    rng.shuffle(numbers)
    return home, keys, numbers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, workers: int, server: str, env: dict[str, str] | None = None,
                 extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], int]:
    """`breachwatch serve` (with `extra` options) on a free port, in a session of its own; returns once it
    accepts connections and its workers had time to start."""
    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers), "--server", server,
                             *extra],
                            env=env if env is not None else _env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(1.0 * workers)  # let every worker finish its startup
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def server_cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) used so far by the server's processes (its session: the master and workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == proc.pid:  # process group: the server was started in a session of its own
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["user-agent"]="bench", ["hibp-api-key"]="%s"})
end
"""


_PERCENTILE = re.compile(r"^\s*([\d.]+)%\s+([\d.]+)([a-z]+)\s*$", re.M)  # wrk: "  99%  3.1ms"; wrk2: " 99.000%  3.1ms"
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _drive(command: list[str], port: int, paths: list[str], key: str) -> dict[str, Any]:
    """Run wrk or wrk2 (`command`: the binary and its options) with a script cycling through `paths`; the
    answered rate, the latency percentiles in ms ({50.0: ..., 99.0: ...}) and the non-2xx count."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_LUA % (",".join(json.dumps(p) for p in paths), key))
        script = f.name
    try:
        out = subprocess.run([*command, "--latency", "-s", script, f"http://127.0.0.1:{port}"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    pct = {float(m.group(1)): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _PERCENTILE.finditer(out)
           if m.group(3) in _UNIT_MS}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None or not {50.0, 99.0} <= set(pct):
        raise RuntimeError(f"could not read {command[0]}'s output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)), "pct": pct, "errors": float(non2xx.group(1)) if non2xx else 0.0}


def run_wrk(port: int, paths: list[str], key: str, seconds: int, connections: int) -> dict[str, float]:
    """Closed-loop load for `seconds`: requests/s, p50/p99 in ms, non-2xx answers."""
    r = _drive(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s"], port, paths, key)
    return {"rps": r["rps"], "p50": r["pct"][50.0], "p99": r["pct"][99.0], "errors": r["errors"]}


def find_wrk2(given: str | None) -> str | None:
    """The wrk2 binary: `given`, else $WRK2, else `wrk2` on PATH; None when there is none."""
    for candidate in (given, os.environ.get("WRK2"), shutil.which("wrk2")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def run_wrk2(wrk2: str, port: int, paths: list[str], key: str, seconds: int, connections: int,
             rate: int) -> dict[str, float]:
    """Offer `rate` requests/s for `seconds` (after wrk2's own 10 s calibration, which is not counted) and
    return the answered rate and the corrected p50/p99/p99.9 in ms."""
    # wrk2 measures latency only after calibrating for 10 s (+5 ms per connection): run that much longer.
    duration = seconds + 11 + connections * 5 // 1000
    r = _drive([wrk2, "-t2", f"-c{connections}", f"-d{duration}s", f"-R{rate}"], port, paths, key)
    pct = r["pct"]
    return {"rps": r["rps"], "p50": pct[50.0], "p99": pct[99.0], "p999": pct.get(99.9, float("nan")),
            "errors": r["errors"]}


async def _py_load(url: str, paths: list[str], key: str, seconds: float, connections: int) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    headers = {"user-agent": "bench", "hibp-api-key": key}

    async def worker(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal errors
        i = offset
        while time.perf_counter() < stop:
            i += 1
            t0 = time.perf_counter()
            r = await client.get(paths[i % len(paths)], headers=headers)
            latencies.append(time.perf_counter() - t0)
            errors += r.status_code not in (200, 404)

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, k * 7) for k in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "errors": float(errors)}


def _py_load_entry(args: tuple[str, list[str], str, float, int], queue: Any) -> None:
    queue.put(asyncio.run(_py_load(*args)))


def run_python(port: int, paths: list[str], key: str, seconds: int, connections: int) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_py_load_entry,
                       args=((f"http://127.0.0.1:{port}", paths, key, float(seconds), connections), queue))
    proc.start()
    result: dict[str, float] = queue.get()
    proc.join()
    return result


ENDPOINTS_INPROCESS = ("/healthz", "/api/v1/check/{number}", "/api/v3/breachedaccount/{number}")


def inprocess_costs(home: Path, keys: dict[str, str], numbers: list[str], rounds: int = 5,
                    profile: str | None = None) -> dict[tuple[str, str], float]:
    """Microseconds per request through the ASGI app called directly (no sockets, no server), per (endpoint,
    key scope), and of Checker.check alone: where a check's time goes, free of load-generator noise. Best of
    `rounds`, in CPU time of this process (its background threads included), so other work on the machine adds
    little. Every answer must be 200 (or 404 for a clean number on /api/v3): a 401 or 429 would measure an error path,
    so it stops the benchmark. With `profile` ('admin' or 'check'), prints a cProfile of the check endpoint's
    requests with that key."""
    saved = dict(os.environ)  # restored at the end: the server runs that follow get the bench's own settings
    os.environ.update(_env(home))
    # (_env: the signals only alert, so that a 90%-hit list is measured, not the block path.)
    logging.getLogger("breachwatch.guard").setLevel(logging.ERROR)  # the alerts' log lines are not measured
    from breachwatch.services import Services
    from breachwatch.web import create_app

    services = Services()
    app = create_app(services)
    statuses: collections.Counter[int] = collections.Counter()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] += 1

    async def call(path: str, headers: list[tuple[bytes, bytes]]) -> None:
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http",
                 "http_version": "1.1", "root_path": "", "app": app}
        await app(scope, receive, send)  # type: ignore[arg-type]

    def paths_of(endpoint: str) -> list[str]:
        return [endpoint.replace("{number}", n) for n in numbers]

    async def per_request(paths: list[str], headers: list[tuple[bytes, bytes]]) -> float:
        best = float("inf")
        for _ in range(rounds):
            statuses.clear()
            started = time.process_time()
            for path in paths:
                await call(path, headers)
            best = min(best, (time.process_time() - started) / len(paths) * 1e6)
            unexpected = {s: n for s, n in statuses.items() if s not in (200, 404)}
            if unexpected:
                raise RuntimeError(f"unexpected answers {unexpected} on {paths[0]}")
        return best

    async def run() -> dict[tuple[str, str], float]:
        out: dict[tuple[str, str], float] = {}
        async with app.router.lifespan_context(app):
            for n in numbers:  # warm libphonenumber's per-region patterns
                services.checker.check(n)
            for scope, key in keys.items():
                headers = [(b"user-agent", b"bench"), (b"hibp-api-key", key.encode())]
                for endpoint in ENDPOINTS_INPROCESS:
                    out[endpoint, scope] = await per_request(paths_of(endpoint), headers)
            best = float("inf")
            for _ in range(rounds):
                started = time.process_time()
                for n in numbers:
                    services.checker.check(n)
                best = min(best, (time.process_time() - started) / len(numbers) * 1e6)
            out["Checker.check (no HTTP)", "-"] = best
            if profile is not None:
                headers = [(b"user-agent", b"bench"), (b"hibp-api-key", keys[profile].encode())]
                profiler = cProfile.Profile()
                paths = paths_of("/api/v1/check/{number}")
                profiler.enable()
                for _ in range(rounds):
                    for path in paths:
                        await call(path, headers)
                profiler.disable()
                report = io.StringIO()
                stats = pstats.Stats(profiler, stream=report)
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(45)
                print(report.getvalue())
        return out

    try:
        return asyncio.run(run())
    finally:
        services.close()
        os.environ.clear()
        os.environ.update(saved)


def print_inprocess(costs: dict[tuple[str, str], float]) -> None:
    """The in-process table: µs per request per endpoint and key, and the request rate one core would allow."""
    print("In-process cost per request (ASGI app called directly, CPU time, best of 5):\n")
    print("| path | key | µs/request | requests/s on one core |\n|---|---|---:|---:|")
    for (name, scope), micros in costs.items():
        print(f"| `{name}` | {scope} | {micros:,.1f} | {1e6 / micros:,.0f} |")
    print()


def _has_granian() -> bool:
    import importlib.util

    return importlib.util.find_spec("granian") is not None


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--servers", default="uvicorn,granian" if _has_granian() else "uvicorn",
                        help="comma-separated: uvicorn, granian (default: both when granian is installed)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--rate", default="6000",
                        help="comma-separated offered rates (requests/s) for the fixed-rate runs (wrk2); 0: none")
    parser.add_argument("--rate-seconds", type=int, default=15, help="seconds measured per fixed-rate run")
    parser.add_argument("--wrk2", help="path of the wrk2 binary (default: $WRK2, or wrk2 on PATH)")
    parser.add_argument("--inprocess-only", action="store_true", help="measure in-process costs only (no server)")
    parser.add_argument("--profile", choices=["admin", "check"], help="cProfile the check endpoint with this key")
    args = parser.parse_args()
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk") is not None)
    drive = run_wrk if use_wrk else run_python
    home, keys, numbers = prepare(args.rows)
    clean_share = 0.1  # prepare: 900 leaked numbers, 100 clean ones
    key = keys["admin"]
    endpoints = {
        "/healthz": ["/healthz"],
        "/api/v1/check/{number}": [f"/api/v1/check/{n.replace('+', '%2B')}" for n in numbers],
        "/api/v3/breachedaccount/{number}": [f"/api/v3/breachedaccount/{n.replace('+', '%2B')}" for n in numbers],
    }
    print_inprocess(inprocess_costs(home, keys, numbers, profile=args.profile))
    if args.inprocess_only:
        return
    print(f"load generator: {'wrk -t2' if use_wrk else 'python asyncio/httpx (1 process)'}, "
          f"{args.connections} connections, {args.seconds} s per run, {args.rows:,}-row breach, "
          f"{len(numbers)} distinct numbers (90% leaked)\n")
    wrk2 = find_wrk2(args.wrk2)
    rates = [int(r) for r in args.rate.split(",") if int(r) > 0]
    runs = [(srv, int(w)) for srv in args.servers.split(",") for w in args.workers.split(",")]
    fixed: list[str] = []
    print("| server | workers | endpoint | req/s | p50 ms | p99 ms | vs /healthz | server CPU µs/request "
          "| non-2xx (404 = clean number) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for server, workers in runs:
        proc, port = start_server(home, workers, server)
        try:
            drive(port, endpoints["/api/v1/check/{number}"][:200], key, 2, args.connections)  # warm-up
            ceiling = None
            for name, paths in endpoints.items():
                cpu_before = server_cpu_seconds(proc)
                r = drive(port, paths, key, args.seconds, args.connections)
                cpu = (server_cpu_seconds(proc) - cpu_before) / (r["rps"] * args.seconds) * 1e6
                ceiling = ceiling or r["rps"]
                check_answers(name, r["errors"], r["rps"] * args.seconds, clean_share)
                print(f"| {server} | {workers} | `{name}` | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
                      f"{r['rps'] / ceiling:.2f} | {cpu:,.0f} | {int(r['errors'])} |", flush=True)
            for rate in rates if wrk2 else []:
                for name, paths in endpoints.items():
                    cpu_before = server_cpu_seconds(proc)
                    started = time.monotonic()
                    r = run_wrk2(wrk2, port, paths, key, args.rate_seconds, args.connections, rate)  # type: ignore[arg-type]
                    # wrk2's req/s covers the whole run, calibration included, as does the CPU time.
                    cpu_seconds = server_cpu_seconds(proc) - cpu_before
                    cpu = cpu_seconds / (r["rps"] * (time.monotonic() - started)) * 1e6 if r["rps"] else 0.0
                    fixed.append(f"| {server} | {workers} | `{name}` | {rate:,} | {r['rps']:,.0f} | {r['p50']:.2f} | "
                                 f"{r['p99']:.2f} | {r['p999']:.2f} | {cpu:,.0f} |")
        finally:
            stop_server(proc)
    if rates and not wrk2:
        print("\nNo fixed-rate runs: wrk2 not found (--wrk2 PATH, WRK2=PATH or wrk2 on PATH; see bench/README.md).")
    if fixed:
        print(f"\nFixed offered rate (wrk2 -t2 -c{args.connections}, {args.rate_seconds} s measured after its "
              "calibration; latency from when each request was due):\n")
        print("| server | workers | endpoint | offered/s | answered/s | p50 ms | p99 ms | p99.9 ms "
              "| server CPU µs/request |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        print("\n".join(fixed))

if __name__ == "__main__":
    main()
