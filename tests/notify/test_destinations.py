"""Webhooks reach public addresses only: every internal address form is refused, at registration when it is
written literally and at send time always, before any connection; the operator's allowlist opens exceptions."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from pathlib import Path

import httpcore
import pytest

from breachwatch.config import load_config
from breachwatch.errors import ConfigError
from breachwatch.ingest import IngestOptions
from breachwatch.notify.destinations import Destinations, parse_rule, refusal
from breachwatch.notify.errors import SubscriptionInputError
from breachwatch.notify.outbound import IPAddress, ipv4_any_spelling, parse_target
from breachwatch.notify.sms import DeliveryError
from breachwatch.notify.subscriptions import check_webhook_url
from breachwatch.notify.webhooks import WebhookSender
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from tests.support.cli import TEST_KEY
from tests.support.notify import RawReceiver, sms_code

INTERNAL = {
    "127.0.0.1": "loopback", "127.255.0.9": "loopback", "::1": "loopback",
    "10.1.2.3": "private", "172.16.0.1": "private", "192.168.1.1": "private",
    "100.64.0.1": "shared", "169.254.1.1": "link-local", "fe80::1": "link-local", "fe80::1%eth0": "link-local",
    "fc00::1": "unique-local", "fd12:3456::1": "unique-local", "fec0::1": "site-local",
    "224.0.0.1": "multicast", "239.1.1.1": "multicast", "ff02::1": "multicast",
    "0.0.0.0": "unspecified",  # noqa: S104 - an address to refuse, not one to bind
    "::": "unspecified", "240.0.0.1": "private", "255.255.255.255": "private",
    "192.0.2.1": "private", "2001:db8::1": "private",
    "169.254.169.254": "metadata", "169.254.170.2": "metadata", "168.63.129.16": "metadata",
    "100.100.100.200": "metadata", "fd00:ec2::254": "metadata",
    "::ffff:127.0.0.1": "loopback inside", "::ffff:169.254.169.254": "metadata inside",
    "::127.0.0.1": "loopback inside", "::8.8.8.8": "reserved", "2002:7f00:1::": "loopback inside",
    "2002:a9fe:a9fe::1": "metadata inside", "64:ff9b::7f00:1": "loopback inside",
    "64:ff9b::a00:1": "private inside", "64:ff9b:1::1": "local-use NAT64",
}
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize(("address", "reason"), INTERNAL.items())
def test_internal_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    why = refusal(ipaddress.ip_address(address))
    assert why is not None and all(word in why for word in reason.split()), (address, why)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "0x7f000001", "0X7F.0.0.1", "2130706433", "0177.0.0.1",
                                  "0177.0.1", "0", "10.1", "1.2.3.4", "0x7f.1", "256.1.1.1", "08.1.1.1",
                                  "1.2.3.4.5", "example.com", "0x", "4294967296"])
def test_odd_ipv4_spellings_are_read_as_inet_aton_reads_them(host: str) -> None:
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        expected = None
    assert ipv4_any_spelling(host) == expected


def test_allowlist_entries_and_what_they_cover() -> None:
    allow = Destinations.parse("10.1.0.0/16, 127.0.0.1:8080,[::1]:9000 ,hooks.internal, api.internal:8443")
    cases = [("http://10.1.2.3/", "10.1.2.3", True), ("http://10.2.0.1/", "10.2.0.1", False),
             ("http://127.0.0.1:8080/", "127.0.0.1", True), ("http://127.0.0.1:8081/", "127.0.0.1", False),
             ("http://[::1]:9000/", "::1", True), ("http://[::1]:9001/", "::1", False),
             ("http://hooks.internal/", "192.168.0.7", True), ("http://hooks.internal:81/", "10.9.9.9", True),
             ("http://api.internal:8443/", "10.9.9.9", True), ("http://api.internal/", "10.9.9.9", False),
             ("http://other.internal/", "192.168.0.7", False),
             # a host name in the list never unlocks a cloud metadata address (an IP entry could)
             ("http://hooks.internal/", "169.254.169.254", False)]
    for url, address, allowed in cases:
        assert (allow.refusal(parse_target(url), ipaddress.ip_address(address)) is None) == allowed, url
    assert Destinations.parse("169.254.169.254").refusal(parse_target("http://x.test/"),
                                                         ipaddress.ip_address("169.254.169.254")) is None
    assert Destinations.parse(None).allow == () == Destinations.parse(" , ").allow
    for bad in ("10.0.0.0/33", "host:0", "host:http", "[::1]x", "a b", "0x7f000001", "fe80::1%eth0"):
        with pytest.raises(ConfigError, match="BREACHWATCH_WEBHOOK_ALLOW"):
            parse_rule(bad)
    with pytest.raises(ConfigError, match="BREACHWATCH_WEBHOOK_ALLOW"):
        Destinations.parse(load_config(environ={"BREACHWATCH_WEBHOOK_ALLOW": "10.0.0.0/8,bad entry"}).webhook_allow)


LOOPBACK_URLS = ["http://127.0.0.1:{port}/hook", "http://0x7f000001:{port}/hook", "http://2130706433:{port}/hook",
                 "http://0177.0.0.1:{port}/hook", "http://127.1:{port}/hook", "http://[::ffff:127.0.0.1]:{port}/",
                 "http://[::1]:{port}/", "http://localhost:{port}/hook", "http://LOCALHOST.:{port}/hook"]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_loopback_spellings_are_refused_without_a_connection(url: str) -> None:
    """A live receiver on 127.0.0.1 is never reached, whatever the spelling of its address."""
    receiver = RawReceiver(lambda c, r: r.send(c, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    try:
        with pytest.raises(DeliveryError, match="refused: its host resolves to a loopback address"):
            WebhookSender(timeout=2.0).send(url.format(port=receiver.port), "whsec_x", {"id": "bw_1"}, "bw_1")
        assert receiver.connections == 0
    finally:
        receiver.stop()


class NoConnections(httpcore.NetworkBackend):
    """A network backend that records every connection attempt and makes none."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        self.attempts.append((host, port))
        raise httpcore.ConnectError("no connections in this test")


INTERNAL_URLS = ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/", "http://10.0.0.5:8080/",
                 "http://100.100.100.200/", "http://168.63.129.16/machine", "http://[fe80::1%25eth0]/",
                 "http://224.0.0.1/", "http://0.0.0.0:6379/", "http://0/", "http://[::]/",
                 "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::]/",
                 "https://[fc00::1]:8443/", "http://172.31.255.1/", "http://192.168.1.1/", "http://100.64.1.1/"]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_at_send_time_without_a_connection(url: str) -> None:
    network = NoConnections()
    with pytest.raises(DeliveryError, match="webhook refused"):
        WebhookSender(timeout=2.0, network_backend=network).send(url, "whsec_x", {"id": "bw_1"}, "bw_1")
    assert network.attempts == []


def test_a_name_with_any_internal_address_is_refused() -> None:
    """One refused address refuses the name (no picking the public one: the next resolution may differ)."""
    answers: dict[str, list[IPAddress]] = {
        "mixed.example": [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")],
        "v6only.example": [ipaddress.ip_address("::ffff:10.0.0.1")],
    }
    network = NoConnections()
    sender = WebhookSender(timeout=2.0, resolver=lambda host, port, seconds: answers[host], network_backend=network)
    for host in answers:
        with pytest.raises(DeliveryError, match="refused"):
            sender.send(f"https://{host}/hook", "whsec_x", {}, "bw_1")
    assert network.attempts == []


@pytest.mark.parametrize("url", [u.format(port=8080) for u in LOOPBACK_URLS] + INTERNAL_URLS)
def test_registration_refuses_literal_internal_addresses(url: str) -> None:
    with pytest.raises(SubscriptionInputError, match="must reach a public address"):
        check_webhook_url(url)


def test_registration_accepts_names_and_allowlisted_addresses() -> None:
    assert check_webhook_url(" https://hooks.example/bw?x=1 ") == "https://hooks.example/bw?x=1"
    assert check_webhook_url("http://8.8.8.8/") == "http://8.8.8.8/"
    allow = Destinations.parse("127.0.0.1:8080,localhost")
    assert check_webhook_url("http://127.0.0.1:8080/hook", allow) == "http://127.0.0.1:8080/hook"
    assert check_webhook_url("http://localhost:9/hook", allow) == "http://localhost:9/hook"
    for bad in ("ftp://x.test/", "http://u:p@x.test/", "http:///nohost", "http://x.test:0/", "http://a b/",
                "http://x.test\\@127.0.0.1/", "http://exämple.test/"):
        with pytest.raises(SubscriptionInputError, match="absolute http"):
            check_webhook_url(bad, allow)


def test_dispatcher_refuses_a_subscription_whose_name_now_resolves_to_loopback(tmp_path: Path) -> None:
    """The binding check is at send time: a URL accepted at registration (here under an allowlist that was
    removed since) is checked again, on what its name resolves to when the notification is sent."""
    home = tmp_path / "home"
    receiver = RawReceiver(lambda c, r: r.send(c, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    number = "+201001234567"
    before = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY,
                                           "BREACHWATCH_WEBHOOK_ALLOW": "localhost"}, home=home))
    try:
        sub = before.notifier.subscriptions.subscribe(number, webhook_url=f"http://localhost:{receiver.port}/hook")
        before.notifier.subscriptions.verify(sub.id, sms_code(home, mask_e164(number)))
        (tmp_path / "leak.txt").write_text(number + "\n")
        before.ingest(tmp_path / "leak.txt", IngestOptions(breach="Rebound"))
    finally:
        before.close()
    after = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home))
    try:
        report = after.notifier.dispatcher().drain()
        assert (report.delivered, report.retried) == (0, 1)
        row = after.notifier.store.outbox_rows()[0]
        assert row.status == "pending" and "refused: its host resolves to a loopback address" in (row.last_error or "")
        assert receiver.connections == 0
        assert "localhost" not in (row.last_error or "")  # the URL itself is not in the error
    finally:
        after.close()
        receiver.stop()
