"""The private path's detector (guard/private_watch.py): volume per key, keys cycled from one address and
addresses of one key (rotation, forgotten after its window), and bucket downloads out of proportion to an
address's evaluations."""

from __future__ import annotations

from breachwatch.guard.clients import ClientId
from breachwatch.guard.policy import Thresholds
from breachwatch.guard.private_watch import PrivateWatch


def _client(key: str | None, ip: str = "ip-1", subnet: str = "net-1") -> ClientId:
    return ClientId(key=key, ip=ip, subnet=subnet)


def test_volume_fires_once_per_cooldown_at_the_threshold() -> None:
    watch = PrivateWatch(Thresholds(private_volume=10), cooldown=100.0)
    fired = [a for i in range(12) for a in watch.evaluations(_client("k1"), 1, 1000.0 + i)]
    volume = [a for a in fired if a.signal == "private-volume"]
    # key, address and subnet each reach 10 evaluations once; the cooldown silences the 11th and 12th
    assert sorted(a.targets[0][0] for a in volume) == ["ip", "key", "subnet"]


def test_keys_cycled_from_one_address_fire_rotation_naming_the_keys() -> None:
    watch = PrivateWatch(Thresholds(private_keys_per_address=3, private_rotation_window=60.0))
    assert not [a for k in ("k1", "k2") for a in watch.evaluations(_client(k), 1, 0.0)]
    alerts = [a for a in watch.evaluations(_client("k3"), 1, 1.0) if a.signal == "private-rotation"]
    assert alerts and {("key", "k1"), ("key", "k2"), ("key", "k3")} <= set(alerts[0].targets)


def test_rotation_forgets_partners_after_its_window() -> None:
    watch = PrivateWatch(Thresholds(private_keys_per_address=3, private_rotation_window=60.0))
    watch.evaluations(_client("k1"), 1, 0.0)
    watch.evaluations(_client("k2"), 1, 10.0)
    # k1 was last seen 70 s before: outside the window, so this is the second key in it, not the third
    assert not [a for a in watch.evaluations(_client("k3"), 1, 70.0) if a.signal == "private-rotation"]
    # k2 seen again keeps it in the window: k2, k3, k4 are three
    watch.evaluations(_client("k2"), 1, 71.0)
    assert [a for a in watch.evaluations(_client("k4"), 1, 72.0) if a.signal == "private-rotation"]


def test_one_key_from_many_addresses_fires_rotation() -> None:
    watch = PrivateWatch(Thresholds(private_addresses_per_key=4))
    fired = [a for i in range(4) for a in watch.evaluations(_client("k1", f"ip-{i}", f"net-{i}"), 1, float(i))
             if a.signal == "private-rotation"]
    assert [a.targets[0] for a in fired] == [("key", "k1")]


def test_downloads_out_of_proportion_to_evaluations_fire() -> None:
    watch = PrivateWatch(Thresholds(private_downloads=20, private_download_ratio=4.0))
    watch.evaluations(_client("k1"), 10, 0.0)  # the address evaluated 10: up to 40 downloads are in proportion
    quiet = [a for i in range(30) for a in watch.download(_client(None), 1.0 + i * 0.01)]
    assert not quiet
    loud = [a for i in range(30) for a in watch.download(_client(None), 2.0 + i * 0.01)]
    assert {a.targets[0][0] for a in loud if a.signal == "private-downloads"} == {"ip", "subnet"}
