"""`breachwatch serve`: the HTTP API and web page."""

from __future__ import annotations

import click

from .app import console, main, services_of, user_errors


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each holds its own index mapping, cache and rate-limit buckets).")
@click.option("--server", type=click.Choice(["uvicorn", "granian"]), default="uvicorn", show_default=True,
              help="ASGI server: uvicorn answered more checks/s and kept the lower p99 here (bench/RESULTS.md).")
@click.option("--dispatcher/--no-dispatcher", default=True, show_default=True,
              help="Also deliver pending notifications (one dispatcher in a child process of its own, never in a "
                   "process that answers HTTP).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, server: str, dispatcher: bool) -> None:
    """Serve the HIBP v3-compatible API, breachwatch's /api/v1, the web page, /metrics and /healthz; deliver
    notifications unless --no-dispatcher."""
    from ..web.server import serve as run  # imported here: other commands need no web stack

    services = services_of(ctx)
    with user_errors():
        services.prepare_fast_path()  # built once here, loaded by every worker
        services.checker  # noqa: B018 - fail early (bad key, broken index) before starting workers
        services.notifier.destinations  # noqa: B018 - and on a bad BREACHWATCH_WEBHOOK_ALLOW
        console.print(f"serving on http://{host}:{port}/ with {workers} worker{'s' if workers > 1 else ''} "
                      f"on {server} (data: {services.config.home})")
        child = services.start_dispatcher_process() if dispatcher else None
        try:
            run(services.config, host, port, workers, server)
        finally:
            if child is not None:
                child.stop(services.config.notify_http_timeout + 20)
