"""Who is asking: an API client identified only by keyed hashes of its key id, IP address and subnet."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from ..secretkey import derive_key

#: Purpose string for the client-hashing subkey.
CLIENT_HASH_PURPOSE = "client-hash"


@dataclass(frozen=True, slots=True)
class ClientId:
    """A client as the guard sees it: keyed hashes only (hex). `key` is None for anonymous clients."""

    key: str | None
    ip: str
    subnet: str
    _entities: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = (("ip", self.ip), ("subnet", self.subnet))
        object.__setattr__(self, "_entities", found if self.key is None else (("key", self.key), *found))

    @property
    def anonymous(self) -> bool:
        """True when the client presented no API key."""
        return self.key is None

    def entities(self) -> tuple[tuple[str, str], ...]:
        """(scope, hash) of every entity this client counts against: key (if any), IP, subnet."""
        return self._entities


def subnet_of(ip: str) -> str:
    """The /24 (IPv4) or /56 (IPv6) network of an address, as text; raises ValueError on a bad address."""
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 56
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class ClientHasher:
    """Turns a raw key id and IP into a ClientId of keyed hashes (the raw values are never kept)."""

    _CACHE_SIZE = 65_536

    def __init__(self, master: bytes) -> None:
        self._key = derive_key(master, CLIENT_HASH_PURPOSE)
        # Parsing addresses and deriving subnets costs ~100 µs a request; remember recent clients, keyed by a
        # keyed hash of (key id, address) so not even this cache holds an address or key id in clear.
        self._recent: dict[str, ClientId] = {}

    def hash(self, kind: str, value: str) -> str:
        """Keyed BLAKE2b of `kind:value` (kind separates key ids from addresses), 32 hex characters."""
        digest = hashlib.blake2b(f"{kind}:{value}".encode(), key=self._key, digest_size=16)
        return digest.hexdigest()

    def client(self, key_id: str | None, ip: str) -> ClientId:
        """The ClientId of a request from `ip` with API key `key_id` (None when anonymous)."""
        token = self.hash("recent", f"{key_id}|{ip}")
        found = self._recent.get(token)
        if found is None:
            if len(self._recent) >= self._CACHE_SIZE:
                self._recent.clear()
            found = self._recent[token] = self._compute(key_id, ip)
        return found

    def _compute(self, key_id: str | None, ip: str) -> ClientId:
        try:
            address = str(ipaddress.ip_address(ip.strip()))
            subnet = subnet_of(address)
        except ValueError:  # not an address (a unix socket's peer, a test client): its own subnet
            address = subnet = ip
        return ClientId(
            key=None if key_id is None else self.hash("key", key_id),
            ip=self.hash("ip", address),
            subnet=self.hash("subnet", subnet),
        )
