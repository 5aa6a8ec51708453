"""A seller's claim table (country,count CSV) and its comparison with what a dump holds, with a Poisson
interval so a country is flagged only when it disagrees beyond sampling error."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..phone import SUPPORTED_REGIONS

#: Two-sided normal quantile of the intervals (about 99.7%): many countries are tested at once.
Z = 3.0
#: Relative disagreement a flag also needs: claims are rounded, so tiny exact differences do not count.
TOLERANCE = 0.25


@dataclass(frozen=True)
class ClaimRow:
    """One country of the claim against the dump: claimed count, observed count (scaled to the whole dump), the
    count the claim predicts at the typical observed/claimed ratio, ratio observed/claimed, relative ratio
    (observed/expected) with its interval, and whether it is flagged."""

    region: str
    claimed: int
    observed: int
    expected: int
    ratio: float | None
    relative: float | None
    low: float | None
    high: float | None
    flagged: bool


def parse_claim(text: str, source: str = "claim") -> dict[str, int]:
    """{region: claimed count} from CSV text with columns country,count (a header row is optional; lines starting
    with '#' are comments, e.g. the source block of a published table)."""
    claim: dict[str, int] = {}
    # Comment lines become empty lines: skipped, yet the rows after them keep their numbers in error messages.
    text = "".join(line[len(line.rstrip("\r\n")):] if line.lstrip().startswith("#") else line
                   for line in text.splitlines(keepends=True))
    reader = csv.reader(io.StringIO(text, newline=""))
    row_no = 0
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(source, f"not readable as CSV: {exc}", row=reader.line_num) from None
        row_no += 1
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise InputError(source, "expected country,count", row=row_no)
        region, raw = row[0].strip().upper(), row[1].strip().replace("_", "")
        if first and not raw.isdigit():
            first = False
            continue  # header
        first = False
        if region not in SUPPORTED_REGIONS:
            raise InputError(source, f"{row[0].strip()!r} is not an ISO region code libphonenumber knows",
                             row=row_no, field="country")
        if not raw.isdigit():
            raise InputError(source, f"count {row[1].strip()!r} is not a whole number", row=row_no, field="count")
        if region in claim:
            raise InputError(source, f"{region} is listed twice", row=row_no, field="country")
        claim[region] = int(raw)
    if not claim:
        raise InputError(source, "no country,count rows found")
    return claim


def read_claim(path: str | Path) -> dict[str, int]:
    """parse_claim() of a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(p), "no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(p), f"not UTF-8 text ({exc.reason})") from None
    return parse_claim(text, str(p))


def poisson_interval(count: int, z: float = Z) -> tuple[float, float]:
    """Approximate two-sided interval for a Poisson mean given an observed count (Byar's method)."""
    low = 0.0 if count <= 0 else count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    n = count + 1
    high = n * (1 - 1 / (9 * n) + z / (3 * math.sqrt(n))) ** 3
    return max(low, 0.0), high


def compare(claim: dict[str, int], sampled: dict[str, int], scale: float,
            z: float = Z, tolerance: float = TOLERANCE) -> list[ClaimRow]:
    """Each claimed country against the dump. `sampled` holds the unique numbers per region actually counted
    (in the sample, if one was taken) and `scale` turns them into whole-dump estimates. The claim's overall
    size is not assumed: the typical observed/claimed ratio (the median over claimed countries) is the
    baseline, and a country is flagged when its count is outside the Poisson interval of that baseline and
    off by more than `tolerance`."""
    ratios = sorted(sampled.get(r, 0) / c for r, c in claim.items() if c > 0)
    baseline = _median(ratios) if ratios else 0.0
    rows = []
    for region, claimed in sorted(claim.items(), key=lambda kv: (-kv[1], kv[0])):
        seen = sampled.get(region, 0)
        observed = round(seen * scale)
        expected = baseline * claimed
        if claimed == 0 or expected <= 0:
            rows.append(ClaimRow(region, claimed, observed, 0, None, None, None, None, seen > 0))
            continue
        low, high = poisson_interval(seen, z)
        relative = seen / expected
        outside = expected < low or expected > high
        material = relative > 1 + tolerance or relative < 1 / (1 + tolerance)
        rows.append(ClaimRow(region, claimed, observed, round(expected * scale), observed / claimed, relative,
                             low / expected,
                             high / expected, outside and material))
    return rows


def _median(values: list[float]) -> float:
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
