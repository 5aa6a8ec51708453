"""Number ranges granted to an organisation, as (first, last) E.164 integers: merged into disjoint intervals,
and the test that a number or range lies inside them."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

Interval = tuple[int, int]


def merge(ranges: Iterable[Interval], adjacent: bool = True) -> list[Interval]:
    """Disjoint, sorted intervals covering the same numbers as `ranges`; with `adjacent`, ranges that touch
    (one ends at n, the next starts at n + 1) are joined too."""
    step = 1 if adjacent else 0
    merged: list[Interval] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + step:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def covers(granted: list[Interval], first: int, last: int) -> bool:
    """True when every number from `first` to `last` lies inside `granted` (disjoint, sorted, from `merge`)."""
    at = bisect.bisect_right(granted, (first, float("inf"))) - 1
    return at >= 0 and granted[at][0] <= first and last <= granted[at][1]


def size(intervals: Iterable[Interval]) -> int:
    """How many numbers the (disjoint) intervals hold."""
    return sum(last - first + 1 for first, last in intervals)


def as_text(interval: Interval) -> str:
    """A range as written in requests and on the command line: '+3222000000-+3222009999'."""
    return f"+{interval[0]}-+{interval[1]}"
