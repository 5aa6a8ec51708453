"""Number types (mobile, fixed-line, ...) of many E.164 numbers at once, with libphonenumber's patterns
applied in its own precedence order by Polars' regex engine instead of one Python call per number."""

from __future__ import annotations

from functools import cache

import numpy as np
import polars as pl

from ..phone import REGIONS, country_code_for_region, type_patterns

#: Kind codes returned by classify(); "invalid" is for numbers that are not valid (possible-only).
KINDS: tuple[str, ...] = ("invalid", "mobile", "fixed-line-or-mobile", "fixed-line", "other", "unknown")
_CODE = {kind: i for i, kind in enumerate(KINDS)}


def classify(numbers: np.ndarray, regions: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A KINDS code (uint8) for each E.164 integer, given its region index and whether it is valid."""
    out = np.full(numbers.shape[0], _CODE["invalid"], dtype=np.uint8)
    if numbers.shape[0] == 0:
        return out
    order = np.argsort(regions, kind="stable")
    sorted_regions = regions[order]
    bounds = np.flatnonzero(np.diff(sorted_regions)) + 1
    for chunk in np.split(order, bounds):
        chosen = chunk[valid[chunk]]
        if chosen.shape[0]:
            out[chosen] = _classify_region(REGIONS[int(regions[chunk[0]])], numbers[chosen])
    return out


def _classify_region(region: str, numbers: np.ndarray) -> np.ndarray:
    codes = np.full(numbers.shape[0], _CODE["unknown"], dtype=np.uint8)
    patterns = type_patterns(region)
    cc = country_code_for_region(region)
    if patterns is None or cc == 0:
        return codes
    national = pl.Series(numbers).cast(pl.String).str.slice(len(str(cc)))
    lengths = national.str.len_chars().to_numpy()
    decided = np.zeros(numbers.shape[0], dtype=bool)
    mobile = _matches(national, lengths, patterns.kinds, "mobile")
    for kind, pattern, possible in patterns.kinds:
        if kind == "mobile":
            continue
        hit = _match(national, lengths, pattern, possible) & ~decided
        if kind == "fixed-line":
            both = hit & (mobile | patterns.same_mobile_and_fixed)
            codes[both] = _CODE["fixed-line-or-mobile"]
            codes[hit & ~both] = _CODE["fixed-line"]
        else:
            codes[hit] = _CODE["other"]
        decided |= hit
    if not patterns.same_mobile_and_fixed:
        codes[mobile & ~decided] = _CODE["mobile"]
    return codes


def _matches(national: pl.Series, lengths: np.ndarray, kinds: tuple[tuple[str, str, tuple[int, ...]], ...],
             wanted: str) -> np.ndarray:
    for kind, pattern, possible in kinds:
        if kind == wanted:
            return _match(national, lengths, pattern, possible)
    return np.zeros(national.len(), dtype=bool)


def _match(national: pl.Series, lengths: np.ndarray, pattern: str, possible: tuple[int, ...]) -> np.ndarray:
    ok = np.isin(lengths, possible) if possible else np.ones(lengths.shape[0], dtype=bool)
    if possible == (-1,) or not ok.any():
        return np.zeros(lengths.shape[0], dtype=bool)
    found = national.str.contains(f"^(?:{pattern})$").fill_null(False).to_numpy()
    return np.asarray(ok & found.astype(bool))


@cache
def allocated_prefixes(region: str, digits: int = 2, probes: int = 32) -> frozenset[str]:
    """Leading national-number prefixes of `digits` digits under which libphonenumber's metadata has valid
    numbers, found by classifying `probes` pseudo-random completions per prefix and possible length."""
    patterns = type_patterns(region)
    cc = country_code_for_region(region)
    if patterns is None or cc == 0:
        return frozenset()
    rng = np.random.default_rng(cc * 7919 + digits)
    prefixes = np.repeat(np.arange(10 ** digits, dtype=np.uint64), probes)
    found: set[int] = set()
    for length in (n for n in patterns.lengths if n > digits):
        tails = rng.integers(0, 10 ** (length - digits), size=prefixes.shape[0]).astype(np.uint64)
        numbers = np.uint64(cc) * np.uint64(10) ** np.uint64(length) + prefixes * np.uint64(10) ** np.uint64(
            length - digits) + tails
        codes = _classify_region(region, numbers)
        found.update(int(p) for p in np.unique(prefixes[codes != _CODE["unknown"]]))
    return frozenset(f"{p:0{digits}d}" for p in found)
