"""Matching watched numbers against one newly loaded breach: each watched hash is looked up in that breach's
segment (one vectorized, sorted batch), so the work grows with the number of subscriptions, not the breach."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..catalog.notify_store import NotifyStore
from ..index import SegmentReader
from ..models import Breach, mask_to_classes
from .tokens import idempotency_key

#: Most per-number lines an organisation notification lists (the count is always complete).
ORG_NUMBERS_LISTED = 1000


@dataclass(frozen=True)
class MatchReport:
    """What matching one breach found and queued."""

    breach: str
    subscriptions_checked: int
    org_numbers_checked: int
    subscriptions_matched: int
    organisations_matched: int
    notifications_queued: int
    seconds: float


def find(hashes: np.ndarray, segment: SegmentReader) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct `hashes` that are in the segment, their data-class masks)."""
    if hashes.shape[0] == 0 or segment.count == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint16)
    # Sorted queries walk the segment in order: far fewer cache and page misses than random order.
    queries = np.unique(hashes)
    found, masks = segment.get_many(queries)
    return queries[found], masks[found]


class Matcher:
    """Queues notifications for the subscriptions and organisations whose numbers are in a breach."""

    def __init__(self, catalog: Catalog, store: NotifyStore, fingerprint: bytes, segments_dir: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.catalog, self.store = catalog, store
        self.fingerprint = fingerprint
        self.segments_dir = Path(segments_dir)
        self.clock = clock

    def match_breach(self, name: str) -> MatchReport:
        """Match every active subscription and organisation number against breach `name` (idempotent)."""
        started = time.perf_counter()
        breach = self.catalog.get_breach(name)
        sub_hashes = self.store.active_subscription_hashes()
        org_hashes = self.store.organisation_hashes()
        found_matches: list[dict[str, Any]] = []
        notifications: list[dict[str, Any]] = []
        sub_hits: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint16))
        org_hits = sub_hits
        if sub_hashes.shape[0] or org_hashes.shape[0]:
            # verify=False: the checksum pass reads the whole file, which would make matching grow with the
            # breach; the header, size and key fingerprint are still checked.
            segment = SegmentReader(self.segments_dir / breach.segment_file, self.fingerprint,
                                    breach.segment_checksum, verify=False)
            try:
                sub_hits = find(sub_hashes, segment)
                org_hits = find(org_hashes, segment)
            finally:
                segment.close()
        subs = self.store.active_subscriptions_for(sub_hits[0])
        orgs = self.store.organisation_numbers_for(org_hits[0])
        sub_masks = dict(zip(sub_hits[0].tolist(), sub_hits[1].tolist(), strict=True))
        org_masks = dict(zip(org_hits[0].tolist(), org_hits[1].tolist(), strict=True))
        now = self.clock()
        info = _breach_info(breach)
        for pos, hashed in enumerate(subs.hashes.tolist()):
            sub_id, channel, mask = subs.owners[pos], subs.channels[pos], sub_masks[hashed]
            found_matches.append({"target_kind": "subscription", "target_id": sub_id, "breach_name": breach.name,
                                  "numbers": 1, "matched": now})
            sub_payload: dict[str, Any] = {"kind": "subscription", "breach": info, "number": subs.masked[pos],
                       "data_classes": mask_to_classes(mask), "subscription_id": sub_id}
            notifications.append(_notification("subscription", sub_id, breach.name, channel, sub_payload, now))
        by_org: dict[str, list[tuple[str, int]]] = {}
        for pos, hashed in enumerate(orgs.hashes.tolist()):
            by_org.setdefault(orgs.owners[pos], []).append((orgs.masked[pos], org_masks[hashed]))
        for org_id, hits in by_org.items():
            org = self.store.organisation_by_id(org_id)
            if org is None:
                continue
            hits.sort()
            union = 0
            for _, mask in hits:
                union |= mask
            found_matches.append({"target_kind": "organisation", "target_id": org_id, "breach_name": breach.name,
                                  "numbers": len(hits), "matched": now})
            payload: dict[str, Any] = {"kind": "organisation", "organisation": org.name, "breach": info,
                       "matched_numbers": len(hits), "data_classes": mask_to_classes(union),
                       "numbers": [{"number": m, "data_classes": mask_to_classes(k)}
                                   for m, k in hits[:ORG_NUMBERS_LISTED]]}
            for channel, target in (("email", org.email), ("webhook", org.webhook_url)):
                if target:
                    notifications.append(_notification("organisation", org_id, breach.name, channel, payload, now))
        queued = self.store.record_matches(breach.name, found_matches, notifications) if found_matches else 0
        return MatchReport(breach.name, int(sub_hashes.shape[0]), int(org_hashes.shape[0]),
                           len(subs.owners), len(by_org), queued, time.perf_counter() - started)


def _breach_info(breach: Breach) -> dict[str, Any]:
    return {"name": breach.name, "title": breach.title, "data_classes": breach.data_classes,
            "breach_date": breach.breach_date.isoformat() if breach.breach_date else None}


def _notification(kind: str, target_id: str, breach: str, channel: str, payload: dict[str, Any],
                  now: float) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key(kind, target_id, breach, channel), "target_kind": kind,
            "target_id": target_id, "breach_name": breach, "channel": channel, "payload": payload,
            "status": "pending", "attempts": 0, "next_attempt": now, "created": now}
