"""Triage of a claimed leak without loading it: read the dump (or a uniform sample of its rows) with the same
reader and normalizer as ingest, then measure what it holds, how it compares with the seller's claim and
with the breaches already indexed, and which fabrication signals fire. Nothing is added to the index."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..catalog import Catalog
from ..catalog.claim_store import check_name
from ..config import Config
from ..errors import BreachwatchError
from ..index import NumberHasher
from ..ingest.rows import read_rows
from ..ingest.sniff import sniff_layout
from ..phone import REGIONS, SUPPORTED_REGIONS, Hints, Status, Texts, normalize_many
from .claim_triage import ClaimCheck, check_claim, keep_claim
from .claims import ClaimRow, compare, read_claim
from .fabrication import (
    STRONG,
    WEAK,
    Numbers,
    Signal,
    arithmetic_runs,
    claim_shape,
    dense_blocks,
    invalid_ranges,
    leading_digits,
    mobile_share,
)
from .number_types import KINDS, classify
from .overlap import Overlap, open_segments, overlaps_with
from .references import all_tables
from .regions import rollup_of

RECYCLED = 0.5        # share of the dump in one older breach that makes it recycled
PARTLY_RECYCLED = 0.1
MIN_NUMBERS = 200     # fewer unique numbers than this cannot support a verdict


class IndexSource(Protocol):
    """What triage needs to compare with the index (a Services object provides it)."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def hasher(self) -> NumberHasher: ...

    @property
    def config(self) -> Config: ...


@dataclass(frozen=True)
class TriageOptions:
    """How to read the dump and what to expect of it."""

    default_region: str | None = None
    phone_column: str | None = None
    country_column: str | None = None
    encoding: str | None = None
    format: str | None = None
    messenger: bool = True
    seed: int = 0
    batch_rows: int = 262_144
    claim_name: str | None = None  # keep the claim's table in the catalog under this name (None: do not keep)


@dataclass(frozen=True)
class CountryTriage:
    """One country of the dump: unique numbers (scaled when sampled), and shares of validity and type."""

    region: str
    rollup: str
    count: int
    sampled: int
    valid_share: float
    possible_share: float
    mobile_share: float
    fixed_or_mobile_share: float
    fixed_line_share: float
    other_share: float


@dataclass
class TriageReport:
    """Everything triage measured, the signals, and the verdict with its reasons (never a whole number)."""

    source: str
    format: str
    rows: int = 0
    sample: int | None = None
    sampled_rows: int = 0
    accepted_rows: int = 0
    unique_numbers: int = 0
    estimated_unique_numbers: int = 0
    duplicate_rate: float = 0.0
    rejected_rows: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    valid_share: float = 0.0
    countries: list[CountryTriage] = field(default_factory=list)
    claim: list[ClaimRow] = field(default_factory=list)
    claim_check: ClaimCheck | None = None
    overlaps: list[Overlap] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    verdict: str = "inconclusive"
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def signal(self, name: str) -> Signal:
        """The signal of that name."""
        return next(s for s in self.signals if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        data = asdict(self)
        data["rows_per_second"] = round(self.rows / self.seconds) if self.seconds else None
        data["seconds"] = round(self.seconds, 3)
        return data


def triage(index: IndexSource | None, path: str | Path, claim: dict[str, int] | str | Path | None = None,
           sample: int | None = None, options: TriageOptions | None = None) -> TriageReport:
    """Triage a dump (or a uniform sample of `sample` rows): counts, per-country shares, claim comparison,
    overlap with indexed breaches, fabrication signals and a verdict. Adds nothing to the index."""
    opts = options or TriageOptions()
    if sample is not None and sample < 1:
        raise BreachwatchError("--sample must be at least 1 row")
    if opts.default_region and opts.default_region.upper() not in SUPPORTED_REGIONS:
        raise BreachwatchError(f"--default-region {opts.default_region!r} is not a region libphonenumber knows")
    claimed = read_claim(claim) if isinstance(claim, str | Path) else claim
    if claimed and opts.claim_name is not None:
        check_name(opts.claim_name)  # before the dump is read, not after
    started = time.perf_counter()
    layout = sniff_layout(path, phone_column=opts.phone_column, country_column=opts.country_column,
                          encoding=opts.encoding, format=opts.format)
    report = TriageReport(source=Path(layout.path).name, format=layout.format, sample=sample)
    if claimed:  # the claim against known tables: published, loaded breaches, claims triaged before
        catalog = index.catalog if index is not None else None
        report.claim_check = check_claim(claimed, all_tables(catalog, exclude=opts.claim_name))
    numbers, status, region = _read(layout, report, sample, opts)
    _analyse(index, report, numbers, status, region, claimed, opts)
    if claimed and index is not None and opts.claim_name:
        keep_claim(index.catalog, opts.claim_name, claimed, Path(claim).name if isinstance(claim, str | Path)
                   else "a dump's triage")
    report.seconds = time.perf_counter() - started
    return report


def _read(layout: Any, report: TriageReport, sample: int | None,
          opts: TriageOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    default_region = opts.default_region.upper() if opts.default_region else None
    if sample is not None:
        phones, hints = _sample_rows(layout, report, sample, opts)
        batches: list[tuple[list[str], list[str | None] | None]] = [
            (phones[i:i + opts.batch_rows], hints[i:i + opts.batch_rows] if hints is not None else None)
            for i in range(0, len(phones), opts.batch_rows)]
        report.sampled_rows = len(phones)
        parts = [_normalize(p, h, default_region, report) for p, h in batches]
    else:
        parts = []
        for batch in read_rows(layout, opts.batch_rows):
            report.rows += len(batch.phones) + len(batch.malformed)
            _count_malformed(report, batch.malformed)
            parts.append(_normalize(batch.phones, batch.hints, default_region, report))
        report.sampled_rows = report.rows
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint8)
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]))


def _count_malformed(report: TriageReport, malformed: list[tuple[int, str]]) -> None:
    for _, reason in malformed:
        key = reason.split(":", 1)[0]
        report.rejected_rows += 1
        report.rejected_by_reason[key] = report.rejected_by_reason.get(key, 0) + 1


def _normalize(phones: Texts, hints: Hints, default_region: str | None,
               report: TriageReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    norm = normalize_many(phones, hints, default_region)
    for reason in norm.reasons.values():
        report.rejected_rows += 1
        report.rejected_by_reason[reason] = report.rejected_by_reason.get(reason, 0) + 1
    keep = norm.status != Status.REJECTED
    report.accepted_rows += int(keep.sum())
    return norm.numbers[keep], norm.status[keep], norm.region[keep]


def _sample_rows(layout: Any, report: TriageReport, size: int,
                 opts: TriageOptions) -> tuple[list[str], list[str | None] | None]:
    """A uniform sample of `size` rows (bottom-k of random keys), reading every row once."""
    rng = np.random.default_rng(opts.seed)
    keys = np.zeros(0, dtype=np.float64)
    phones = np.zeros(0, dtype=object)
    hints: np.ndarray | None = None
    with_hints = layout.country_column is not None
    for batch in read_rows(layout, opts.batch_rows):
        report.rows += len(batch.phones) + len(batch.malformed)
        _count_malformed(report, batch.malformed)  # malformed rows are counted in full, not sampled
        batch_keys = rng.random(len(batch.phones))
        take = np.flatnonzero(batch_keys < keys.max()) if keys.shape[0] >= size else np.arange(len(batch.phones))
        if take.shape[0] == 0:
            continue
        keys = np.concatenate([keys, batch_keys[take]])
        batch_phones = list(batch.phones)  # the serial reader's rows are lists already
        phones = np.concatenate([phones, _objects([batch_phones[i] for i in take])])
        if with_hints:
            source = list(batch.hints) if batch.hints is not None else [None] * len(batch.phones)
            new = _objects([source[i] for i in take])
            hints = new if hints is None else np.concatenate([hints, new])
        if keys.shape[0] > size:
            keep = np.argpartition(keys, size - 1)[:size]
            keys, phones = keys[keep], phones[keep]
            hints = hints[keep] if hints is not None else None
    return [str(p) for p in phones], ([h if h is None else str(h) for h in hints] if hints is not None else None)


def _objects(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _analyse(index: IndexSource | None, report: TriageReport, numbers: np.ndarray, status: np.ndarray,
             region: np.ndarray, claimed: dict[str, int] | None, opts: TriageOptions) -> None:
    uniq, regions, order_valid = _unique(numbers, status, region)
    kinds = classify(uniq, regions, order_valid)
    fraction = report.sampled_rows / report.rows if report.rows else 1.0
    scale = 1 / fraction if fraction else 1.0
    report.unique_numbers = int(uniq.shape[0])
    report.estimated_unique_numbers = round(uniq.shape[0] * scale)
    report.duplicate_rate = 1 - uniq.shape[0] / report.accepted_rows if report.accepted_rows else 0.0
    report.valid_share = float(order_valid.mean()) if uniq.shape[0] else 0.0
    report.rejected_by_reason = dict(sorted(report.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    report.countries = _countries(regions, order_valid, kinds, scale)
    data = Numbers(uniq, regions, order_valid, kinds, min(fraction, 1.0))
    report.signals = [invalid_ranges(data), arithmetic_runs(data), dense_blocks(data), leading_digits(data),
                      mobile_share(data, opts.messenger)]
    if claimed:
        sampled = {c.region: c.sampled for c in report.countries}
        report.claim = compare(claimed, sampled, scale)
        report.signals += claim_shape(claimed)
    if index is not None and uniq.shape[0] and index.catalog.list_breaches():
        hashes = np.sort(index.hasher.hash_many(uniq))
        with open_segments(index.catalog, index.hasher, index.config.segments_dir) as segments:
            report.overlaps = overlaps_with(hashes, segments)
    report.verdict, report.reasons = verdict(report)


def _unique(numbers: np.ndarray, status: np.ndarray, region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unique numbers sorted by (region, number), with their region index and validity (a number is valid
    if any of its rows was: validity does not depend on how a number was written)."""
    if numbers.shape[0] == 0:
        return numbers.astype(np.uint64), region.astype(np.uint8), np.zeros(0, dtype=bool)
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    uniq = ordered[starts]
    valid = np.maximum.reduceat((status[order] == Status.VALID).astype(np.uint8), starts).astype(bool)
    regions = region[order][starts].astype(np.uint8)
    by_region = np.argsort(regions, kind="stable")  # numbers stay sorted within each region
    return uniq[by_region], regions[by_region], valid[by_region]


def _countries(regions: np.ndarray, valid: np.ndarray, kinds: np.ndarray, scale: float) -> list[CountryTriage]:
    n_kinds = len(KINDS)
    counts = np.bincount(regions, minlength=len(REGIONS))
    valid_counts = np.bincount(regions[valid], minlength=len(REGIONS))
    by_kind = np.bincount(regions.astype(np.int64) * n_kinds + kinds, minlength=len(REGIONS) * n_kinds)
    by_kind = by_kind.reshape(len(REGIONS), n_kinds)
    out = []
    for r in np.argsort(-counts, kind="stable"):
        c = int(counts[r])
        if c == 0:
            break
        k = by_kind[r]
        other = int(k[KINDS.index("other")] + k[KINDS.index("unknown")])
        out.append(CountryTriage(
            REGIONS[r], rollup_of(REGIONS[r]), round(c * scale), c, valid_counts[r] / c, 1 - valid_counts[r] / c,
            k[KINDS.index("mobile")] / c, k[KINDS.index("fixed-line-or-mobile")] / c,
            k[KINDS.index("fixed-line")] / c, other / c))
    return out


def verdict(report: TriageReport) -> tuple[str, list[str]]:
    """The summary verdict and its reasons, never more certain than the signals allow."""
    reasons: list[str] = []
    dump_signals = [s for s in report.signals if not s.name.startswith("claim-")]
    strong = [s for s in dump_signals if s.level == STRONG]
    weak = [s for s in dump_signals if s.level == WEAK]
    top = report.overlaps[0] if report.overlaps else None
    sampled = f" (measured on a sample of {report.sampled_rows:,} of {report.rows:,} rows)" if report.sample else ""
    flagged = [c for c in report.claim if c.flagged]
    if flagged:
        reasons.append("the claim disagrees with the dump beyond sampling error for "
                       + ", ".join(f"{c.region} ({c.relative:.2f}x of the typical ratio)" if c.relative is not None
                                   else c.region for c in flagged))
    reasons += [f"claim: {s.summary}" for s in report.signals if s.name.startswith("claim-") and s.level != "none"]
    if report.claim_check is not None:
        reasons.append(f"claim against known tables: {report.claim_check.evidence[0]}")
    if report.unique_numbers == 0:
        return "inconclusive", ["no phone number could be read from the dump", *reasons]
    if top is not None and top.share >= RECYCLED:
        pct = f"{top.share * 100:.0f}%"
        return f"recycled ({pct} in {top.breach})", [
            f"{top.share:.1%} of the dump's unique numbers are already in {top.breach} ({top.title}){sampled}",
            *[f"also: {s.name}: {s.summary}" for s in strong], *reasons]
    if strong:
        return "likely-fabricated", [f"{s.name}: {s.summary}" for s in strong] + \
            [f"{s.name}: {s.summary}" for s in weak] + reasons
    if report.unique_numbers < MIN_NUMBERS:
        return "inconclusive", [f"only {report.unique_numbers} unique numbers{sampled}: too few to judge", *reasons]
    if weak or (top is not None and top.share >= PARTLY_RECYCLED):
        extra = [f"{top.share:.1%} already in {top.breach}"] if top is not None and top.share >= PARTLY_RECYCLED \
            else []
        return "inconclusive", [*extra, *[f"{s.name}: {s.summary}" for s in weak], *reasons]
    return "looks-real", [f"no fabrication signal fired{sampled}: {report.valid_share:.1%} valid, "
                          f"{report.signal('mobile-share').summary}",
                          "overlap with indexed breaches: " + (f"at most {top.share:.1%} ({top.breach})"
                                                                if top is not None else "none loaded"), *reasons]
