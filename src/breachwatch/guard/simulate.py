"""`breachwatch guard simulate`: replay a legitimate population and attacker strategies through the real
limiter and detector on a simulated clock, against a synthetic index, and report per strategy what the
attacker learned, when it was detected, and which legitimate clients were wrongly refused."""

from __future__ import annotations

import hashlib
import heapq
import random
import time
from dataclasses import dataclass, replace
from typing import Any

from .buckets import MemoryBackend
from .clients import ClientHasher, ClientId
from .detector import Alert
from .facade import Guard
from .policy import Policy
from .sim_actors import (
    DAY,
    HOUR,
    Actor,
    Distributed,
    Organisation,
    Person,
    PrivateScraper,
    Sweeper,
    block_start,
    lognormal_size,
)
from .sim_world import Identities, Numbers, SyntheticIndex
from .strategies import STRATEGIES

#: Strategies that must be detected within 5 simulated minutes (the others within a day).
FAST: frozenset[str] = frozenset({"sequential", "random", "verify", "burst"})
ATTACK_START = 6 * HOUR


@dataclass(frozen=True)
class SimOptions:
    """The simulated world."""

    seed: int = 0
    people: int = 5000
    organisations: int = 100
    days: float = 2.0
    density: float = 0.05        # share of random valid numbers that are leaked
    personal_leaked: float = 0.35  # share of people's own (in-use) numbers that are leaked
    staff_leaked: float = 0.3
    strategies: tuple[str, ...] = STRATEGIES


class _QuietSink:
    def emit(self, alert: Alert) -> None:
        """Alerts are collected by the simulator, not logged."""


class Sim:
    """The event loop: actors, the real Guard, the synthetic index, the simulated clock."""

    def __init__(self, options: SimOptions, policy: Policy) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.index = SyntheticIndex(options.seed, options.density)
        self.numbers = Numbers(self.rng, self.index)
        master = hashlib.sha256(f"sim-master/{options.seed}".encode()).digest()
        self.ids = Identities(self.rng, ClientHasher(master))
        self.guard = Guard(policy, MemoryBackend(), sink=_QuietSink())
        self.actors: list[Actor] = []
        self._owners: dict[tuple[str, str], list[Actor]] = {}
        self.alerts: list[Alert] = []

    def add(self, actor: Actor) -> None:
        """Register an actor and the entities it speaks through."""
        self.actors.append(actor)
        for client in actor.clients:
            for entity in client.entities():
                owners = self._owners.setdefault(entity, [])
                if actor not in owners:
                    owners.append(actor)

    def request(self, client: ClientId, numbers: list[str], now: float,
                private: bool = False) -> tuple[bool, int, list[int]]:
        """One API request through the real guard: (answered, retry_after, breach counts). A private one is
        charged to the evaluation budget and shows the guard only counts: evaluations, then one bucket
        download per number from the same address without a key."""
        decision = self.guard.admit(client=client, numbers=len(numbers), kind="oprf" if private else "check",
                                    now=now)
        if not decision.allowed:
            return False, decision.retry_after, []
        found = [1 if self.index.leaked(n) else 0 for n in numbers]
        if private:
            alerts = self.guard.observe_private(client=client, count=len(numbers), now=now)
            downloader = ClientId(None, client.ip, client.subnet)
            for _ in numbers:
                alerts += self.guard.observe_download(client=downloader, now=now)
        else:
            alerts = self.guard.observe(client=client, e164_numbers=numbers, found=found, now=now)
        for alert in alerts:
            self.alerts.append(alert)
            for entity in alert.targets:
                for actor in self._owners.get(entity, ()):
                    if actor.detected is None:
                        actor.detected = now
        if self.guard.withhold(client=client, alerts=alerts):
            return False, self.guard.policy.block_seconds.__ceil__(), []
        return True, 0, found

    def run(self) -> None:
        """Play every actor until the horizon."""
        horizon = self.options.days * DAY
        queue = [(a.start, i) for i, a in enumerate(self.actors)]
        heapq.heapify(queue)
        while queue:
            now, i = heapq.heappop(queue)
            if now > horizon:
                break
            after = self.actors[i].act(self, now)
            if after is not None:
                heapq.heappush(queue, (max(after, now + 1e-3), i))


def _population(sim: Sim) -> None:
    o, rng, ids, numbers = sim.options, sim.rng, sim.ids, sim.numbers
    horizon = o.days * DAY
    carrier_nat = [ids.ip() for _ in range(max(1, o.people // 100))]  # shared addresses (CGNAT)
    for _ in range(o.people):
        ip = rng.choice(carrier_nat) if rng.random() < 0.15 else ids.ip()
        region = numbers.country()
        todo = [numbers.draw_with(o.personal_leaked, region)]
        family = rng.choices((0, 1, 2, 3), (40, 25, 20, 15))[0]
        todo += [numbers.draw_with(o.personal_leaked, region) for _ in range(family)]
        if rng.random() < 0.2:
            todo.append(todo[0])  # checks their own number again
        sim.add(Person("person", True, [ids.client(None, ip)], rng.uniform(0, horizon), todo=todo))
    for _ in range(o.organisations):
        region = numbers.country()
        size = lognormal_size(rng, 80, 1.0, 5, 800)
        staff = [numbers.draw_with(o.staff_leaked, region) for _ in range(size)]
        sim.add(Organisation("organisation", True, [ids.client(ids.key(), ids.ip())], rng.uniform(0, horizon),
                             staff=staff, batch=rng.choice((50, 100, 250, 500)), passes=rng.choice((1, 2))))


def _attacker(sim: Sim, strategy: str) -> Actor:
    rng, ids, numbers = sim.rng, sim.ids, sim.numbers
    start = ATTACK_START + rng.uniform(0, 60)
    if strategy == "sequential":
        return Sweeper(strategy, False, [ids.client(ids.key(), ids.ip())], start, batch=100, pause=1.0,
                       cursor=block_start(numbers.draw("EG")))
    if strategy == "random":  # Hagen et al.: random sampling of a country's valid mobile ranges
        return Sweeper(strategy, False, [ids.client(ids.key(), ids.ip())], start, batch=100, pause=1.0,
                       source="US")
    if strategy == "verify":  # a leaked list checked against the service: mostly hits
        leaked = [numbers.draw_with(0.95) for _ in range(2000)]
        return Sweeper(strategy, False, [ids.client(ids.key(), ids.ip())], start, batch=100, pause=2.0,
                       source="list", queue=leaked)
    if strategy == "burst":
        return Sweeper(strategy, False, [ids.client(ids.key(), ids.ip())], start, batch=1000, pause=0.5,
                       source="IT")
    if strategy == "low-and-slow":  # 100 keys over 50 addresses jointly sweeping one range
        addresses = [ids.ip() for _ in range(50)]
        clients = [ids.client(ids.key(), addresses[k % 50]) for k in range(100)]
        first = block_start(numbers.draw("GB"))
        return Distributed(strategy, False, clients, start, numbers=[f"+{first + i}" for i in range(100_000)],
                           per_request=1, mean_gap=60.0)
    if strategy == "private":  # the private check: 30 keys over 6 addresses, batches of 64 evaluations
        addresses = [ids.ip() for _ in range(6)]
        clients = [ids.client(ids.key(), addresses[k % 6]) for k in range(30)]
        return PrivateScraper(strategy, False, clients, start, batch=64, mean_gap=30.0, source="US")
    if strategy == "proxies":  # anonymous random sampling through 300 residential addresses
        clients = [ids.client(None, ids.ip()) for _ in range(300)]
        return Distributed(strategy, False, clients, start, per_request=10, mean_gap=20.0, source="MY")
    raise ValueError(f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")


def simulate(options: SimOptions, policy: Policy | None = None) -> dict[str, Any]:
    """Run one simulation; return the per-strategy and legitimate-population results."""
    started = time.perf_counter()
    sim = Sim(options, policy or Policy())
    _population(sim)
    attackers = [_attacker(sim, s) for s in options.strategies]
    for attacker in attackers:
        sim.add(attacker)
    sim.run()
    legit = [a for a in sim.actors if a.legit]
    refused = [a for a in legit if a.denied]
    flagged = [a for a in legit if a.detected is not None]
    strategies = {}
    for a in attackers:
        detection = None if a.detected is None else round(a.detected - a.start, 1)
        limit = 300.0 if a.name in FAST else DAY
        strategies[a.name] = {
            "identities": len(a.clients), "checked": a.checked, "learned": a.learned,
            "learned_at_detection": a.learned_at_detection, "detection_seconds": detection,
            "first_refused_seconds": None if a.first_denied is None else round(a.first_denied - a.start, 1),
            "target_detection_seconds": limit,
            "met": a.learned < 100 and detection is not None and detection <= limit,
        }
    signals: dict[str, int] = {}
    for alert in sim.alerts:
        signals[alert.signal] = signals.get(alert.signal, 0) + 1
    return {
        "seed": options.seed, "days": options.days, "index_density": options.density,
        "strategies": strategies,
        "legitimate": {
            "clients": len(legit), "people": options.people, "organisations": options.organisations,
            "numbers_checked": sum(a.checked for a in legit),
            "refused": len(refused), "refused_share": round(len(refused) / max(1, len(legit)), 5),
            "flagged_by_detector": len(flagged),
            "refused_by_kind": {k: sum(1 for a in refused if a.name == k) for k in ("person", "organisation")},
        },
        "alerts_by_signal": dict(sorted(signals.items())),
        "wall_seconds": round(time.perf_counter() - started, 2),
    }


def sweep(options: SimOptions, sensitivities: tuple[float, ...], policy: Policy | None = None) -> list[dict[str, Any]]:
    """The trade-off curve: one simulation per sensitivity (multiplier of the detector's count thresholds)."""
    base = policy or Policy()
    rows = []
    for scale in sensitivities:
        result = simulate(replace(options), base.scaled(scale))
        strategies = result["strategies"]
        detections = [s["detection_seconds"] for s in strategies.values()]
        rows.append({
            "sensitivity": scale,
            "max_learned": max((s["learned"] for s in strategies.values()), default=0),
            "learned": {name: s["learned"] for name, s in strategies.items()},
            "detected": sum(1 for d in detections if d is not None),
            "strategies": len(strategies),
            "worst_detection_seconds": max((d for d in detections if d is not None), default=None),
            "legit_refused_share": result["legitimate"]["refused_share"],
            "legit_flagged": result["legitimate"]["flagged_by_detector"],
        })
    return rows
