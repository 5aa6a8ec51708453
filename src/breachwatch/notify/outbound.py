"""Bounded outgoing HTTP POSTs (webhooks, the SMS gateway): one deadline over the whole exchange (resolving the
name, connecting, TLS, sending, the answer's head and body) and at most 64 KiB of the answer's body read.

The name is resolved once per request; the addresses may then be vetted (webhooks: notify/destinations.py) and
the connection goes only to them: httpcore gets a network backend pinned to those addresses, so nothing resolves
the name a second time (DNS rebinding), while the Host header and TLS (SNI, certificate check) keep the name.
Redirects are not followed and no proxy settings from the environment apply. The only module that uses httpcore."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from .errors import DeliveryError

MAX_BODY = 64 * 1024
"""Most bytes of an answer's body read; the rest is never received (the connection is closed)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int, float], Sequence[IPAddress]]
"""(host, port, seconds left) -> the addresses to connect to, in order; raises OSError or DeadlineExceeded."""
Vet = Callable[["Target", Sequence[IPAddress]], None]
"""Raises DeliveryError unless every address may be connected to for this target."""
NetworkBackend = httpcore.NetworkBackend
"""Opens connections (tests pass one that records attempts)."""

_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


class DeadlineExceeded(httpcore.TimeoutException):
    """The request's deadline passed (raised inside httpcore's calls, so it closes the connection)."""


class ResolutionError(OSError):
    """A host name has no usable address."""


@dataclass(frozen=True)
class Target:
    """A parsed http(s) URL: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    literal: IPAddress | None
    """The address when the host is an IP literal, in any spelling inet_aton accepts (127.1, 0x7f000001, ...)."""

    @property
    def host_header(self) -> str:
        """The Host header: the host as written, with the port unless it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def ipv4_any_spelling(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address `host` spells as inet_aton reads it (1 to 4 parts, each decimal, octal with a leading 0
    or hex with 0x; the last part fills the remaining bytes), or None if it is not such a literal."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(p) for p in parts):
        return None
    values = [int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    return ipaddress.IPv4Address(number << 8 * (4 - len(head)) | last)


def parse_target(url: str) -> Target:
    """Read an absolute http(s) URL with a host and no credentials; ValueError says what is wrong."""
    if len(url) > 2048 or _FORBIDDEN.search(url) or not url.isascii():
        raise ValueError("the URL is too long or holds spaces, control characters, backslashes or non-ASCII text")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise ValueError("the URL must not hold credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("the URL has no host")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif not 1 <= port <= 65535:
        raise ValueError("the URL's port is not a number from 1 to 65535")
    literal: IPAddress | None
    if parts.netloc.startswith("["):
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("the URL's bracketed host is not an IPv6 address") from None
    else:
        literal = ipv4_any_spelling(host)
    path = parts.path or "/"
    return Target(parts.scheme, host, port, path + (f"?{parts.query}" if parts.query else ""), literal)


class Deadline:
    """A point in time a whole request must finish by."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self._clock = seconds, clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left; DeadlineExceeded when none are."""
        left = self._end - self._clock()
        if left <= 0:
            raise DeadlineExceeded(f"deadline of {self.seconds:g} s passed")
        return left


def system_resolver(host: str, port: int, seconds: float) -> list[IPAddress]:
    """The addresses getaddrinfo gives for host:port, in its order; it runs in a helper thread so that a slow
    resolver cannot hold the caller past `seconds` (the thread ends when the system resolver gives up)."""
    found: list[Any] = []

    def resolve() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            found.append(exc)

    thread = threading.Thread(target=resolve, name="breachwatch-resolve", daemon=True)
    thread.start()
    thread.join(seconds)
    if not found:
        raise DeadlineExceeded(f"resolving the name took more than {seconds:.3g} s")
    if isinstance(found[0], Exception):
        raise ResolutionError(f"cannot resolve its host name ({type(found[0]).__name__})")
    addresses: list[IPAddress] = []
    for *_, sockaddr in found[0]:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionError("its host name has no address")
    return addresses


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.remaining())

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.remaining())

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._deadline.remaining()),
                               self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the given addresses, trying them in order, whatever host httpcore asks for."""

    def __init__(self, addresses: Sequence[IPAddress], deadline: Deadline, inner: httpcore.NetworkBackend) -> None:
        self._addresses, self._deadline, self._inner = list(addresses), deadline, inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError("no address to connect to")
        for address in self._addresses:
            try:
                stream = self._inner.connect_tcp(str(address), port, self._deadline.remaining(), local_address,
                                                 socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self._deadline.remaining()))


@dataclass(frozen=True)
class Answer:
    """What the other side answered: its status and at most MAX_BODY bytes of its body."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300


class BoundedPoster:
    """POSTs bodies under one deadline per request, reading at most `max_body` bytes of each answer. `label`
    names the other side in errors ("webhook", "SMS gateway"); `vet`, when given, approves the resolved addresses
    before any connection is made."""

    def __init__(self, deadline: float, label: str, vet: Vet | None = None, resolver: Resolver = system_resolver,
                 max_body: int = MAX_BODY, network_backend: NetworkBackend | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.deadline, self.label, self.max_body = deadline, label, max_body
        self._vet, self._resolver = vet, resolver
        self._backend = network_backend or httpcore.SyncBackend()
        self._ssl = ssl_context  # default: made on the first https request (system defaults and certifi's CAs)

    def post(self, target: Target, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Send `body`; DeliveryError when the target is refused, unreachable, or the deadline passes first."""
        deadline = Deadline(self.deadline)
        try:
            if target.literal is not None:
                addresses: Sequence[IPAddress] = [target.literal]
            else:
                addresses = self._resolver(target.host, target.port, deadline.remaining())
            if self._vet is not None:
                self._vet(target, addresses)
            return self._exchange(target, addresses, deadline, body, headers)
        except httpcore.TimeoutException:
            raise DeliveryError(f"{self.label} timed out (deadline {self.deadline:g} s)") from None
        except ResolutionError as exc:
            raise DeliveryError(f"{self.label} unreachable: {exc}") from None
        except (OSError, httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise DeliveryError(f"{self.label} unreachable: {type(exc).__name__}") from None

    def _exchange(self, target: Target, addresses: Sequence[IPAddress], deadline: Deadline, body: bytes,
                  headers: Mapping[str, str]) -> Answer:
        scheme, host = target.scheme.encode(), target.host.encode()
        if target.scheme == "https" and self._ssl is None:
            self._ssl = httpcore.default_ssl_context()
        backend = _PinnedBackend(addresses, deadline, self._backend)
        # Each step is also capped by what is left of the deadline (_DeadlineStream).
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), deadline.remaining())
        sent = [(b"Host", target.host_header.encode()), (b"Content-Length", str(len(body)).encode()),
                *((k.encode(), v.encode()) for k, v in headers.items())]
        url = httpcore.URL(scheme=scheme, host=host, port=target.port, target=target.path.encode())
        origin = httpcore.Origin(scheme, host, target.port)
        with (httpcore.HTTPConnection(origin, ssl_context=self._ssl, network_backend=backend) as connection,
              connection.stream("POST", url, headers=sent, content=body,
                                extensions={"timeout": timeouts}) as response):
            received = bytearray()
            for chunk in response.iter_stream():
                received += chunk[: self.max_body - len(received)]
                if len(received) >= self.max_body:
                    break  # leaving the block closes the connection: the rest is never read
            return Answer(response.status, bytes(received))
