"""Fabrication signals of a dump, each measured on its unique numbers and returned with its evidence:
never-allocated ranges, arithmetic runs, dense consecutive blocks, leading-digit distributions, mobile share,
and the shape of the claim table (round or population-proportional counts)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..phone import REGIONS, country_code_for_region
from .number_types import KINDS, allocated_prefixes
from .regions import POPULATION_M

NONE, WEAK, STRONG = "none", "weak", "strong"
MIN_RUN = 32          # numbers in one arithmetic progression before it counts as a generated run
MIN_BLOCK = 1_000     # smallest block of consecutive numbers whose density is measured
DENSE = 0.8           # a block this full (after scaling by the sampling fraction) is "dense"
MIN_BLOCK_COUNT = 20  # fewer numbers than this in a block say nothing about its density
FULL_BLOCK_COUNT = 50  # a block is large enough that a full one holds this many sampled numbers
MIN_LEADING = 500     # numbers a country needs before its leading digits are tested
_POW10 = np.array([10 ** i for i in range(20)], dtype=np.uint64)


@dataclass(frozen=True)
class Signal:
    """One fabrication signal: name, level (none, weak, strong), one-line summary and its evidence."""

    name: str
    level: str
    summary: str
    evidence: list[str] = field(default_factory=list)
    value: float | None = None


@dataclass(frozen=True)
class Numbers:
    """The unique numbers of a dump (or sample): E.164 integers sorted by (region, number), their region
    index, validity, KINDS code, and the share of the dump's rows they were drawn from."""

    numbers: np.ndarray
    regions: np.ndarray
    valid: np.ndarray
    kinds: np.ndarray
    fraction: float


def invalid_ranges(n: Numbers) -> Signal:
    """Share of numbers that are possible-only: right length, but in ranges never allocated."""
    total = n.numbers.shape[0]
    invalid = int((~n.valid).sum())
    share = invalid / total if total else 0.0
    per = _per_region_share(n.regions, ~n.valid)
    evidence = [f"{r}: {s:.1%} of {c:,} numbers invalid" for r, s, c in per if s >= 0.05][:8]
    level = STRONG if share >= 0.20 else WEAK if share >= 0.05 else NONE
    return Signal("invalid-ranges", level, f"{share:.1%} of unique numbers are in ranges libphonenumber "
                  "says were never allocated (possible-only)", evidence, share)


def arithmetic_runs(n: Numbers) -> Signal:
    """Long arithmetic progressions (equal steps, +1 most often) among each country's sorted numbers."""
    if n.fraction < 1.0:
        return Signal("arithmetic-runs", NONE, "not measurable on a sample (sampling breaks runs); "
                      "see dense-blocks")
    nums = n.numbers.astype(np.int64)
    same = n.regions[1:] == n.regions[:-1]
    diffs = np.diff(nums)
    equal = (diffs[1:] == diffs[:-1]) & same[1:] & same[:-1] & (diffs[1:] > 0)
    starts, lengths = _true_runs(equal)
    members = lengths + 2  # k equal consecutive steps join k + 2 numbers
    long = members >= MIN_RUN
    total = nums.shape[0]
    in_runs = int(members[long].sum())
    share = in_runs / total if total else 0.0
    evidence = []
    if long.any():
        run_regions = n.regions[starts[long]]
        per_region = np.bincount(run_regions, weights=members[long], minlength=len(REGIONS))
        longest = np.zeros(len(REGIONS), dtype=np.int64)
        np.maximum.at(longest, run_regions, members[long])
        step = np.zeros(len(REGIONS), dtype=np.int64)
        order = np.lexsort((members[long], run_regions))  # per region, its longest run last
        step[run_regions[order]] = diffs[starts[long][order] + 1]
        counts = np.bincount(n.regions, minlength=len(REGIONS))
        for r in np.argsort(-per_region)[:8]:
            if per_region[r] > 0:
                evidence.append(f"{REGIONS[r]}: {per_region[r] / counts[r]:.1%} of its numbers in runs of "
                                f">= {MIN_RUN} (longest {int(longest[r]):,} with step {int(step[r])})")
    level = STRONG if share >= 0.05 else WEAK if in_runs else NONE
    return Signal("arithmetic-runs", level, f"{share:.1%} of unique numbers sit in arithmetic runs of "
                  f">= {MIN_RUN} numbers", evidence, share)


def dense_blocks(n: Numbers) -> Signal:
    """Blocks of consecutive numbers that are (nearly) full, scaled by the sampling fraction (blocks grow by
    powers of 10 from MIN_BLOCK until a full block would hold FULL_BLOCK_COUNT sampled numbers)."""
    block = MIN_BLOCK
    while block * n.fraction < FULL_BLOCK_COUNT and block < 10 ** 9:
        block *= 10
    blocks = n.numbers // np.uint64(block)
    if blocks.shape[0] == 0:
        return Signal("dense-blocks", NONE, "no numbers", [], 0.0)
    starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
    counts = np.diff(np.r_[starts, blocks.shape[0]])
    density = counts / (block * max(n.fraction, 1e-12))
    dense = (density >= DENSE) & (counts >= MIN_BLOCK_COUNT)
    in_dense = int(counts[dense].sum())
    share = in_dense / blocks.shape[0]
    evidence = []
    if dense.any():
        per = np.bincount(n.regions[starts[dense]], weights=counts[dense], minlength=len(REGIONS))
        total = np.bincount(n.regions, minlength=len(REGIONS))
        blocks_per = np.bincount(n.regions[starts[dense]], minlength=len(REGIONS))
        for r in np.argsort(-per)[:8]:
            if per[r] > 0:
                evidence.append(f"{REGIONS[r]}: {per[r] / total[r]:.1%} of its numbers in {int(blocks_per[r]):,} "
                                f"blocks of {block:,} consecutive numbers that are >= {DENSE:.0%} full")
    level = STRONG if share >= 0.05 else WEAK if share >= 0.01 else NONE
    return Signal("dense-blocks", level, f"{share:.1%} of unique numbers are in blocks of {block:,} consecutive "
                  f"numbers that are >= {DENSE:.0%} full", evidence, share)


def leading_digits(n: Numbers) -> Signal:
    """First two national digits per country: are they spread uniformly over the whole national number space
    (chi-square against uniform not rejected), landing in prefixes where nothing was ever allocated?"""
    cc_len = np.array([len(str(country_code_for_region(r))) if r not in ("001", "ZZ") else 0 for r in REGIONS])
    digits = np.searchsorted(_POW10, n.numbers, side="right")
    nsn_len = digits - cc_len[n.regions]
    ok = nsn_len >= 3
    first2 = np.zeros(n.numbers.shape[0], dtype=np.int64)
    first2[ok] = (n.numbers[ok] // _POW10[nsn_len[ok] - 2] % np.uint64(100)).astype(np.int64)
    counts = np.bincount(n.regions[ok], minlength=len(REGIONS))
    tested = uniform_total = unallocated_total = 0
    evidence = []
    for r in np.argsort(-counts):
        if counts[r] < MIN_LEADING:
            break
        if REGIONS[r] in ("001", "ZZ"):
            continue
        region = REGIONS[r]
        lo, hi = np.searchsorted(n.regions, r, "left"), np.searchsorted(n.regions, r, "right")
        observed = np.bincount(first2[lo:hi][ok[lo:hi]], minlength=100)
        support = 100 if observed[:10].any() else 90
        cells = observed[100 - support:]
        expected = counts[r] / support
        chi2 = float(((cells - expected) ** 2 / expected).sum())
        p = _chi2_sf(chi2, support - 1)
        allocated = allocated_prefixes(region)
        unallocated = int(sum(int(c) for i, c in enumerate(observed) if c and f"{i:02d}" not in allocated))
        tested += int(counts[r])
        unallocated_total += unallocated
        uniform = p > 0.001 and unallocated / counts[r] >= 0.10
        if uniform:
            uniform_total += int(counts[r])
        if uniform or unallocated / counts[r] >= 0.02:
            evidence.append(f"{region}: first 2 national digits chi-square {chi2:,.0f} vs uniform (df {support - 1}, "
                            f"p {p:.3g}); {unallocated / counts[r]:.1%} in prefixes with no allocated number")
    if not tested:
        return Signal("leading-digits", NONE, f"no country has {MIN_LEADING} numbers to test", [], None)
    uniform_share, unallocated_share = uniform_total / tested, unallocated_total / tested
    level = (STRONG if uniform_share >= 0.25 or unallocated_share >= 0.10
             else WEAK if uniform_share > 0 or unallocated_share >= 0.02 else NONE)
    return Signal("leading-digits", level, f"{uniform_share:.1%} of tested numbers are in countries whose leading "
                  f"digits look uniform over the whole number space; {unallocated_share:.1%} start with a "
                  "prefix under which nothing was allocated", evidence[:8], unallocated_share)


def mobile_share(n: Numbers, messenger: bool = True) -> Signal:
    """Share of mobile (or fixed-line-or-mobile) numbers; a messenger's users are almost all on mobiles."""
    total = n.numbers.shape[0]
    mobile = np.isin(n.kinds, [KINDS.index("mobile"), KINDS.index("fixed-line-or-mobile")])
    share = float(mobile.mean()) if total else 0.0
    per = _per_region_share(n.regions, ~mobile)
    evidence = [f"{r}: {1 - s:.1%} of {c:,} numbers mobile" for r, s, c in per if s >= 0.2][:8]
    if not messenger:
        return Signal("mobile-share", NONE, f"{share:.1%} mobile (not a messenger leak: no expectation)",
                      evidence, share)
    level = STRONG if share < 0.5 else WEAK if share < 0.8 else NONE
    return Signal("mobile-share", level, f"{share:.1%} of unique numbers are mobile; a messenger leak should be "
                  "almost all mobile", evidence, share)


def claim_shape(claim: dict[str, int]) -> list[Signal]:
    """Signals about the claim table itself: round counts, counts proportional to population."""
    counts = [c for c in claim.values() if c > 0]
    round_ones = [c for c in counts if c >= 10_000 and _significant(c) <= 3]
    share = len(round_ones) / len(counts) if counts else 0.0
    signals = [Signal("claim-round-counts", WEAK if counts and share >= 0.8 and len(counts) >= 3 else NONE,
                      f"{len(round_ones)} of {len(counts)} claimed counts are round (3 or fewer significant digits)",
                      [], share)]
    pairs = [(math.log(c), math.log(POPULATION_M[r] * 1e6)) for r, c in claim.items()
             if c > 0 and r in POPULATION_M]
    if len(pairs) >= 5:
        spread = float(np.std([a - b for a, b in pairs]))
        level = WEAK if spread < 0.15 else NONE
        signals.append(Signal("claim-population-proportional", level,
                              f"claimed count / population varies by a factor of {math.exp(spread):.2f} (1 sigma) "
                              f"over {len(pairs)} countries" + ("; the table may just follow population"
                                                                if level != NONE else ""), [], spread))
    return signals


def _significant(value: int) -> int:
    text = str(value).rstrip("0")
    return len(text)


def _per_region_share(regions: np.ndarray, flag: np.ndarray) -> list[tuple[str, float, int]]:
    counts = np.bincount(regions, minlength=len(REGIONS))
    hits = np.bincount(regions[flag], minlength=len(REGIONS))
    out = [(REGIONS[r], hits[r] / counts[r], int(counts[r])) for r in np.flatnonzero(counts >= 50)]
    return sorted(out, key=lambda t: -t[1] * t[2])


def _true_runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start index, length) of each run of True values."""
    padded = np.r_[False, flags, False].astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return starts, ends - starts


def _chi2_sf(stat: float, df: int) -> float:
    """Upper tail of the chi-square distribution (Wilson-Hilferty normal approximation)."""
    if df <= 0:
        return 1.0
    z = ((stat / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))
