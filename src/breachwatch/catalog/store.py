"""Catalog operations: publish a breach atomically, read breaches, maintain their flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import BreachExistsError, UnknownBreachError
from ..models import Breach, CountryCount
from .migrate import upgrade
from .tables import breach_countries, breaches, catalog_meta, generation

_EDITABLE = {"title", "domain", "breach_date", "description", "status", "is_sensitive", "is_retired",
             "is_spam_list", "is_malware", "logo_path", "source_notes"}


def driver_url(url: str) -> str:
    """The SQLAlchemy URL with breachwatch's driver: postgresql:// means psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Catalog:
    """The catalog database behind a small API; SQLite by default, PostgreSQL or any SQLAlchemy URL otherwise.
    Opening it brings its schema up to date (Alembic), unless migrate=False."""

    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = create_engine(driver_url(url), future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            upgrade(self.engine)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # ---- breaches ----

    def publish_breach(self, breach: Breach, countries: Iterable[CountryCount], replace: bool) -> str | None:
        """Record a fully built breach in one transaction; returns the segment file it replaced, if any."""
        with self.engine.begin() as conn:
            old = conn.execute(select(breaches.c.segment_file, breaches.c.added_date)
                               .where(breaches.c.name == breach.name)).first()
            if old is not None and not replace:
                raise BreachExistsError(f"breach {breach.name!r} is already loaded; use --replace to reload it")
            row = _breach_row(breach)
            if old is not None:
                row["added_date"] = old.added_date
                conn.execute(delete(breach_countries).where(breach_countries.c.breach_name == breach.name))
                conn.execute(delete(breaches).where(breaches.c.name == breach.name))
            conn.execute(insert(breaches).values(**row))
            rows = [{"breach_name": breach.name, "region": c.region, "numbers": c.numbers, "valid": c.valid}
                    for c in countries]
            if rows:
                conn.execute(insert(breach_countries), rows)
            _bump_generation(conn)
        return str(old.segment_file) if old is not None else None

    def get_breach(self, name: str) -> Breach:
        """One breach by name (case-insensitive, as on HIBP)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(breaches).where(breaches.c.name == name)).first()
            if row is None:
                rows = conn.execute(select(breaches)).all()
                row = next((r for r in rows if r.name.lower() == name.lower()), None)
        if row is None:
            raise UnknownBreachError(f"no breach named {name!r}")
        return _to_breach(row._mapping)

    def list_breaches(self) -> list[Breach]:
        """Every breach, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(breaches).order_by(breaches.c.name)).all()
        return [_to_breach(r._mapping) for r in rows]

    def countries(self, name: str) -> list[CountryCount]:
        """Per-region unique-number counts of a breach, largest first."""
        self.get_breach(name)
        with self.engine.connect() as conn:
            rows = conn.execute(select(breach_countries).where(breach_countries.c.breach_name == name)
                                .order_by(breach_countries.c.numbers.desc(), breach_countries.c.region)).all()
        return [CountryCount(r.region, int(r.numbers), int(r.valid)) for r in rows]

    def update_breach(self, name: str, **fields: Any) -> Breach:
        """Change editable fields of a breach (title, status, flags...) and its modified date."""
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        current = self.get_breach(name)
        with self.engine.begin() as conn:
            conn.execute(update(breaches).where(breaches.c.name == current.name)
                         .values(**fields, modified_date=_utcnow()))
            _bump_generation(conn)
        return self.get_breach(current.name)

    def delete_breach(self, name: str) -> str:
        """Remove a breach from the catalog; returns its segment file for the caller to delete."""
        current = self.get_breach(name)
        with self.engine.begin() as conn:
            conn.execute(delete(breach_countries).where(breach_countries.c.breach_name == current.name))
            conn.execute(delete(breaches).where(breaches.c.name == current.name))
            _bump_generation(conn)
        return current.segment_file

    def generation(self) -> int:
        """A counter that changes whenever the set of breaches or their fields change."""
        with self.engine.connect() as conn:
            value = conn.execute(select(generation.c.value).where(generation.c.id == 1)).scalar()
        return int(value or 0)

    # ---- key/value ----

    def get_meta(self, key: str) -> str | None:
        """A catalog-wide value (e.g. the index key fingerprint)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(catalog_meta.c.value).where(catalog_meta.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_meta_once(self, key: str, value: str) -> str:
        """Store a value if none is stored yet; returns the stored value (existing or new)."""
        with self.engine.begin() as conn:
            existing = conn.execute(select(catalog_meta.c.value).where(catalog_meta.c.key == key)).scalar()
            if existing is not None:
                return str(existing)
            conn.execute(insert(catalog_meta).values(key=key, value=value))
        return value


def _bump_generation(conn: Connection) -> None:
    updated = conn.execute(update(generation).where(generation.c.id == 1)
                           .values(value=generation.c.value + 1)).rowcount
    if not updated:
        conn.execute(insert(generation).values(id=1, value=1))


def _breach_row(b: Breach) -> dict[str, Any]:
    return {
        "name": b.name, "title": b.title, "domain": b.domain, "breach_date": b.breach_date,
        "added_date": b.added_date, "modified_date": b.modified_date, "description": b.description,
        "pwn_count": b.pwn_count, "valid_count": b.valid_count, "possible_count": b.possible_count,
        "data_classes": list(b.data_classes), "status": b.status, "is_sensitive": b.is_sensitive,
        "is_retired": b.is_retired, "is_spam_list": b.is_spam_list, "is_malware": b.is_malware,
        "logo_path": b.logo_path, "source_notes": b.source_notes, "segment_file": b.segment_file,
        "segment_checksum": b.segment_checksum, "ingest_report": b.ingest_report,
    }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _to_breach(m: Any) -> Breach:
    return Breach(
        name=m["name"], title=m["title"], domain=m["domain"], breach_date=m["breach_date"],
        added_date=_aware(m["added_date"]), modified_date=_aware(m["modified_date"]),
        description=m["description"], pwn_count=int(m["pwn_count"]), data_classes=list(m["data_classes"]),
        status=m["status"], is_sensitive=bool(m["is_sensitive"]), is_retired=bool(m["is_retired"]),
        is_spam_list=bool(m["is_spam_list"]), is_malware=bool(m["is_malware"]), logo_path=m["logo_path"],
        source_notes=m["source_notes"], valid_count=int(m["valid_count"]),
        possible_count=int(m["possible_count"]), segment_file=m["segment_file"],
        segment_checksum=m["segment_checksum"], ingest_report=dict(m["ingest_report"]),
    )
