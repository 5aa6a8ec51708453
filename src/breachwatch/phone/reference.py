"""Phone-number normalization policy: raw text from a dump -> E.164, with breachwatch's policy on top of
libphonenumber, one row at a time. (The phone package is the only code importing `phonenumbers`.)

Policy (the per-row reference; any fast path must agree with it on every row):
  1. a region hint (country column or --default-region) gives the candidate parse(text, hint);
  2. text starting with "+", "(+" or "tel:" is parsed as international; digits starting with "00" are
     international ("+" followed by the rest);
  3. other bare digits (also the user part of a WhatsApp JID) are an MSISDN: "+" followed by the digits;
  4. among the candidates the first *valid* one wins; else the first *possible* one; else the row is
     rejected with the reason of the first candidate.
"Possible" is libphonenumber's IS_POSSIBLE; IS_POSSIBLE_LOCAL_ONLY is rejected ("local-only"), since such
a number is not a complete international number.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult, re_util

if TYPE_CHECKING:
    import polars as pl

    from .texts import Utf8Texts

#: A batch of raw phone texts, and of region hints: Python lists, Polars string Series or UTF-8 buffers.
Texts: TypeAlias = "list[str] | pl.Series | Utf8Texts"
Hints: TypeAlias = "list[str | None] | pl.Series | Utf8Texts | None"

# Dumps span 80+ countries; their patterns overflow the re module's 512-entry cache and every parse then
# recompiles regexes (measured: 10x slower). libphonenumber's own pattern cache keeps them all.
re_util.enable_pattern_cache()


class Status(enum.IntEnum):
    """Outcome of normalizing one number."""

    REJECTED = 0
    POSSIBLE = 1
    VALID = 2


#: Every region libphonenumber knows, then "001" (non-geographic entities) and "ZZ" (unknown).
REGIONS: tuple[str, ...] = (*sorted(phonenumbers.SUPPORTED_REGIONS), "001", "ZZ")
REGION_INDEX: dict[str, int] = {r: i for i, r in enumerate(REGIONS)}
SUPPORTED_REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid-country-code",
    NumberParseException.NOT_A_NUMBER: "not-a-number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too-short-after-idd",
    NumberParseException.TOO_SHORT_NSN: "too-short",
    NumberParseException.TOO_LONG: "too-long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "invalid-country-code",
    ValidationResult.TOO_SHORT: "too-short",
    ValidationResult.TOO_LONG: "too-long",
    ValidationResult.INVALID_LENGTH: "invalid-length",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "local-only",
}
#: Every reason a row can be rejected for, in a stable order.
REJECT_REASONS: tuple[str, ...] = (
    "empty", "no-digits", "invalid-country-code", "not-a-number", "too-short-after-idd", "too-short",
    "too-long", "invalid-length", "local-only",
)

# Formatting a dump may put between digits; the same set libphonenumber accepts as punctuation.
_SEPARATORS = frozenset(" \t\u00a0\u00ad\u200b\u2060\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
                        "\u30fc\uff0d./\uff0f()\uff08\uff09[]\uff3b\uff3d~\u2053\u223c\uff5e")
_PLUS = ("+", "\uff0b")


@dataclass(frozen=True, slots=True)
class Normalized:
    """One normalized number: E.164 text (None when rejected), status, region, rejection reason."""

    e164: str | None
    status: Status
    region: str | None = None
    reason: str | None = None

    @property
    def digits(self) -> int:
        """The E.164 number as an integer (country code and national number, no '+')."""
        assert self.e164 is not None
        return int(self.e164[1:])


def ascii_digits(text: str) -> str | None:
    """The decimal digits of `text` in ASCII with separators removed, or None if anything else is in it."""
    out = []
    for ch in text:
        if "0" <= ch <= "9":
            out.append(ch)
        elif ch in _SEPARATORS:
            continue
        else:
            value = unicodedata.decimal(ch, None)
            if value is None:
                return None
            out.append(chr(48 + value))
    return "".join(out)


def candidates(raw: str, region_hint: str | None) -> list[tuple[str, str | None]]:
    """The (text, region) parse candidates for `raw`, in policy order."""
    text = raw.strip()
    found: list[tuple[str, str | None]] = []
    if region_hint:
        found.append((text, region_hint))
    if text.startswith(_PLUS) or text.startswith(("(+", "(\uff0b")) or text[:4].lower() == "tel:":
        found.append((text, None))
        return found
    user = text.split("@", 1)[0] if "@" in text else text
    if ":" in user and "@" in text:  # JID with a device suffix: 201001234567:12@s.whatsapp.net
        user = user.split(":", 1)[0]
    digits = ascii_digits(user)
    if digits:
        found.append(("+" + (digits[2:] if digits.startswith("00") else digits), None))
    return found


def normalize(raw: str, region_hint: str | None = None) -> Normalized:
    """Normalize one raw number under breachwatch's policy (see the module docstring)."""
    if not raw or not raw.strip():
        return Normalized(None, Status.REJECTED, reason="empty")
    hint = region_hint.upper() if region_hint else None
    if hint is not None and hint not in SUPPORTED_REGIONS:
        hint = None
    cands = candidates(raw, hint)
    if not cands:
        return Normalized(None, Status.REJECTED, reason="no-digits")
    first_possible: phonenumbers.PhoneNumber | None = None
    first_reason: str | None = None
    for text, region in cands:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException as exc:
            first_reason = first_reason or _PARSE_REASONS.get(exc.error_type, "not-a-number")
            continue
        if phonenumbers.is_valid_number(number):
            return _accepted(number, Status.VALID)
        result = phonenumbers.is_possible_number_with_reason(number)
        if result == ValidationResult.IS_POSSIBLE:
            if first_possible is None:
                first_possible = number
        else:
            first_reason = first_reason or _LENGTH_REASONS.get(result, "invalid-length")
    if first_possible is not None:
        return _accepted(first_possible, Status.POSSIBLE)
    return Normalized(None, Status.REJECTED, reason=first_reason or "not-a-number")


def _accepted(number: phonenumbers.PhoneNumber, status: Status) -> Normalized:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Normalized(e164, status, region=region_of(number))


def region_of(number: phonenumbers.PhoneNumber) -> str:
    """The ISO region libphonenumber assigns (its main region for the country code when undecided)."""
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return region if region in REGION_INDEX else "ZZ"


def region_of_e164(e164: str) -> str:
    """The region of an E.164 string (see region_of)."""
    return region_of(phonenumbers.parse(e164, None))


@cache
def country_code_for_region(region: str) -> int:
    """The country calling code of an ISO region (0 if unknown)."""
    return int(phonenumbers.country_code_for_region(region))


def mask_e164(e164: str) -> str:
    """A masked form safe to print: country code and 3 more digits, then stars, then the last 2 digits."""
    digits = e164.lstrip("+")
    try:
        cc_len = len(str(phonenumbers.parse(e164, None).country_code))
    except NumberParseException:
        cc_len = 2
    keep = min(cc_len + 3, max(len(digits) - 4, 1))
    return "+" + digits[:keep] + "*" * max(len(digits) - keep - 2, 1) + digits[-2:]


def mask_raw(raw: str) -> str:
    """A masked form of raw input (for rejected rows): only the first 3 and last 2 characters survive."""
    text = raw.strip()
    if len(text) <= 6:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 5) + text[-2:]


# ---- helpers for the synthetic-dump generator (kept here: phonenumbers is owned by this module) ----

def mobile_example(region: str) -> tuple[int, str] | None:
    """(country code, national number) of libphonenumber's example mobile number for a region."""
    for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            return int(example.country_code or 0), _national_digits(example)
    return None


def _national_digits(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.national_significant_number(number)


def is_valid_mobile(country_code: int, national: str, region: str) -> bool:
    """True when +cc national is a valid number of `region` that is mobile (or fixed-line-or-mobile)."""
    number = _from_parts(country_code, national)
    if not phonenumbers.is_valid_number_for_region(number, region):
        return False
    return phonenumbers.number_type(number) in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _from_parts(country_code: int, national: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros:
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros if zeros > 1 else None
    return number


def format_national(country_code: int, national: str) -> str:
    """The national format libphonenumber gives (e.g. '010 01234567' for an Egyptian mobile)."""
    return str(phonenumbers.format_number(_from_parts(country_code, national), PhoneNumberFormat.NATIONAL))


def format_international(country_code: int, national: str) -> str:
    """The international format libphonenumber gives (e.g. '+20 10 01234567')."""
    return str(phonenumbers.format_number(_from_parts(country_code, national), PhoneNumberFormat.INTERNATIONAL))


def number_kind(e164: str) -> str:
    """'mobile', 'fixed-line', 'fixed-line-or-mobile' or another libphonenumber type, in lower case."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return str(PhoneNumberType.to_string(kind)).lower().replace("_", "-")


@dataclass
class NormalizedBatch:
    """A batch of normalized rows as arrays: E.164 integers (0 when rejected), status, region index,
    and the rejection reason of each rejected row."""

    numbers: Any
    status: Any
    region: Any
    reasons: dict[int, str]


def normalize_many_rows(phones: Texts, hints: Hints,
                        default_region: str | None = None) -> NormalizedBatch:
    """Normalize a batch of rows with the per-row policy, one row at a time (the reference for the fast
    path); row i's hint is hints[i] or default_region."""
    n = len(phones)
    numbers = np.zeros(n, dtype=np.uint64)
    status = np.zeros(n, dtype=np.uint8)
    region = np.zeros(n, dtype=np.uint8)
    reasons: dict[int, str] = {}
    for i, raw in enumerate(phones):
        hint = (hints[i] if hints is not None else None) or default_region
        result = normalize(raw, hint.strip() if hint else None)
        if result.e164 is None:
            reasons[i] = result.reason or "not-a-number"
            continue
        numbers[i] = int(result.e164[1:])
        status[i] = result.status
        region[i] = REGION_INDEX[result.region or "ZZ"]
    return NormalizedBatch(numbers, status, region, reasons)


def mobile_pattern(region: str) -> tuple[str, tuple[int, ...]] | None:
    """(national number pattern, possible lengths) of a region's mobile numbers, from libphonenumber."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    for desc in (metadata.mobile, metadata.fixed_line):
        if desc is not None and desc.national_number_pattern:
            general = metadata.general_desc.possible_length if metadata.general_desc is not None else ()
            lengths = tuple(desc.possible_length or general or ())
            return desc.national_number_pattern, lengths
    return None


# ---- helpers for claim triage (kept here: phonenumbers is owned by this module) ----

#: libphonenumber's number-type descriptions in the order its number_type() tests them.
_TYPE_ORDER: tuple[tuple[str, str], ...] = (
    ("premium-rate", "premium_rate"), ("toll-free", "toll_free"), ("shared-cost", "shared_cost"),
    ("voip", "voip"), ("personal-number", "personal_number"), ("pager", "pager"), ("uan", "uan"),
    ("voicemail", "voicemail"), ("fixed-line", "fixed_line"), ("mobile", "mobile"),
)


@dataclass(frozen=True)
class TypePatterns:
    """A region's number-type patterns, so callers can classify many national numbers at once the way
    libphonenumber's number_type() does: `kinds` in its test order as (kind, pattern, lengths); a number
    matching fixed-line is fixed-line-or-mobile when `same_mobile_and_fixed` or it also matches mobile.
    `lengths` are the possible national-number lengths of the region; a valid number has some type."""

    kinds: tuple[tuple[str, str, tuple[int, ...]], ...]
    same_mobile_and_fixed: bool
    lengths: tuple[int, ...]


@cache
def type_patterns(region: str) -> TypePatterns | None:
    """The number-type patterns of a region (None for regions without metadata)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None
    kinds = []
    for kind, attr in _TYPE_ORDER:
        desc = getattr(metadata, attr)
        if desc is None or not desc.national_number_pattern:
            continue
        kinds.append((kind, str(desc.national_number_pattern), tuple(int(n) for n in desc.possible_length or ())))
    general = metadata.general_desc.possible_length if metadata.general_desc is not None else ()
    return TypePatterns(tuple(kinds), bool(metadata.same_mobile_and_fixed_line_pattern),
                        tuple(int(n) for n in general or ()))
