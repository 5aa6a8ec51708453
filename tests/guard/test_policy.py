"""Guard settings: parsed from the environment, bad values refused with a clear message, wired in Services."""

from __future__ import annotations

from pathlib import Path

import pytest

from breachwatch.config import load_config
from breachwatch.errors import ConfigError
from breachwatch.guard.buckets import MemoryBackend
from breachwatch.guard.policy import Limit, Policy, policy_from_config
from breachwatch.services import Services
from tests.support.guard import REDIS_URL, redis_backend

KEY = "42" * 32


def test_settings_reach_the_policy() -> None:
    config = load_config(environ={
        "BREACHWATCH_GUARD_LIMITS": "key=500/1h+5000/10d;anon_ip=5/1m",
        "BREACHWATCH_GUARD_THRESHOLDS": "sweep_distinct=20,miss_ratio=0.95",
        "BREACHWATCH_GUARD_SENSITIVITY": "2",
        "BREACHWATCH_GUARD_ACTIONS": "rate=block,regularity=log",
        "BREACHWATCH_GUARD_BLOCK": "12h",
        "BREACHWATCH_GUARD_REDIS_FAIL": "closed",
    })
    policy = policy_from_config(config)
    assert policy.limits["key"] == (Limit(500, 3600), Limit(5000, 864000))
    assert policy.limits["anon_ip"] == (Limit(5, 60),)
    assert policy.limits["global"] == Policy().limits["global"]
    assert policy.thresholds.sweep_distinct == 40 and policy.thresholds.miss_ratio == 0.95
    assert policy.actions["rate"] == "block" and policy.actions["sweep"] == "block"
    assert policy.block_seconds == 43200 and not policy.fails_open(anonymous=False)


@pytest.mark.parametrize(("env", "message"), [
    ({"BREACHWATCH_GUARD_LIMITS": "keys=5/1h"}, "unknown scope 'keys'"),
    ({"BREACHWATCH_GUARD_LIMITS": "key=lots/1h"}, "bad limit"),
    ({"BREACHWATCH_GUARD_THRESHOLDS": "sweep=3"}, "unknown threshold 'sweep'"),
    ({"BREACHWATCH_GUARD_THRESHOLDS": "sweep_distinct=many"}, "is not a number"),
    ({"BREACHWATCH_GUARD_ACTIONS": "sweep=explode"}, "sweep=explode"),
    ({"BREACHWATCH_GUARD_BLOCK": "forever"}, "bad duration"),
    ({"BREACHWATCH_GUARD_REDIS_FAIL": "maybe"}, "auto, open or closed"),
    ({"BREACHWATCH_GUARD_SENSITIVITY": "high"}, "must be a number"),
])
def test_bad_settings_are_refused_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        policy_from_config(load_config(environ=env))


def test_services_build_the_configured_guard(tmp_path: Path) -> None:
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": KEY}, home=tmp_path / "home"))
    assert isinstance(services.guard.backend, MemoryBackend)
    assert services.guard.audit is not None and services.guard.audit.directory == tmp_path / "home" / "audit"
    who = services.client_hasher.client("key-1", "2001:db8:1:2:3::4")
    assert who.subnet == services.client_hasher.client(None, "2001:db8:1:2:ff::9").subnet  # same /56
    assert services.guard.admit(client=who, numbers=1, kind="check", now=1e9).allowed
    services.close()
    off = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": KEY, "BREACHWATCH_GUARD_AUDIT": "off"},
                               home=tmp_path / "home2"))
    assert off.guard.audit is None


def test_services_use_redis_when_configured(tmp_path: Path) -> None:
    with redis_backend():  # skips (or fails in CI) when Redis is absent
        services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": KEY, "BREACHWATCH_REDIS_URL": REDIS_URL},
                                         home=tmp_path / "home"))
        from breachwatch.guard.redis_backend import RedisBackend

        assert isinstance(services.guard.backend, RedisBackend)
        services.close()
