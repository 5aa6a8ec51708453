"""`breachwatch serve` as a user runs it (subprocess, real port, uvicorn and granian, 2 workers): it answers,
and neither its output nor its logs hold a checked number or the API key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import TEST_KEY, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serve_command_answers_and_logs_no_numbers(tmp_path: Path, server: str) -> None:
    home = tmp_path / "home"
    (tmp_path / "d.txt").write_text("+201001234567\n+447911123456\n")
    run_cli("ingest", str(tmp_path / "d.txt"), "--breach", "Tiny", home=home, check=True)
    key = json.loads(run_cli("keys", "create", "--name", "t", "--json", home=home, check=True).stdout)["key"]
    port = _free_port()
    env = {**os.environ, "BREACHWATCH_SECRET_KEY": TEST_KEY}
    proc = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "--home", str(home), "serve", "--port",
                             str(port), "--workers", "2", "--server", server], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.2)
            for _ in range(6):  # reach both workers
                r = http.get("/api/v3/breachedaccount/00201001234567", headers={"user-agent": "t",
                                                                                  "hibp-api-key": key})
                assert r.status_code == 200 and r.json() == [{"Name": "Tiny"}]
                r = http.get("/api/v1/check/+44 7911 123456", headers={"hibp-api-key": key})
                assert r.json()["e164"] == "+447911123456" and r.json()["found"] is True
            assert http.get("/api/v1/check/+12025550143", headers={"hibp-api-key": key}).json()["found"] is False
            assert http.post("/check", data={"number": "+201001234567"}).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert f"on {server}" in output
    for secret in ("201001234567", "7911123456", "2025550143", key):
        assert secret not in output
