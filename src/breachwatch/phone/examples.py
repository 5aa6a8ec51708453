"""libphonenumber's example numbers for every region and number type (for generated test data)."""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers import PhoneNumberType

from .reference import SUPPORTED_REGIONS

_TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
          PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP,
          PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.PAGER, PhoneNumberType.UAN,
          PhoneNumberType.VOICEMAIL)


@cache
def example_numbers() -> tuple[tuple[str, int, str], ...]:
    """(region, country code, national significant number) of each example number libphonenumber has, for
    every region and type, plus the non-geographic entities (region '001')."""
    found: list[tuple[str, int, str]] = []
    for region in sorted(SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, int(number.country_code or 0),
                              phonenumbers.national_significant_number(number)))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.append(("001", code, phonenumbers.national_significant_number(number)))
    return tuple(found)


def national_prefix(region: str) -> str:
    """The national (trunk) prefix of a region, '' if none."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    return (metadata.national_prefix or "") if metadata is not None else ""


def format_national_text(region: str, country_code: int, national: str) -> str:
    """The national format of a number as libphonenumber writes it."""
    number = phonenumbers.parse(f"+{country_code}{national}", None)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
