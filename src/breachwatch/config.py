"""Settings, declared once in a table (name, default, environment variable, help). Only this module reads
the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .datahome import DataHome
from .errors import ConfigError


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
    Setting("cache_path", None, "BREACHWATCH_CACHE_DIR",
            "Directory of compiled tables derived from public data (libphonenumber's metadata as automata), "
            "shared by every data directory and built by `make` at install. Default: "
            "$XDG_CACHE_HOME/breachwatch, else ~/.cache/breachwatch."),
    Setting("redis_url", None, "BREACHWATCH_REDIS_URL",
            "Redis URL for shared rate-limit and detector state across API nodes. Default: in-process."),
    Setting("dask_scheduler", None, "BREACHWATCH_DASK_SCHEDULER",
            "Address of a Dask scheduler (tls://HOST:8786, with Dask's TLS settings) for ingest and private "
            "builds. Default: local processes."),
    Setting("dask_allow_insecure", "false", "BREACHWATCH_DASK_ALLOW_INSECURE",
            "Accept a Dask scheduler address that is not encrypted (tcp://): tasks then carry pieces of dumps "
            "in the clear. Only for a network nobody else can read."),
    Setting("batch_rows", "262144", "BREACHWATCH_BATCH_ROWS",
            "Size of the pieces an ingest reads and normalizes at a time (rows of a serial read; pieces of a "
            "UTF-8 dump are this many x 32 bytes); bounds memory."),
    Setting("archive_max_ratio", "200", "BREACHWATCH_ARCHIVE_MAX_RATIO",
            "How many times its compressed size a member of a zip or tar archive may expand to when ingested "
            "(past 16 MiB); beyond it the ingest stops with an error (a zip bomb)."),
    Setting("body_timeout", "10", "BREACHWATCH_BODY_TIMEOUT",
            "Seconds a client has to send a whole request body (408 after); uploads of dumps to triage get 600."),
    Setting("trusted_proxies", "127.0.0.1,::1", "BREACHWATCH_TRUSTED_PROXIES",
            "Reverse proxies and load balancers (addresses or networks, comma-separated) whose X-Forwarded-For "
            "names the client that rate limits apply to; empty: the peer address is always the client."),
    Setting("metrics_access", "key", "BREACHWATCH_METRICS_ACCESS",
            "Who may read /metrics: key (an API key with the metrics or admin scope, in hibp-api-key or "
            "Authorization: Bearer) or public (only where the port is reachable from the monitoring network alone)."),
    Setting("triage_upload_max", "268435456", "BREACHWATCH_TRIAGE_UPLOAD_MAX",
            "Largest dump (bytes) an admin may upload to POST /api/v1/triage (413 past it)."),
    Setting("public_url", "http://127.0.0.1:8000", "BREACHWATCH_PUBLIC_URL",
            "Public base URL of the web app, used in links sent to people (email confirmation, unsubscribe)."),
    Setting("smtp_host", None, "BREACHWATCH_SMTP_HOST",
            "SMTP server for notification emails. Default: none (emails are written to HOME/mail/ as .eml)."),
    Setting("smtp_port", "587", "BREACHWATCH_SMTP_PORT", "SMTP port."),
    Setting("smtp_tls", "starttls", "BREACHWATCH_SMTP_TLS",
            "SMTP transport security: starttls, ssl (implicit TLS) or none (only for a local relay)."),
    Setting("smtp_username", None, "BREACHWATCH_SMTP_USERNAME", "SMTP login (none: no authentication)."),
    Setting("smtp_password", None, "BREACHWATCH_SMTP_PASSWORD", "SMTP password.", secret=True),
    Setting("mail_from", "breachwatch@localhost", "BREACHWATCH_MAIL_FROM", "Sender address of emails."),
    Setting("sms_backend", "console", "BREACHWATCH_SMS_BACKEND",
            "How verification codes are sent: console (appended to HOME/sms.jsonl, masked number) or http "
            "(JSON POST {to, text, sender} to BREACHWATCH_SMS_GATEWAY_URL)."),
    Setting("sms_gateway_url", None, "BREACHWATCH_SMS_GATEWAY_URL", "URL of the HTTP SMS gateway."),
    Setting("sms_gateway_token", None, "BREACHWATCH_SMS_GATEWAY_TOKEN",
            "Bearer token sent to the HTTP SMS gateway.", secret=True),
    Setting("sms_sender", "breachwatch", "BREACHWATCH_SMS_SENDER", "Sender id given to the SMS gateway."),
    Setting("notify_code_ttl", "600", "BREACHWATCH_NOTIFY_CODE_TTL",
            "Seconds a number-verification code stays valid."),
    Setting("notify_code_attempts", "5", "BREACHWATCH_NOTIFY_CODE_ATTEMPTS",
            "Wrong tries allowed per verification code before it is void."),
    Setting("notify_codes_per_number", "3", "BREACHWATCH_NOTIFY_CODES_PER_NUMBER",
            "Subscriptions (codes sent) allowed per number per code lifetime."),
    Setting("notify_codes_per_day", "5", "BREACHWATCH_NOTIFY_CODES_PER_DAY",
            "Codes sent to one number per day (UTC), whatever asked for them."),
    Setting("notify_verify_per_day", "10", "BREACHWATCH_NOTIFY_VERIFY_PER_DAY",
            "Attempts to verify one number per day (UTC), over all its codes and subscriptions."),
    Setting("sms_per_hour", "200", "BREACHWATCH_SMS_PER_HOUR",
            "Verification codes the whole service sends per hour; past it, subscribing answers 429."),
    Setting("notify_retry_base", "30", "BREACHWATCH_NOTIFY_RETRY_BASE",
            "Seconds before the first delivery retry; doubles after each failure."),
    Setting("notify_retry_max", "3600", "BREACHWATCH_NOTIFY_RETRY_MAX", "Longest wait between delivery retries."),
    Setting("notify_max_attempts", "12", "BREACHWATCH_NOTIFY_MAX_ATTEMPTS",
            "Delivery attempts before a notification is marked failed."),
    Setting("notify_lease", "120", "BREACHWATCH_NOTIFY_LEASE",
            "Seconds a dispatcher holds a claimed notification before another may take it over; keep it well "
            "above the SMTP and webhook timeouts, or a slow delivery may be sent again (same idempotency key)."),
    Setting("notify_poll", "5", "BREACHWATCH_NOTIFY_POLL",
            "Seconds `breachwatch notify run` sleeps when nothing is due."),
    Setting("notify_http_timeout", "10", "BREACHWATCH_NOTIFY_HTTP_TIMEOUT",
            "Deadline in seconds of one whole webhook or SMS gateway request (resolving the name, connecting, "
            "sending, the answer); at most 64 KiB of an answer is read."),
    Setting("webhook_allow", None, "BREACHWATCH_WEBHOOK_ALLOW",
            "Internal webhook destinations allowed despite the address filter (comma-separated CIDRs, addresses "
            "and host names, each with an optional :PORT, e.g. '10.1.2.0/24,hooks.internal:8443'). Default: "
            "none; loopback, private, link-local, unique-local, multicast and cloud metadata addresses are "
            "refused."),
    Setting("org_range_max", "1000000", "BREACHWATCH_ORG_RANGE_MAX",
            "Most numbers one organisation range may span (and one organisation key's request may add or remove)."),
    Setting("key_rate", "100", "BREACHWATCH_KEY_RATE",
            "Numbers (or private-check evaluations) per second one API key may check over HTTP, per worker "
            "process (bursts up to max(1000, rate)); the guard's limits apply on top."),
    Setting("ip_rate", "0.5", "BREACHWATCH_IP_RATE",
            "Numbers per second one client address may check without a key (the web page), and subscriptions "
            "it may ask for or verify, per worker process (bursts up to max(20, rate))."),
    Setting("guard_limits", None, "BREACHWATCH_GUARD_LIMITS",
            "Rate limits per scope, e.g. 'key=1000/1h+20000/10d;anon_ip=30/1h+100/1d' (see docs/guard.md)."),
    Setting("guard_thresholds", None, "BREACHWATCH_GUARD_THRESHOLDS",
            "Enumeration-detector thresholds, e.g. 'sweep_distinct=12,miss_ratio=0.9' (see docs/guard.md)."),
    Setting("guard_sensitivity", "1", "BREACHWATCH_GUARD_SENSITIVITY",
            "Multiplier of the detector's count thresholds (bigger = more tolerant, slower to fire)."),
    Setting("guard_actions", None, "BREACHWATCH_GUARD_ACTIONS",
            "Action per detector signal (log, alert, throttle, block), e.g. 'rate=block,regularity=log'."),
    Setting("guard_block", "1d", "BREACHWATCH_GUARD_BLOCK",
            "How long a detector block lasts (e.g. 12h, 1d)."),
    Setting("guard_redis_fail", "auto", "BREACHWATCH_GUARD_REDIS_FAIL",
            "When Redis is unreachable: auto (deny anonymous, admit keyed clients), open or closed."),
    Setting("guard_audit", None, "BREACHWATCH_GUARD_AUDIT",
            "Directory of the audit log (JSON lines, keyed hashes only). Default: HOME/audit; 'off' disables."),
    Setting("private_limits", None, "BREACHWATCH_PRIVATE_LIMITS",
            "Limits on private-check evaluations, apart from the checks' (same form as the guard's limits; "
            "default 'key=100/1d;ip=300/1d;subnet=1000/1d;global=1000000/1d'; see docs/private-check.md)."),
    Setting("private_key_epoch", "1", "BREACHWATCH_PRIVATE_KEY_EPOCH",
            "Epoch of the private check's OPRF key: raising it rotates the key; every breach's private "
            "entries must then be rebuilt from its dump (see docs/private-check.md)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Resolved settings for one process."""

    home: Path = Path("./breachwatch-data")
    secret_key: str | None = field(default=None, repr=False)
    database_url: str | None = None
    segments_path: Path | None = None
    cache_path: Path | None = None
    redis_url: str | None = None
    dask_scheduler: str | None = None
    dask_allow_insecure: bool = False
    batch_rows: int = 262144
    archive_max_ratio: float = 200.0
    body_timeout: float = 10.0
    trusted_proxies: str = "127.0.0.1,::1"
    metrics_access: str = "key"
    triage_upload_max: int = 268435456
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    mail_from: str = "breachwatch@localhost"
    sms_backend: str = "console"
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = field(default=None, repr=False)
    sms_sender: str = "breachwatch"
    notify_code_ttl: float = 600.0
    notify_code_attempts: int = 5
    notify_codes_per_number: int = 3
    notify_codes_per_day: int = 5
    notify_verify_per_day: int = 10
    sms_per_hour: int = 200
    notify_retry_base: float = 30.0
    notify_retry_max: float = 3600.0
    notify_max_attempts: int = 12
    notify_lease: float = 120.0
    notify_poll: float = 5.0
    notify_http_timeout: float = 10.0
    webhook_allow: str | None = None
    org_range_max: int = 1_000_000
    key_rate: float = 100.0
    ip_rate: float = 0.5
    guard_limits: str | None = None
    guard_thresholds: str | None = None
    guard_sensitivity: str | None = "1"
    guard_actions: str | None = None
    guard_block: str | None = "1d"
    guard_redis_fail: str | None = "auto"
    guard_audit: str | None = None
    private_limits: str | None = None
    private_key_epoch: int = 1

    @property
    def catalog_url(self) -> str:
        """The catalog's SQLAlchemy URL: the configured one or SQLite inside HOME."""
        return self.database_url or f"sqlite:///{DataHome(self).catalog_file.resolve()}"

    @property
    def segments_dir(self) -> Path:
        """Directory holding the index segment files."""
        return DataHome(self).segments

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given settings replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _number(setting: Setting, kind: type, raw: str) -> int | float:
    try:
        value: int | float = kind(raw)
    except ValueError:
        raise ConfigError(f"{setting.env}={raw!r} is not a number") from None
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(setting: Setting, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{setting.env}={raw!r} must be one of {', '.join(_TRUE + _FALSE)}")
    return value in _TRUE


def load_config(environ: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Read settings from the environment (or `environ`), then apply explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Config):
        setting = _BY_NAME[f.name]
        raw = env.get(setting.env, setting.default)
        if raw is None or raw == "":
            continue
        if f.name in ("home", "segments_path", "cache_path"):
            values[f.name] = Path(raw)
        elif f.name == "batch_rows":
            values[f.name] = int(raw)
        elif isinstance(f.default, bool):  # before int: a bool is an int
            values[f.name] = _flag(setting, raw)
        elif isinstance(f.default, int | float):
            values[f.name] = _number(setting, type(f.default), raw)
        elif f.name in ("key_rate", "ip_rate"):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    return Config(**values).with_overrides(**overrides)
