"""Running the app under uvicorn (the only module that imports it)."""

from __future__ import annotations

import os

import uvicorn

from ..config import Config


def serve(config: Config, host: str, port: int, workers: int) -> None:
    """Serve the app on host:port with `workers` processes until interrupted.

    Workers build their own Services from the environment, so the data directory is passed through it. The
    access log is off: paths can hold phone numbers; /metrics counts requests by route template instead."""
    os.environ["BREACHWATCH_HOME"] = str(config.home)
    uvicorn.run("breachwatch.web:app_factory", factory=True, host=host, port=port, workers=workers,
                access_log=False, ws="none", lifespan="on", server_header=False, log_level="info")
