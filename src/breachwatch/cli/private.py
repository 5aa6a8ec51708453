"""Private-check commands: `breachwatch private build` (a breach's entries, re-read from its dump),
`breachwatch private publish` (the served bucket file) and the client side of `breachwatch check --private`
(called from the check command). `ingest --private` builds the entries in the ingest's own read."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..private.build import BuildReport, DumpOptions
    from ..private.client import PrivateResult
    from ..services import Services


from ..errors import BreachwatchError
from .app import console, err, main, services_of, user_errors

API_KEY_ENV = "BREACHWATCH_API_KEY"


@main.group()
def private() -> None:
    """Private check: bucket files that let clients check a number without revealing it."""


@private.command("build")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--breach", "breach_name", required=True, help="Name of the ingested breach this dump was loaded as.")
@click.option("--default-region", default=None, help="The --default-region the dump was ingested with.")
@click.option("--phone-column", default=None, help="The --phone-column the dump was ingested with.")
@click.option("--country-column", default=None, help="The --country-column the dump was ingested with.")
@click.option("--encoding", default=None, help="Text encoding if not UTF-8.")
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "jsonl", "txt"]), default=None,
              help="Dump format (default: from the file name, else from the content).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes (ignored when BREACHWATCH_DASK_SCHEDULER names a Dask cluster).")
@click.option("--chunk-rows", type=click.IntRange(min=100), default=50_000, show_default=True,
              help="Rows per chunk: the unit of work and of checkpointing (keep it the same to resume).")
@click.pass_context
def build(ctx: click.Context, file: Path, breach_name: str, default_region: str | None, phone_column: str | None,
          country_column: str | None, encoding: str | None, fmt: str | None, workers: int,
          chunk_rows: int) -> None:
    """Rebuild (or resume rebuilding) a breach's private entries by re-reading the dump it was ingested from
    (ingest --private builds them in the ingest's own read), then publish the served bucket file."""
    from ..private.build import DumpOptions

    services = services_of(ctx)
    options = DumpOptions(default_region, phone_column, country_column, encoding, fmt)
    with user_errors():
        if err.is_terminal:
            report = _build_with_progress(services, breach_name, file, options, workers, chunk_rows)
        else:
            report = _build(services, breach_name, file, options, workers, chunk_rows, None)
    resumed = f" ({report.chunks_resumed} of {report.chunks} chunks resumed)" if report.chunks_resumed else ""
    console.print(f"[bold green]built[/] private buckets of [bold]{report.breach}[/]: "
                  f"{report.numbers:,} numbers{resumed} -> {report.path}")


@private.command("publish")
@click.pass_context
def publish(ctx: click.Context) -> None:
    """Write the served bucket file again from the breaches' private entries (after a breach was removed or
    replaced without --private; ingest --private and private build publish by themselves)."""
    from ..private.build import publish_private

    services = services_of(ctx)
    with user_errors():
        header, left_out = publish_private(services.config, services.catalog, services.master_key)
    size = header.per_bucket * 10
    console.print(f"[bold green]published[/] {len(header.breaches)} breaches, {header.per_bucket:,} entries "
                  f"({size:,} bytes) a bucket, generation {header.generation.hex()}")
    if left_out:
        console.print(f"[yellow]left out[/] (built for another ingest, key epoch or layout; rebuild them): "
                      f"{', '.join(left_out)}")


def _build(services: Services, breach: str, file: Path, options: DumpOptions, workers: int, chunk_rows: int,
           progress: Any) -> BuildReport:
    from ..private.build import build_private

    return build_private(services.config, services.catalog, services.hasher, services.master_key, breach, file,
                         options, workers=workers, chunk_rows=chunk_rows, progress=progress)


def _build_with_progress(services: Services, breach: str, file: Path, options: DumpOptions, workers: int,
                         chunk_rows: int) -> BuildReport:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.fields[phase]:<8}[/]"), BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task("private", total=None, phase="evaluate")

        def progress(phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, phase=phase)

        report = _build(services, breach, file, options, workers, chunk_rows, progress)
    err.print(f"  {time.perf_counter() - started:.1f} s")
    return report


def run_private_check(queries: list[str], server: str | None, api_key: str | None, region: str | None,
                      as_json: bool) -> None:
    """`check --private`: check each number against a server without revealing it."""
    from ..private.client import PrivateClient

    with user_errors():
        if not server:
            raise BreachwatchError("--private needs --server URL")
        key = api_key or _env_key()
        if not key:
            raise BreachwatchError(f"--private needs an API key: --api-key or ${API_KEY_ENV}")
        with PrivateClient(server, key) as client:
            results = client.check_many(queries, region)
    if as_json:
        click.echo(json.dumps([_result_dict(r) for r in results], indent=2))
        return
    for result in results:
        _print_result(result)


def _env_key() -> str | None:
    import os

    return os.environ.get(API_KEY_ENV) or None


def _result_dict(result: PrivateResult) -> dict[str, Any]:
    return {"e164": result.e164, "found": result.found,
            "breaches": [{"name": h.breach, "data_classes": h.data_classes} for h in result.hits],
            "breaches_checked": result.breaches_checked}


def _print_result(result: PrivateResult) -> None:
    if not result.found:
        console.print(f"[bold green]{result.e164}[/]: not found in the {len(result.breaches_checked)} "
                      "breaches checked privately")
        return
    console.print(f"[bold red]{result.e164}[/]: found in {len(result.hits)} breach"
                  f"{'es' if len(result.hits) > 1 else ''} (checked privately)")
    for hit in result.hits:
        console.print(f"  - [bold]{hit.breach}[/]: {', '.join(hit.data_classes)}")
    sys.stdout.flush()
