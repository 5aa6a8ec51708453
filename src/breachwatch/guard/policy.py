"""What the guard enforces: rate limits per scope, detector thresholds, actions per signal, failure modes.
Defaults live here; the compact text forms read from settings are parsed here too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

from ..config import Config
from ..errors import ConfigError

#: Limit scopes, in the order their buckets are checked.
SCOPES: tuple[str, ...] = ("key", "ip", "subnet", "anon_ip", "anon_subnet", "global")
#: What a client can ask for; each costs one unit per number (a batch of 1,000 costs 1,000).
KINDS: tuple[str, ...] = ("check", "private-check", "oprf")
SIGNALS: tuple[str, ...] = ("sweep", "coverage", "miss-ratio", "hit-ratio", "rate", "regularity", "campaign",
                             "private-volume", "private-rotation", "private-downloads")
ACTIONS: tuple[str, ...] = ("log", "alert", "throttle", "block")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Limit:
    """A token bucket: holds at most `capacity` units and refills `capacity` every `period` seconds."""

    capacity: int
    period: float

    @cached_property
    def rate(self) -> float:
        """Refill rate in units per second."""
        return self.capacity / self.period


DEFAULT_LIMITS: dict[str, tuple[Limit, ...]] = {
    # Keyed clients: one batch of 1,000 at once, 1,000 more per hour, 20,000 per 10 days (incremental
    # contact discovery's budget); the long-window cap is a second, slow bucket.
    "key": (Limit(1000, 3600), Limit(20000, 10 * 86400)),
    "ip": (Limit(2000, 3600), Limit(40000, 10 * 86400)),
    "subnet": (Limit(5000, 3600), Limit(100000, 10 * 86400)),
    # Anonymous clients: enough for a household behind one address, nothing more.
    "anon_ip": (Limit(30, 3600), Limit(100, 86400)),
    "anon_subnet": (Limit(300, 3600), Limit(1000, 86400)),
    "global": (Limit(600_000, 60),),  # 10,000 checks/s: the design capacity of one small deployment
}
#: The private check's evaluations have a budget of their own, far below the checks': a person checks a few
#: numbers (an organisation monitors its ranges instead), and each evaluation is a full membership test.
DEFAULT_PRIVATE_LIMITS: dict[str, tuple[Limit, ...]] = {
    "key": (Limit(100, 86400),),
    "ip": (Limit(300, 86400),),
    "subnet": (Limit(1000, 86400),),
    "anon_ip": (Limit(30, 86400),),  # the HTTP route needs a key; these bound any other caller
    "anon_subnet": (Limit(300, 86400),),
    "global": (Limit(1_000_000, 86400),),
}


@dataclass(frozen=True)
class Thresholds:
    """Detector thresholds (counts are multiplied by the sensitivity scale, see Policy.scaled)."""

    sweep_distinct: int = 12        # distinct numbers of one client in one 1,000-number block ...
    sweep_window: float = 86400.0   # ... within this many seconds
    coverage_blocks: int = 1500     # distinct 10,000-number blocks of one country touched by one client
    coverage_window: float = 10 * 86400.0
    ratio_min_checks: int = 60      # checks before the hit/miss ratio of a keyed client is judged
    anon_ratio_min_checks: int = 20  # the same for anonymous clients (their own limits are tight anyway)
    miss_ratio: float = 0.9         # fire when more than this share of a client's checks are misses
    hit_ratio: float = 0.85         # fire when more than this share are hits (verifying a leaked list)
    ratio_window: float = 86400.0
    rate_per_minute: float = 600.0  # numbers per minute, averaged over rate_window
    rate_window: float = 300.0
    regular_min_gaps: int = 40      # requests before timing regularity is judged
    regular_cv: float = 0.08        # fire when the coefficient of variation of gaps is below this
    campaign_distinct: int = 60     # distinct numbers in one 1,000-block from all clients together ...
    campaign_clients: int = 4       # ... coming from at least this many distinct clients
    campaign_window: float = 7 * 86400.0
    campaign_touches: int = 2       # numbers a client may check in hot blocks before it is acted on
    max_entities: int = 200_000     # bounded memory: entities (keys, IPs, subnets) tracked at once
    max_blocks: int = 500_000       # bounded memory: 1,000-blocks tracked globally
    private_volume: int = 60        # private-check evaluations of one key, address or subnet ...
    private_volume_window: float = 86400.0  # ... within about this many seconds
    private_keys_per_address: int = 3  # distinct keys evaluating from one address or subnet ...
    private_addresses_per_key: int = 6  # ... or distinct addresses one key evaluates from ...
    private_rotation_window: float = 86400.0  # ... within this many seconds
    private_downloads: int = 200    # bucket downloads of one address before their ratio is judged ...
    private_download_ratio: float = 4.0  # ... fire above this many downloads per evaluation
    private_download_window: float = 3600.0


DEFAULT_ACTIONS: dict[str, str] = {
    "sweep": "block", "coverage": "block", "miss-ratio": "block", "hit-ratio": "block",
    "rate": "throttle", "regularity": "alert", "campaign": "block",
    "private-volume": "alert", "private-rotation": "block", "private-downloads": "throttle",
}
_COUNT_FIELDS = ("sweep_distinct", "coverage_blocks", "ratio_min_checks", "anon_ratio_min_checks", "regular_min_gaps",
                 "campaign_distinct", "campaign_touches", "private_volume", "private_keys_per_address",
                 "private_addresses_per_key", "private_downloads")


@dataclass(frozen=True)
class Policy:
    """Everything configurable about the guard."""

    limits: dict[str, tuple[Limit, ...]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    private_limits: dict[str, tuple[Limit, ...]] = field(default_factory=lambda: dict(DEFAULT_PRIVATE_LIMITS))
    thresholds: Thresholds = field(default_factory=Thresholds)
    actions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    block_seconds: float = 86400.0
    throttle_seconds: float = 3600.0
    throttle_factor: int = 10       # a throttled client pays this many units per number
    alert_cooldown: float = 3600.0  # one alert per entity and signal per cooldown
    redis_fail: str = "auto"        # auto: closed for anonymous, open for keyed; or open / closed

    def scaled(self, sensitivity: float) -> Policy:
        """A copy whose count thresholds are multiplied by `sensitivity` (bigger = more tolerant)."""
        changes = {name: max(1, round(getattr(self.thresholds, name) * sensitivity)) for name in _COUNT_FIELDS}
        return replace(self, thresholds=replace(self.thresholds, **changes))

    def fails_open(self, anonymous: bool) -> bool:
        """Whether a request is admitted when the shared backend is unreachable."""
        if self.redis_fail == "auto":
            return not anonymous
        return self.redis_fail == "open"


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '1h', '10d' -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ConfigError(f"bad duration {text!r} (use e.g. 30s, 15m, 1h, 10d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_limits(text: str, defaults: dict[str, tuple[Limit, ...]] | None = None,
                 setting: str = "BREACHWATCH_GUARD_LIMITS") -> dict[str, tuple[Limit, ...]]:
    """'key=1000/1h+20000/10d;anon_ip=30/1h' -> limits (scopes not named keep their `defaults`)."""
    limits = dict(DEFAULT_LIMITS if defaults is None else defaults)
    for part in filter(None, (p.strip() for p in text.split(";"))):
        scope, _, spec = part.partition("=")
        scope = scope.strip()
        if scope not in SCOPES:
            raise ConfigError(f"{setting}: unknown scope {scope!r} (one of {', '.join(SCOPES)})")
        parsed = []
        for bucket in spec.split("+"):
            cap, _, period = bucket.partition("/")
            if not cap.strip().isdigit() or not period:
                raise ConfigError(f"{setting}: bad limit {bucket!r} for {scope} (use e.g. 1000/1h)")
            parsed.append(Limit(int(cap), parse_duration(period)))
        limits[scope] = tuple(parsed)
    return limits


def parse_pairs(text: str, setting: str) -> dict[str, str]:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}."""
    pairs = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"{setting}: expected name=value, got {part!r}")
        pairs[name.strip()] = value.strip()
    return pairs


def parse_thresholds(text: str) -> Thresholds:
    """'sweep_distinct=20,miss_ratio=0.95' -> Thresholds (the rest default)."""
    known = {f.name: f for f in fields(Thresholds)}
    changes: dict[str, Any] = {}
    for name, value in parse_pairs(text, "BREACHWATCH_GUARD_THRESHOLDS").items():
        if name not in known:
            raise ConfigError(f"BREACHWATCH_GUARD_THRESHOLDS: unknown threshold {name!r}")
        try:
            changes[name] = int(value) if isinstance(getattr(Thresholds(), name), int) else float(value)
        except ValueError:
            raise ConfigError(f"BREACHWATCH_GUARD_THRESHOLDS: {name}={value!r} is not a number") from None
    return replace(Thresholds(), **changes)


def parse_actions(text: str) -> dict[str, str]:
    """'sweep=alert,rate=block' -> actions per signal (the rest default)."""
    actions = dict(DEFAULT_ACTIONS)
    for signal, action in parse_pairs(text, "BREACHWATCH_GUARD_ACTIONS").items():
        if signal not in SIGNALS or action not in ACTIONS:
            raise ConfigError(f"BREACHWATCH_GUARD_ACTIONS: {signal}={action} (signals: {', '.join(SIGNALS)}; "
                              f"actions: {', '.join(ACTIONS)})")
        actions[signal] = action
    return actions


def policy_from_config(config: Config) -> Policy:
    """The Policy the settings describe."""
    policy = Policy()
    if config.guard_limits:
        policy = replace(policy, limits=parse_limits(config.guard_limits))
    if config.private_limits:
        policy = replace(policy, private_limits=parse_limits(config.private_limits, DEFAULT_PRIVATE_LIMITS,
                                                             "BREACHWATCH_PRIVATE_LIMITS"))
    if config.guard_thresholds:
        policy = replace(policy, thresholds=parse_thresholds(config.guard_thresholds))
    if config.guard_actions:
        policy = replace(policy, actions=parse_actions(config.guard_actions))
    if config.guard_block:
        policy = replace(policy, block_seconds=parse_duration(config.guard_block))
    if config.guard_redis_fail:
        if config.guard_redis_fail not in ("auto", "open", "closed"):
            raise ConfigError("BREACHWATCH_GUARD_REDIS_FAIL must be auto, open or closed")
        policy = replace(policy, redis_fail=config.guard_redis_fail)
    if config.guard_sensitivity:
        try:
            policy = policy.scaled(float(config.guard_sensitivity))
        except ValueError:
            raise ConfigError("BREACHWATCH_GUARD_SENSITIVITY must be a number (1 = defaults)") from None
    return policy
