"""Notification commands: notify (match a breach), notify run (the outbox dispatcher), notify status,
org add/list/remove/grant/ungrant."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..catalog.notify_store import OrganisationRecord


from .app import console, main, services_of, user_errors


@main.group(invoke_without_command=True)
@click.option("--breach", "breach_name", default=None,
              help="Match subscriptions and organisations against this loaded breach and queue notifications "
                   "(idempotent: numbers already notified for it are skipped).")
@click.pass_context
def notify(ctx: click.Context, breach_name: str | None) -> None:
    """Match a breach against subscriptions (--breach NAME), or deliver queued notifications (run)."""
    if ctx.invoked_subcommand is not None:
        return
    if breach_name is None:
        click.echo(ctx.get_help())
        return
    services = services_of(ctx)
    with user_errors():
        report = services.notifier.match_breach(breach_name)
    console.print(f"breach [bold]{report.breach}[/]: checked {report.subscriptions_checked:,} subscriptions and "
                  f"{report.org_numbers_checked:,} organisation numbers; matched {report.subscriptions_matched:,} "
                  f"subscriptions and {report.organisations_matched:,} organisations; queued "
                  f"{report.notifications_queued:,} new notifications ({report.seconds:.2f} s)")


@notify.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (default: keep running).")
@click.pass_context
def notify_run(ctx: click.Context, once: bool) -> None:
    """Deliver queued notifications (email, signed webhooks) with retries and exponential backoff."""
    services = services_of(ctx)
    with user_errors():
        dispatcher = services.notifier.dispatcher()
        if once:
            report = dispatcher.drain()
            console.print(f"delivered {report.delivered}, will retry {report.retried}, failed {report.failed}, "
                          f"cancelled {report.cancelled}")
            return
        stopping = False

        def stop(_signum: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        console.print(f"delivering notifications (every {services.config.notify_poll:g} s when idle); Ctrl-C stops")
        dispatcher.run_forever(services.config.notify_poll, lambda: stopping)


@notify.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def notify_status(ctx: click.Context, as_json: bool) -> None:
    """Count queued notifications by status (pending, delivered, failed, cancelled)."""
    counts = services_of(ctx).notifier.store.outbox_counts()
    if as_json:
        click.echo(json.dumps(counts))
        return
    console.print(", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "no notifications")


@main.group()
def org() -> None:
    """Organisations notified when their numbers appear in a newly loaded breach."""


@org.command("add")
@click.argument("name")
@click.option("--numbers", "numbers_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File with one number per line ('#' comments allowed).")
@click.option("--range", "ranges", multiple=True,
              help="A number range, e.g. +3222000000-+3222009999 (repeatable; at most BREACHWATCH_ORG_RANGE_MAX "
                   "numbers each).")
@click.option("--grant", "grants", multiple=True,
              help="A range the organisation's own key may add and remove numbers in (repeatable; see org grant).")
@click.option("--region", default=None, help="ISO region for numbers written in national form in the file.")
@click.option("--email", default=None, help="Address to email.")
@click.option("--webhook", "webhook_url", default=None, help="URL to POST signed JSON to.")
@click.pass_context
def org_add(ctx: click.Context, name: str, numbers_file: Path | None, ranges: tuple[str, ...],
            grants: tuple[str, ...], region: str | None, email: str | None, webhook_url: str | None) -> None:
    """Register an organisation with its numbers (and/or granted ranges) and where to notify it."""
    from ..notify.errors import SubscriptionInputError

    services = services_of(ctx)
    with user_errors():
        if numbers_file is None and not ranges and not grants:
            raise SubscriptionInputError("give --numbers FILE, --range FIRST-LAST and/or --grant FIRST-LAST")
        added = services.notifier.organisations.add_from_file(name, numbers_file, ranges, email, webhook_url,
                                                              region, grants)
    console.print(f"registered organisation [bold]{added.organisation.name}[/] with "
                  f"{added.organisation.numbers:,} numbers")
    if added.webhook_secret:
        console.print(f"webhook signing secret (shown once, keep it safe): {added.webhook_secret}")


@org.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def org_list(ctx: click.Context, as_json: bool) -> None:
    """List organisations."""
    from rich.table import Table

    from ..notify.grants import as_text

    orgs = services_of(ctx).notifier.organisations.list()
    if as_json:
        click.echo(json.dumps([{"name": o.name, "numbers": o.numbers, "email": o.email,
                                "webhook_url": o.webhook_url, "grants": [as_text(g) for g in o.grants]}
                               for o in orgs], indent=2))
        return
    table = Table("name", "numbers", "email", "webhook", "granted ranges")
    for o in orgs:
        table.add_row(o.name, f"{o.numbers:,}", o.email or "-", o.webhook_url or "-",
                      "\n".join(as_text(g) for g in o.grants) or "-")
    console.print(table)


@org.command("remove")
@click.argument("name")
@click.pass_context
def org_remove(ctx: click.Context, name: str) -> None:
    """Remove an organisation, its numbers and granted ranges and its pending notifications; revoke its keys."""
    with user_errors():
        services_of(ctx).notifier.organisations.remove(name)
    console.print(f"removed organisation [bold]{name}[/]")


def _print_grants(org: OrganisationRecord) -> None:
    from ..notify.grants import as_text

    granted = ", ".join(as_text(g) for g in org.grants) or "none"
    console.print(f"organisation [bold]{org.name}[/]: granted ranges {granted}")


@org.command("grant")
@click.argument("name")
@click.option("--range", "ranges", multiple=True, required=True,
              help="A range verified as the organisation's, e.g. +3222000000-+3222009999 (repeatable; at most "
                   "BREACHWATCH_ORG_RANGE_MAX numbers each).")
@click.pass_context
def org_grant(ctx: click.Context, name: str, ranges: tuple[str, ...]) -> None:
    """Grant ranges to an organisation: its own key (keys create --scope organisation) may then add and remove
    numbers inside them."""
    with user_errors():
        org_record = services_of(ctx).notifier.organisations.grant(name, ranges)
    _print_grants(org_record)


@org.command("ungrant")
@click.argument("name")
@click.option("--range", "ranges", multiple=True, required=True,
              help="A granted range to withdraw, exactly as granted (repeatable).")
@click.pass_context
def org_ungrant(ctx: click.Context, name: str, ranges: tuple[str, ...]) -> None:
    """Withdraw ranges granted to an organisation (numbers it registered inside them stay watched)."""
    with user_errors():
        org_record = services_of(ctx).notifier.organisations.ungrant(name, ranges)
    _print_grants(org_record)
