"""Core commands: synth, ingest, check, breaches, stats, breach set, demo, doctor."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..check.checker import Checker
    from ..ingest import IngestOptions
    from ..services import Services


from ..errors import BreachwatchError
from ..models import VERIFICATION_STATUSES, CheckResult, IngestReport
from .app import console, err, main, services_of, user_errors

# ---------------------------------------------------------------------------------------------- synth

@main.command()
@click.option("--rows", type=click.IntRange(min=1), required=True, help="Number of rows to generate.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file. With --layout csv: .csv, .tsv, .jsonl or .txt (a plain list), optionally .gz; "
                   "other layouts: the suffix they read as (.txt, .zip, .tar.gz, .json, .sql, .parquet, .xlsx).")
@click.option("--layout", type=click.Choice(["csv", "facebook", "pipe", "semicolon", "zip", "tar.gz", "json-array",
                                             "sql-mysql", "sql-postgres", "parquet", "xlsx"]),
              default="csv", show_default=True,
              help="How the dump is laid out: csv (by --out's suffix); facebook (the 2021 colon text: number "
                   "first, no header, a date and time with colons in a later field); pipe or semicolon (with a "
                   "header); zip (per-country facebook files) or tar.gz (per-country JSON lines files); "
                   "json-array; sql-mysql (CREATE TABLE + INSERTs); sql-postgres (COPY FROM stdin); parquet; "
                   "xlsx. The truth has the same shape for every layout.")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the ground truth (every number, its region, status and data classes) here. Every "
                   "row's shape is then checked to read back as its number (and drawn again if not), so the dump "
                   "differs from one made without --truth.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed (same seed and options, same dump).")
@click.option("--countries", default=None,
              help="Country weights, e.g. 'EG=45,US=32,MY=12'. Default: the claimed 2022 mix over 84 countries.")
def synth(rows: int, out: Path, layout: str, truth: Path | None, seed: int, countries: str | None) -> None:
    """Generate a realistic fake dump with known ground truth (never use real leaked data)."""
    from ..ingest.synth import SynthOptions, parse_mix, synthesize

    with user_errors():
        try:
            mix = parse_mix(countries) if countries else None
            summary = synthesize(SynthOptions(rows=rows, out=out, truth=truth, seed=seed, countries=mix,
                                              layout=layout))
        except ValueError as exc:
            raise BreachwatchError(str(exc)) from None
    numbers = (f"{summary.unique_numbers:,} unique numbers" if truth else
               f"{summary.unique_numbers:,} numbers drawn (shapes unchecked: a few may read back as other numbers;"
               " --truth checks them)")
    console.print(f"wrote {summary.rows:,} rows to {out}: {numbers}, {summary.duplicate_rows:,} duplicate rows, "
                  f"{summary.junk_rows:,} junk rows, {len(summary.countries)} countries"
                  + (f"; truth in {truth}" if truth else ""))


# ---------------------------------------------------------------------------------------------- ingest

def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BreachwatchError(f"--date {value!r} is not a date in YYYY-MM-DD form") from None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--breach", "breach_name", required=True, help="Short name of the breach (letters, digits, . _ -).")
@click.option("--title", default=None, help="Human title (default: the name).")
@click.option("--date", "breach_date", default=None, help="Date of the breach, YYYY-MM-DD.")
@click.option("--description", default="", help="What the breach is and where it came from.")
@click.option("--default-region", default=None, help="ISO region for numbers in national format (e.g. BE).")
@click.option("--phone-column", default=None, help="Column with the numbers (JSON: dotted path, user.phone).")
@click.option("--country-column", default=None, help="Column with each row's ISO region, used as a hint.")
@click.option("--encoding", default=None, help="Text encoding if not UTF-8 (e.g. latin-1, utf-16).")
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "jsonl", "txt", "json", "sql", "parquet", "xlsx"]),
              default=None, help="Dump format (default: from each file's name, else from its content).")
@click.option("--table", default=None, help="SQL dumps: the table to load (one breach is one table).")
@click.option("--replace", is_flag=True, help="Replace a breach of the same name that is already loaded.")
@click.option("--scheduler", default=None,
              help="Dask scheduler to run on (tls://HOST:8786, with Dask's TLS settings; default: "
                   "BREACHWATCH_DASK_SCHEDULER, else local processes). The data directory must be on storage the "
                   "workers share; each worker needs the secret key (BREACHWATCH_SECRET_KEY or HOME/secret.key). "
                   "See docs/deploy.md.")
@click.option("--allow-insecure-scheduler", is_flag=True,
              help="Accept an unencrypted scheduler address (tcp://): pieces of the dump then cross the network in "
                   "the clear. Also BREACHWATCH_DASK_ALLOW_INSECURE=1.")
@click.option("--normalizer", type=click.Choice(["fast", "per-row"]), default="fast", show_default=True,
              help="fast: the vectorized path; per-row: libphonenumber on every row (the reference the fast path "
                   "is tested against: same result, about 10x slower).")
@click.option("--private", "private", is_flag=True,
              help="Also build the breach's private-check entries in the same read (one OPRF evaluation per "
                   "number) and publish the served bucket file: the dump is not needed afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], breach_name: str, title: str | None,
           breach_date: str | None, description: str, default_region: str | None, phone_column: str | None,
           country_column: str | None, encoding: str | None, fmt: str | None, table: str | None, replace: bool,
           scheduler: str | None, allow_insecure_scheduler: bool, normalizer: str, private: bool,
           as_json: bool) -> None:
    """Load a leaked dump as one breach, whole or not at all: one or more files, a directory, or a zip/tar(.gz)
    archive of them; delimited text (, ; tab | :), JSON lines or documents, SQL dumps, plain lists (each
    optionally .gz), Parquet or xlsx."""
    from ..ingest import IngestOptions

    services = services_of(ctx)
    with user_errors():
        options = IngestOptions(breach=breach_name, title=title, breach_date=_parse_date(breach_date),
                                description=description, default_region=default_region,
                                phone_column=phone_column, country_column=country_column,
                                encoding=encoding, format=fmt, table=table, replace=replace, scheduler=scheduler,
                                allow_insecure_scheduler=allow_insecure_scheduler, normalizer=normalizer)
        if as_json or not err.is_terminal:
            report = services.ingest(list(paths), options, private=private)
        else:
            report = _ingest_with_progress(services, list(paths), options, private)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)


def _ingest_with_progress(services: Services, file: Path | list[Path], options: IngestOptions,
                          private: bool = False) -> IngestReport:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    started = time.perf_counter()
    with Progress(TextColumn("[bold]ingest[/]"), BarColumn(), TaskProgressColumn(),
                  TextColumn("{task.fields[rows]:>12,} rows  {task.fields[rate]:>10,} rows/s"),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("ingest", total=None, rows=0, rate=0)

        def progress(rows: int, done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, rows=rows, rate=int(rows / elapsed))

        return services.ingest(file, options, progress, private=private)


def _print_report(report: IngestReport) -> None:
    from ..i18n import country_name

    console.print(f"[bold green]loaded[/] breach [bold]{report.breach}[/] from {report.source} "
              f"({report.format}, phone column: {report.phone_column or '-'}, "
              f"country column: {report.country_column or '-'})")
    console.print(f"  rows {report.rows:,}  unique numbers {report.unique_numbers:,}  "
              f"(valid {report.valid_numbers:,}, possible only {report.possible_numbers:,})  "
              f"duplicate rows {report.duplicate_rows:,}  rejected rows {report.rejected_rows:,}")
    for reason, count in sorted(report.rejected_by_reason.items(), key=lambda kv: -kv[1]):
        samples = ", ".join(f"row {s.row}: {s.masked!r}" for s in report.rejected_samples.get(reason, []))
        console.print(f"    rejected {reason}: {count:,}  (e.g. {samples})")
    console.print(f"  data classes: {', '.join(report.data_classes)}")
    if len(report.files) > 1:
        console.print(f"  files: {len(report.files)} (" + ", ".join(f["name"] for f in report.files[:5])
                      + (" ..." if len(report.files) > 5 else "") + ")")
    for note in report.notes:
        console.print(f"  note: {note}")
    top = sorted(report.countries.items(), key=lambda kv: -kv[1])[:10]
    console.print("  top countries: " + ", ".join(f"{country_name(r)} {n:,}" for r, n in top)
              + (f" ... ({len(report.countries)} in all)" if len(report.countries) > 10 else ""))
    rate = report.rows / report.seconds if report.seconds else 0
    console.print(f"  {report.seconds:.1f} s, {rate:,.0f} rows/s")


# ---------------------------------------------------------------------------------------------- check

def _print_result(result: CheckResult) -> None:
    if result.error:
        err.print(f"[bold red]{result.query}[/]: {result.error}")
        return
    if not result.found:
        console.print(f"[bold green]{result.e164}[/]: not found in any loaded breach")
        return
    console.print(f"[bold red]{result.e164}[/]: found in {len(result.hits)} breach"
              f"{'es' if len(result.hits) > 1 else ''}")
    for hit in result.hits:
        when = hit.breach.breach_date.isoformat() if hit.breach.breach_date else "date unknown"
        console.print(f"  - [bold]{hit.breach.title}[/] ({hit.breach.name}, {when}, {hit.breach.status}): "
                  f"{', '.join(hit.data_classes)}")
    console.print("  What to do now:")
    for step in result.advice:
        console.print(f"   * {step}")


@main.command()
@click.argument("numbers", nargs=-1)
@click.option("--file", "number_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Read numbers from a file, one a line ('-' for standard input).")
@click.option("--region", default=None, help="ISO region for numbers written in national format (e.g. EG).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--private", "private_mode", is_flag=True,
              help="Ask a breachwatch server (--server) without revealing the number (OPRF + hash prefix).")
@click.option("--server", default=None, help="With --private: the server's base URL.")
@click.option("--api-key", default=None, help="With --private: API key (default: $BREACHWATCH_API_KEY).")
@click.pass_context
def check(ctx: click.Context, numbers: tuple[str, ...], number_file: Path | None, region: str | None,
          as_json: bool, private_mode: bool, server: str | None, api_key: str | None) -> None:
    """Is this number in a breach? Which ones, what leaked with it, and what to do now."""
    from ..check.shapes import result_dict

    services = services_of(ctx)
    with user_errors():
        queries = list(numbers)
        if number_file is not None:
            queries += _read_number_file(number_file)
        if not queries:
            raise BreachwatchError("give numbers to check, or --file")
    if private_mode:
        from .private import run_private_check

        run_private_check(queries, server, api_key, region, as_json)
        return
    with user_errors():
        checker: Checker = services.checker
        results = checker.check_many(queries, region)
    if as_json:
        click.echo(json.dumps([result_dict(r) for r in results], indent=2, ensure_ascii=False))
    else:
        for result in results:
            _print_result(result)
    if any(r.error for r in results):
        sys.exit(1)


def _read_number_file(path: Path) -> list[str]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BreachwatchError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise BreachwatchError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------- catalog

@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def breaches(ctx: click.Context, as_json: bool) -> None:
    """List the loaded breaches."""
    from rich.table import Table

    from ..check.shapes import breach_dict

    with user_errors():
        items = services_of(ctx).catalog.list_breaches()
    if as_json:
        click.echo(json.dumps([breach_dict(b) for b in items], indent=2))
        return
    if not items:
        console.print("no breaches loaded yet (see: breachwatch ingest --help)")
        return
    table = Table("name", "title", "date", "numbers", "valid", "status", "data classes")
    for b in items:
        table.add_row(b.name, b.title, b.breach_date.isoformat() if b.breach_date else "-",
                      f"{b.pwn_count:,}", f"{b.valid_count / b.pwn_count:.1%}" if b.pwn_count else "-",
                      b.status, ", ".join(b.data_classes))
    console.print(table)


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx: click.Context, name: str, as_json: bool) -> None:
    """Per-country counts, valid share and data classes of one breach."""
    from rich.table import Table

    from ..analysis.population import population_cell, population_note, population_share
    from ..check.shapes import breach_dict
    from ..i18n import country_name

    services = services_of(ctx)
    with user_errors():
        breach = services.catalog.get_breach(name)
        countries = services.catalog.countries(breach.name)
    if as_json:
        data = breach_dict(breach)
        data["valid_share"] = breach.valid_count / breach.pwn_count if breach.pwn_count else None
        data["countries"] = [{"region": c.region, "numbers": c.numbers, "valid": c.valid} for c in countries]
        data["ingest"] = breach.ingest_report
        click.echo(json.dumps(data, indent=2))
        return
    console.print(f"[bold]{breach.title}[/] ({breach.name}): {breach.pwn_count:,} numbers, "
              f"{breach.valid_count / max(breach.pwn_count, 1):.1%} valid, status {breach.status}")
    console.print(f"data classes: {', '.join(breach.data_classes)}")
    table = Table("country", "numbers", "share", "valid", "share of population")
    for c in countries:
        table.add_row(country_name(c.region), f"{c.numbers:,}", f"{c.numbers / max(breach.pwn_count, 1):.2%}",
                      f"{c.valid / max(c.numbers, 1):.1%}", population_cell(population_share(c.region, c.numbers)))
    console.print(table)
    console.print(population_note())


@main.group()
def breach() -> None:
    """Maintain a breach's catalog entry."""


@breach.command("set")
@click.argument("name")
@click.option("--verified", "status", flag_value="verified", default=None, help="Mark as verified.")
@click.option("--unverified", "status", flag_value="unverified", help="Mark as unverified.")
@click.option("--disputed", "status", flag_value="disputed", help="Mark as disputed by the platform.")
@click.option("--fabricated", "status", flag_value="fabricated", help="Mark as fabricated.")
@click.option("--title", default=None, help="New title.")
@click.option("--description", default=None, help="New description.")
@click.option("--date", "breach_date", default=None, help="New breach date, YYYY-MM-DD.")
@click.option("--domain", default=None, help="Domain of the breached platform.")
@click.option("--logo", "logo_path", default=None, help="Logo URL or path.")
@click.option("--sensitive/--not-sensitive", default=None, help="HIBP's IsSensitive flag.")
@click.option("--retired/--not-retired", default=None, help="HIBP's IsRetired flag.")
@click.option("--spam-list/--not-spam-list", default=None, help="HIBP's IsSpamList flag.")
@click.option("--malware/--not-malware", default=None, help="HIBP's IsMalware flag.")
@click.option("--notes", "source_notes", default=None, help="Source notes.")
@click.pass_context
def breach_set(ctx: click.Context, name: str, status: str | None, title: str | None, description: str | None,
               breach_date: str | None, domain: str | None, logo_path: str | None, sensitive: bool | None,
               retired: bool | None, spam_list: bool | None, malware: bool | None,
               source_notes: str | None) -> None:
    """Change a breach's verification status, flags or descriptive fields."""
    assert status is None or status in VERIFICATION_STATUSES
    fields: dict[str, Any] = {
        "status": status, "title": title, "description": description, "domain": domain, "logo_path": logo_path,
        "is_sensitive": sensitive, "is_retired": retired, "is_spam_list": spam_list, "is_malware": malware,
        "source_notes": source_notes,
    }
    with user_errors():
        if breach_date is not None:
            fields["breach_date"] = _parse_date(breach_date)
        changes = {k: v for k, v in fields.items() if v is not None}
        if not changes:
            raise BreachwatchError("nothing to change; see breachwatch breach set --help")
        updated = services_of(ctx).catalog.update_breach(name, **changes)
    console.print(f"{updated.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))


@breach.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def breach_remove(ctx: click.Context, name: str, yes: bool) -> None:
    """Remove a breach: its catalog entry, index segment and private entries; the served private bucket file
    is published again without it."""
    with user_errors():
        services = services_of(ctx)
        services.catalog.get_breach(name)  # an unknown name is an error before anything is asked
        if not yes:
            click.confirm(f"Remove breach {name} and its index?", abort=True)
        removed = services.remove_breach(name)
    console.print(f"[bold green]removed[/] {removed.name} ({removed.pwn_count:,} numbers)")


# ---------------------------------------------------------------------------------------------- demo

@main.command()
@click.option("--rows", type=click.IntRange(min=1000), default=1_000_000, show_default=True,
              help="Rows of the generated dump.")
@click.option("--seed", type=int, default=2022, show_default=True, help="Random seed.")
@click.pass_context
def demo(ctx: click.Context, rows: int, seed: int) -> None:
    """Generate a fake dump, ingest it, print its stats and check a few numbers (what `make demo` runs)."""
    from ..datahome import DataHome
    from ..ingest import IngestOptions
    from ..ingest.synth import SynthOptions, synthesize

    services = services_of(ctx)
    demo_dir = DataHome(services.config).demo
    dump = demo_dir / "whatsapp-2022-synthetic.csv.gz"
    truth = demo_dir / "truth.json"
    with user_errors():
        console.print(f"[bold]1/3[/] generating {rows:,} rows -> {dump}")
        synthesize(SynthOptions(rows=rows, out=dump, truth=truth if rows <= 200_000 else None, seed=seed))
        console.print("[bold]2/3[/] ingesting")
        options = IngestOptions(breach="WhatsApp2022Demo", title="WhatsApp 2022 (synthetic demo)",
                                breach_date=dt.date(2022, 11, 16), replace=True,
                                description="A synthetic dump modelled on the claimed 2022 WhatsApp list.")
        report = (services.ingest(dump, options) if not err.is_terminal
                  else _ingest_with_progress(services, dump, options))
        _print_report(report)
        console.print("[bold]3/3[/] checking a few numbers")
        samples = _demo_samples(dump)
        for result in services.checker.check_many(samples):
            _print_result(result)


def _demo_samples(dump: Path) -> list[str]:
    import gzip

    with gzip.open(dump, "rt", encoding="utf-8") as f:
        next(f)
        first = [next(f).split(",", 1)[0] for _ in range(5)]
    return [first[0], first[3], "+44 7700 900123", "+1 202 555 0143"]


@main.command()
@click.option("--repair", is_flag=True, help="Remove leftovers of interrupted ingests (waits for a running ingest).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def doctor(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Check that catalog and index agree: intact segments, right key, counts, no leftovers. Exit 1 on problems."""
    from ..check.doctor import examine

    services = services_of(ctx)
    with user_errors():
        report = examine(services.catalog, services.hasher, services.home, repair=repair)
    if as_json:
        click.echo(json.dumps({"healthy": report.healthy, "breaches_checked": report.breaches_checked,
                               "numbers_checked": report.numbers_checked, "problems": report.problems,
                               "leftovers": report.leftovers, "removed": report.removed}, indent=2))
    else:
        for problem in report.problems:
            err.print(f"[bold red]problem:[/] {problem}")
        for leftover in report.leftovers:
            console.print(f"leftover (remove with --repair): {leftover}")
        for removed in report.removed:
            console.print(f"removed: {removed}")
        console.print(f"checked {report.breaches_checked} breaches, {report.numbers_checked:,} numbers: "
                      + ("healthy" if report.healthy else f"{len(report.problems)} problem(s)"))
    if not report.healthy:
        sys.exit(1)


@main.group()
def db() -> None:
    """Catalog schema migrations (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Bring the catalog's schema up to date (SQLite files are upgraded automatically when opened)."""
    from ..catalog import Catalog
    from ..catalog.migrate import current_revision, upgrade

    services = services_of(ctx)
    with user_errors():
        services.home.ensure()
        catalog = Catalog(services.config.catalog_url, migrate=False)
        try:
            upgrade(catalog.engine, revision)
            console.print(f"catalog at revision {current_revision(catalog.engine)}")
        finally:
            catalog.close()


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the catalog's schema revision and the newest one this version knows."""
    from ..catalog import Catalog
    from ..catalog.migrate import current_revision, head_revision

    services = services_of(ctx)
    with user_errors():
        services.home.ensure()
        catalog = Catalog(services.config.catalog_url, migrate=False)
        try:
            console.print(f"current {current_revision(catalog.engine) or 'none'}, newest {head_revision()}")
        finally:
            catalog.close()
