"""Guard commands: simulate traffic against the limiter and detector; analyze an access log."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import BreachwatchError
from ..guard.strategies import STRATEGIES
from .app import console, main, services_of, user_errors


@main.group()
def guard() -> None:
    """Abuse protection of the lookup API: simulate attacks, analyze access logs."""


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise BreachwatchError(f"--sensitivities {text!r}: expected numbers separated by commas") from None
    if not values or min(values) <= 0:
        raise BreachwatchError("--sensitivities: give positive numbers, e.g. 0.5,1,2")
    return values


@guard.command("simulate")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same run).")
@click.option("--people", type=click.IntRange(min=0), default=5000, show_default=True,
              help="Legitimate people checking their own and family numbers (anonymous).")
@click.option("--organisations", type=click.IntRange(min=0), default=100, show_default=True,
              help="Legitimate organisations checking staff lists in batches (with API keys).")
@click.option("--days", type=click.FloatRange(min=0.01), default=2.0, show_default=True,
              help="Simulated time span; attackers start after 6 hours.")
@click.option("--strategy", "strategies", multiple=True, type=click.Choice(STRATEGIES),
              help="Attacker strategy to include (repeatable). Default: all.")
@click.option("--sensitivities", default="0.25,0.5,1,2,4", show_default=True,
              help="Detector sensitivities for the trade-off sweep (multipliers of the count thresholds).")
@click.option("--no-sweep", is_flag=True, help="Skip the threshold sweep (one run with the configured policy).")
@click.pass_context
def simulate_command(ctx: click.Context, as_json: bool, seed: int, people: int, organisations: int, days: float,
                     strategies: tuple[str, ...], sensitivities: str, no_sweep: bool) -> None:
    """Replay legitimate traffic and attacker strategies through the real limiter and detector."""
    from rich.table import Table

    from ..guard.policy import policy_from_config
    from ..guard.simulate import SimOptions, simulate, sweep

    services = services_of(ctx)
    with user_errors():
        policy = policy_from_config(services.config)
        options = SimOptions(seed=seed, people=people, organisations=organisations, days=days,
                             strategies=strategies or STRATEGIES)
        result = simulate(options, policy)
        if not no_sweep:
            result["sweep"] = sweep(options, _floats(sensitivities), policy)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"attackers (seed {seed}, {days:g} simulated days, index density {options.density:.0%})")
    for column in ("strategy", "identities", "checked", "leaked learned", "detected after", "target", "met"):
        table.add_column(column)
    for name, row in result["strategies"].items():
        detected = row["detection_seconds"]
        table.add_row(name, str(row["identities"]), f"{row['checked']:,}", f"{row['learned']:,}",
                      "never" if detected is None else f"{detected:,.0f}s",
                      f"< 100 leaked, <= {row['target_detection_seconds']:,.0f}s", "yes" if row["met"] else "NO")
    console.print(table)
    legit = result["legitimate"]
    console.print(f"legitimate clients: {legit['clients']:,} ({legit['numbers_checked']:,} numbers checked); "
                  f"refused at least once: {legit['refused']} ({legit['refused_share']:.3%}); "
                  f"flagged by the detector: {legit['flagged_by_detector']}")
    if "sweep" in result:
        curve = Table(title="trade-off: detector sensitivity (multiplier of count thresholds; bigger = more tolerant)")
        for column in ("sensitivity", "max leaked learned", "detected", "worst detection", "legit refused"):
            curve.add_column(column)
        for row in result["sweep"]:
            worst = row["worst_detection_seconds"]
            curve.add_row(f"{row['sensitivity']:g}", f"{row['max_learned']:,}",
                          f"{row['detected']}/{row['strategies']}",
                          "-" if worst is None else f"{worst:,.0f}s", f"{row['legit_refused_share']:.3%}")
        console.print(curve)


@guard.command("analyze")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
@click.pass_context
def analyze_command(ctx: click.Context, log: Path, as_json: bool) -> None:
    """Run the enumeration detector over an access log (JSON lines, or Common/Combined Log Format)."""
    from ..guard.clients import ClientHasher
    from ..guard.logs import analyze as analyze_log
    from ..guard.policy import policy_from_config

    services = services_of(ctx)
    with user_errors():
        policy = policy_from_config(services.config)
        report = analyze_log(log, ClientHasher(services.master_key), policy.thresholds)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    console.print(f"{report.lines:,} lines, {report.lookups:,} lookups, {report.skipped:,} lines skipped, "
                  f"{report.unreadable_numbers:,} unreadable numbers; {len(report.alerts)} alerts")
    for alert in report.alerts:
        targets = ", ".join(f"{scope}:{h[:12]}" for scope, h in alert.targets)
        console.print(f"  [{alert.signal}] {targets}: {alert.evidence} {' '.join(alert.samples)}", markup=False)
