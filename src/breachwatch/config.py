"""Settings, declared once in a table (name, default, environment variable, help). Only this module reads
the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One documented setting: its name, default, environment variable and help text."""

    name: str
    default: str | None
    env: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "./breachwatch-data", "BREACHWATCH_HOME",
            "Data directory: catalog (SQLite), index segments, secret key."),
    Setting("secret_key", None, "BREACHWATCH_SECRET_KEY",
            "Master secret (64 hex characters). Default: generated on first use into HOME/secret.key (0600).",
            secret=True),
    Setting("database_url", None, "BREACHWATCH_DATABASE_URL",
            "SQLAlchemy URL of the catalog. Default: sqlite:///HOME/catalog.sqlite3."),
    Setting("segments_path", None, "BREACHWATCH_SEGMENTS_DIR",
            "Directory of index segments (read-only shared storage or a per-node copy). Default: HOME/segments."),
    Setting("redis_url", None, "BREACHWATCH_REDIS_URL",
            "Redis URL for shared rate-limit and detector state across API nodes. Default: in-process."),
    Setting("dask_scheduler", None, "BREACHWATCH_DASK_SCHEDULER",
            "Address of a Dask scheduler (tcp://HOST:8786) for ingest. Default: local processes."),
    Setting("batch_rows", "262144", "BREACHWATCH_BATCH_ROWS",
            "Rows read and normalized per batch during ingest (bounds memory)."),
    Setting("key_rate", "100", "BREACHWATCH_KEY_RATE",
            "Numbers per second one API key may check over HTTP (bursts up to max(1000, rate))."),
    Setting("ip_rate", "0.5", "BREACHWATCH_IP_RATE",
            "Numbers per second one client IP may check without a key, on the web page (bursts up to 20)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Resolved settings for one process."""

    home: Path = Path("./breachwatch-data")
    secret_key: str | None = field(default=None, repr=False)
    database_url: str | None = None
    segments_path: Path | None = None
    redis_url: str | None = None
    dask_scheduler: str | None = None
    batch_rows: int = 262144
    key_rate: float = 100.0
    ip_rate: float = 0.5

    @property
    def catalog_url(self) -> str:
        """The catalog's SQLAlchemy URL: the configured one or SQLite inside HOME."""
        return self.database_url or f"sqlite:///{(self.home / 'catalog.sqlite3').resolve()}"

    @property
    def segments_dir(self) -> Path:
        """Directory holding the index segment files."""
        return self.segments_path or self.home / "segments"

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given settings replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def load_config(environ: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Read settings from the environment (or `environ`), then apply explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Config):
        setting = _BY_NAME[f.name]
        raw = env.get(setting.env, setting.default)
        if raw is None or raw == "":
            continue
        if f.name in ("home", "segments_path"):
            values[f.name] = Path(raw)
        elif f.name == "batch_rows":
            values[f.name] = int(raw)
        elif f.name in ("key_rate", "ip_rate"):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    return Config(**values).with_overrides(**overrides)
