"""The normalization policy on each shape a dump holds, and its rejection reasons."""

from __future__ import annotations

import pytest

from breachwatch.phone import Status, mask_e164, mask_raw, normalize

EG = "+201001234567"


@pytest.mark.parametrize(("raw", "hint"), [
    ("+201001234567", None),
    ("+20 100 123 4567", None),
    ("+20-100-123-4567", None),
    ("(+20) 100 123 4567", None),
    ("00201001234567", None),
    ("00 20 100 123 4567", None),
    ("201001234567", None),
    ("201001234567@s.whatsapp.net", None),
    ("201001234567:12@s.whatsapp.net", None),
    ("tel:+20-100-123-4567", None),
    ("010 0123 4567", "EG"),
    ("01001234567", "eg"),
    ("+٢٠١٠٠١٢٣٤٥٦٧", None),
    ("٢٠١٠٠١٢٣٤٥٦٧", None),
    ("２０１００１２３４５６７", None),
    ("  +20 100 123 4567  ", None),
    ("+20 100 123 4567 ext. 99", None),
])
def test_every_shape_of_one_number_reads_the_same(raw: str, hint: str | None) -> None:
    result = normalize(raw, hint)
    assert (result.e164, result.status, result.region) == (EG, Status.VALID, "EG")


def test_region_hint_is_tried_first_but_a_valid_msisdn_still_wins() -> None:
    # With a hint of EG, "201001234567" read nationally is not valid; the MSISDN reading is.
    assert normalize("201001234567", "EG").e164 == EG


def test_00_prefix_is_international_even_where_the_idd_is_not_00() -> None:
    # In the US the international prefix is 011; the policy still reads 00 as '+'.
    assert normalize("00201001234567", "US").e164 == EG


def test_italian_leading_zero_is_kept() -> None:
    assert normalize("06 1234 5678", "IT").e164 == "+390612345678"
    assert normalize("+39 06 1234 5678").e164 == "+390612345678"


def test_nanp_territory_gets_its_own_region() -> None:
    result = normalize("+1 876 210 1234")  # Jamaica shares +1 with the US
    assert result.status == Status.VALID
    assert result.region == "JM"


def test_non_geographic_number_is_region_001() -> None:
    result = normalize("+800 1234 5678")
    assert result.region == "001"


def test_possible_but_not_valid_is_kept_as_possible() -> None:
    # Right length for Egypt, but 130 is not an allocated mobile range.
    result = normalize("+20 130 123 4567")
    assert (result.e164, result.status, result.region) == ("+201301234567", Status.POSSIBLE, "EG")


def test_possible_nanp_number_falls_back_to_the_main_region() -> None:
    # Area code 200 does not exist, so libphonenumber assigns no region; the main region of +1 is US.
    result = normalize("+1 200 555 0123")
    assert (result.status, result.region) == (Status.POSSIBLE, "US")


def test_first_valid_candidate_beats_an_earlier_possible_one() -> None:
    # Hint GB reads it as a national number (possible at best); the MSISDN reading is a valid Egyptian mobile.
    result = normalize("201001234567", "GB")
    assert result.e164 == EG and result.status == Status.VALID


@pytest.mark.parametrize(("raw", "hint", "reason"), [
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("N/A", None, "no-digits"),
    ("unknown", None, "no-digits"),
    ("12345", None, "too-short"),
    ("+999 1234 5678", None, "invalid-country-code"),
    ("+4412345678901234567", None, "too-long"),
    ("+1 555 0100", None, "local-only"),
    ("0100 123 4567", None, "invalid-country-code"),
])
def test_rejections_carry_a_reason(raw: str, hint: str | None, reason: str) -> None:
    result = normalize(raw, hint)
    assert result.status == Status.REJECTED
    assert result.e164 is None
    assert result.reason == reason


def test_unknown_region_hint_is_ignored_not_fatal() -> None:
    assert normalize("+201001234567", "XX").e164 == EG


def test_masks_never_show_the_whole_number() -> None:
    masked = mask_e164(EG)
    assert masked == "+20100*****67"
    assert "1234" not in masked
    assert "1234" not in mask_raw("+20 100 123 4567")
