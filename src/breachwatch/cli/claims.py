"""`breachwatch claims list|add|remove`: the per-country tables claims are compared with (shipped published tables,
claims triaged before, reference tables added with their source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .app import console, main, services_of, user_errors

if TYPE_CHECKING:
    from ..analysis.references import ReferenceTable


def _table_dict(t: ReferenceTable) -> dict[str, object]:
    return {"name": t.name, "title": t.title, "kind": t.kind, "source": t.source, "date": t.date,
            "countries": len(t.counts), "total": sum(t.counts.values()), "counts": t.counts,
            "sources": [{"publisher": s.publisher, "date": s.date, "url": s.url, "gives": s.gives} for s in t.sources]}


@main.group()
def claims() -> None:
    """Tables a claim is compared with: shipped published tables, claims triaged before, added references."""


@claims.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (with every source of shipped tables).")
@click.pass_context
def list_claims(ctx: click.Context, as_json: bool) -> None:
    """List shipped and stored tables (loaded breaches are compared too: see `breachwatch breaches`)."""
    from rich.table import Column, Table

    from ..analysis.references import list_tables

    with user_errors():
        tables = list_tables(services_of(ctx).catalog)
    if as_json:
        click.echo(json.dumps([_table_dict(t) for t in tables], indent=2))
        return
    table = Table(Column("name", no_wrap=True), "kind", "countries", "total", Column("date", no_wrap=True), "source")
    for t in tables:
        table.add_row(t.name, t.kind, str(len(t.counts)), f"{sum(t.counts.values()):,}", t.date, t.source)
    console.print(table)


@claims.command("add")
@click.argument("name")
@click.argument("claim_csv", metavar="CLAIM.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="Where the table was published: 'publisher, date, URL'.")
@click.pass_context
def add(ctx: click.Context, name: str, claim_csv: Path, source: str) -> None:
    """Store a per-country table (country,count CSV) as a reference, with its source."""
    from ..analysis.references import add_reference

    with user_errors():
        t = add_reference(services_of(ctx).catalog, name, claim_csv, source)
    console.print(f"added {t.name}: {len(t.counts)} countries, {sum(t.counts.values()):,} in all")


@claims.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove a stored claim or reference table (shipped tables stay)."""
    from ..analysis.references import remove_table

    with user_errors():
        t = remove_table(services_of(ctx).catalog, name)
    console.print(f"removed {t.name} ({t.kind})")
