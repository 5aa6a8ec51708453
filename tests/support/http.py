"""A real breachwatch HTTP server on 127.0.0.1 for tests: uvicorn in a thread on a free port, over a catalog
built from generated dumps (known ground truth)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from breachwatch.config import load_config
from breachwatch.guard.limiter import RateLimiter
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services
from breachwatch.web import create_app
from breachwatch.web.coalesce import CoalescingHttpToolsProtocol
from tests.support.cli import SMALL_MIX, TEST_KEY


@dataclass
class Server:
    """A running server and what the tests need to know about its data."""

    base_url: str
    services: Services
    key: str
    admin_key: str
    truth: dict[str, Any]
    both: str        # a number in Synth (unverified) and Verified2 (verified, domain example.com)
    hidden: str      # a number in Synth and Hidden (sensitive)
    leaked_eg: str   # an Egyptian number in Synth
    clean: str       # a valid number in no breach


#: Detector signals that only alert: for tests of the API's shapes, which check many leaked numbers with one
#: key (and would be blocked as list verifiers, as they should be outside tests).
GUARD_ALERT_ONLY = "sweep=alert,coverage=alert,miss-ratio=alert,hit-ratio=alert,campaign=alert,rate=alert"


def build_home(root: Path, catalog_url: str | None = None,
               environ: dict[str, str] | None = None) -> tuple[Services, dict[str, Any]]:
    """Services over a fresh home with three breaches: Synth (generated), Verified2 and Hidden; the catalog in
    the home's SQLite file, or at `catalog_url` (PostgreSQL); more settings in `environ`."""
    dump, truth_path = root / "dump.csv", root / "truth.json"
    synthesize(SynthOptions(rows=3000, out=dump, truth=truth_path, seed=7, countries=SMALL_MIX))
    truth = json.loads(truth_path.read_text())
    environ = {"BREACHWATCH_SECRET_KEY": TEST_KEY, **(environ or {})}
    if catalog_url is not None:
        environ["BREACHWATCH_DATABASE_URL"] = catalog_url
    services = Services(load_config(environ=environ, home=root / "home"))
    services.ingest(dump, IngestOptions(breach="Synth", title="Synthetic 2022", description="generated"))
    numbers = list(truth["numbers"])
    (root / "v.txt").write_text("\n".join(numbers[:3]) + "\n")
    services.ingest(root / "v.txt", IngestOptions(breach="Verified2", title="Verified Two"))
    services.catalog.update_breach("Verified2", status="verified", domain="example.com", is_spam_list=True)
    (root / "h.txt").write_text(numbers[3] + "\n")
    services.ingest(root / "h.txt", IngestOptions(breach="Hidden", title="Hidden one"))
    services.catalog.update_breach("Hidden", is_sensitive=True)
    return services, truth


def serve_in_thread(services: Services, limiter: RateLimiter | None = None,
                    app: Any = None) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Start uvicorn on a free 127.0.0.1 port in a daemon thread, serving `app` (default: the app over
    `services`); returns (base URL, server, thread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app or create_app(services, limiter=limiter), log_level="warning", access_log=False,
                            ws="none", lifespan="on", http=CoalescingHttpToolsProtocol)  # as `serve` runs it
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def running_server(root: Path, catalog_url: str | None = None,
                   environ: dict[str, str] | None = None) -> Iterator[Server]:
    """Build the data, start the server, yield it, stop it."""
    services, truth = build_home(root, catalog_url, environ)
    key, _ = services.api_keys.create("tests", ["check"])
    admin_key, _ = services.api_keys.create("admin", ["admin"])
    numbers = list(truth["numbers"])
    leaked_eg = next(n for n in numbers[4:] if truth["numbers"][n]["region"] == "EG")
    clean = next(n for n in truth["clean_numbers"] if n.startswith("+20"))
    base_url, server, thread = serve_in_thread(services)
    try:
        yield Server(base_url, services, key, admin_key, truth, numbers[0], numbers[3], leaked_eg, clean)
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServeProcess:
    """`breachwatch serve` running as a user runs it, in its own process group."""

    base_url: str
    proc: subprocess.Popen[str]
    output: str = ""

    def stop(self) -> str:
        """Stop the server (SIGINT, as Ctrl-C) and return everything it printed."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.output, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.output, _ = self.proc.communicate(timeout=10)
        return self.output


@contextlib.contextmanager
def serve_process(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    """Start `breachwatch --home HOME serve --port P ARGS...` (secret key TEST_KEY), wait until /healthz
    answers, yield it, and stop it."""
    port = free_port()
    full_env = {**os.environ, "BREACHWATCH_SECRET_KEY": TEST_KEY, **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "--home", str(home), "serve", "--port",
                             str(port), *args], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    served = ServeProcess(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"breachwatch serve did not start:\n{served.stop()}")
            time.sleep(0.2)
        yield served
    finally:
        served.stop()
