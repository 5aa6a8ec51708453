"""Generated fabricated dumps with known truth for the triage tests: sequential blocks, numbers spread uniformly
over whole national number spaces, and dumps recycled from another dump's numbers."""

from __future__ import annotations

import random
from pathlib import Path

from breachwatch.phone import country_code_for_region, type_patterns


def write_lines(path: Path, numbers: list[str]) -> Path:
    """A plain list of numbers, one a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("phone\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    return path


def sequential(starts: dict[str, tuple[str, int]]) -> list[str]:
    """For each region, `count` consecutive numbers from a national start number: E.164 strings."""
    out = []
    for region, (start, count) in starts.items():
        cc = country_code_for_region(region)
        width = len(start)
        out += [f"+{cc}{int(start) + i:0{width}d}" for i in range(count)]
    return out


def uniform(counts: dict[str, int], seed: int = 0) -> list[str]:
    """For each region, `count` numbers drawn uniformly over the whole national number space of the longest
    mobile number length (any leading digit but 0): E.164 strings."""
    rng = random.Random(seed)
    out = []
    for region, count in counts.items():
        patterns = type_patterns(region)
        assert patterns is not None
        length = max(next(lengths for kind, _, lengths in patterns.kinds if kind == "mobile"))
        cc = country_code_for_region(region)
        out += [f"+{cc}{rng.randrange(10 ** (length - 1), 10 ** length)}" for _ in range(count)]
    return out
