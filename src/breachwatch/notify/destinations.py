"""Where webhooks may go. Every address a webhook's host resolves to must be public: loopback, private (RFC 1918),
shared (100.64.0.0/10), link-local, unique-local, site-local, multicast, unspecified, reserved and cloud
metadata addresses, and IPv6 forms embedding such an IPv4 address (IPv4-mapped, -compatible, 6to4, NAT64), are
refused unless the operator's allowlist (BREACHWATCH_WEBHOOK_ALLOW) names them. One refused address refuses the
whole URL.

The binding check is at send time, on the addresses the connection then goes to (notify/outbound.py); subscribing
and registering an organisation check literal addresses and `localhost` names early, for a clear 400."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from .errors import DeliveryError, SubscriptionInputError
from .outbound import IPAddress, Target, ipv4_any_spelling, parse_target

SETTING = "BREACHWATCH_WEBHOOK_ALLOW"

METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle instance metadata
    "169.254.170.2",  # AWS ECS task metadata and credentials
    "169.254.169.123",  # AWS time sync
    "168.63.129.16",  # Azure host (WireServer): a public-looking address
    "100.100.100.200",  # Alibaba Cloud metadata
    "192.0.0.192",  # Oracle Cloud (classic) metadata
    "fd00:ec2::254",  # AWS instance metadata over IPv6
    "fd00:ec2::23",  # AWS DNS / time over IPv6
))
"""Cloud metadata endpoints: refused even when an allowlisted host name resolves to them."""

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_ULA = ipaddress.IPv6Network("fc00::/7")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_HOST = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public destination ("a loopback address", ...), or None when it is one."""
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            why = refusal(embedded)
            if why is not None:
                return f"{why} inside an IPv6 address"
            if address in _COMPATIBLE:
                return "a reserved address"  # IPv4-compatible addresses are deprecated and not routed
            return None
    checks = (  # in this order, so that the reason is the most specific one
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _ULA, "a unique-local address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "a site-local address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address in _NAT64_LOCAL, "a local-use NAT64 address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((why for refused, why in checks if refused), None)


@dataclass(frozen=True)
class AllowRule:
    """One allowlist entry: a network (an address or CIDR) or a host name, optionally on one port only."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    host: str | None
    port: int | None

    def covers(self, target: Target, address: IPAddress) -> bool:
        """Whether this entry lets `target` connect to `address`."""
        if self.port is not None and self.port != target.port:
            return False
        if self.network is not None:
            return address in self.network
        return target.host == self.host and address not in METADATA


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"{SETTING}: the port of {entry!r} is not a number from 1 to 65535")
    return int(text)


def parse_rule(entry: str) -> AllowRule:
    """Read one entry: 10.0.0.0/8, 127.0.0.1, 127.0.0.1:8080, fd00::/8, [::1]:8080, hooks.internal or
    hooks.internal:8443."""
    with_port: str | None = None
    host = entry
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigError(f"{SETTING}: {entry!r} must look like [IPv6]:PORT")
        host, with_port = inside, rest[1:] if rest else None
    elif entry.count(":") == 1:
        host, with_port = entry.split(":")
    port = _port(with_port, entry) if with_port is not None else None
    try:
        if "%" not in host:  # no IPv6 zones: an entry names addresses, not interfaces
            return AllowRule(ipaddress.ip_network(host, strict=False), None, port)
    except ValueError:
        pass
    name = host.lower().rstrip(".")
    if entry.startswith("[") or ":" in name or not _HOST.match(name) or ipv4_any_spelling(name) is not None:
        raise ConfigError(f"{SETTING}: {entry!r} is not an address, a CIDR network or a host name (with an "
                          "optional :PORT)")
    return AllowRule(None, name, port)


class Destinations:
    """The webhook destination policy: public addresses, plus what the operator's allowlist names."""

    def __init__(self, allow: Sequence[AllowRule] = ()) -> None:
        self.allow = tuple(allow)

    @classmethod
    def parse(cls, setting: str | None) -> Destinations:
        """The policy of BREACHWATCH_WEBHOOK_ALLOW (comma-separated entries, see parse_rule)."""
        return cls([parse_rule(e.strip()) for e in (setting or "").split(",") if e.strip()])

    def refusal(self, target: Target, address: IPAddress) -> str | None:
        """Why `target` may not connect to `address`, or None."""
        if any(rule.covers(target, address) for rule in self.allow):
            return None
        return refusal(address)

    def vet(self, target: Target, addresses: Sequence[IPAddress]) -> None:
        """The send-time check: DeliveryError unless every address may be connected to."""
        for address in addresses:
            why = self.refusal(target, address)
            if why is not None:
                raise DeliveryError(f"webhook refused: its host resolves to {why} ({address})")

    def check_url(self, url: str) -> str:
        """The registration check: the URL (trimmed) if it is an absolute http(s) URL without credentials whose
        host is not a refused literal address or a `localhost` name; else SubscriptionInputError."""
        url = url.strip()
        try:
            target = parse_target(url)
        except ValueError as exc:
            raise SubscriptionInputError(f"webhook_url must be an absolute http(s) URL without credentials: {exc}"
                                         ) from None
        if target.literal is not None:
            addresses: list[IPAddress] = [target.literal]
        elif target.host == "localhost" or target.host.endswith(".localhost"):  # RFC 6761: always loopback
            addresses = [ipaddress.IPv4Address("127.0.0.1")]
        else:
            return url
        why = self.refusal(target, addresses[0])
        if why is not None:
            raise SubscriptionInputError(f"webhook_url must reach a public address: {target.host} is {why} (an "
                                         f"operator can allow internal receivers with {SETTING})")
        return url
