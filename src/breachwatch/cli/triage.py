"""Triage and report commands: triage, report, overlap. Their libraries (Polars, matplotlib) are imported when a
command runs, so other commands do not pay for them at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import BreachwatchError
from .app import console, main, services_of, user_errors

if TYPE_CHECKING:
    from ..analysis.claim_triage import ClaimCheck, ClaimReport
    from ..analysis.triage import TriageReport
    from ..services import Services


def _write(path: Path, data: bytes | str) -> None:
    try:
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    except OSError as exc:
        raise BreachwatchError(f"{path}: cannot write ({exc.strerror})") from None
    console.print(f"wrote {path}")


@main.command("triage")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--claim", "claim_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The seller's claim: a CSV of country,count (ISO region code, whole number). Without FILE, the "
                   "claim alone is judged against known tables.")
@click.option("--claim-name", default=None, metavar="NAME",
              help="Keep the claim's table in the catalog under this name (default: the claim file's name).")
@click.option("--no-keep", is_flag=True, help="Do not keep the claim's table in the catalog.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Normalize only a uniform sample of this many rows (every row is still read and counted).")
@click.option("--default-region", default=None, help="ISO region for numbers written in national format.")
@click.option("--phone-column", default=None, help="Column holding the numbers (default: detected).")
@click.option("--country-column", default=None, help="Column holding ISO region hints (default: detected).")
@click.option("--not-messenger", is_flag=True, help="Do not expect (almost) only mobile numbers.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the sample.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a self-contained HTML report (with its chart) here.")
@click.option("--png", "png_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the per-country bar chart (PNG) here.")
@click.pass_context
def triage_command(ctx: click.Context, file: Path | None, claim_path: Path | None, claim_name: str | None,
                   no_keep: bool, sample: int | None, default_region: str | None, phone_column: str | None,
                   country_column: str | None, not_messenger: bool, seed: int, as_json: bool, html_out: Path | None,
                   png_out: Path | None) -> None:
    """Is a claimed leak real, recycled or fabricated? Reads FILE without loading it into the index; with --claim
    alone, judges the seller's per-country table before the dump arrives."""
    from ..analysis.claim_triage import name_for
    from ..analysis.report import triage_chart, triage_html
    from ..analysis.triage import TriageOptions, triage

    services = services_of(ctx)
    keep_as = None if claim_path is None or no_keep else (claim_name or name_for(claim_path))
    if file is None:
        if claim_path is None:
            raise click.UsageError("give a dump FILE, a --claim CLAIM.csv, or both")
        _claim_only(services, claim_path, keep_as, as_json, html_out, png_out)
        return
    with user_errors():
        options = TriageOptions(default_region=default_region, phone_column=phone_column,
                                country_column=country_column, messenger=not not_messenger, seed=seed,
                                batch_rows=services.config.batch_rows, claim_name=keep_as)
        report = triage(services, file, claim_path, sample, options)
        if html_out is not None:
            _write(html_out, triage_html(report))
        if png_out is not None:
            _write(png_out, triage_chart(report))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_triage(report)


def _claim_only(services: Services, claim_path: Path, keep_as: str | None, as_json: bool, html_out: Path | None,
                png_out: Path | None) -> None:
    from ..analysis.claim_triage import triage_claim
    from ..analysis.report import claim_chart, claim_html

    with user_errors():
        report = triage_claim(services, claim_path, keep_as)
        best = report.check.best
        chart = claim_chart(best) if best is not None and best.common and (html_out or png_out) else None
        if html_out is not None:
            _write(html_out, claim_html(report, chart))
        if png_out is not None and chart is not None:
            _write(png_out, chart)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    _print_claim(report)


def _print_claim(report: ClaimReport) -> None:
    from rich.markup import escape

    color = "red" if report.verdict.startswith("claim-matches") else \
        "yellow" if report.verdict.startswith("claim-resembles") else "green"
    console.print(f"[bold]{report.source}[/]: verdict [bold {color}]{report.verdict}[/]")
    for line in report.evidence:
        console.print(f"  - {escape(line)}")
    console.print(f"  {report.countries} countries, {report.total:,} claimed in all"
                  + (f"; kept in the catalog as {report.kept_as}" if report.kept_as else ""))
    _print_matches(report.check)
    for sig in report.signals:
        console.print(f"  {sig.name} ({sig.level}): {escape(sig.summary)}")


def _print_matches(check: ClaimCheck) -> None:
    from rich.table import Column, Table

    table = Table(Column("table", no_wrap=True), "kind", "common", "<5%", "<10%", "ratio", "spread", "rank", "level",
                  title="against known tables (ratio: median claim/table; spread: sd of log ratios; rank: Spearman)")
    for m in check.matches:
        if m.common:
            table.add_row(m.name, m.kind, str(m.common), str(m.within_5), str(m.within_10),
                          *[f"{v:.{d}f}" if v is not None else "-" for v, d in
                            ((m.median_ratio, 2), (m.log_spread, 3), (m.rank_correlation, 2))], m.level)
    console.print(table)


def _print_triage(report: TriageReport) -> None:
    from rich.table import Table

    from ..i18n import country_name

    color = {"looks-real": "green", "likely-fabricated": "red"}.get(report.verdict.split(" ")[0], "yellow")
    console.print(f"[bold]{report.source}[/]: verdict [bold {color}]{report.verdict}[/]")
    for reason in report.reasons:
        console.print(f"  - {reason}")
    what = f"sample of {report.sampled_rows:,} of {report.rows:,} rows" if report.sample else f"{report.rows:,} rows"
    console.print(f"  {what}: {report.unique_numbers:,} unique numbers (about {report.estimated_unique_numbers:,} "
                  f"in all), duplicate rate {report.duplicate_rate:.1%}, {report.valid_share:.1%} valid, "
                  f"{report.rejected_rows:,} rejected"
                  + (" (" + ", ".join(f"{k} {v:,}" for k, v in report.rejected_by_reason.items()) + ")"
                     if report.rejected_by_reason else ""))
    signals = Table("signal", "level", "finding", title="fabrication signals")
    for s in report.signals:
        style = {"strong": "bold red", "weak": "yellow"}.get(s.level, "")
        signals.add_row(s.name, f"[{style}]{s.level}[/]" if style else s.level,
                        "\n".join([s.summary, *[f"  {e}" for e in s.evidence]]))
    console.print(signals)
    if report.overlaps:
        table = Table("breach", "also there", "share of the dump", title="overlap with indexed breaches")
        for o in report.overlaps:
            table.add_row(o.breach, f"{o.found:,}", f"{o.share:.1%}")
        console.print(table)
    if report.claim:
        table = Table("country", "claimed", "in the dump", "expected", "relative", "interval", "",
                      title="against the claim")
        for c in report.claim:
            table.add_row(country_name(c.region), f"{c.claimed:,}", f"{c.observed:,}", f"{c.expected:,}",
                          f"{c.relative:.2f}" if c.relative is not None else "-",
                          f"{c.low:.2f}-{c.high:.2f}" if c.low is not None and c.high is not None else "-",
                          "[bold red]disagrees[/]" if c.flagged else "")
        console.print(table)
    if report.claim_check is not None:
        _print_matches(report.claim_check)
    table = Table("country", "region", "numbers", "valid", "possible only", "mobile", "fixed or mobile",
                  "fixed line", title="countries")
    for ct in report.countries[:30]:
        table.add_row(country_name(ct.region), ct.rollup, f"{ct.count:,}", f"{ct.valid_share:.1%}",
                      f"{ct.possible_share:.1%}", f"{ct.mobile_share:.1%}", f"{ct.fixed_or_mobile_share:.1%}",
                      f"{ct.fixed_line_share:.1%}")
    console.print(table)
    if len(report.countries) > 30:
        console.print(f"  ... {len(report.countries) - 30} more countries (see --json)")


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a self-contained HTML report (with its chart embedded) here.")
@click.option("--png", "png_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the per-country bar chart (PNG) here.")
@click.pass_context
def report(ctx: click.Context, name: str, as_json: bool, html_out: Path | None, png_out: Path | None) -> None:
    """Per-country and per-region counts of a breach, its data classes, status and a bar chart."""
    from rich.table import Table

    from ..analysis.population import population_cell, population_note
    from ..analysis.report import breach_chart, breach_html, breach_report

    services = services_of(ctx)
    with user_errors():
        result = breach_report(services.catalog, name)
        chart = breach_chart(result) if html_out is not None or png_out is not None else None
        if html_out is not None:
            _write(html_out, breach_html(result, chart))
        if png_out is not None and chart is not None:
            _write(png_out, chart)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    b = result.breach
    console.print(f"[bold]{b.title}[/] ({b.name}): {b.pwn_count:,} numbers, verification {b.status}; "
                  f"data classes: {', '.join(b.data_classes)}")
    table = Table("region", "numbers", "share", "countries", title="by region")
    for r in result.rollups:
        table.add_row(r.rollup, f"{r.numbers:,}", f"{r.share:.1%}", str(r.countries))
    console.print(table)
    table = Table("country", "region", "numbers", "share", "valid", "share of population", title="by country")
    for c in result.countries:
        table.add_row(c.name, c.rollup, f"{c.numbers:,}", f"{c.share:.2%}", f"{c.valid / max(c.numbers, 1):.1%}",
                      population_cell(c.population_share))
    console.print(table)
    console.print(population_note())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the matrix as JSON.")
@click.pass_context
def overlap(ctx: click.Context, as_json: bool) -> None:
    """The overlap matrix of all loaded breaches: share of each row's numbers that are also in each column."""
    from rich.table import Table

    from ..analysis.overlap import overlap_matrix

    services = services_of(ctx)
    with user_errors():
        matrix = overlap_matrix(services.catalog, services.hasher, services.config.segments_dir)
    if as_json:
        click.echo(json.dumps({"breaches": matrix.names, "sizes": matrix.sizes, "common": matrix.counts}, indent=2))
        return
    if not matrix.names:
        console.print("no breaches loaded yet (see: breachwatch ingest --help)")
        return
    table = Table("breach", "numbers", *matrix.names, title="share of the row's numbers also in the column")
    for i, name in enumerate(matrix.names):
        table.add_row(name, f"{matrix.sizes[i]:,}",
                      *["-" if i == j else f"{matrix.share(i, j):.1%}" for j in range(len(matrix.names))])
    console.print(table)
