"""Claim tables kept in the catalog: the per-country table of each claim triaged before (so a resale of the same
table is recognised) and reference tables an operator adds with their source. Counts per country only: a claim
table never holds a phone number."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, String, Table, Text, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import BreachwatchError
from .store import Catalog
from .tables import metadata

#: What a stored table is: a claim kept by triage, or a reference table added with its source.
KINDS: tuple[str, ...] = ("claim", "reference")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

claim_tables = Table(
    "claim_tables", metadata,
    Column("name", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

claim_countries = Table(
    "claim_countries", metadata,
    Column("claim_name", String(128), ForeignKey("claim_tables.name", ondelete="CASCADE"), primary_key=True),
    Column("region", String(8), primary_key=True),
    Column("claimed", BigInteger, nullable=False),
)


class ClaimTableError(BreachwatchError):
    """A claim table operation was asked with bad input (a malformed name, a name already taken or unknown)."""


@dataclass(frozen=True)
class StoredTable:
    """A claim or reference table in the catalog: its name, kind, source, when it was added, and its counts."""

    name: str
    kind: str
    source: str
    added_at: dt.datetime
    counts: dict[str, int]


def valid_name(name: str) -> bool:
    """True for 1-128 letters, digits, dots, dashes and underscores, starting with a letter or digit."""
    return _NAME.fullmatch(name) is not None


def check_name(name: str) -> str:
    """The name, if it is a valid table name (ClaimTableError otherwise)."""
    if not valid_name(name):
        raise ClaimTableError(f"{name!r} is not a table name: use 1-128 letters, digits, '.', '-' or '_'")
    return name


class ClaimStore:
    """The catalog's claim tables."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add(self, name: str, kind: str, source: str, counts: Mapping[str, int]) -> StoredTable:
        """Store a table under a new name (ClaimTableError if the name is malformed or taken)."""
        check_name(name)
        if kind not in KINDS:
            raise ClaimTableError(f"kind must be one of {', '.join(KINDS)}")
        added = dt.datetime.now(dt.UTC).replace(microsecond=0)
        taken = ClaimTableError(f"a table named {name!r} is already stored; remove it first or pick another name")
        try:
            with self.catalog.engine.begin() as conn:
                same = func.lower(claim_tables.c.name) == name.lower()  # names are told apart regardless of case
                if conn.execute(select(claim_tables.c.name).where(same)).first() is not None:
                    raise taken
                conn.execute(insert(claim_tables).values(name=name, kind=kind, source=source, added_at=added))
                rows = [{"claim_name": name, "region": r, "claimed": int(c)} for r, c in sorted(counts.items())]
                if rows:
                    conn.execute(insert(claim_countries), rows)
        except IntegrityError:  # stored by a concurrent writer between the check and the insert
            raise taken from None
        return StoredTable(name, kind, source, added, dict(counts))

    def keep(self, name: str, source: str, counts: Mapping[str, int]) -> StoredTable:
        """Keep a triaged claim under `name`; when that name holds another table, under the first free `name-2`,
        `name-3`... A claim triaged again (same name, same table) is not stored twice."""
        base = check_name(name)
        for i in range(1, 1000):
            candidate = base if i == 1 else f"{base[:120]}-{i}"
            existing = self.find(candidate)
            if existing is None:
                try:
                    return self.add(candidate, "claim", source, counts)
                except ClaimTableError:
                    continue  # taken by a concurrent writer since find(): try the next name
            if existing.counts == dict(counts):
                return existing
        raise ClaimTableError(f"too many tables named {base!r}-N")

    def find(self, name: str) -> StoredTable | None:
        """The table of that name (exact, then case-insensitive), or None."""
        tables = self.list()
        return next((t for t in tables if t.name == name), None) or \
            next((t for t in tables if t.name.lower() == name.lower()), None)

    def list(self) -> list[StoredTable]:
        """Every stored table, by name, with its counts."""
        with self.catalog.engine.connect() as conn:
            heads = conn.execute(select(claim_tables).order_by(claim_tables.c.name)).all()
            rows = conn.execute(select(claim_countries)).all()
        counts: dict[str, dict[str, int]] = {}
        for r in rows:
            counts.setdefault(r.claim_name, {})[r.region] = int(r.claimed)
        return [StoredTable(h.name, h.kind, h.source, _aware(h.added_at), counts.get(h.name, {})) for h in heads]

    def remove(self, name: str) -> StoredTable:
        """Delete a stored table; returns what was deleted (ClaimTableError when there is none)."""
        table = self.find(name)
        if table is None:
            raise ClaimTableError(f"no stored claim or reference table named {name!r}")
        with self.catalog.engine.begin() as conn:
            conn.execute(delete(claim_countries).where(claim_countries.c.claim_name == table.name))
            conn.execute(delete(claim_tables).where(claim_tables.c.name == table.name))
        return table


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
