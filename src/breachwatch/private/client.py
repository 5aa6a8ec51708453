"""Client of a breachwatch server's private check: the number never leaves this process; the server sees its
bucket prefix and a blinded element, and returns the evaluated element and the padded bucket."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import httpx

from ..errors import BreachwatchError, NumberError
from ..models import mask_to_classes
from ..phone import normalize
from . import oprf
from .protocol import ENTRY_BYTES, PREFIX_BITS, find_in_bucket, prefix_of

API_KEY_HEADER = "hibp-api-key"
CHECK_PATH = "/api/v1/private/check"


class ServerError(BreachwatchError):
    """The server refused the request or answered something that is not a valid private-check response."""


@dataclass
class PrivateHit:
    """One breach the number is in, with the data classes that leaked with it."""

    breach: str
    data_classes: list[str]


@dataclass
class PrivateResult:
    """Outcome of a private check (e164 is known only to the client)."""

    e164: str
    hits: list[PrivateHit] = field(default_factory=list)
    breaches_checked: list[str] = field(default_factory=list)
    response_bytes: int = 0

    @property
    def found(self) -> bool:
        """Whether the number is in any breach served privately."""
        return bool(self.hits)


@dataclass(frozen=True)
class PreparedQuery:
    """A blinded query: what is sent (prefix, blinded) and what stays here (e164, blind)."""

    e164: str
    prefix: int
    blind: bytes
    blinded: bytes

    def body(self) -> dict[str, object]:
        """The JSON request body."""
        return {"prefix": self.prefix, "blinded": self.blinded.hex()}


def prepare(number: str, region: str | None = None) -> PreparedQuery:
    """Normalize a number and blind it; raises NumberError when it cannot be read."""
    norm = normalize(number, region)
    if norm.e164 is None:
        raise NumberError(f"cannot read the number as a phone number ({norm.reason})")
    blind_scalar, blinded = oprf.blind(norm.e164.encode("ascii"))
    return PreparedQuery(norm.e164, prefix_of(norm.e164), blind_scalar, blinded)


def finish(query: PreparedQuery, answer: dict[str, object]) -> PrivateResult:
    """Unblind the server's answer and look the number up in the returned bucket."""
    try:
        if answer.get("prefix_bits") != PREFIX_BITS or answer.get("entry_bytes") != ENTRY_BYTES:
            raise ServerError("the server uses another private-check layout (prefix bits or entry size)")
        evaluated = bytes.fromhex(str(answer["evaluated"]))
        bucket = base64.b64decode(str(answer["bucket"]), validate=True)
        breaches = [str(b) for b in answer["breaches"]]  # type: ignore[attr-defined]
        output = oprf.finalize(query.e164.encode("ascii"), query.blind, evaluated)
    except (KeyError, TypeError, ValueError, oprf.OprfError) as exc:
        raise ServerError(f"malformed private-check response: {exc}") from None
    hits = find_in_bucket(bucket, output, breaches)
    return PrivateResult(query.e164, [PrivateHit(b, mask_to_classes(m)) for b, m in sorted(hits.items())],
                         breaches)


def private_check(server_url: str, number: str, api_key: str, region: str | None = None,
                  timeout: float = 30.0, client: httpx.Client | None = None) -> PrivateResult:
    """Check a number against a breachwatch server without revealing it: blind, ask, unblind, look up."""
    query = prepare(number, region)
    url = server_url.rstrip("/") + CHECK_PATH
    try:
        if client is not None:
            response = client.post(url, json=query.body(), headers={API_KEY_HEADER: api_key}, timeout=timeout)
        else:
            response = httpx.post(url, json=query.body(), headers={API_KEY_HEADER: api_key}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerError(f"cannot reach {server_url}: {exc}") from None
    if response.status_code != 200:
        raise ServerError(f"{server_url} answered {response.status_code}: {_error_text(response)}")
    try:
        answer = response.json()
    except ValueError:
        raise ServerError(f"{server_url} did not answer JSON") from None
    if not isinstance(answer, dict):
        raise ServerError(f"{server_url} answered an unexpected JSON value")
    result = finish(query, answer)
    result.response_bytes = len(response.content)
    return result


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])[:200]
    return response.text[:200]
