"""Outgoing requests are bounded: at most 64 KiB of an answer is read, with flat memory, however much the other
side sends; one deadline covers the whole exchange, so a receiver trickling bytes cannot hold the dispatcher."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from breachwatch.notify.outbound import MAX_BODY, BoundedPoster, DeadlineExceeded, parse_target, system_resolver
from breachwatch.notify.sms import DeliveryError, HttpSmsSender
from breachwatch.notify.webhook import WebhookSender
from notify_support import RawReceiver, endless_answer, trickle_answer

Send = Callable[[str, float], None]


def _webhook(url: str, deadline: float) -> None:
    WebhookSender(deadline).send(url + "/hook", "whsec_x", {"id": "bw_1"}, "bw_1")


def _sms(url: str, deadline: float) -> None:
    HttpSmsSender(url + "/send", "tok", "bw", deadline).send("+201001234567", "code 123456")


SENDERS = [pytest.param(_webhook, id="webhook"), pytest.param(_sms, id="sms-gateway")]


@pytest.mark.parametrize("send", SENDERS)
def test_an_endless_answer_is_cut_at_64_kib_with_flat_memory(send: Send) -> None:
    """A receiver announcing 1.5 GB and sending until the client hangs up: the delivery counts (200), returns
    at once, and the client holds at most a few hundred KiB; the receiver got rid of little more than what fits
    in the sockets' buffers."""
    receiver = RawReceiver(endless_answer())
    try:
        tracemalloc.start()
        started = time.monotonic()
        send(receiver.url, 10.0)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        receiver.stop()
    assert elapsed < 3.0
    assert peak < 2 << 20, f"peak {peak / 2**20:.1f} MiB"
    assert receiver.sent < 32 << 20, f"sent {receiver.sent / 2**20:.1f} MiB"


def test_the_answer_read_is_at_most_64_kib() -> None:
    receiver = RawReceiver(endless_answer())
    try:
        answer = BoundedPoster(5.0, "test").post(parse_target(receiver.url + "/"), b"{}", {})
    finally:
        receiver.stop()
    assert answer.status == 200 and len(answer.body) == MAX_BODY == 64 * 1024


@pytest.mark.parametrize("send", SENDERS)
@pytest.mark.parametrize("in_head", [True, False], ids=["trickled-head", "trickled-body"])
def test_a_trickling_receiver_is_abandoned_at_the_deadline(send: Send, in_head: bool) -> None:
    """A byte every 0.2 s never trips a per-read timeout; the 1 s deadline over the whole request does."""
    receiver = RawReceiver(trickle_answer(0.2, in_head))
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match=r"timed out \(deadline 1 s\)"):
            send(receiver.url, 1.0)
        elapsed = time.monotonic() - started
    finally:
        receiver.stop()
    assert 0.9 < elapsed < 1.8, elapsed


def test_a_receiver_that_never_reads_is_abandoned_at_the_deadline() -> None:
    """The deadline also covers sending: a receiver that accepts but never reads a large body."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out"):
            BoundedPoster(1.0, "test").post(parse_target(f"http://127.0.0.1:{listener.getsockname()[1]}/"),
                                            bytes(64 << 20), {})
        assert time.monotonic() - started < 1.8
    finally:
        for s in (*held, listener):
            s.close()


def test_slow_name_resolution_counts_against_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    release = threading.Event()

    def slow(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.test":
            release.wait(10)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        system_resolver("slow.test", 80, 0.3)
    assert time.monotonic() - started < 1.0
    with pytest.raises(DeliveryError, match="timed out"):
        WebhookSender(0.5).send("https://slow.test/hook", "whsec_x", {}, "bw_1")
    assert time.monotonic() - started < 2.0
    release.set()
