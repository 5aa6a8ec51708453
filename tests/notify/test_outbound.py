"""Outgoing requests are bounded: at most 64 KiB of an answer is read, with flat memory, however much the other
side sends; one deadline covers the whole exchange, so a receiver trickling bytes cannot hold the dispatcher; the
connection goes to the address that was resolved and checked, while Host and TLS keep the name."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from breachwatch.notify.destinations import Destinations
from breachwatch.notify.outbound import MAX_BODY, BoundedPoster, DeadlineExceeded, parse_target, system_resolver
from breachwatch.notify.sms import DeliveryError, HttpSmsSender
from breachwatch.notify.webhooks import WebhookSender
from tests.support.notify import RawReceiver, WebhookReceiver, endless_answer, free_port, trickle_answer

Send = Callable[[str, str, float], None]


def _webhook(url: str, allow: str, deadline: float) -> None:
    WebhookSender(deadline, Destinations.parse(allow)).send(url + "/hook", "whsec_x", {"id": "bw_1"}, "bw_1")


def _sms(url: str, allow: str, deadline: float) -> None:
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
        send(receiver.url, receiver.allow, 10.0)
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
            send(receiver.url, receiver.allow, 1.0)
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


def test_a_rebinding_name_is_connected_to_as_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name is resolved once per delivery, at send time, and the connection goes to that address: a name
    answering an allowed address, then (for anyone resolving it again) another one, reaches only the first;
    its next delivery resolves again and is refused. Host keeps the name."""
    port = free_port()
    allowed = WebhookReceiver(port=port).start()
    internal = WebhookReceiver(port=port, host="127.0.0.2").start()
    real = socket.getaddrinfo
    resolutions: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        resolutions.append(host)
        return real("127.0.0.1" if len(resolutions) == 1 else "127.0.0.2", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    sender = WebhookSender(5.0, Destinations.parse(allowed.allow))
    try:
        sender.send(f"http://rebind.test:{port}/hook", "whsec_x", {"id": "bw_1"}, "bw_1")
        assert len(resolutions) == 1
        assert [(r.path, r.headers["host"]) for r in allowed.requests] == [("/hook", f"rebind.test:{port}")]
        with pytest.raises(DeliveryError, match=r"refused: its host resolves to a loopback address \(127.0.0.2\)"):
            sender.send(f"http://rebind.test:{port}/hook", "whsec_x", {"id": "bw_2"}, "bw_2")
        assert len(resolutions) == 2 and internal.requests == [] and len(allowed.requests) == 1
    finally:
        allowed.stop()
        internal.stop()


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_checks_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    """HTTPS to hooks.test pinned to 127.0.0.1: SNI and the certificate check use the name hooks.test (the
    certificate names no address); the same address under another name fails the check."""
    cert, key = _certificate(tmp_path, "hooks.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    client_context = ssl.create_default_context(cafile=str(cert))
    loopback = [ipaddress.ip_address("127.0.0.1")]

    def poster(context: ssl.SSLContext) -> BoundedPoster:
        return BoundedPoster(5.0, "test", Destinations.parse(f"127.0.0.1:{port}").vet,
                             resolver=lambda host, p, seconds: loopback, ssl_context=context)

    try:
        assert poster(client_context).post(parse_target(f"https://hooks.test:{port}/h"), b"{}", {}).status == 204
        assert names == ["hooks.test"]
        with pytest.raises(DeliveryError, match="unreachable: ConnectError"):  # same address, another name
            poster(client_context).post(parse_target(f"https://other.test:{port}/h"), b"{}", {})
        assert names == ["hooks.test", "other.test"]
    finally:
        server.shutdown()
        server.server_close()
