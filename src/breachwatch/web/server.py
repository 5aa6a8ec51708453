"""Running the app under an ASGI server: uvicorn (the default, with one socket write per response: on 2 cores it
answered 8.9k checks/s at saturation with a p99 of 6 ms, granian 7.8k with 13 ms) or granian; see
bench/RESULTS.md. The only module that imports either server.

Behind reverse proxies, the client address the guard limits by is the one the trusted proxies name in
X-Forwarded-For: the app works it out itself (web/proxy.py, the trusted_proxies setting) under either server,
so both servers' own proxy-header handling is off."""

from __future__ import annotations

import os
from typing import Any

from ..config import Config
from ..errors import ConfigError

SERVERS = ("uvicorn", "granian")
_TARGET = "breachwatch.web:app_factory"
_KILL_SECONDS = 10


def serve(config: Config, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Serve the app on host:port with `workers` processes until interrupted.

    Workers build their own Services from the environment, so the data directory is passed through it. The
    access log is off: paths can hold phone numbers; /metrics counts requests by route template instead."""
    os.environ["BREACHWATCH_HOME"] = str(config.home)
    if server == "granian":
        try:
            from granian import Granian
            from granian.constants import Interfaces, RuntimeModes
        except ImportError:
            raise ConfigError("granian is not installed (pip install granian), or use --server uvicorn") from None
        # A single-threaded I/O runtime per worker: at a fixed 10,000 checks/s the default multi-threaded one
        # hands each request between more threads and its p99 was 15-60 ms (bench/RESULTS.md).
        # A worker that has not stopped 10 s after being asked is killed: without a bound, one stuck worker kept
        # `serve` from exiting after Ctrl-C (seen once on a loaded machine).
        Granian(_TARGET, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
                runtime_mode=RuntimeModes.st, websockets=False, log_access=False,
                workers_kill_timeout=_KILL_SECONDS).serve()
        return
    import uvicorn

    http: Any
    try:
        from .coalesce import CoalescingHttpToolsProtocol  # one write per response (see web/coalesce.py)
        http = CoalescingHttpToolsProtocol
    except ImportError:  # uvicorn without httptools (not the project's own install): its own protocol
        http = "auto"
    uvicorn.run(_TARGET, factory=True, host=host, port=port, workers=workers, access_log=False, ws="none",
                lifespan="on", server_header=False, log_level="info", proxy_headers=False, http=http)
