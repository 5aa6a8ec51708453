"""libphonenumber's metadata as tables for the vectorized fast path, read from the installed `phonenumbers`
package at run time (never copied into this repository): per country calling code its regions, and per
region its number-type patterns, possible lengths, leading digits, national and international prefixes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, ValidationResult, phonenumberutil

#: Longest national significant number libphonenumber parses (longer is TOO_LONG).
MAX_NSN = 17
#: Length results, as small integers: the index into LENGTH_REASONS (0 = possible).
LENGTH_POSSIBLE = 0
LENGTH_REASONS: tuple[str | None, ...] = (None, "too-short", "too-long", "invalid-length", "local-only",
                                          "invalid-country-code")
_LENGTH_CODE = {
    ValidationResult.IS_POSSIBLE: 0, ValidationResult.TOO_SHORT: 1, ValidationResult.TOO_LONG: 2,
    ValidationResult.INVALID_LENGTH: 3, ValidationResult.IS_POSSIBLE_LOCAL_ONLY: 4,
    ValidationResult.INVALID_COUNTRY_CODE: 5,
}
_TYPE_FIELDS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                "voicemail", "fixed_line", "mobile")
_LITERAL = re.compile(r"\d+")
_LITERALS = re.compile(r"\d+(?:\|\d+)*")


@dataclass(frozen=True)
class RegionTable:
    """What the fast path needs about one region's metadata (`usable` is False when one of its patterns does
    not compile with Python's `re`: rows needing it then go to the per-row path)."""

    region: str
    country_code: int
    general: str | None
    general_lengths: tuple[int, ...]
    #: (union of type patterns anchored for a full match, possible lengths or () for any) per length group.
    types: tuple[tuple[str, tuple[int, ...]], ...]
    leading_digits: str | None
    #: national prefix for parsing: None (none), a digit literal, or an anchored regex when not literal.
    npp: str | None
    npp_literal: bool
    #: the national prefix as alternatives of digit literals, tried in order ('0|180020'), else ().
    npp_alternatives: tuple[str, ...]
    #: the national prefix transform rule (a `re.sub` template such as '9\\1'), or None.
    npp_transform_rule: str | None
    idd: str | None
    idd_literal: bool
    #: _test_number_length result code by number length 0..MAX_NSN+3.
    lengths: tuple[int, ...]
    #: False when some pattern of this region cannot be used in bulk.
    usable: bool

    @property
    def npp_transform(self) -> bool:
        """The national prefix comes with a transform rule."""
        return self.npp_transform_rule is not None


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:  # not usable by the fast path's classifiers: such rows go to the per-row path
        return False
    return True


def full(pattern: str) -> str:
    """A regex matching exactly when `pattern` matches the whole text."""
    return f"^(?:{pattern})$"


def prefix(pattern: str) -> str:
    """A regex matching exactly when `pattern` matches at the start of the text."""
    return f"^(?:{pattern})"


def _length_table(metadata: PhoneMetadata) -> tuple[int, ...]:
    return tuple(_LENGTH_CODE[phonenumberutil._test_number_length("0" * n, metadata)]
                 for n in range(MAX_NSN + 4))


def _build(region: str, metadata: PhoneMetadata) -> RegionTable:
    general = metadata.general_desc
    usable = True
    gen_pattern = general.national_number_pattern if general is not None else None
    groups: dict[tuple[int, ...], list[str]] = {}
    for name in _TYPE_FIELDS:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        groups.setdefault(tuple(desc.possible_length), []).append(desc.national_number_pattern)
    types = tuple((full("|".join(f"(?:{p})" for p in pats)), lengths) for lengths, pats in groups.items())
    npp = metadata.national_prefix_for_parsing or None
    npp_literal = bool(npp and _LITERAL.fullmatch(npp))
    idd = metadata.international_prefix or None
    idd_literal = bool(idd and _LITERAL.fullmatch(idd))
    checks = [full(gen_pattern)] if gen_pattern else []
    checks += [p for p, _ in types]
    if metadata.leading_digits:
        checks.append(prefix(metadata.leading_digits))
    if npp and not npp_literal:
        checks.append(prefix(npp))
    if idd and not idd_literal:
        checks.append(prefix(idd))
    usable = all(_compiles(p) for p in checks)
    return RegionTable(
        region=region, country_code=int(metadata.country_code or 0),
        general=full(gen_pattern) if gen_pattern else None,
        general_lengths=tuple(general.possible_length) if general is not None else (),
        types=types, leading_digits=prefix(metadata.leading_digits) if metadata.leading_digits else None,
        npp=npp if npp_literal else (prefix(npp) if npp else None), npp_literal=npp_literal,
        npp_alternatives=tuple(npp.split("|")) if npp and _LITERALS.fullmatch(npp) else (),
        npp_transform_rule=metadata.national_prefix_transform_rule or None, idd=idd if idd_literal else (
            prefix(idd) if idd else None), idd_literal=idd_literal,
        lengths=_length_table(metadata), usable=usable,
    )


@cache
def region_table(region: str) -> RegionTable | None:
    """The table of a region (or of '001' entities through country_table), None if libphonenumber has none."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else _build(region, metadata)


@dataclass(frozen=True)
class CountryTable:
    """A country calling code: its main region's table and every region sharing it, in libphonenumber's
    order (the order region_code_for_number tries them)."""

    country_code: int
    main_region: str
    main: RegionTable
    regions: tuple[RegionTable, ...]
    usable: bool


@cache
def country_table(country_code: int) -> CountryTable | None:
    """The table of a country calling code, None if the code is unknown or has no metadata."""
    names = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not names:
        return None
    main_region = phonenumbers.region_code_for_country_code(country_code)
    tables: list[RegionTable] = []
    for name in names:
        if name == "001":
            metadata = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
            table = None if metadata is None else _build("001", metadata)
        else:
            table = region_table(name)
        if table is None:
            return None
        tables.append(table)
    main = next((t for t in tables if t.region == main_region), None)
    if main is None:
        return None
    return CountryTable(country_code, main_region, main, tuple(tables), all(t.usable for t in tables))


@cache
def country_codes() -> frozenset[int]:
    """Every country calling code libphonenumber knows (they are prefix-free)."""
    return frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
