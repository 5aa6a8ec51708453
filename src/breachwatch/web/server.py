"""Running the app under an ASGI server: uvicorn (default) or granian (if installed; faster here, see
bench/RESULTS.md). The only modules that import either server."""

from __future__ import annotations

import os

from ..config import Config
from ..errors import ConfigError

SERVERS = ("uvicorn", "granian")
_TARGET = "breachwatch.web:app_factory"


def serve(config: Config, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Serve the app on host:port with `workers` processes until interrupted.

    Workers build their own Services from the environment, so the data directory is passed through it. The
    access log is off: paths can hold phone numbers; /metrics counts requests by route template instead."""
    os.environ["BREACHWATCH_HOME"] = str(config.home)
    if server == "granian":
        try:
            from granian import Granian
            from granian.constants import Interfaces
        except ImportError:
            raise ConfigError("granian is not installed (pip install granian), or use --server uvicorn") from None
        Granian(_TARGET, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
                websockets=False, log_access=False).serve()
        return
    import uvicorn

    uvicorn.run(_TARGET, factory=True, host=host, port=port, workers=workers, access_log=False, ws="none",
                lifespan="on", server_header=False, log_level="info")
