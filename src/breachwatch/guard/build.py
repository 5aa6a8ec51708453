"""Builds a Guard from settings: the backend (Redis when BREACHWATCH_REDIS_URL is set), policy, audit log."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..datahome import DataHome
from .audit import AuditLog
from .buckets import LimiterBackend, MemoryBackend
from .facade import Guard
from .policy import policy_from_config


def build_guard(config: Config, master: bytes) -> Guard:
    """The configured Guard (make its ClientIds with ClientHasher(master))."""
    backend: LimiterBackend
    if config.redis_url:
        from .redis_backend import RedisBackend

        backend = RedisBackend(config.redis_url)
    else:
        backend = MemoryBackend()
    audit = None
    if (config.guard_audit or "").lower() != "off":
        audit = AuditLog(Path(config.guard_audit) if config.guard_audit else DataHome(config).audit, master)
    return Guard(policy_from_config(config), backend, audit=audit)
