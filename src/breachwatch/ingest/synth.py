"""Synthetic leaked dumps with known ground truth, so no real leaked data is ever needed.

Country mix modelled on the public claim about the 2022 WhatsApp list; numbers are valid mobile numbers
inside each country's real ranges (libphonenumber's metadata); rows come in the messy shapes real dumps
have, with duplicates in other shapes, junk rows, and the other columns such dumps carry."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import DATA_CLASS_BITS, mask_to_classes
from ..phone import (
    Status,
    country_code_for_region,
    format_international,
    format_national,
    mobile_example,
    mobile_pattern,
    normalize,
)
from .synthlayouts import COLUMNS, Layout, facebook_values, fields_mask, layout_for, open_writer

#: Per-country counts (millions) from the public claim about the 487M-number list.
CLAIMED_MIX: dict[str, float] = {"EG": 45.0, "IT": 35.7, "US": 32.0, "MY": 12.0, "GB": 11.0, "SG": 3.0,
                                 "HK": 2.9, "CN": 0.67}
#: The long tail: 76 more regions, weighted by a Zipf law over the rest of the 487M.
LONG_TAIL: tuple[str, ...] = (
    "SA", "IN", "TR", "BR", "FR", "DE", "ES", "ID", "NG", "PK", "MX", "RU", "BD", "AR", "CO", "ZA", "KE",
    "MA", "DZ", "TN", "IQ", "JO", "LB", "AE", "KW", "QA", "OM", "BH", "YE", "SD", "LY", "GH", "CI", "SN",
    "CM", "UG", "TZ", "ET", "PH", "TH", "VN", "KH", "MM", "LK", "NP", "AF", "IR", "UZ", "KZ", "UA", "PL",
    "RO", "NL", "BE", "PT", "GR", "SE", "CH", "AT", "IE", "IL", "CA", "AU", "NZ", "JP", "KR", "TW", "PE",
    "CL", "VE", "EC", "BO", "PY", "UY", "CR", "DK",
)
_TAIL_TOTAL = 487.0 - sum(CLAIMED_MIX.values())

SHAPES = ("e164", "international", "dashed", "00", "msisdn", "jid", "tel", "national", "arabic", "fullwidth")
_SHAPE_WEIGHTS = (24, 12, 6, 8, 14, 12, 4, 12, 4, 4)

_JUNK: tuple[tuple[str, str], ...] = (
    ("", "empty"), ("N/A", "no-digits"), ("unknown", "no-digits"), ("12345", "too-short"),
    ("+999 1234 5678", "invalid-country-code"), ("+20 1", "too-short"),
    ("+1 555 0100", "local-only"), ("+4412345678901234567", "too-long"),
)
_FIRST = ("Ahmed", "Mona", "John", "Mary", "Wei", "Li", "Siti", "Aisha", "Luca", "Giulia", "Oliver",
          "Amelia", "Omar", "Fatima", "Chen", "Nur", "Mohamed", "Sara", "James", "Emma")
_LAST = ("Hassan", "Ali", "Smith", "Johnson", "Wang", "Tan", "Lim", "Rossi", "Bianchi", "Brown", "Ibrahim",
         "Lee", "Wong", "Abdullah", "Taylor", "Russo", "Mahmoud", "Chan", "Garcia", "Khan")
_ABOUT = ("Hey there! I am using WhatsApp.", "Available", "Busy", "At work", "Alhamdulillah",
          "Only calls", "Living my best life", "Sleeping", "Battery about to die", "Can't talk, WhatsApp only")
_DEVICES = ("SM-A515F", "SM-G991B", "iPhone 12", "iPhone 13 Pro", "Redmi Note 10", "Pixel 6", "CPH2239",
            "M2101K6G", "iPhone SE", "V2027")
_OSES = ("Android 11", "Android 12", "Android 13", "iOS 15.7", "iOS 16.5", "iOS 17.1", "Android 10")

_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class SynthOptions:
    """What to generate."""

    rows: int
    out: Path
    truth: Path | None = None
    seed: int = 0
    countries: dict[str, float] | None = None
    duplicate_share: float = 0.06
    junk_share: float = 0.01
    clean_samples: int = 100
    #: How the dump is written: one of LAYOUTS ("csv": CSV, TSV, JSON lines or a plain list by --out's suffix).
    layout: str = "csv"


@dataclass
class SynthSummary:
    """What was generated (the truth file holds the full ground truth)."""

    rows: int
    unique_numbers: int
    duplicate_rows: int
    junk_rows: int
    countries: dict[str, int] = field(default_factory=dict)


def parse_mix(text: str) -> dict[str, float]:
    """Parse '--countries EG=45,US=32,...' into weights."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        region, _, weight = part.partition("=")
        region = region.strip().upper()
        if not mobile_example(region):
            raise ValueError(f"unknown region {region!r} in --countries")
        try:
            mix[region] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"bad weight {weight!r} for {region} in --countries") from None
    if not mix:
        raise ValueError("--countries is empty")
    return mix


def default_mix() -> dict[str, float]:
    """The claimed mix plus the long tail (84 countries)."""
    mix = dict(CLAIMED_MIX)
    harmonic = sum(1 / (i + 1) for i in range(len(LONG_TAIL)))
    for i, region in enumerate(LONG_TAIL):
        # Capped at Saudi Arabia's reported 29M, the largest country outside the claim's named ones.
        mix[region] = min(_TAIL_TOTAL / harmonic / (i + 1), 29.0)
    return mix


class NumberSource:
    """Random valid mobile national numbers of one region, inside libphonenumber's mobile ranges."""

    def __init__(self, region: str, rng: random.Random) -> None:
        example = mobile_example(region)
        pattern = mobile_pattern(region)
        if example is None or pattern is None:
            raise ValueError(f"no mobile numbers known for {region}")
        self.region = region
        self.country_code = country_code_for_region(region)
        self.example = example[1]
        self._regex = re.compile(pattern[0])
        self._lengths = pattern[1]
        self._rng = rng
        self._free = self._pick_free_digits()

    def _ok(self, national: str) -> bool:
        return (not self._lengths or len(national) in self._lengths) and self._regex.fullmatch(national) is not None

    def _pick_free_digits(self) -> int:
        # As many random trailing digits as keep most candidates inside a mobile range.
        for free in range(min(len(self.example) - 1, 8), 2, -1):
            hits = sum(self._ok(self._candidate(free)) for _ in range(40))
            if hits >= 20:
                return free
        return 3

    def _candidate(self, free: int) -> str:
        head = self.example[: len(self.example) - free]
        return head + f"{self._rng.randrange(10 ** free):0{free}d}"

    def draw(self) -> str:
        """One random national number that matches the region's mobile pattern."""
        for _ in range(200):
            national = self._candidate(self._free)
            if self._ok(national):
                return national
        return self.example


def _shape(rng: random.Random, shape: str, cc: int, national: str) -> tuple[str, bool]:
    """(text, needs a region hint) for one number in one shape."""
    msisdn = f"{cc}{national}"
    if shape == "e164":
        return "+" + msisdn, False
    if shape == "international":
        return format_international(cc, national), False
    if shape == "dashed":
        return f"+{cc}-{national[:3]}-{national[3:6]}-{national[6:]}", False
    if shape == "00":
        return "00" + msisdn, False
    if shape == "msisdn":
        return msisdn, False
    if shape == "jid":
        return f"{msisdn}@s.whatsapp.net", False
    if shape == "tel":
        return f"tel:+{cc}-{national}", False
    if shape == "national":
        return format_national(cc, national), True
    if shape == "arabic":
        return ("+" + msisdn).translate(_ARABIC), False
    return msisdn.translate(_FULLWIDTH), False


def _other_columns(rng: random.Random) -> tuple[dict[str, str], int]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    values = {
        "name": f"{first} {last}",
        "about": rng.choice(_ABOUT),
        "email": f"{first.lower()}.{last.lower()}{rng.randrange(100)}@example.com",
        "device_model": rng.choice(_DEVICES),
        "os_version": rng.choice(_OSES),
        "profile_photo": f"https://pps.whatsapp.net/v/t61.24694-24/{rng.getrandbits(48):012x}.jpg",
    }
    mask = 0
    for column, data_class, share in COLUMNS:
        if rng.random() < share:
            mask |= 1 << DATA_CLASS_BITS.index(data_class)
        else:
            values[column] = ""
    return values, mask


def synthesize(options: SynthOptions, progress: Callable[[int], None] | None = None) -> SynthSummary:
    """Write a fake dump (and its ground truth, if asked) as the options say."""
    rng = random.Random(options.seed)
    mix = options.countries or default_mix()
    regions = sorted(mix)
    weights = [mix[r] for r in regions]
    cum_weights = list(itertools.accumulate(weights))
    sources = {r: NumberSource(r, rng) for r in regions}
    layout = layout_for(options.layout, Path(options.out))
    verify = options.truth is not None
    # Shapes that need a region hint only where rows carry a country; a colon only where it is no delimiter.
    shapes = [s for s in SHAPES if (layout.hints or s != "national") and (layout.colons or s != "tel")]
    junk_kinds = [j for j in _JUNK if layout.empty_rows or j[0]]  # a blank line in a plain list is not a row
    shape_weights = [w for s, w in zip(SHAPES, _SHAPE_WEIGHTS, strict=True) if s in shapes]
    truth_numbers: dict[str, dict[str, Any]] = {}
    emitted: list[tuple[str, str, str]] = []  # (e164, region, national) for duplicates
    seen: set[str] = set()
    junk_reasons: dict[str, int] = {}
    junk_rows = duplicate_rows = 0
    writer = open_writer(layout, Path(options.out), sorted(regions, key=lambda r: -mix[r]))
    try:
        for row in range(options.rows):
            roll = rng.random()
            if roll < options.junk_share:
                text, reason = rng.choice(junk_kinds)
                junk_reasons[reason] = junk_reasons.get(reason, 0) + 1
                junk_rows += 1
                values, _ = _other_values(rng, layout)
                writer.write(text, "", values, None)
            else:
                if roll < options.junk_share + options.duplicate_share and emitted:
                    e164, region, national = rng.choice(emitted)
                    duplicate_rows += 1
                else:
                    region = rng.choices(regions, cum_weights=cum_weights)[0]
                    national = sources[region].draw()
                    e164 = f"+{sources[region].country_code}{national}"
                    if e164 in seen:
                        duplicate_rows += 1
                    else:
                        seen.add(e164)
                        emitted.append((e164, region, national))
                text, needs_hint, hint = _shaped(rng, shapes, shape_weights, sources[region], national, verify)
                values, mask = _other_values(rng, layout)
                shown = hint if (needs_hint or rng.random() < 0.5) else ""
                writer.write(text, shown if layout.hints else "", values, region)
                if verify:
                    entry = truth_numbers.setdefault(e164, {"region": None, "status": None, "mask": 0})
                    entry["mask"] |= mask
            if progress is not None and row % 65536 == 0:
                progress(row)
    finally:
        writer.close()
    unique = len(seen)
    summary = SynthSummary(options.rows, unique, duplicate_rows, junk_rows)
    for _e164, region, _national in emitted:
        summary.countries[region] = summary.countries.get(region, 0) + 1
    if options.truth is not None:
        _write_truth(options, rng, sources, regions, weights, truth_numbers, summary, junk_reasons)
    return summary


def _other_values(rng: random.Random, layout: Layout) -> tuple[dict[str, str], int]:
    """The row's other fields and the data-class mask ingest should find in them, for `layout`."""
    values, mask = _other_columns(rng)
    if layout.fields == "facebook":
        first, _, last = values["name"].partition(" ")
        values.update(facebook_values(rng, first, last, values["email"]))
    return values, (mask | fields_mask(layout, {}) if layout.fields == "columns" else fields_mask(layout, values))


def _shaped(rng: random.Random, shapes: list[str], weights: list[int], source: NumberSource,
            national: str, verify: bool) -> tuple[str, bool, str]:
    """A shape of the number that the policy reads back as the same number (checked when verifying)."""
    e164 = f"+{source.country_code}{national}"
    for _ in range(8):
        shape = rng.choices(shapes, weights)[0]
        text, needs_hint = _shape(rng, shape, source.country_code, national)
        hint = source.region
        if not verify:
            return text, needs_hint, hint
        # A shape must read back as the same number both with and without the country column, since
        # the writer fills that column for only some rows.
        if normalize(text, hint).e164 == e164 and (needs_hint or normalize(text, None).e164 == e164):
            return text, needs_hint, hint
    return e164, False, source.region


def _write_truth(options: SynthOptions, rng: random.Random, sources: dict[str, NumberSource],
                 regions: list[str], weights: list[float], numbers: dict[str, dict[str, Any]],
                 summary: SynthSummary, junk_reasons: dict[str, int]) -> None:
    countries: dict[str, int] = {}
    countries_valid: dict[str, int] = {}
    for e164, entry in numbers.items():
        result = normalize(e164)
        if result.status == Status.REJECTED or result.region is None:
            raise AssertionError(f"synth produced a number it cannot read back: {e164}")
        entry["region"] = result.region
        entry["status"] = "valid" if result.status == Status.VALID else "possible"
        entry["data_classes"] = mask_to_classes(entry.pop("mask"))
        countries[result.region] = countries.get(result.region, 0) + 1
        if result.status == Status.VALID:
            countries_valid[result.region] = countries_valid.get(result.region, 0) + 1
    clean: list[str] = []
    while len(clean) < options.clean_samples:
        region = rng.choices(regions, weights)[0]
        e164 = f"+{sources[region].country_code}{sources[region].draw()}"
        if e164 not in numbers and e164 not in clean and normalize(e164).status == Status.VALID:
            clean.append(e164)
    truth = {
        "seed": options.seed, "rows": summary.rows, "unique_numbers": summary.unique_numbers,
        "duplicate_rows": summary.duplicate_rows, "junk_rows": summary.junk_rows,
        "rejected_by_reason": dict(sorted(junk_reasons.items())),
        "countries": dict(sorted(countries.items())), "countries_valid": dict(sorted(countries_valid.items())),
        "numbers": numbers, "clean_numbers": clean,
    }
    Path(options.truth or "").write_text(json.dumps(truth, ensure_ascii=False))


def iter_truth_numbers(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(E.164, {region, status, data_classes}) for each number of a truth file."""
    truth = json.loads(Path(path).read_text())
    yield from truth["numbers"].items()
