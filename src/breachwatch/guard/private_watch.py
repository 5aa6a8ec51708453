"""What the private check's path can show the guard, though it never sees a number: how many evaluations a
key, address or subnet asks for (volume), one address cycling through keys or one key through addresses
(rotation, spreading a campaign over budgets), and bucket downloads out of proportion to evaluations (a
crawl of the bucket files). Bounded state per entity; alerts name the entities by their keyed hashes."""

from __future__ import annotations

from dataclasses import dataclass, field

from .clients import ClientId
from .detector import Alert, Entity
from .policy import Thresholds
from .sketch import LRU, Decayed

#: Distinct partners (keys of an address, addresses of a key) remembered per entity.
_MAX_PARTNERS = 64


@dataclass
class _State:
    evaluations: Decayed = field(default_factory=Decayed)
    downloads: Decayed = field(default_factory=Decayed)
    download_evaluations: Decayed = field(default_factory=Decayed)
    partners: dict[str, float] = field(default_factory=dict)  # keyed hash -> last seen
    alerted: dict[str, float] = field(default_factory=dict)


class PrivateWatch:
    """The private path's detector (see the module docstring)."""

    def __init__(self, thresholds: Thresholds | None = None, cooldown: float = 3600.0) -> None:
        self.t = thresholds or Thresholds()
        self.cooldown = cooldown
        self._states: LRU[Entity, _State] = LRU(self.t.max_entities)

    def _fire(self, entity: Entity, state: _State, signal: str, now: float, evidence: str,
              alerts: list[Alert], others: tuple[Entity, ...] = ()) -> None:
        last = state.alerted.get(signal)
        if last is not None and now - last < self.cooldown:
            return
        state.alerted[signal] = now
        alerts.append(Alert(signal, now, (entity, *others), f"{entity[0]}: {evidence}"))

    def evaluations(self, client: ClientId, count: int, now: float, key_budget: int | None = None) -> list[Alert]:
        """Feed `count` evaluations answered to `client`. A key with a budget of its own (`key_budget`
        evaluations a day: an organisation's app whose users share it) is expected to be used from many
        addresses and to approach its budget: its volume signal fires at that budget and its addresses are not
        counted; the addresses and subnets using it are watched as any others."""
        t = self.t
        alerts: list[Alert] = []
        states = [(entity, self._states.get_or_create(entity, _State)) for entity in client.entities()]
        for entity, state in states:
            volume = state.evaluations.add(count, now, t.private_volume_window)
            threshold = t.private_volume
            if entity[0] == "key":
                if key_budget is not None:
                    threshold = max(threshold, key_budget)
            else:  # downloads carry no key: only addresses and subnets weigh them
                state.download_evaluations.add(count, now, t.private_download_window)
            if volume >= threshold:
                self._fire(entity, state, "private-volume", now,
                           f"about {volume:,.0f} private-check evaluations within "
                           f"{t.private_volume_window / 3600:.0f}h (threshold {threshold:,})", alerts)
        if client.key is not None:
            (key_entity, key_state), *addresses = states  # ClientId.entities: key, then ip and subnet
            if key_budget is None:
                self._rotation(key_entity, key_state, client.ip, "ip", now, t.private_addresses_per_key,
                               "addresses", alerts)
            for entity, state in addresses:
                self._rotation(entity, state, client.key, "key", now, t.private_keys_per_address, "keys", alerts)
        return alerts

    def _rotation(self, entity: Entity, state: _State, partner: str, partner_scope: str, now: float, limit: int,
                  what: str, alerts: list[Alert]) -> None:
        window = self.t.private_rotation_window
        partners = state.partners
        partners.pop(partner, None)
        partners[partner] = now
        # Oldest first (a partner seen again moves to the end): expire from the front only.
        while True:
            first = next(iter(partners))
            if now - partners[first] <= window and len(partners) <= _MAX_PARTNERS:
                break
            del partners[first]
        if len(partners) >= limit:
            others = tuple((partner_scope, p) for p in partners)
            self._fire(entity, state, "private-rotation", now,
                       f"{len(partners)} {what} used for private-check evaluations within "
                       f"{window / 3600:.0f}h (threshold {limit})", alerts,
                       others if partner_scope == "key" else ())

    def download(self, client: ClientId, now: float) -> list[Alert]:
        """Feed one bucket download by `client` (usually without a key: by address)."""
        t = self.t
        alerts: list[Alert] = []
        for entity in client.entities():
            state = self._states.get_or_create(entity, _State)
            downloads = state.downloads.add(1, now, t.private_download_window)
            evaluations = state.download_evaluations.add(0, now, t.private_download_window)
            if downloads >= t.private_downloads and downloads > t.private_download_ratio * max(evaluations, 1.0):
                self._fire(entity, state, "private-downloads", now,
                           f"about {downloads:,.0f} bucket downloads for {evaluations:,.0f} evaluations within "
                           f"{t.private_download_window / 3600:.0f}h (threshold {t.private_download_ratio:g} per "
                           "evaluation)", alerts)
        return alerts

    def stats(self) -> dict[str, int]:
        """How much state is held."""
        return {"private_entities": len(self._states)}
