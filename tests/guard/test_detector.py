"""Each detector signal fires on its pattern, not on the legitimate population; memory stays bounded;
alerts carry masked numbers only."""

from __future__ import annotations

import random
from dataclasses import replace

from breachwatch.guard.detector import Alert, Detector
from breachwatch.guard.policy import Policy, Thresholds
from breachwatch.guard.simulate import SimOptions, simulate
from tests.support.guard import client

T0 = 1_800_000_000.0
EG_BLOCK = 201001234000  # +20 100 123 4xxx: a 1,000-number block of Egyptian mobiles


def _signals(alerts: list[Alert]) -> set[str]:
    return {a.signal for a in alerts}


def _random_eg(rng: random.Random) -> str:
    return f"+2010{rng.randrange(10**8):08d}"


def test_sequential_sweep_fires_sweep_with_masked_evidence() -> None:
    detector = Detector()
    who = client("k", "198.51.100.1")
    numbers = [f"+{EG_BLOCK + i}" for i in range(20)]
    alerts = [a for i, n in enumerate(numbers) for a in detector.observe(who, [n], [0], T0 + i * 30)]
    sweep = [a for a in alerts if a.signal == "sweep"]
    assert sweep and sweep[0].targets[0][0] == "key"
    assert "12 distinct numbers" in sweep[0].evidence
    text = repr(alerts)
    assert all(n not in text and n[1:] not in text for n in numbers)
    assert "+20100*****" in sweep[0].samples[0]


def test_random_sampling_fires_miss_ratio_and_coverage() -> None:
    rng = random.Random(1)
    detector = Detector(replace(Thresholds(), coverage_blocks=300))
    who = client("k", "198.51.100.2")
    alerts = []
    for i in range(40):
        batch = [_random_eg(rng) for _ in range(10)]
        alerts += detector.observe(who, batch, [1 if rng.random() < 0.03 else 0 for _ in batch], T0 + i * 60)
    assert {"miss-ratio", "coverage"} <= _signals(alerts)
    assert "sweep" not in _signals(alerts)


def test_leaked_list_verification_fires_hit_ratio() -> None:
    rng = random.Random(2)
    detector = Detector()
    who = client("k", "198.51.100.3")
    alerts = []
    for i in range(10):
        batch = [_random_eg(rng) for _ in range(10)]
        alerts += detector.observe(who, batch, [1] * 9 + [0], T0 + i * 60)
    assert _signals(alerts) == {"hit-ratio"}


def test_high_rate_fires_rate_and_metronome_timing_fires_regularity() -> None:
    rng = random.Random(3)
    detector = Detector()
    fast = client("fast", "198.51.100.4")
    alerts = detector.observe(fast, [_random_eg(rng) for _ in range(3500)], None, T0)
    assert "rate" in _signals(alerts)
    bot = client("bot", "198.51.100.5")
    alerts = [a for i in range(60) for a in detector.observe(bot, [_random_eg(rng)], None, T0 + i * 10.0)]
    assert _signals(alerts) == {"regularity"}


def test_low_and_slow_campaign_over_many_keys_and_addresses_fires_campaign() -> None:
    rng = random.Random(4)
    detector = Detector()
    clients = [client(f"key{k}", f"203.0.{k % 50}.{k}") for k in range(100)]
    alerts: list[Alert] = []
    for i in range(300):
        alerts += detector.observe(rng.choice(clients), [f"+{EG_BLOCK + i}"], [0], T0 + i * 120)
    campaign = [a for a in alerts if a.signal == "campaign"]
    assert campaign, _signals(alerts)
    assert "sweep" not in _signals(alerts)  # no single key or address swept enough to show
    acted_on = {e for a in campaign for e in a.targets}
    assert len({e for e in acted_on if e[0] == "ip"}) >= 40


def test_legitimate_population_raises_nothing_and_is_never_refused() -> None:
    result = simulate(SimOptions(seed=5, people=1500, organisations=40, days=1.0, strategies=()))
    legit = result["legitimate"]
    assert legit["clients"] == 1540 and legit["numbers_checked"] > 4000
    assert legit["refused"] == 0
    assert legit["flagged_by_detector"] == 0
    assert result["alerts_by_signal"] == {}


def test_fast_attackers_are_stopped_within_five_minutes_learning_almost_nothing() -> None:
    result = simulate(SimOptions(seed=6, people=300, organisations=10, days=1.0,
                                 strategies=("sequential", "random", "verify", "burst", "low-and-slow")))
    for name, row in result["strategies"].items():
        assert row["detection_seconds"] is not None, name
        assert row["learned"] < 100, (name, row)
    assert all(result["strategies"][n]["detection_seconds"] <= 300 for n in ("sequential", "random", "verify"))


def test_a_more_tolerant_detector_lets_attackers_learn_more() -> None:
    options = SimOptions(seed=7, people=0, organisations=0, days=0.5, strategies=("random",))
    strict = simulate(options, Policy().scaled(1))["strategies"]["random"]["checked"]
    tolerant = simulate(options, Policy().scaled(8))["strategies"]["random"]["checked"]
    assert tolerant > strict


def test_state_is_bounded() -> None:
    detector = Detector(replace(Thresholds(), max_entities=100, max_blocks=500))
    rng = random.Random(8)
    for i in range(2000):
        detector.observe(client(None, f"10.{i // 250}.{i % 250}.1"), [_random_eg(rng)], [0], T0 + i)
    stats = detector.stats()
    assert stats["entities"] <= 100 and stats["blocks"] <= 500
