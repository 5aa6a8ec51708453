"""The tables a claim is compared with: per-country counts of well-known leaks as they were published (shipped as
CSV under analysis/references/, each with its sources), every loaded breach's per-country counts, and the tables
kept in the catalog (claims triaged before, reference tables an operator added with their source).

A shipped table is a CSV of country,count,sources after a header block of `# key: value` lines: name, title,
date, note (repeatable) and `source N: publisher | date | URL | what it gives`. Counts only, never numbers."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..catalog import Catalog
from ..catalog.claim_store import ClaimStore, ClaimTableError, StoredTable
from ..errors import BreachwatchError
from .claims import parse_claim, read_claim

#: Kinds of table, and how a reader is told which one a line is about.
KIND_LABELS = {"published": "published table", "breach": "loaded breach", "claim": "earlier claim",
               "reference": "reference table"}


@dataclass(frozen=True)
class Source:
    """One cited source of a shipped table."""

    id: str
    publisher: str
    date: str
    url: str
    gives: str


@dataclass(frozen=True)
class ReferenceTable:
    """A per-country table a claim can be compared with: name, title, kind (published, breach, claim, reference),
    a one-line source, the counts, and for a shipped table its date, notes and cited sources."""

    name: str
    title: str
    kind: str
    source: str
    counts: dict[str, int]
    date: str = ""
    notes: str = ""
    sources: tuple[Source, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """'Facebook 2021 (533M scraped profiles) (published table)'."""
        return f"{self.title} ({KIND_LABELS.get(self.kind, self.kind)})"


def parse_published(text: str, origin: str) -> ReferenceTable:
    """A shipped table from its CSV text (header block, then country,count,sources)."""
    meta: dict[str, str] = {}
    notes: list[str] = []
    sources: list[Source] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            continue
        key, sep, value = line[1:].partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "note":
            notes.append(value)
        elif key.startswith("source "):
            parts = [p.strip() for p in value.split("|")]
            if len(parts) != 4:
                raise BreachwatchError(f"{origin}: a source line needs publisher | date | URL | what it gives")
            sources.append(Source(key.split()[1], *parts))
        else:
            meta[key] = value
    if "name" not in meta or not sources:
        raise BreachwatchError(f"{origin}: a shipped table needs a name and at least one source line")
    counts = parse_claim(text, origin)
    first = sources[0]
    return ReferenceTable(meta["name"], meta.get("title", meta["name"]), "published",
                          f"{first.publisher}, {first.date}, {first.url}" + (
                              f" (and {len(sources) - 1} more sources)" if len(sources) > 1 else ""),
                          counts, meta.get("date", ""), " ".join(notes), tuple(sources))


@functools.cache
def published_tables() -> tuple[ReferenceTable, ...]:
    """The tables shipped with breachwatch, by name."""
    folder = resources.files("breachwatch.analysis").joinpath("references")
    tables = [parse_published(item.read_text(encoding="utf-8"), f"references/{item.name}")
              for item in folder.iterdir() if item.name.endswith(".csv")]
    return tuple(sorted(tables, key=lambda t: t.name))


def stored_table(t: StoredTable) -> ReferenceTable:
    """A catalog table as a reference."""
    when = f"{'triaged' if t.kind == 'claim' else 'added'} {t.added_at:%Y-%m-%d}"
    return ReferenceTable(t.name, f"{t.name}, {when}", t.kind, t.source or when, t.counts, f"{t.added_at:%Y-%m-%d}")


def breach_table(catalog: Catalog, name: str, title: str) -> ReferenceTable:
    """A loaded breach's unique numbers per country as a reference."""
    counts = {c.region: c.numbers for c in catalog.countries(name)}
    return ReferenceTable(name, title, "breach", f"loaded breach {name}", counts)


def all_tables(catalog: Catalog | None, exclude: str | None = None) -> list[ReferenceTable]:
    """Every table a claim is compared with: shipped, loaded breaches, then stored tables (all but `exclude`,
    the name a claim being triaged again is kept under)."""
    tables = list(published_tables())
    if catalog is not None:
        tables += [breach_table(catalog, b.name, b.title) for b in catalog.list_breaches()]
        tables += [stored_table(t) for t in ClaimStore(catalog).list()
                   if exclude is None or t.name.lower() != exclude.lower()]
    return tables


def add_reference(catalog: Catalog, name: str, path: str | Path, source: str) -> ReferenceTable:
    """Store a reference table (country,count CSV) with its source, e.g. "publisher, date, URL"."""
    if not source.strip():
        raise ClaimTableError("a reference table needs its source: --source 'publisher, date, URL'")
    if any(t.name.lower() == name.lower() for t in published_tables()):
        raise ClaimTableError(f"{name!r} is the name of a table shipped with breachwatch; pick another name")
    return stored_table(ClaimStore(catalog).add(name, "reference", source.strip(), read_claim(path)))


def remove_table(catalog: Catalog, name: str) -> ReferenceTable:
    """Remove a stored claim or reference table (shipped tables cannot be removed)."""
    if any(t.name.lower() == name.lower() for t in published_tables()):
        raise ClaimTableError(f"{name!r} is shipped with breachwatch (analysis/references/) and cannot be removed")
    return stored_table(ClaimStore(catalog).remove(name))


def list_tables(catalog: Catalog) -> list[ReferenceTable]:
    """Shipped and stored tables (loaded breaches are listed by `breachwatch breaches`)."""
    return [*published_tables(), *(stored_table(t) for t in ClaimStore(catalog).list())]
