"""How closely a claim's per-country table follows another table (a loaded breach, a published table, an earlier
claim), in measures a reader can check by hand: countries in common, the share of them within 5% and 10% once
the claim is scaled to the other table, the spread of the log ratios, and a rank correlation. Pure arithmetic on
counts; see docs/triage.md for the thresholds and how they can be fooled."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Countries in common a verdict needs: with fewer, a close fit says little.
MIN_COMMON = 5
#: Share of common countries within 5% (after scaling) for "matches".
MATCH_WITHIN_5 = 0.6
#: Share within 10% for "resembles" (a table copied and then perturbed by a few percent).
RESEMBLE_WITHIN_10 = 0.5
#: Or: log ratios this tight (standard deviation, natural log) with a rank correlation at least RESEMBLE_RHO.
RESEMBLE_SPREAD = 0.2
RESEMBLE_RHO = 0.9

MATCH, RESEMBLES, NO_MATCH, TOO_FEW = "matches", "resembles", "no match", "too few countries"


@dataclass(frozen=True)
class Point:
    """One country compared: the claimed count and the table's count."""

    region: str
    claimed: int
    table: int


@dataclass(frozen=True)
class TableMatch:
    """The claim against one table: its name, title, kind (published, breach, claim, reference) and source;
    countries on each side and in common; how many common countries are within 5% and 10% of the typical ratio;
    that ratio (claim / table, the median), the standard deviation of the natural log of the ratios, Spearman's
    rank correlation, the level it reaches, and the (region, claimed, table) counts compared."""

    name: str
    title: str
    kind: str
    source: str
    claim_countries: int
    table_countries: int
    common: int
    within_5: int
    within_10: int
    median_ratio: float | None
    log_spread: float | None
    rank_correlation: float | None
    level: str
    points: list[Point] = field(default_factory=list)

    @property
    def share_5(self) -> float:
        """Share of common countries within 5%."""
        return self.within_5 / self.common if self.common else 0.0

    @property
    def share_10(self) -> float:
        """Share of common countries within 10%."""
        return self.within_10 / self.common if self.common else 0.0


def compare_tables(claim: dict[str, int], table: dict[str, int], name: str, title: str = "", kind: str = "published",
                   source: str = "") -> TableMatch:
    """The claim against one table. Only countries with a positive count on both sides are compared; the claim's
    size is not assumed (a seller may scale a table up or down), so each ratio is judged against the median."""
    common = sorted(r for r, c in claim.items() if c > 0 and table.get(r, 0) > 0)
    points = [Point(r, claim[r], table[r]) for r in common]
    logs = [math.log(p.claimed / p.table) for p in points]
    median_log = _median(logs) if logs else None
    within_5 = within_10 = 0
    if median_log is not None:
        for x in logs:
            off = abs(math.exp(x - median_log) - 1)
            within_5 += off <= 0.05 + 1e-12
            within_10 += off <= 0.10 + 1e-12
    spread = _std(logs) if len(logs) >= 2 else None
    rho = spearman([p.claimed for p in points], [p.table for p in points]) if len(points) >= 3 else None
    n = len(points)
    if n < MIN_COMMON:
        level = TOO_FEW
    elif within_5 / n >= MATCH_WITHIN_5:
        level = MATCH
    elif within_10 / n >= RESEMBLE_WITHIN_10 or (spread is not None and spread <= RESEMBLE_SPREAD
                                                  and rho is not None and rho >= RESEMBLE_RHO):
        level = RESEMBLES
    else:
        level = NO_MATCH
    return TableMatch(name, title or name, kind, source, sum(1 for c in claim.values() if c > 0),
                      sum(1 for c in table.values() if c > 0), n, within_5, within_10,
                      math.exp(median_log) if median_log is not None else None, spread, rho, level, points)


def spearman(xs: list[int], ys: list[int]) -> float | None:
    """Spearman's rank correlation (ties get their average rank); None when either side is constant."""
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _ranks(values: list[int]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _std(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
