"""`breachwatch serve` delivers notifications from a child process of its own, whatever the number of workers:
never from a process that answers HTTP. The child stops with Ctrl-C and dies with its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from tests.support.cli import TEST_KEY
from tests.support.notify import WebhookReceiver, free_port, is_running, parent_of, sms_code, socket_owners

NUMBER = "+201001234567"


def _pending_webhook(tmp_path: Path, env: dict[str, str], url: str) -> Path:
    """A data directory with one verified webhook subscription to `url` and one notification waiting for it."""
    home = tmp_path / "home"
    services = Services(load_config(environ=env, home=home))
    try:
        sub = services.notifier.subscriptions.subscribe(NUMBER, webhook_url=url)
        services.notifier.subscriptions.verify(sub.id, sms_code(home, mask_e164(NUMBER)))
        (tmp_path / "leak.txt").write_text(NUMBER + "\n")
        services.ingest(tmp_path / "leak.txt", IngestOptions(breach="Leak"))
        assert services.notifier.store.outbox_counts() == {"pending": 1}
    finally:
        services.close()
    return home


@contextmanager
def _serving(home: Path, env: dict[str, str], server: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "--home", str(home), "serve", "--port",
                             str(port), "--workers", "1", "--server", server], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.2)
        yield proc, port
    finally:
        with suppress(ProcessLookupError):  # whatever is left of the group (nothing, when the test passed)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _env(receiver: WebhookReceiver) -> dict[str, str]:
    return {"BREACHWATCH_SECRET_KEY": TEST_KEY, "BREACHWATCH_NOTIFY_POLL": "0.2", **receiver.allow_env}


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serve_with_one_worker_delivers_from_another_process(tmp_path: Path, server: str) -> None:
    receiver = WebhookReceiver(block_on=1).start()
    env = _env(receiver)
    home = _pending_webhook(tmp_path, env, receiver.url + "/hook")
    try:
        with _serving(home, env, server) as (proc, port):
            assert receiver.seen_blocked.wait(60), "nothing was delivered"
            http_processes = socket_owners(port)  # every process holding the HTTP listening socket
            sender = socket_owners(receiver.requests[0].peer[1], remote_port=receiver.port)
            assert http_processes and len(sender) == 1
            (sender_pid,) = sender
            assert sender_pid not in http_processes
            if server == "uvicorn":  # one uvicorn worker answers in the serve process itself
                assert http_processes == {proc.pid}
            assert parent_of(sender_pid) == proc.pid
            receiver.gate.set()
            check = Services(load_config(environ=env, home=home))
            try:
                deadline = time.monotonic() + 30
                while check.notifier.store.outbox_counts() != {"delivered": 1}:
                    assert time.monotonic() < deadline, check.notifier.store.outbox_counts()
                    time.sleep(0.1)
            finally:
                check.close()
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole group
            output, _ = proc.communicate(timeout=60)
            assert "Traceback" not in output, output
            assert not is_running(sender_pid)
    finally:
        receiver.stop()
    assert len(receiver.requests) == 1


def test_the_dispatcher_dies_with_serve(tmp_path: Path) -> None:
    receiver = WebhookReceiver(block_on=1).start()
    env = _env(receiver)
    home = _pending_webhook(tmp_path, env, receiver.url + "/hook")
    try:
        with _serving(home, env, "uvicorn") as (proc, _port):
            assert receiver.seen_blocked.wait(60), "nothing was delivered"
            (sender_pid,) = socket_owners(receiver.requests[0].peer[1], remote_port=receiver.port)
            os.kill(proc.pid, signal.SIGKILL)  # the parent only: no chance to stop its child
            proc.wait(10)
            receiver.gate.set()
            deadline = time.monotonic() + 15
            while is_running(sender_pid):
                assert time.monotonic() < deadline, "the dispatcher outlived serve"
                time.sleep(0.1)
    finally:
        receiver.stop()
