"""The vectorized fast path agrees with the per-row policy on every row (E.164, status, region, reason)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breachwatch.phone import (
    REGIONS,
    SUPPORTED_REGIONS,
    NormalizedBatch,
    normalize,
    normalize_fast,
    normalize_international,
    normalize_many_rows,
    prepare_automata,
    undecided_rows,
    use_automata,
)
from breachwatch.phone.automaton import AUTOMATA, SLOW
from breachwatch.phone.classify import classify, national_readings
from breachwatch.phone.national import national_candidates
from breachwatch.phone.reference import REGION_INDEX
from tests.support.phone_rows import rows


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


def _random_digits(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 19))) for _ in range(count)]


def test_compiled_automata_equal_the_per_candidate_classifier() -> None:
    """Every (country code, national number) candidate the automata decide is decided as classify.py does."""
    rng = random.Random(41)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    data = rows(4_000, seed=5)
    nationals = [d for d in ("".join(c for c in text if c.isascii() and c.isdigit()) for text, _ in data) if d]
    nationals += _random_digits(rng, 6_000)
    cc = np.array([rng.choice(codes) for _ in nationals], dtype=np.int64)
    pending = np.array([rng.random() < 0.5 for _ in nationals])
    values = np.array([int("1" + n) if len(n) <= 18 else 0 for n in nationals], dtype=np.uint64)
    lengths = np.array([len(n) for n in nationals], dtype=np.int64)
    status, region, number, reason = AUTOMATA.decide(cc, values, lengths, pending)
    expected = classify(cc.tolist(), nationals, pending.tolist(), [False] * len(nationals))
    decided = np.flatnonzero(status != SLOW)
    assert decided.shape[0] > 0.9 * len(nationals)
    for i in decided.tolist():
        assert (int(status[i]), int(region[i]), int(number[i]), int(reason[i])) == expected[i], (cc[i], nationals[i])


def test_bulk_national_reading_equals_the_per_row_reading() -> None:
    """National readings of bare digits under every region hint equal classify.national_readings."""
    rng = random.Random(43)
    regions = sorted(SUPPORTED_REGIONS)
    data = rows(4_000, seed=9)
    digits = [d for d in ("".join(c for c in text if c.isascii() and c.isdigit()) for text, _ in data) if d]
    digits += _random_digits(rng, 8_000)
    hints = [rng.choice(regions) for _ in digits]
    values = np.array([int("1" + d) if len(d) <= 18 else 0 for d in digits], dtype=np.uint64)
    lengths = np.array([len(d) for d in digits], dtype=np.int64)
    region_index = np.array([REGION_INDEX[h] for h in hints], dtype=np.int64)
    code, national_values, _, slow, status, reason = national_candidates(
        values, lengths, region_index, lambda rows: [digits[r] for r in rows.tolist()], 253, 254)
    got = [(int(code[i]), "" if slow[i] else str(int(national_values[i]))[1:], bool(slow[i]), int(status[i]),
            int(reason[i])) for i in range(len(digits))]
    expected = national_readings(digits, hints, 253, 254)
    bolder = 0
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if len(want[1]) > 18:  # past the sentinel form: the per-row path decides the row
            assert have[2], (digits[i], hints[i])
            continue
        if want[2] or want[3] == SLOW:
            # The per-row reading leaves prefixes given as regexes to libphonenumber; the bulk one reads
            # those that can match one way only (the policy-level tests check these rows end to end).
            bolder += not (have[2] or have[3] == SLOW)
            continue
        assert have == want, (digits[i], hints[i])
    assert bolder < 0.1 * len(digits)


_PREFIXES = ("00", "011", "010", "0011", "810", "001", "002", "0055", "005", "006", "009", "0030", "0015", "1")


def test_international_prefixes_of_every_region_equal_the_policy() -> None:
    """Numbers dialled from abroad ('00', '011', '0011', '810', carrier-selecting prefixes...) under every
    region hint: the fast path's reading of the international prefix equals libphonenumber's."""
    rng = random.Random(47)
    data = rows(3_000, seed=13)
    e164 = [d for d in ("".join(c for c in text if c.isascii() and c.isdigit()) for text, _ in data)
            if len(d) >= 8][:300]
    phones, hints = [], []
    for region in sorted(SUPPORTED_REGIONS):
        for prefix in _PREFIXES:
            phones.append(prefix + rng.choice(e164))
            hints.append(region)
    _assert_same(phones, hints, None)
    assert len(undecided_rows(phones, hints, None)) < 0.5 * len(phones)


def test_single_international_numbers_equal_the_policy(tmp_path: Path) -> None:
    """The single-check path (plain Python over the automata) gives the policy's result wherever it answers,
    and answers for nearly every number written with '+'."""
    use_automata(str(prepare_automata(tmp_path)))
    data = rows(10_000, seed=17)
    answered = plus = 0
    for text, hint in data:
        got = normalize_international(text, hint)
        plus += text.strip().startswith(("+", "(+", "tel:+"))
        if got is None:
            continue
        answered += 1
        assert got == normalize(text, hint), (text, hint)
    assert answered > 0.8 * plus


def test_automata_cache_is_built_once_and_refused_when_damaged(tmp_path: Path) -> None:
    """prepare_automata writes one cache file per libphonenumber version; a damaged file is rebuilt."""
    first = prepare_automata(tmp_path)
    assert first.exists() and first.parent == tmp_path
    size = first.stat().st_size
    assert prepare_automata(tmp_path) == first  # loaded, not rebuilt
    first.write_bytes(b"not an npz file")
    again = prepare_automata(tmp_path)
    assert again == first and again.stat().st_size == size


_SHAPE_PIECES = ["+", "(", ")", "tel:", "tel:+", "00", "0", "7", "٣", "۷", "５", " ", "-", ".", "/", ":", "@",
                 "s.whatsapp.net", "a", "Z", "\t", "\x1c", "é", "\u00a0", "x-"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SHAPE_PIECES), max_size=8).map("".join), st.booleans())
def test_compiled_shapes_are_the_documented_regexes(text: str, hinted: bool) -> None:
    """kernels.read_texts gives each text the shape fast.py's regexes define (on the stripped text with its
    digits read as ASCII), and the digits of '+' and bare shapes."""
    from breachwatch.phone import fast, kernels
    from breachwatch.phone.texts import Utf8Texts

    texts = Utf8Texts.from_series(pl.Series([text]))
    kind = kernels.read_texts(texts.data, texts.starts, texts.ends, np.ones(1, dtype=bool),
                              np.array([hinted]), fast.MAX_TEXT, fast._IS_WS, fast._IS_CODE)
    t = text.strip(fast.WS).translate(fast._DIGIT_MAP)

    def shape(pattern: str) -> bool:
        return re.search(pattern.replace("$", r"\Z"), t) is not None

    if not t.isascii():
        want = kernels.KIND_SLOW
    elif t == "":
        want = kernels.KIND_EMPTY
    elif shape(fast.PLUS_SHAPE):
        want = kernels.KIND_PLUS
    elif shape(fast.BARE_SHAPE):
        want = kernels.KIND_BARE
    elif shape(fast.JID_SHAPE):
        want = kernels.KIND_JID
    elif not hinted and shape(fast.WORD_SHAPE):
        want = kernels.KIND_WORD
    else:
        want = kernels.KIND_SLOW
    assert int(kind[0][0]) == want, repr(text)
    if want in (kernels.KIND_PLUS, kernels.KIND_BARE):
        digits = "".join(ch for ch in t if ch.isdigit())
        assert int(kind[2][0]) == len(digits)
        if len(digits) <= kernels.MAX_DIGITS:
            assert int(kind[1][0]) == int("1" + digits)
