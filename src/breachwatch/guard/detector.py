"""The enumeration detector: a streaming pass over checks that keeps bounded state per entity (API key, IP,
subnet) and per 1,000-number block across all clients, and raises alerts when a pattern looks like
scraping: dense sweeps, country coverage, miss or hit ratios, rate, timing regularity, and campaigns that
spread one sweep over many keys and addresses. Numbers are held only as block prefixes and bit sets;
alerts carry masked numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from ..phone import SUPPORTED_REGIONS, country_code_for_region, mask_e164
from .clients import ClientId
from .policy import Thresholds
from .sketch import LRU, Decayed, DecayedPair, Distinct, LinearCounter

Entity = tuple[str, str]  # (scope, keyed hash)
_MAX_BLOCKS_PER_ENTITY = 32
_MAX_COUNTRIES_PER_ENTITY = 4
_MAX_CONTRIBUTORS = 256


@dataclass(frozen=True)
class Alert:
    """One detection: which signal fired, against which entities, on what evidence (masked numbers only)."""

    signal: str
    at: float
    targets: tuple[Entity, ...]
    evidence: str
    samples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form (entity hashes shortened to 12 characters)."""
        return {"signal": self.signal, "at": round(self.at, 3),
                "targets": [f"{scope}:{h[:12]}" for scope, h in self.targets],
                "evidence": self.evidence, "samples": list(self.samples)}


@dataclass
class _EntityState:
    blocks: dict[str, Distinct] = field(default_factory=dict)
    countries: dict[int, LinearCounter] = field(default_factory=dict)
    checks_hits: DecayedPair = field(default_factory=DecayedPair)  # (checks, hits) over the ratio window
    rate: Decayed = field(default_factory=Decayed)
    last_request: float | None = None
    gap_mean: float = 0.0
    gap_var: float = 0.0
    gaps: int = 0
    hot_touches: int = 0
    alerted: dict[str, float] = field(default_factory=dict)


@dataclass
class _BlockState:
    distinct: Distinct
    contributors: dict[Entity, int] = field(default_factory=dict)
    hot_until: float = 0.0


def _due(state: _EntityState, signal: str, now: float, cooldown: float) -> bool:
    """True when `signal` may alert on this entity now (it has not within the cooldown)."""
    last = state.alerted.get(signal)
    return last is None or now - last >= cooldown


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(str(country_code_for_region(r)) for r in SUPPORTED_REGIONS)


def country_code_of(digits: str) -> int:
    """The country calling code an E.164 digit string starts with (codes are prefix-free), 0 if none."""
    codes = _country_codes()
    for n in (1, 2, 3):
        if digits[:n] in codes:
            return int(digits[:n])
    return 0


class Detector:
    """Streaming enumeration detector with bounded memory (see the module docstring)."""

    def __init__(self, thresholds: Thresholds | None = None, cooldown: float = 3600.0) -> None:
        self.t = thresholds or Thresholds()
        self.cooldown = cooldown
        self._entities: LRU[Entity, _EntityState] = LRU(self.t.max_entities)
        self._blocks: LRU[str, _BlockState] = LRU(self.t.max_blocks)
        self._coverage_ones = LinearCounter.ones_for(self.t.coverage_blocks)

    def observe(self, client: ClientId, numbers: Sequence[str], found: Sequence[int] | None,
                now: float) -> list[Alert]:
        """Feed one answered request (E.164 numbers and, when known, how many breaches each was found in)."""
        alerts: list[Alert] = []
        entities = client.entities()
        get_state = self._entities.get_or_create
        states = [(e, get_state(e, _EntityState)) for e in entities]
        for entity, state in states:
            self._timing(entity, state, len(numbers), now, alerts)
        contributors = tuple(e for e in entities if e[0] != "subnet")
        min_checks = self.t.anon_ratio_min_checks if client.anonymous else self.t.ratio_min_checks
        campaign_touches = self.t.campaign_touches
        for i, e164 in enumerate(numbers):
            digits = e164.lstrip("+")
            if len(digits) < 7 or not digits.isdigit():
                continue
            hit = None if found is None else found[i] > 0
            # Worked out once per number, not once per entity.
            block, low = digits[:-3], int(digits[-3:])
            cc, ten_thousands = country_code_of(digits), int(digits[:-4])
            hot = self._campaign(block, low, e164, contributors, now, alerts)
            for entity, state in states:
                self._number(entity, state, block, low, cc, ten_thousands, hit, e164, now, alerts, min_checks)
                if hot and entity[0] != "subnet":
                    state.hot_touches += 1
                    if state.hot_touches >= campaign_touches and _due(state, "campaign", now, self.cooldown):
                        self._fire(entity, state, "campaign", now, alerts, e164,
                                   f"{state.hot_touches} numbers checked in blocks a campaign is sweeping")
        return alerts

    def observe_blind(self, client: ClientId, count: int, now: float) -> list[Alert]:
        """Feed a request whose numbers the server never sees (private check, OPRF): timing signals only."""
        alerts: list[Alert] = []
        for entity in client.entities():
            self._timing(entity, self._entities.get_or_create(entity, _EntityState), count, now, alerts)
        return alerts

    def _fire(self, entity: Entity, state: _EntityState, signal: str, now: float, alerts: list[Alert],
              e164: str, evidence: str) -> None:
        # Callers test _due first, so the evidence text (and a masked number) is only made for an alert.
        if not _due(state, signal, now, self.cooldown):
            return
        state.alerted[signal] = now
        samples = (mask_e164(e164),) if e164 else ()
        alerts.append(Alert(signal, now, (entity,), f"{entity[0]}: {evidence}", samples))

    def _timing(self, entity: Entity, state: _EntityState, count: int, now: float, alerts: list[Alert]) -> None:
        t = self.t
        per_minute = state.rate.add(count, now, t.rate_window) / t.rate_window * 60
        if per_minute > t.rate_per_minute and _due(state, "rate", now, self.cooldown):
            self._fire(entity, state, "rate", now, alerts, "",
                       f"{per_minute:,.0f} numbers/minute over the last {t.rate_window:.0f}s "
                       f"(threshold {t.rate_per_minute:,.0f})")
        if state.last_request is not None:
            gap = now - state.last_request
            # Exponentially weighted mean and variance of the gaps between requests.
            alpha = 0.1 if state.gaps >= 10 else 1.0 / (state.gaps + 1)
            delta = gap - state.gap_mean
            state.gap_mean += alpha * delta
            state.gap_var = (1 - alpha) * (state.gap_var + alpha * delta * delta)
            state.gaps += 1
            if state.gaps >= t.regular_min_gaps and state.gap_mean > 0:
                cv = math.sqrt(state.gap_var) / state.gap_mean
                if cv < t.regular_cv and _due(state, "regularity", now, self.cooldown):
                    self._fire(entity, state, "regularity", now, alerts, "",
                               f"{state.gaps} requests about every {state.gap_mean:.1f}s, "
                               f"coefficient of variation {cv:.3f} (threshold {t.regular_cv})")
        state.last_request = now

    def _number(self, entity: Entity, state: _EntityState, block: str, low: int, cc: int, ten_thousands: int,
                hit: bool | None, e164: str, now: float, alerts: list[Alert], min_checks: int) -> None:
        t = self.t
        cooldown = self.cooldown
        distinct = state.blocks.get(block)
        if distinct is None:
            if len(state.blocks) >= _MAX_BLOCKS_PER_ENTITY:
                del state.blocks[next(iter(state.blocks))]  # the oldest block this entity touched
            distinct = state.blocks[block] = Distinct(now)
        count = distinct.add(low, now, t.sweep_window)
        if count >= t.sweep_distinct and _due(state, "sweep", now, cooldown):
            self._fire(entity, state, "sweep", now, alerts, e164,
                       f"{count} distinct numbers in the 1,000-number block of {mask_e164(e164)} "
                       f"within {t.sweep_window / 3600:.0f}h")
        counter = state.countries.get(cc)
        if counter is None:
            if len(state.countries) >= _MAX_COUNTRIES_PER_ENTITY:
                del state.countries[next(iter(state.countries))]
            counter = state.countries[cc] = LinearCounter(now)
        if counter.add(ten_thousands, now, t.coverage_window) >= self._coverage_ones and \
                _due(state, "coverage", now, cooldown):
            self._fire(entity, state, "coverage", now, alerts, e164,
                       f"about {counter.estimate():,.0f} distinct 10,000-number blocks of +{cc} "
                       f"within {t.coverage_window / 86400:.0f}d")
        if hit is None:
            return
        checks, hits = state.checks_hits.add(1, 1 if hit else 0, now, t.ratio_window)
        if checks < min_checks:
            return
        share = hits / checks
        if 1 - share > t.miss_ratio:
            if _due(state, "miss-ratio", now, cooldown):
                self._fire(entity, state, "miss-ratio", now, alerts, e164,
                           f"{1 - share:.0%} of about {checks:,.0f} recent checks were misses "
                           f"(threshold {t.miss_ratio:.0%})")
        elif share > t.hit_ratio and _due(state, "hit-ratio", now, cooldown):
            self._fire(entity, state, "hit-ratio", now, alerts, e164,
                       f"{share:.0%} of about {checks:,.0f} recent checks were hits, as when verifying a leaked "
                       f"list (threshold {t.hit_ratio:.0%})")

    def _campaign(self, block: str, low: int, e164: str, contributors: tuple[Entity, ...], now: float,
                  alerts: list[Alert]) -> bool:
        """Count the number in its global block; return True when the block is being swept (hot)."""
        t = self.t
        state = self._blocks.get_or_create(block, lambda: _BlockState(Distinct(now)))
        if now - state.distinct.start > t.campaign_window:
            state.contributors.clear()
        count = state.distinct.add(low, now, t.campaign_window)
        for entity in contributors:
            if entity in state.contributors or len(state.contributors) < _MAX_CONTRIBUTORS:
                state.contributors[entity] = state.contributors.get(entity, 0) + 1
        if state.hot_until > now:
            return True
        if count < t.campaign_distinct:
            return False
        clients = sum(1 for e in state.contributors if e[0] == "ip")  # up to 256: only for a well-swept block
        if clients >= t.campaign_clients:
            state.hot_until = now + t.campaign_window
            targets = tuple(e for e, n in state.contributors.items() if n >= t.campaign_touches)
            for entity in targets:
                self._entities.get_or_create(entity, _EntityState).hot_touches = state.contributors[entity]
            alerts.append(Alert("campaign", now, targets,
                                f"{count} distinct numbers in the 1,000-number block of {mask_e164(e164)} from "
                                f"{clients} addresses within {t.campaign_window / 86400:.0f}d; acting on "
                                f"{len(targets)} keys/addresses that checked {t.campaign_touches}+ of them",
                                (mask_e164(e164),)))
            return False  # this number's contributors were just counted; later checks count as touches
        return False

    def stats(self) -> dict[str, int]:
        """How much state is held (for /metrics and the memory bound)."""
        return {"entities": len(self._entities), "blocks": len(self._blocks)}
