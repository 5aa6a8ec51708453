"""Client of a breachwatch server's private check. The number never leaves this process: the server sees a
blinded element (uniformly random), evaluates it, and the client unblinds it into the OPRF output y, then
downloads the bucket a prefix of y names (without its API key, so a cache may answer) and looks its entries
up. The server's key is needed to link a bucket to numbers; nothing sent depends on the number otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import BreachwatchError, NumberError
from ..models import mask_to_classes
from ..phone import normalize
from . import oprf
from .protocol import ENTRY_BYTES, bucket_of, find_in_bucket

API_KEY_HEADER = "hibp-api-key"
EVALUATE_PATH = "/api/v1/private/evaluate"
PARAMETERS_PATH = "/api/v1/private/parameters"
BUCKET_PATH = "/api/v1/private/buckets/"
MAX_BATCH = 64


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
    """A blinded query: what is sent (blinded) and what stays here (e164, blind)."""

    e164: str
    blind: bytes
    blinded: bytes


@dataclass(frozen=True)
class ServerParameters:
    """The parts of GET /api/v1/private/parameters a client uses."""

    prefix_bits: int
    bucket_bytes: int
    breaches: list[str]
    generation: str


def prepare(number: str, region: str | None = None) -> PreparedQuery:
    """Normalize a number and blind it; raises NumberError when it cannot be read."""
    norm = normalize(number, region)
    if norm.e164 is None:
        raise NumberError(f"cannot read the number as a phone number ({norm.reason})")
    blind_scalar, blinded = oprf.blind(norm.e164.encode("ascii"))
    return PreparedQuery(norm.e164, blind_scalar, blinded)


def unblind(query: PreparedQuery, evaluated_hex: object) -> bytes:
    """The OPRF output y of the query's number from the server's evaluated element."""
    try:
        return oprf.finalize(query.e164.encode("ascii"), query.blind, bytes.fromhex(str(evaluated_hex)))
    except (ValueError, oprf.OprfError) as exc:
        raise ServerError(f"malformed evaluated element: {exc}") from None


def bucket_name(output: bytes, prefix_bits: int) -> str:
    """The bucket of OPRF output y as it appears in the URL (lower-case hex, fixed width)."""
    return f"{bucket_of(output, prefix_bits):0{-(-prefix_bits // 4)}x}"


def finish(query: PreparedQuery, output: bytes, bucket: bytes, breaches: list[str]) -> PrivateResult:
    """Look the number (by its OPRF output y) up in its bucket."""
    hits = find_in_bucket(bucket, output, breaches)
    return PrivateResult(query.e164, [PrivateHit(b, mask_to_classes(m)) for b, m in sorted(hits.items())],
                         list(breaches))


class PrivateClient:
    """Private checks against one server, over one HTTP connection pool."""

    def __init__(self, server_url: str, api_key: str, timeout: float = 30.0,
                 client: httpx.Client | None = None) -> None:
        self.base = server_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._http = client or httpx.Client(timeout=timeout)
        self._own = client is None
        self._params: ServerParameters | None = None

    def __enter__(self) -> PrivateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (only one this client opened)."""
        if self._own:
            self._http.close()

    def _get(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.get(url, timeout=self._timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach {self.base}: {exc}") from None

    def parameters(self, refresh: bool = False) -> ServerParameters:
        """The server's private-check parameters (fetched once, or again with `refresh`)."""
        if self._params is None or refresh:
            response = self._get(self.base + PARAMETERS_PATH)
            data = _json(response, self.base)
            try:
                params = ServerParameters(int(data["prefix_bits"]), int(data["bucket_bytes"]),
                                          [str(b) for b in data["breaches"]], str(data["generation"]))
                entry_bytes = int(data["entry_bytes"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ServerError(f"malformed private-check parameters: {exc}") from None
            if entry_bytes != ENTRY_BYTES or not 1 <= params.prefix_bits <= 32:
                raise ServerError("the server uses another private-check layout (entry size or prefix bits)")
            self._params = params
        return self._params

    def evaluate(self, queries: list[PreparedQuery]) -> list[bytes]:
        """The OPRF outputs of prepared queries (one POST per MAX_BATCH)."""
        outputs: list[bytes] = []
        for start in range(0, len(queries), MAX_BATCH):
            batch = queries[start:start + MAX_BATCH]
            try:
                response = self._http.post(self.base + EVALUATE_PATH, timeout=self._timeout,
                                           json={"blinded": [q.blinded.hex() for q in batch]},
                                           headers={API_KEY_HEADER: self._api_key})
            except httpx.HTTPError as exc:
                raise ServerError(f"cannot reach {self.base}: {exc}") from None
            evaluated = _json(response, self.base).get("evaluated")
            if not isinstance(evaluated, list) or len(evaluated) != len(batch):
                raise ServerError("malformed private-check response: 'evaluated' is not one element per query")
            outputs.extend(unblind(q, e) for q, e in zip(batch, evaluated, strict=True))
        return outputs

    def bucket(self, output: bytes) -> tuple[bytes, ServerParameters]:
        """The bucket of OPRF output y (sent without the API key), and the parameters it belongs to."""
        for attempt in (0, 1):
            params = self.parameters(refresh=attempt == 1)
            url = f"{self.base}{BUCKET_PATH}{bucket_name(output, params.prefix_bits)}"
            response = self._get(url, params={"generation": params.generation})
            if response.status_code == 409 and attempt == 0:
                continue  # published again since the parameters were read
            if response.status_code != 200:
                raise ServerError(f"{self.base} answered {response.status_code}: {_error_text(response)}")
            if len(response.content) != params.bucket_bytes:
                raise ServerError("the bucket has another size than the parameters announce")
            return response.content, params
        raise ServerError(f"{self.base} keeps publishing new private buckets; try again")

    def check_many(self, numbers: list[str], region: str | None = None) -> list[PrivateResult]:
        """Check numbers without revealing them: blind, evaluate, unblind, download each bucket, look up."""
        queries = [prepare(n, region) for n in numbers]
        self.parameters()
        results = []
        for query, output in zip(queries, self.evaluate(queries), strict=True):
            bucket, params = self.bucket(output)
            result = finish(query, output, bucket, params.breaches)
            result.response_bytes = len(bucket)
            results.append(result)
        return results


def private_check(server_url: str, number: str, api_key: str, region: str | None = None,
                  timeout: float = 30.0, client: httpx.Client | None = None) -> PrivateResult:
    """Check one number against a breachwatch server without revealing it (see PrivateClient)."""
    with PrivateClient(server_url, api_key, timeout, client) as private:
        return private.check_many([number], region)[0]


def _json(response: httpx.Response, base: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise ServerError(f"{base} answered {response.status_code}: {_error_text(response)}")
    try:
        data = response.json()
    except ValueError:
        raise ServerError(f"{base} did not answer JSON") from None
    if not isinstance(data, dict):
        raise ServerError(f"{base} answered an unexpected JSON value")
    return data


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        for name in ("detail", "error"):
            if name in data:
                return str(data[name])[:200]
    return response.text[:200]
