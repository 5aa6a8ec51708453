"""Checking numbers against the index: E.164 form, the breaches a number is in, what leaked, what to do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..catalog import Catalog
from ..index import IndexReader, NumberHasher
from ..index.lookup import SegmentRef
from ..models import Breach, BreachHit, CheckResult, mask_to_classes
from ..phone import Normalized, Status, normalize, normalize_international
from .advice import english_advice

_STATUS_TEXT = {Status.VALID: "valid", Status.POSSIBLE: "possible", Status.REJECTED: "invalid"}
_REASON_TEXT = {
    "empty": "nothing to check",
    "no-digits": "there are no digits in it",
    "invalid-country-code": "it does not start with a known country code; write it with + and the country "
                            "code, or give the country (--region / region=)",
    "not-a-number": "it is not a phone number",
    "too-short": "it is too short to be a phone number",
    "too-short-after-idd": "it is too short after the international prefix",
    "too-long": "it is too long to be a phone number",
    "invalid-length": "it has the wrong number of digits for its country",
    "local-only": "it lacks an area code; write it in full international form",
}


def _normalize(raw: str, region: str | None) -> Normalized:
    """The policy's result: the compiled automata for numbers in international form, else libphonenumber."""
    return normalize_international(raw, region) or normalize(raw, region)


def reason_text(reason: str) -> str:
    """Plain-language reason why a number could not be read."""
    return _REASON_TEXT.get(reason, reason)


class Checker:
    """Answers checks from the catalog and the memory-mapped index, reopening segments when the catalog
    changes (at most once per `refresh_seconds`)."""

    def __init__(self, catalog: Catalog, hasher: NumberHasher, segments_dir: str,
                 refresh_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._catalog = catalog
        self._hasher = hasher
        self._segments_dir = segments_dir
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = -1e18
        self._index: IndexReader | None = None
        self._breaches: dict[str, Breach] = {}

    def _current(self) -> tuple[IndexReader, dict[str, Breach]]:
        now = self._clock()
        with self._lock:
            if self._index is None or now - self._checked_at >= self._refresh_seconds:
                self._checked_at = now
                generation = self._catalog.generation()
                if self._index is None or generation != self._generation:
                    breaches = {b.name: b for b in self._catalog.list_breaches()}
                    refs = [SegmentRef(b.name, Path(self._segments_dir) / b.segment_file, b.segment_checksum)
                            for b in breaches.values()]
                    index = IndexReader(refs, self._hasher.fingerprint)
                    old, self._index, self._breaches = self._index, index, breaches
                    self._generation = generation
                    if old is not None:
                        old.close()
            assert self._index is not None
            return self._index, self._breaches

    def check(self, raw: str, region: str | None = None) -> CheckResult:
        """Check one number given in any format (region for national formats)."""
        index, breaches = self._current()
        norm = _normalize(raw, region)
        if norm.e164 is None:
            return _unreadable(raw, norm.reason)
        return _answer(raw, norm.e164, norm.status, index.lookup(self._hasher.hash_one(norm.digits)), breaches)

    def check_many(self, raws: Sequence[str], region: str | None = None) -> list[CheckResult]:
        """Check numbers in one vectorized pass over the index."""
        index, breaches = self._current()
        normalized = [_normalize(raw, region) for raw in raws]
        accepted = [i for i, n in enumerate(normalized) if n.e164 is not None]
        hashed = self._hasher.hash_many(np.array([normalized[i].digits for i in accepted], dtype=np.uint64))
        hits_by_row = dict(zip(accepted, index.lookup_many(hashed), strict=True))
        return [_unreadable(raw, norm.reason) if norm.e164 is None
                else _answer(raw, norm.e164, norm.status, hits_by_row[i], breaches)
                for i, (raw, norm) in enumerate(zip(raws, normalized, strict=True))]

    def close(self) -> None:
        """Release the index mappings."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


def _unreadable(raw: str, reason: str | None) -> CheckResult:
    return CheckResult(raw, None, "invalid", [], [],
                       error=f"cannot read {raw!r} as a phone number: {reason_text(reason or 'not-a-number')}")


def _answer(raw: str, e164: str, status: Status, found: dict[str, int], breaches: dict[str, Breach]) -> CheckResult:
    """The result for a readable number: its breaches (oldest first), per-number data classes and advice."""
    if not found:
        return CheckResult(raw, e164, _STATUS_TEXT[status], [], [])
    if len(found) == 1:
        ((name, mask),) = found.items()
        classes = _classes(mask)
        hits = [BreachHit(breaches[name], list(classes))]
        leaked = frozenset(classes)
    else:
        hits = [BreachHit(breaches[name], list(_classes(mask)))
                for name, mask in sorted(found.items(), key=lambda kv: (breaches[kv[0]].breach_date is None,
                                                                         breaches[kv[0]].breach_date, kv[0]))]
        leaked = frozenset(cls for hit in hits for cls in hit.data_classes)
    return CheckResult(raw, e164, _STATUS_TEXT[status], hits, list(english_advice(leaked)))


@lru_cache(maxsize=1 << 16)  # one entry per data-class mask (16 bits)
def _classes(mask: int) -> tuple[str, ...]:
    return tuple(mask_to_classes(mask))

