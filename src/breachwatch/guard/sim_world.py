"""The simulated world: a synthetic index of leaked numbers, valid numbers per country, client identities."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from ..ingest.synth import NumberSource
from .clients import ClientHasher, ClientId

#: Countries of the simulated traffic (the largest of the claimed 2022 mix).
COUNTRIES: tuple[str, ...] = ("EG", "IT", "US", "MY", "GB", "SA", "IN", "BR")
_WEIGHTS: tuple[float, ...] = (45, 35.7, 32, 12, 11, 20, 10, 8)


class SyntheticIndex:
    """Which numbers are 'leaked': a keyed hash of the number below `density` (known ground truth, no list)."""

    def __init__(self, seed: int, density: float) -> None:
        self.density = density
        self._key = hashlib.sha256(f"sim-index/{seed}".encode()).digest()
        self._threshold = int(density * 2**32)

    def leaked(self, e164: str) -> bool:
        """True when the number is in the synthetic index."""
        digest = hashlib.blake2b(e164.encode(), key=self._key, digest_size=4).digest()
        return int.from_bytes(digest, "big") < self._threshold


class Numbers:
    """Random valid mobile numbers of the simulated countries (from libphonenumber's ranges)."""

    def __init__(self, rng: random.Random, index: SyntheticIndex) -> None:
        self.rng = rng
        self.index = index
        self._sources = {r: NumberSource(r, rng) for r in COUNTRIES}

    def country(self) -> str:
        """A country drawn by traffic weight."""
        return self.rng.choices(COUNTRIES, _WEIGHTS)[0]

    def draw(self, region: str | None = None) -> str:
        """A random valid number (of `region`, else of a weighted random country)."""
        source = self._sources[region or self.country()]
        return f"+{source.country_code}{source.draw()}"

    def draw_with(self, leaked_share: float, region: str | None = None) -> str:
        """A random valid number that is leaked with probability `leaked_share` (rejection sampling)."""
        want = self.rng.random() < leaked_share
        region = region or self.country()
        for _ in range(10_000):
            e164 = self.draw(region)
            if self.index.leaked(e164) == want:
                return e164
        return e164


@dataclass
class Identities:
    """Raw key ids and addresses for simulated clients, turned into ClientIds by the real hasher."""

    rng: random.Random
    hasher: ClientHasher
    _next_key: int = 0

    def key(self) -> str:
        """A fresh API key id."""
        self._next_key += 1
        return f"simkey-{self._next_key}"

    def ip(self, subnet: str | None = None) -> str:
        """A random IPv4 address (inside `subnet`, a 'a.b.c' prefix, when given)."""
        r = self.rng
        if subnet is None:
            subnet = f"{r.randrange(11, 223)}.{r.randrange(256)}.{r.randrange(256)}"
        return f"{subnet}.{r.randrange(1, 255)}"

    def client(self, key: str | None, ip: str) -> ClientId:
        """The ClientId the guard sees."""
        return self.hasher.client(key, ip)
