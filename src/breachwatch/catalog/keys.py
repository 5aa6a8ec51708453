"""API keys: a table and a store that keeps only a keyed hash (HMAC-SHA256) of each key.

A key is shown once, when created. Checking a presented key hashes it with the same subkey and compares the
hash in constant time. Valid keys are cached in memory for a short time (`cache_seconds`) so the request hot
path does not query the database; a revocation takes effect within that time.

An `organisation` key is bound to one organisation (`org_id`) and holds no other scope; an `admin` key holds
every scope but that one. Removing an organisation revokes its keys (`revoke_organisation_keys`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Integer, Select, String, Table, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import BreachwatchError
from .notify_tables import organisations
from .scopes import SCOPES
from .store import Catalog
from .tables import metadata

KEY_PREFIX = "bw_"
# The prefix, then 17 to 125 URL-safe base64 characters (20 to 128 in all).
_KEY_SHAPE = re.compile(f"{re.escape(KEY_PREFIX)}[A-Za-z0-9_-]{{{20 - len(KEY_PREFIX)},{128 - len(KEY_PREFIX)}}}")

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(16), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    # The organisation an `organisation` key acts for. No foreign key: a removed organisation's keys stay
    # listed (revoked) with the id they had, and a new organisation of the same name gets a new id.
    Column("org_id", String(32), nullable=True),
    # The key's own budget of private-check evaluations a day (NULL: the settings' per-key limit).
    Column("private_per_day", Integer, nullable=True),
)


class ApiKeyError(BreachwatchError):
    """An API key operation was asked with bad input (unknown scope, unknown key id or organisation, empty name)."""


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (never the key itself): public id, name, scopes, dates, and for an organisation key the
    id and name of its organisation (the name is None once the organisation is removed)."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    org_id: str | None = None
    organisation: str | None = None
    private_per_day: int | None = None

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """True when the key holds `scope`. An admin key holds every scope but `organisation`: acting as an
        organisation takes a key bound to it, which holds that scope only."""
        if scope == "organisation":
            return "organisation" in self.scopes and self.org_id is not None
        return scope in self.scopes or "admin" in self.scopes


def well_formed(presented: str) -> bool:
    """True when a string has the shape of a breachwatch API key (checked before hashing)."""
    return _KEY_SHAPE.fullmatch(presented) is not None


class ApiKeyStore:
    """Create, list, revoke and verify API keys; keys are stored only as HMAC-SHA256 under `hash_key`."""

    def __init__(self, catalog: Catalog, hash_key: bytes, cache_seconds: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog = catalog
        self._hash_key = hash_key
        self._hmac = hmac.new(hash_key, digestmod=hashlib.sha256)  # keyed once; each hash works on a copy
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ApiKey]] = {}  # key_hash -> (key_hash, ApiKey), active keys only
        self._loaded_at = -1e18

    def _hash(self, presented: str) -> str:
        mac = self._hmac.copy()
        mac.update(presented.encode())
        return mac.hexdigest()

    def create(self, name: str, scopes: Iterable[str] = ("check",), organisation: str | None = None,
               private_per_day: int | None = None) -> tuple[str, ApiKey]:
        """Make a new key; returns (the key, to show once, and its stored record). A key with the `organisation`
        scope acts for the registered organisation named `organisation` and holds no other scope.
        `private_per_day` gives a `private-check` key its own budget of evaluations a day in place of the
        settings' per-key limit (an organisation's app whose users share one key)."""
        name = name.strip()
        if not name:
            raise ApiKeyError("a key needs a --name")
        wanted = tuple(dict.fromkeys(scopes)) or ("check",)
        unknown = [s for s in wanted if s not in SCOPES]
        if unknown:
            raise ApiKeyError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
        if "organisation" in wanted and len(wanted) > 1:
            raise ApiKeyError("an organisation key holds no other scope (give --scope organisation alone)")
        if "organisation" in wanted and organisation is None:
            raise ApiKeyError("an organisation key needs --organisation NAME")
        if "organisation" not in wanted and organisation is not None:
            raise ApiKeyError("--organisation goes with --scope organisation")
        if private_per_day is not None and (private_per_day < 1 or not any(
                s in ("private-check", "admin") for s in wanted)):
            raise ApiKeyError("--private-per-day is a positive number of evaluations, for a key with the "
                              "'private-check' scope")
        presented = KEY_PREFIX + secrets.token_urlsafe(30)
        key_hash = self._hash(presented)
        with self._catalog.engine.begin() as conn:
            org_id = None
            if organisation is not None:
                org_id = conn.execute(select(organisations.c.id)
                                      .where(organisations.c.name == organisation)).scalar()
                if org_id is None:
                    raise ApiKeyError(f"no organisation named {organisation!r} (see: breachwatch org list)")
            record = ApiKey(key_id=key_hash[:12], name=name, scopes=wanted,
                            created_at=dt.datetime.now(dt.UTC).replace(microsecond=0), org_id=org_id,
                            organisation=organisation, private_per_day=private_per_day)
            conn.execute(insert(api_keys).values(key_id=record.key_id, name=name, key_hash=key_hash,
                                                 scopes=",".join(wanted), created_at=record.created_at,
                                                 org_id=org_id, private_per_day=private_per_day))
        self._loaded_at = -1e18
        return presented, record

    def list(self) -> list[ApiKey]:
        """Every key, active or revoked, oldest first."""
        with self._catalog.engine.connect() as conn:
            rows = conn.execute(_with_organisation().order_by(api_keys.c.created_at, api_keys.c.key_id)).all()
        return [_to_key(r._mapping) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its public id; revoking twice is harmless."""
        with self._catalog.engine.begin() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
            if row is None:
                raise ApiKeyError(f"no API key with id {key_id!r} (see: breachwatch keys list)")
            if row.revoked_at is None:
                conn.execute(update(api_keys).where(api_keys.c.key_id == key_id)
                             .values(revoked_at=dt.datetime.now(dt.UTC).replace(microsecond=0)))
        self._loaded_at = -1e18
        return next(k for k in self.list() if k.key_id == key_id)

    def verify(self, presented: str) -> ApiKey | None:
        """The active key matching `presented`, or None (malformed, unknown or revoked)."""
        if not well_formed(presented):
            return None
        key_hash = self._hash(presented)
        entry = self._active().get(key_hash)
        if entry is None or not hmac.compare_digest(entry[0], key_hash):
            return None
        return entry[1]

    def _active(self) -> dict[str, tuple[str, ApiKey]]:
        now = self._clock()
        with self._lock:
            if now - self._loaded_at >= self._cache_seconds:
                with self._catalog.engine.connect() as conn:
                    rows = conn.execute(_with_organisation().where(api_keys.c.revoked_at.is_(None))).all()
                self._cache = {r.key_hash: (r.key_hash, _to_key(r._mapping)) for r in rows}
                self._loaded_at = now
            return self._cache


def revoke_organisation_keys(conn: Connection, org_id: str) -> None:
    """Revoke every active key of an organisation (in the caller's transaction, as it removes the organisation)."""
    conn.execute(update(api_keys).where(api_keys.c.org_id == org_id, api_keys.c.revoked_at.is_(None))
                 .values(revoked_at=dt.datetime.now(dt.UTC).replace(microsecond=0)))


def _with_organisation() -> Select[Any]:
    return select(api_keys, organisations.c.name.label("organisation")).select_from(
        api_keys.outerjoin(organisations, organisations.c.id == api_keys.c.org_id))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _to_key(m: object) -> ApiKey:
    row = dict(m)  # type: ignore[call-overload]
    created = _aware(row["created_at"])
    assert created is not None
    return ApiKey(key_id=row["key_id"], name=row["name"], scopes=tuple(row["scopes"].split(",")),
                  created_at=created, revoked_at=_aware(row["revoked_at"]), org_id=row["org_id"],
                  organisation=row["organisation"], private_per_day=row.get("private_per_day"))
