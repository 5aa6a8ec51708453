"""`breachwatch keys create|list|revoke`: API keys for the HTTP API (stored only as keyed hashes)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ..catalog.scopes import SCOPES

if TYPE_CHECKING:
    from ..catalog.keys import ApiKey


from .app import console, main, services_of, user_errors


def _key_dict(key: ApiKey) -> dict[str, object]:
    return {"id": key.key_id, "name": key.name, "scopes": list(key.scopes), "organisation": key.organisation,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            "private_per_day": key.private_per_day}


@main.group()
def keys() -> None:
    """Manage API keys (sent by clients in the hibp-api-key header)."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES), default=("check",),
              show_default=True, help="Scope to grant (repeatable). 'organisation' goes alone, with --organisation.")
@click.option("--organisation", default=None, metavar="NAME",
              help="The registered organisation an 'organisation' key manages (its own numbers, inside the ranges "
                   "granted to it).")
@click.option("--private-per-day", type=int, default=None, metavar="N",
              help="This key's own budget of private-check evaluations a day, in place of the per-key limit of "
                   "BREACHWATCH_PRIVATE_LIMITS (an organisation's app whose users share one key); the address, "
                   "subnet and global limits still apply.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (the key is in the 'key' field).")
@click.pass_context
def create(ctx: click.Context, name: str, scopes: tuple[str, ...], organisation: str | None,
           private_per_day: int | None, as_json: bool) -> None:
    """Create a key and print it once; only its keyed hash is stored."""
    with user_errors():
        presented, record = services_of(ctx).api_keys.create(name, scopes, organisation, private_per_day)
    if as_json:
        click.echo(json.dumps({"key": presented, **_key_dict(record)}, indent=2))
        return
    bound = f"; organisation: {record.organisation}" if record.organisation else ""
    if record.private_per_day is not None:
        bound += f"; {record.private_per_day:,} private evaluations a day"
    console.print(f"created key {record.key_id} ({record.name}; scopes: {', '.join(record.scopes)}{bound})")
    console.print("store it now, it is not shown again:")
    click.echo(presented)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """List keys (ids, names, scopes, dates; never the keys)."""
    from rich.table import Table

    with user_errors():
        items = services_of(ctx).api_keys.list()
    if as_json:
        click.echo(json.dumps([_key_dict(k) for k in items], indent=2))
        return
    table = Table("id", "name", "scopes", "organisation", "created", "revoked")
    for k in items:
        table.add_row(k.key_id, k.name, ",".join(k.scopes), k.organisation or k.org_id or "-", k.created_at.isoformat(),
                      k.revoked_at.isoformat() if k.revoked_at else "-")
    console.print(table)


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by id (takes effect on running servers within a few seconds)."""
    with user_errors():
        key = services_of(ctx).api_keys.revoke(key_id)
    console.print(f"revoked {key.key_id} ({key.name})")
