"""The vectorized fast path agrees with the per-row policy on every row (E.164, status, region, reason)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breachwatch.phone import REGIONS, NormalizedBatch, normalize_fast, normalize_many_rows, undecided_rows
from phone_rows import rows


def _assert_same(phones: list[str], hints: list[str | None] | None, default: str | None) -> None:
    expected = normalize_many_rows(phones, hints, default)
    got = normalize_fast(phones, hints, default)
    _compare(phones, expected, got)


def _compare(phones: list[str], expected: NormalizedBatch, got: NormalizedBatch) -> None:
    for i in range(len(phones)):
        want = (int(expected.numbers[i]), int(expected.status[i]), REGIONS[expected.region[i]],
                expected.reasons.get(i))
        have = (int(got.numbers[i]), int(got.status[i]), REGIONS[got.region[i]], got.reasons.get(i))
        assert have == want, (phones[i], i)


@pytest.mark.parametrize("default", [None, "EG"])
def test_fast_path_equals_policy_on_every_generated_row(default: str | None) -> None:
    data = rows(10_000, seed=11 if default else 7)
    phones = [text for text, _ in data]
    hints = [hint for _, hint in data]
    _assert_same(phones, hints, default)
    # The fast path must decide most rows itself, or it is not a fast path.
    assert len(undecided_rows(phones, hints, default)) < 0.2 * len(phones)


@pytest.mark.slow
def test_fast_path_equals_policy_on_a_million_rows() -> None:
    data = rows(1_000_000, seed=2026)
    for start in range(0, len(data), 250_000):
        chunk = data[start:start + 250_000]
        _assert_same([t for t, _ in chunk], [h for _, h in chunk], None)


def test_without_hint_column_the_default_region_is_the_hint() -> None:
    phones = ["010 0123 4567", "+201001234567", "201001234567", "06 1234 5678", "N/A", ""]
    _assert_same(phones, None, "EG")
    _assert_same(phones, None, "IT")
    _assert_same(phones, None, None)


_TEXT = st.text(alphabet=st.sampled_from(list("0123456789+()-. /@:telx#٠٣٩０９\u00a0\tABCsw")), max_size=24)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_TEXT, st.sampled_from([None, "EG", "US", "IT", "GB", "JM", "AR", "", "xx"])),
                min_size=1, max_size=40))
def test_fast_path_equals_policy_on_random_strings(data: list[tuple[str, str | None]]) -> None:
    _assert_same([t for t, _ in data], [h for _, h in data], None)
