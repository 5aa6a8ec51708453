"""Simulated clients: a legitimate population (people, organisations) and attacker strategies. Each actor
issues requests through the simulation's `Gateway` and says when it acts next."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Protocol

from .clients import ClientId
from .sim_world import Numbers

HOUR = 3600.0
DAY = 86400.0


class Gateway(Protocol):
    """What an actor needs of the simulation: its random source, numbers to ask about, and one API request
    through the guard."""

    rng: random.Random
    numbers: Numbers

    def request(self, client: ClientId, numbers: list[str], now: float,
                private: bool = False) -> tuple[bool, int, list[int]]:
        """(answered, retry_after, breach count per number) of one request at `now` (`private`: through the
        private check, evaluate then one bucket download per number, where the server sees no number)."""
        ...


@dataclass
class Actor:
    """One simulated party; `clients` are the ClientIds it uses (several for distributed attackers)."""

    name: str
    legit: bool
    clients: list[ClientId]
    start: float
    denied: int = 0
    first_denied: float | None = None
    detected: float | None = None
    checked: int = 0
    learned: int = 0
    learned_at_detection: int | None = None
    done: bool = False

    def act(self, sim: Gateway, now: float) -> float | None:
        """Do the next thing; return when to act again (None when finished)."""
        raise NotImplementedError

    def ask(self, sim: Gateway, client: ClientId, numbers: list[str], now: float,
            private: bool = False) -> tuple[bool, int]:
        """Send one request; count what was learned; return (answered, retry_after)."""
        allowed, retry_after, found = sim.request(client, numbers, now, private)
        if self.detected is not None and self.learned_at_detection is None:
            self.learned_at_detection = self.learned + sum(1 for f in found if f)
        if not allowed:
            self.denied += 1
            if self.first_denied is None:
                self.first_denied = now
            return False, retry_after
        self.checked += len(numbers)
        self.learned += sum(1 for f in found if f)
        return True, 0


@dataclass
class Person(Actor):
    """Checks their own number, then a few family numbers, sometimes again (a retry); anonymous."""

    todo: list[str] = field(default_factory=list)
    tries: int = 0

    def act(self, sim: Gateway, now: float) -> float | None:
        """See Actor.act."""
        if not self.todo:
            return None
        answered, retry_after = self.ask(sim, self.clients[0], [self.todo[0]], now)
        if not answered:
            self.tries += 1
            return now + retry_after if self.tries <= 3 else None
        self.todo.pop(0)
        self.tries = 0
        return now + sim.rng.uniform(5, 120) if self.todo else None


@dataclass
class Organisation(Actor):
    """Checks its staff list in batches with a key, re-checks it later, sometimes re-sends a batch."""

    staff: list[str] = field(default_factory=list)
    batch: int = 100
    passes: int = 1
    position: int = 0

    def act(self, sim: Gateway, now: float) -> float | None:
        """See Actor.act."""
        rng = sim.rng
        chunk = self.staff[self.position:self.position + self.batch]
        answered, retry_after = self.ask(sim, self.clients[0], chunk, now)
        if not answered:
            return now + retry_after
        if rng.random() < 0.1:
            return now + 5  # a client-side timeout: the same batch again
        self.position += self.batch
        if self.position < len(self.staff):
            return now + rng.uniform(2, 30)
        self.passes -= 1
        self.position = 0
        return now + rng.uniform(6 * HOUR, 30 * HOUR) if self.passes > 0 else None


@dataclass
class Sweeper(Actor):
    """One key and address; sends batches from a number generator as fast as answers allow."""

    batch: int = 100
    pause: float = 1.0
    queue: list[str] = field(default_factory=list)
    source: str = "sequential"
    cursor: int = 0
    pending: list[str] = field(default_factory=list)

    def next_numbers(self, sim: Gateway) -> list[str]:
        """The next batch of numbers to try."""
        if self.source == "sequential":
            out = [f"+{self.cursor + i}" for i in range(self.batch)]
            self.cursor += self.batch
            return out
        if self.source == "list":
            out, self.queue = self.queue[:self.batch], self.queue[self.batch:]
            return out
        return [sim.numbers.draw(self.source) for _ in range(self.batch)]

    def act(self, sim: Gateway, now: float) -> float | None:
        """See Actor.act."""
        if not self.pending:
            self.pending = self.next_numbers(sim)
            if not self.pending:
                return None
        answered, retry_after = self.ask(sim, self.clients[0], self.pending, now)
        if not answered:
            return now + retry_after
        self.pending = []
        return now + self.pause


@dataclass
class Distributed(Actor):
    """Many keys or addresses jointly working through one list, slowly, each identity resting when refused."""

    numbers: list[str] = field(default_factory=list)
    per_request: int = 1
    mean_gap: float = 60.0
    resting: dict[int, float] = field(default_factory=dict)
    source: str = ""

    def act(self, sim: Gateway, now: float) -> float | None:
        """See Actor.act."""
        rng = sim.rng
        ready = [i for i in range(len(self.clients)) if self.resting.get(i, 0.0) <= now]
        if not ready:
            return min(self.resting.values())
        if not self.numbers and self.source:
            self.numbers = [sim.numbers.draw(self.source) for _ in range(self.per_request)]
        if not self.numbers:
            return None
        who = rng.choice(ready)
        chunk = self.numbers[:self.per_request]
        answered, retry_after = self.ask(sim, self.clients[who], chunk, now)
        if answered:
            del self.numbers[:self.per_request]
        else:
            self.resting[who] = now + retry_after
        return now + rng.expovariate(1 / self.mean_gap)


@dataclass
class PrivateScraper(Actor):
    """Enumeration through the private check: batches of evaluations (each a full membership test), cycling
    through keys and addresses to multiply the per-key budget, each identity resting when refused."""

    batch: int = 64
    mean_gap: float = 30.0
    source: str = "US"
    turn: int = 0
    resting: dict[int, float] = field(default_factory=dict)

    def act(self, sim: Gateway, now: float) -> float | None:
        """See Actor.act."""
        ready = [i for i in range(len(self.clients)) if self.resting.get(i, 0.0) <= now]
        if not ready:
            return min(self.resting.values())
        who = ready[self.turn % len(ready)]
        self.turn += 1
        numbers = [sim.numbers.draw(self.source) for _ in range(self.batch)]
        answered, retry_after = self.ask(sim, self.clients[who], numbers, now, private=True)
        if not answered:
            self.resting[who] = now + retry_after
        return now + sim.rng.expovariate(1 / self.mean_gap)


def block_start(e164: str) -> int:
    """The first number (as an integer of E.164 digits) of the 1,000-number block holding `e164`."""
    return int(e164.lstrip("+")) // 1000 * 1000


def lognormal_size(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    """A list size drawn from a log-normal distribution, clipped to [low, high]."""
    return max(low, min(high, int(rng.lognormvariate(math.log(median), sigma))))
