"""The client address behind reverse proxies and load balancers: what the guard limits by.

Only a peer in the trusted_proxies setting may name the client, in X-Forwarded-For. The header is read from
the right (the hop nearest to us) past every trusted proxy: the first address that is not one is the client,
so a client cannot choose its own address by sending the header itself. An entry that is not an IP address
(a forged or mangled header, `unknown`, a host name) stops the walk and the request is attributed to the last
proxy that gave an address, never an error."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from ..errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(text: str) -> tuple[Network, ...]:
    """Trusted proxies from a comma-separated list of addresses and networks ('127.0.0.1,10.0.0.0/8')."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"BREACHWATCH_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.9:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientResolver:
    """Rewrites an HTTP scope's client to the address its trusted proxies name."""

    def __init__(self, trusted: Iterable[Network]) -> None:
        self._trusted = tuple(trusted)
        self._peers: dict[str, bool] = {}  # peer address -> trusted (the same few proxies ask again and again)

    def trusts(self, host: str) -> bool:
        """True when `host` is a trusted proxy's address."""
        known = self._peers.get(host)
        if known is None:
            address = _address(host)
            known = address is not None and any(address in net for net in self._trusted)
            if len(self._peers) < 4096:
                self._peers[host] = known
        return known

    def resolve(self, scope: Scope) -> None:
        """Set scope['client'] to the client named by the trusted proxies in front, if any."""
        client = scope.get("client")
        if not client or not self._trusted or not self.trusts(client[0]):
            return
        forwarded = [value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"]
        if not forwarded:
            return
        chosen = client[0]
        for entry in reversed(",".join(forwarded).split(",")):
            address = _address(entry)
            if address is None:
                break
            chosen = str(address)
            if not self.trusts(chosen):
                break
        if chosen != client[0]:
            scope["client"] = (chosen, 0)
