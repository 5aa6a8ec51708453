"""Per-candidate classification for the fast path with precompiled Python `re` patterns: the national-prefix
strip and the validity/region/possible-length decision of one (country code, national number) candidate,
as `phonenumbers.parse`, `is_valid_number`, `region_code_for_number` and `is_possible_number_with_reason`
decide them from the metadata tables of `tables.py`. Patterns are compiled once per process (lazily, per
country calling code), so a call costs nothing fixed per country present."""

from __future__ import annotations

import re
from collections.abc import Callable

from .reference import REGION_INDEX, REJECT_REASONS
from .tables import LENGTH_POSSIBLE, LENGTH_REASONS, MAX_NSN, CountryTable, RegionTable, country_table, region_table

SLOW = 255  # status of a candidate left to the per-row path
NO_REASON = -1
#: Rejection reason -> its small-integer code (the index in REJECT_REASONS), as the bulk paths store it.
REASON_CODE = {r: i for i, r in enumerate(REJECT_REASONS)}
#: tables.LENGTH_REASONS as reason codes (NO_REASON where the length is possible).
LENGTH_REASON_CODE = [NO_REASON if r is None else REASON_CODE[r] for r in LENGTH_REASONS]
_TOO_LONG = REASON_CODE["too-long"]
_U64_MAX = (1 << 64) - 1
#: (status, region index, number, reason) of one candidate.
Decision = tuple[int, int, int, int]
_SLOW_DECISION: Decision = (SLOW, 0, 0, NO_REASON)

_Matcher = Callable[[str], object]


def _validity_by_length(table: RegionTable) -> dict[int, _Matcher]:
    """Per number length, one compiled pattern matching exactly the valid numbers of that length: the
    general description (as a lookahead) and the union of the number types allowing the length. Lengths
    with no such pattern hold no valid number."""
    out: dict[int, _Matcher] = {}
    if table.general is None or not table.types:
        return out
    for length in range(MAX_NSN + 1):
        if table.general_lengths and length not in table.general_lengths:
            continue
        types = [pattern for pattern, allowed in table.types if not allowed or length in allowed]
        if types:
            out[length] = re.compile(f"(?={table.general})(?:{'|'.join(types)})").match
    return out


class _Region:
    """One region's compiled patterns."""

    def __init__(self, table: RegionTable) -> None:
        self.index = REGION_INDEX[table.region] if table.region in REGION_INDEX else REGION_INDEX["ZZ"]
        self.general: _Matcher | None = re.compile(table.general).search if table.general else None
        self.by_length = _validity_by_length(table)
        self.leading: _Matcher | None = (re.compile(table.leading_digits).search
                                         if table.leading_digits else None)
        self.lengths = table.lengths
        self.top = len(table.lengths) - 1
        self.npp = table.npp
        self.npp_regex: re.Pattern[str] | None = None
        self.npp_alternatives = table.npp_alternatives
        self.idd = table.idd
        self.idd_literal = table.idd_literal
        self.idd_regex: Callable[[str], re.Match[str] | None] | None = (
            re.compile(table.idd).match if table.idd is not None and not table.idd_literal else None)
        self.npp_rule = table.npp_transform_rule
        if table.npp is not None and (table.npp_transform or not table.npp_alternatives):
            self.npp_regex = re.compile(table.npp)
            self.npp_alternatives = ()

    def valid(self, number: str, length: int) -> bool:
        """_number_type_helper(...) != UNKNOWN: the general description, then any number type."""
        match = self.by_length.get(length)
        return match is not None and match(number) is not None

    def length_code(self, length: int) -> int:
        """_test_number_length(...) as a code (see tables.LENGTH_REASONS)."""
        return self.lengths[min(max(length, 0), self.top)]

    def strip(self, number: str, gated: bool) -> str | None:
        """The number after _maybe_strip_national_prefix_carrier_code (prefix stripped, or rewritten by the
        region's transform rule), None when the per-row path must decide (a transform rule without a group
        to test, which the metadata does not have). With `gated`, the strip is kept only where parse keeps it
        (by the length test of the stripped number)."""
        if self.npp is None or not number:
            return number
        if self.npp_regex is not None:
            found = self.npp_regex.match(number)
            if found is None:
                return number
            groups = found.groups()
            if self.npp_rule and not groups:
                return None  # a transform rule without a group: left to libphonenumber itself
            if self.npp_rule and groups[-1] is not None:
                rest = self.npp_regex.sub(self.npp_rule, number, count=1)
            else:
                rest = number[found.end():]
            return self._kept(number, rest, gated)
        width = 0
        for alternative in self.npp_alternatives:  # re.match tries alternatives in order
            if number.startswith(alternative):
                width = len(alternative)
                break
        if width == 0:
            return number
        return self._kept(number, number[width:], gated)

    def _kept(self, number: str, rest: str, gated: bool) -> str:
        """`rest` (the number with its national prefix stripped or transformed) where parse keeps it."""
        general = self.general
        viable = bool(general(number)) if general is not None else False
        kept = bool(general(rest)) if general is not None else False
        if viable and not kept:
            return number
        if gated and self.length_code(len(rest)) in (1, 3, 4):  # TOO_SHORT, INVALID_LENGTH, LOCAL_ONLY
            return number
        return rest


class _Country:
    """One country calling code's compiled regions, in the order region_code_for_number tries them."""

    def __init__(self, code: int, table: CountryTable) -> None:
        self.prefix = str(code)
        self.main = _Region(table.main)
        self.regions = tuple(self.main if r is table.main else _Region(r) for r in table.regions)
        self.single = len(self.regions) == 1
        self.by_name = {r.region: reg for r, reg in zip(table.regions, self.regions, strict=True)}
        self.main_index = REGION_INDEX.get(table.main_region, REGION_INDEX["ZZ"])
        self.memo: dict[str, Decision] = {}

    def decide(self, national: str) -> Decision:
        """(status, region index, E.164 digits as int, reason) of the national significant number."""
        length = len(national)
        if length > MAX_NSN:
            return (0, 0, 0, _TOO_LONG)
        number = int(self.prefix + national)
        if number > _U64_MAX:
            return _SLOW_DECISION
        if self.single:
            region = self.main.index
            valid = self.main.valid(national, length)
        else:
            region = self.main_index
            valid = False
            for reg in self.regions:
                if reg.leading is not None:
                    if reg.leading(national):
                        region, valid = reg.index, reg.valid(national, length)
                        break
                elif reg.valid(national, length):
                    region, valid = reg.index, True
                    break
        if valid:
            return (2, region, number, NO_REASON)
        code = self.main.length_code(length)
        if code == LENGTH_POSSIBLE:
            return (1, region, number, NO_REASON)
        return (0, 0, 0, LENGTH_REASON_CODE[code])


_COUNTRIES: dict[int, _Country | None] = {}


def compiled(code: int) -> _Country | None:
    """The compiled tables of a country calling code (cached per process), None when unknown or not usable."""
    if code not in _COUNTRIES:
        table = country_table(code)
        _COUNTRIES[code] = _Country(code, table) if table is not None and table.usable else None
    return _COUNTRIES[code]


def classify(codes: list[int], nationals: list[str], strip: list[bool], slow: list[bool]) -> list[Decision]:
    """The decision of each candidate (country code, national number): `strip` marks numbers still to get
    the gated national-prefix strip of the code's main region, `slow` candidates left to the per-row path."""
    out: list[Decision] = []
    append = out.append
    last_code = -1
    country: _Country | None = None
    for code, national, pending, late in zip(codes, nationals, strip, slow, strict=True):
        if late:
            append(_SLOW_DECISION)
            continue
        if code != last_code:
            country = compiled(code)
            last_code = code
        if country is None:
            append(_SLOW_DECISION)
            continue
        if pending and country.main.npp is not None:
            stripped = country.main.strip(national, gated=True)
            if stripped is None:
                append(_SLOW_DECISION)
                continue
            national = stripped
        memo = country.memo
        decision = memo.get(national)
        if decision is None:
            decision = country.decide(national)
            if len(memo) < 50_000:
                memo[national] = decision
        append(decision)
    return out


_HINTED: dict[str, tuple[_Country, _Region] | None] = {}


def _hinted(hint: str) -> tuple[_Country, _Region] | None:
    if hint not in _HINTED:
        table = region_table(hint)
        country = compiled(table.country_code) if table is not None and table.usable else None
        region = country.by_name.get(hint) if country is not None else None
        _HINTED[hint] = None if country is None or region is None else (country, region)
    return _HINTED[hint]


#: (country code, national number, slow, pre-status, reason) of a national reading.
Reading = tuple[int, str, bool, int, int]


def national_readings(digits: list[str], hints: list[str], classify_status: int, same_status: int,
                      idd_status: int | None = None) -> list[Reading]:
    """The candidate of parse(digits, hint) for bare digit strings with a region hint, up to the
    national-prefix strip: pre-status `classify_status` when it still needs classifying, `same_status`
    where the reading equals the MSISDN reading ('00' international prefix), SLOW or a rejection. With
    `idd_status`, a reading whose international prefix parse strips gets that status and the digits after
    the prefix as its national number (to be read as '+' and those digits); without, it is SLOW."""
    out: list[Reading] = []
    append = out.append
    for d, hint in zip(digits, hints, strict=True):
        length = len(d)
        found = _hinted(hint) if length >= 3 else None
        if found is None:
            append((0, "", True, SLOW, NO_REASON))
            continue
        country, table = found
        slow = False
        same = False
        width = -1  # _parse_prefix_as_idd: the width of the international prefix parse strips
        if table.idd is not None and table.idd_literal:
            width = len(table.idd) if d.startswith(table.idd) else -1
        elif table.idd_regex is not None:
            matched = table.idd_regex(d)
            width = matched.end() if matched is not None else -1
        if width >= 0 and d[width:width + 1] != "0":  # an IDD followed by 0 is not stripped
            if length - width <= 2:  # TOO_SHORT_AFTER_IDD
                slow = True
            elif table.idd_literal and table.idd == "00":
                same = True
            elif idd_status is not None:
                append((0, d[width:], False, idd_status, NO_REASON))
                continue
            else:
                slow = True
        ccs = country.prefix
        lead = d.startswith(ccs)
        after = d[len(ccs):]
        potential = table.strip(after, gated=False)
        early = slow or (lead and potential is None)
        if potential is None:
            potential = after
        general = table.general
        extracted = lead and not early and (
            (general is not None and not general(d) and general(potential) is not None)
            or table.length_code(length) == 2)  # TOO_LONG
        n0 = potential if extracted else d
        national = (country.main if extracted else table).strip(n0, gated=True)
        if same:
            append((int(ccs), national or "", national is None, same_status, NO_REASON))
        elif early:
            append((int(ccs), national or "", national is None, SLOW, NO_REASON))
        elif len(n0) < 2:
            append((int(ccs), national or "", national is None, 0, REASON_CODE["too-short"]))
        else:
            append((int(ccs), national or "", national is None, classify_status, NO_REASON))
    return out
