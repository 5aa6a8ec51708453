"""Frozen value types shared by the library, the CLI and the web app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: HIBP-style data class names that can leak with a number, each with its fixed bit in a segment's
#: per-number mask (format v1: never reorder, only append up to 16).
DATA_CLASS_BITS: tuple[str, ...] = (
    "Names", "Email addresses", "Bios", "Profile photos", "Device information", "Genders",
    "Dates of birth", "Geographic locations", "Usernames", "IP addresses", "Passwords", "Employers",
    "Job titles", "Social media profiles", "Relationship statuses", "Account identifiers",
)
PHONE_NUMBERS = "Phone numbers"
VERIFICATION_STATUSES = ("unverified", "verified", "disputed", "fabricated")


def mask_to_classes(mask: int) -> list[str]:
    """The data class names whose bits are set in `mask`, always starting with 'Phone numbers'."""
    return [PHONE_NUMBERS] + [name for bit, name in enumerate(DATA_CLASS_BITS) if mask & (1 << bit)]


def classes_to_mask(classes: list[str]) -> int:
    """The mask with the bits of the given data class names set."""
    return sum(1 << DATA_CLASS_BITS.index(c) for c in classes if c in DATA_CLASS_BITS)


@dataclass(frozen=True)
class CountryCount:
    """Unique numbers of one region in one breach."""

    region: str
    numbers: int
    valid: int


@dataclass(frozen=True)
class Breach:
    """A loaded breach, as the catalog holds it (HIBP-compatible fields plus breachwatch's own)."""

    name: str
    title: str
    breach_date: dt.date | None
    added_date: dt.datetime
    modified_date: dt.datetime
    description: str
    pwn_count: int
    data_classes: list[str]
    status: str = "unverified"
    domain: str = ""
    logo_path: str = ""
    is_sensitive: bool = False
    is_retired: bool = False
    is_spam_list: bool = False
    is_malware: bool = False
    source_notes: str = ""
    valid_count: int = 0
    possible_count: int = 0
    segment_file: str = ""
    segment_checksum: str = ""
    ingest_report: dict[str, Any] = field(default_factory=dict)

    @property
    def is_verified(self) -> bool:
        """HIBP's IsVerified."""
        return self.status == "verified"

    @property
    def is_fabricated(self) -> bool:
        """HIBP's IsFabricated."""
        return self.status == "fabricated"

    @property
    def is_public(self) -> bool:
        """Shown in searches: neither sensitive nor retired (as on HIBP)."""
        return not (self.is_sensitive or self.is_retired)


@dataclass(frozen=True)
class RejectSample:
    """A rejected row: where it was and a masked form of what it held."""

    row: int
    masked: str


@dataclass
class IngestReport:
    """What an ingest read, kept, merged and rejected (never a whole number)."""

    breach: str
    source: str
    rows: int = 0
    accepted_rows: int = 0
    unique_numbers: int = 0
    duplicate_rows: int = 0
    valid_numbers: int = 0
    possible_numbers: int = 0
    rejected_rows: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rejected_samples: dict[str, list[RejectSample]] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    countries_valid: dict[str, int] = field(default_factory=dict)
    data_classes: list[str] = field(default_factory=list)
    phone_column: str | None = None
    country_column: str | None = None
    format: str = ""
    seconds: float = 0.0
    #: Each file read (name, format, delimiter, phone and country column, rows), for dumps of several files.
    files: list[dict[str, Any]] = field(default_factory=list)
    #: How the dump was read where that is worth saying (fields read by position in a ragged layout...).
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "breach": self.breach, "source": self.source, "format": self.format,
            "phone_column": self.phone_column, "country_column": self.country_column,
            "rows": self.rows, "accepted_rows": self.accepted_rows, "unique_numbers": self.unique_numbers,
            "duplicate_rows": self.duplicate_rows, "valid_numbers": self.valid_numbers,
            "possible_numbers": self.possible_numbers, "rejected_rows": self.rejected_rows,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "rejected_samples": {k: [{"row": s.row, "value": s.masked} for s in v]
                                 for k, v in sorted(self.rejected_samples.items())},
            "countries": dict(sorted(self.countries.items(), key=lambda kv: (-kv[1], kv[0]))),
            "countries_valid": dict(sorted(self.countries_valid.items())),
            "data_classes": self.data_classes, "files": self.files, "notes": self.notes,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows / self.seconds) if self.seconds else None,
        }


@dataclass(frozen=True)
class BreachHit:
    """One breach a checked number is in, with what leaked with that number there."""

    breach: Breach
    data_classes: list[str]


@dataclass(frozen=True)
class CheckResult:
    """The answer for one checked number."""

    query: str
    e164: str | None
    status: str
    hits: list[BreachHit]
    advice: list[str]
    error: str | None = None

    @property
    def found(self) -> bool:
        """True when the number is in at least one breach."""
        return bool(self.hits)
