"""The fast path of the normalization policy, for a whole batch at once: one compiled pass (`kernels.py`) reads
each text's shape and digits and splits off the country code; the compiled automata (`automaton.py`) and the
bulk national readings (`national.py`) decide validity, region and the rejection reason; what they cannot
settle is decided per candidate with the metadata's own Python `re` patterns (`classify.py`); and every row
none of these can decide with certainty goes to the per-row policy, so the result equals `normalize` on every
row.

Shapes (after stripping ASCII white space, with Arabic-Indic, Persian and full-width digits read as ASCII):
PLUS_SHAPE '+…', '(+…', 'tel:+…' (international); BARE_SHAPE digits and separators (space, '-', '.', '/', '('
and ')'), read as an MSISDN ('00' dropped) and, with a region hint, as a national number too (international
prefix, country code of the hint, national prefix stripped as libphonenumber's parse does); JID_SHAPE WhatsApp
JIDs (the user part as an MSISDN); WORD_SHAPE letters only (no digits, without a hint). Every step mirrors a
step of `phonenumbers.parse`, `is_valid_number`, `region_code_for_number` and
`is_possible_number_with_reason`, with the metadata tables of `tables.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

from .automaton import AUTOMATA
from .classify import NO_REASON, REASON_CODE, SLOW, classify
from .kernels import (
    KIND_BARE,
    KIND_EMPTY,
    KIND_JID,
    KIND_PLUS,
    KIND_WORD,
    MAX_DIGITS,
    read_texts,
    short_keys,
    split_country_code,
)
from .national import national_candidates, strip_international
from .reference import REGION_INDEX, REJECT_REASONS, SUPPORTED_REGIONS, Hints, NormalizedBatch, Texts, normalize
from .tables import country_codes
from .texts import Utf8Texts

SAME_AS_MSISDN = 254  # status code of a national reading that equals the MSISDN reading ('00' prefix)
BY_IDD = 252  # status code of a national reading that is the international reading of what follows the IDD
#: Longer raw texts go to the per-row path.
MAX_TEXT = 200
# Python's str.strip() whitespace within ASCII (other whitespace sends the row to the per-row path).
WS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
DIGIT_SETS = ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９")
_FROM = [ch for digits in DIGIT_SETS for ch in digits]
_TO = [str(i) for _ in DIGIT_SETS for i in range(10)]
_SEP = r"[0-9 ().\-/]"
PLUS_SHAPE = rf"^(?:\(?\+|tel:\+){_SEP}*$"
BARE_SHAPE = rf"^{_SEP}*[0-9]{_SEP}*$"
# The domain ends in a letter or digit: parse() then never reads the JID as a number (the '@' stays in it).
JID_SHAPE = r"^[0-9]+(?::[0-9]+)?@[A-Za-z0-9.\-]*[A-Za-z0-9]$"
WORD_SHAPE = r"^[A-Za-z][A-Za-z ./\-]*$"  # no digit, not 'tel:': no candidate without a hint


_IS_WS = np.zeros(256, dtype=bool)
_IS_WS[[ord(ch) for ch in WS]] = True
_IS_CODE = np.zeros(1000, dtype=bool)
_IS_CODE[sorted(country_codes())] = True
_DIGIT_MAP = str.maketrans(dict(zip(_FROM, _TO, strict=True)))
CLASSIFY = 253  # pre-status of a candidate still to be classified


class _Part:
    """Results for a set of rows (row indices `idx`), one candidate reading each; status SLOW marks rows for
    the per-row path. The results of a whole batch are the part of rows 0..n-1."""

    def __init__(self, idx: np.ndarray) -> None:
        n = idx.shape[0]
        self.idx = idx
        self.numbers = np.zeros(n, dtype=np.uint64)
        self.status = np.full(n, SLOW, dtype=np.uint8)
        self.region = np.zeros(n, dtype=np.uint8)
        self.reason = np.full(n, NO_REASON, dtype=np.int8)

    def reject(self, sel: np.ndarray, reason: str) -> None:
        self.status[sel] = 0
        self.reason[sel] = REASON_CODE[reason]

    @classmethod
    def decided(cls, idx: np.ndarray, decisions: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> _Part:
        """The part of `idx` holding (status, region, number, reason) arrays."""
        part = cls(idx)
        part.status, part.region, part.numbers, part.reason = decisions
        return part


@dataclass
class _Candidates:
    """Readings up to the national-prefix strip, one per entry: country code, national digits as (sentinel
    value, length), `pending` (the code's national prefix still to strip, as for '+' numbers), `late` (the
    per-row path decides), pre-status (CLASSIFY, SLOW, a special status or 0) and reason."""

    code: np.ndarray
    value: np.ndarray
    length: np.ndarray
    pending: np.ndarray
    late: np.ndarray
    status: np.ndarray
    reason: np.ndarray

    def __getitem__(self, sel: np.ndarray) -> _Candidates:
        return _Candidates(*(getattr(self, f.name)[sel] for f in fields(self)))

    @staticmethod
    def concat(parts: list[_Candidates]) -> _Candidates:
        """The candidates of `parts`, one after the other."""
        return _Candidates(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(_Candidates)))


def _international(codes: np.ndarray, values: np.ndarray, lengths: np.ndarray, digits: np.ndarray,
                   hinted: np.ndarray) -> _Candidates:
    """Candidates of parse('+' + digits, None) up to the national-prefix strip, from the digits' length and
    their split into country code and national digits (`kernels.split_country_code`). Rows whose country
    code is invalid but that have a region hint go to the per-row path (parse retries them as national
    numbers of the hint)."""
    n = codes.shape[0]
    status = np.full(n, CLASSIFY, dtype=np.uint8)
    status[lengths < 2] = 0
    status[codes == 0] = 0
    status[(codes == 0) & hinted] = SLOW
    status[digits < 3] = SLOW
    reason = np.where(codes == 0, REASON_CODE["invalid-country-code"], REASON_CODE["too-short"]).astype(np.int8)
    return _Candidates(codes, values, lengths, np.ones(n, dtype=bool), np.zeros(n, dtype=bool), status, reason)


def _national(values: np.ndarray, lengths: np.ndarray, regions: np.ndarray,
              digits_of: Callable[[np.ndarray], list[str]]) -> _Candidates:
    """Candidates of parse(digits, hint) for bare digit strings with a region hint, up to the national-prefix
    strip; status SAME_AS_MSISDN where the reading equals the MSISDN reading, and BY_IDD where parse strips an
    international prefix (the national digits are then what follows it)."""
    code, national_values, national_lengths, late, status, reason = national_candidates(
        values, lengths, regions, digits_of, CLASSIFY, SAME_AS_MSISDN, BY_IDD)
    return _Candidates(code, national_values, national_lengths, np.zeros(code.shape[0], dtype=bool), late,
                       status, reason)


def _digits_of_sentinel(value: int) -> str:
    """The digit string held as a sentinel value ('1' followed by the digits)."""
    return str(value)[1:]


def _classify(candidates: _Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(status, region, number, reason) of every candidate: decided by the compiled automata, by the
    per-candidate classifier where the automata cannot decide (a national prefix still to strip, an unknown
    code), or its pre-status."""
    n = candidates.code.shape[0]
    status, reason = candidates.status.copy(), candidates.reason.copy()
    region, number = np.zeros(n, dtype=np.uint8), np.zeros(n, dtype=np.uint64)
    todo = np.flatnonzero(status == CLASSIFY)
    if todo.shape[0] == 0:
        return status, region, number, reason
    late = candidates.late[todo]
    values, lengths = candidates.value[todo], candidates.length[todo]
    codes, pending = candidates.code[todo], candidates.pending[todo]
    st, rg, num, rs = AUTOMATA.decide(codes, values, lengths, pending)
    st[late] = SLOW
    to_strip = np.flatnonzero((st == SLOW) & ~late & pending & (lengths <= MAX_DIGITS))
    if to_strip.shape[0]:  # a national prefix to strip first (as parse does after the country code)
        stripped_values, stripped_lengths, done = strip_international(
            codes[to_strip], values[to_strip], lengths[to_strip])
        rows = to_strip[done]
        after_strip = AUTOMATA.decide(codes[rows], stripped_values[done], stripped_lengths[done],
                                      np.zeros(rows.shape[0], dtype=bool))
        for column, decided_column in zip((st, rg, num, rs), after_strip, strict=True):
            column[rows] = decided_column
    back = np.flatnonzero((st == SLOW) & ~late & (lengths <= MAX_DIGITS))
    if back.shape[0]:
        nationals = [_digits_of_sentinel(v) for v in values[back].tolist()]
        decided = classify(codes[back].tolist(), nationals, pending[back].tolist(), [False] * back.shape[0])
        for column, decided_values in zip((st, rg, num, rs), zip(*decided, strict=True), strict=True):
            column[back] = decided_values
    status[todo], region[todo], number[todo], reason[todo] = st, rg, num, rs
    return status, region, number, reason


def _combine(first: _Part, second: _Part) -> _Part:
    """The policy over two candidates per row (same rows, same order): first valid, else first possible,
    else the first candidate's reason; undecided when a needed candidate is undecided."""
    out = _Part(first.idx)
    s1, s2 = first.status, second.status
    take1 = (s1 == 2) | ((s1 == 1) & (s2 != 2) & (s2 != SLOW)) | ((s1 == 0) & (s2 == 0))
    take2 = (s1 != SLOW) & (s1 != 2) & ((s2 == 2) | ((s2 == 1) & (s1 == 0)))
    for src, sel in ((first, take1), (second, take2)):
        out.status[sel] = src.status[sel]
        out.region[sel] = src.region[sel]
        out.numbers[sel] = src.numbers[sel]
    out.reason[take1] = first.reason[take1]
    out.reason[take2] = NO_REASON
    return out


def _hint_rule(hint: str | None, fallback: str | None) -> tuple[int, bool]:
    """(region index the hint gives, or -1; the hint needs the per-row path): the hint, or `fallback` when
    it is empty, stripped of white space and upper-cased; a hint beyond ASCII goes to the per-row path."""
    text = hint if hint else fallback
    if text is None:
        return -1, False
    text = text.strip(WS)
    upper = text.upper()
    return (REGION_INDEX[upper] if upper in SUPPORTED_REGIONS else -1), not text.isascii()


def _resolve_hints(n: int, hints: Hints, default_region: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(the region index of the hint each row's normalize call gets, or -1; rows whose hint needs the
    per-row path). Hints are few distinct texts: each is judged once."""
    fallback = default_region or None
    if hints is None:
        index, strange = _hint_rule(None, default_region.strip() if default_region else None)
        return np.full(n, index, dtype=np.int64), np.full(n, strange, dtype=bool)
    if isinstance(hints, Utf8Texts):
        keys = short_keys(hints.data, hints.starts, hints.ends)
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        judged = [_hint_rule(hints[int(row)], fallback) if key >= 0 else (-1, False)
                  for key, row in zip(distinct.tolist(), first.tolist(), strict=True)]
        regions = np.array([j[0] for j in judged], dtype=np.int64)[inverse]
        odd = np.array([j[1] for j in judged], dtype=bool)[inverse]
        for row in np.flatnonzero(keys < 0).tolist():  # longer hints, one by one
            regions[row], odd[row] = _hint_rule(hints[row], fallback)
        return regions, odd
    raw = hints if isinstance(hints, pl.Series) else pl.Series("h", hints, dtype=pl.String)
    distinct_texts = raw.unique()
    rules = [_hint_rule(h, fallback) for h in distinct_texts.to_list()]
    frame = pl.DataFrame({"h": raw})
    index_of = pl.DataFrame({"h": distinct_texts, "r": [r for r, _ in rules], "o": [o for _, o in rules]},
                            schema={"h": pl.String, "r": pl.Int64, "o": pl.Boolean})
    joined = frame.join(index_of, on="h", how="left", nulls_equal=True, maintain_order="left")
    return joined["r"].to_numpy(), joined["o"].to_numpy()


def _digits_text(text: str) -> str:
    """The digits of a text as the fast path reads them (ASCII, Arabic-Indic, Persian, full-width)."""
    return "".join(ch for ch in text.strip(WS).translate(_DIGIT_MAP) if "0" <= ch <= "9")


def normalize_fast(phones: Texts, hints: Hints,
                   default_region: str | None = None) -> NormalizedBatch:
    """normalize_many with the vectorized fast path; equal to the per-row policy on every row."""
    return _finish(_decide(phones, hints, default_region), phones, hints, default_region)


def undecided_rows(phones: Texts, hints: Hints,
                   default_region: str | None = None) -> np.ndarray:
    """Indices of the rows the fast path leaves to the per-row policy (for benchmarks and tests)."""
    return np.flatnonzero(_decide(phones, hints, default_region).status == SLOW)


def _decide(phones: Texts, hints: Hints, default_region: str | None) -> _Part:
    n = len(phones)
    out = _Part(np.arange(n))
    if n == 0:
        return out
    regions, odd_hint = _resolve_hints(n, hints, default_region)
    if isinstance(phones, Utf8Texts):
        raw: Texts = phones
        data, starts, ends, present = phones.data, phones.starts, phones.ends, np.ones(n, dtype=bool)
    else:
        raw = phones.cast(pl.String) if isinstance(phones, pl.Series) else pl.Series(phones, dtype=pl.String)
        texts = Utf8Texts.from_series(raw)
        data, starts, ends, present = texts.data, texts.starts, texts.ends, raw.is_not_null().to_numpy()
    hinted = (regions >= 0) & ~odd_hint
    kind, d_values, d_lengths, i_lengths, codes, n_values, n_lengths = read_texts(
        data, starts, ends, present & ~odd_hint, hinted, MAX_TEXT, _IS_WS, _IS_CODE)
    out.reject(np.flatnonzero((kind == KIND_EMPTY) | ~present), "empty")  # normalize(None) is 'empty' too
    out.reject(np.flatnonzero(kind == KIND_WORD), "no-digits")
    plus, bare, jid = kind == KIND_PLUS, kind == KIND_BARE, kind == KIND_JID
    sel = np.flatnonzero(plus | bare | jid)
    if sel.shape[0] == 0:
        return out
    bare_hinted = (bare & hinted)[sel]
    rows = sel[bare_hinted]
    parts = [_international(codes[sel], n_values[sel], n_lengths[sel], i_lengths[sel], (plus & hinted)[sel])]
    if rows.shape[0]:
        def digits_of(subset: np.ndarray) -> list[str]:
            return [_digits_of_sentinel(int(d_values[r])) if d_lengths[r] <= MAX_DIGITS
                    else _digits_text(str(raw[int(r)])) for r in rows[subset]]

        parts.append(_national(d_values[rows], d_lengths[rows], regions[rows], digits_of))
    candidates = _Candidates.concat(parts)
    keys = np.concatenate([sel, rows])
    both = _Part.decided(keys, _classify(candidates))
    second = _subset(both, np.arange(sel.shape[0]))
    # Rows read only internationally: '+…' shapes, and MSISDN/JID rows without a hint.
    alone = (plus | ~hinted)[sel]
    _store(out, _subset(second, alone))
    # A JID with a hint: parse(jid, hint) is NOT_A_NUMBER, so the MSISDN reading decides.
    jid_hinted = (jid & hinted)[sel]
    if jid_hinted.any():
        first = _Part(sel[jid_hinted])
        first.reject(np.ones(first.idx.shape[0], dtype=bool), "not-a-number")
        _store(out, _combine(first, _subset(second, jid_hinted)))
    if rows.shape[0]:
        msisdn = _subset(second, bare_hinted)
        first = _subset(both, np.arange(sel.shape[0], keys.shape[0]))
        by_idd = np.flatnonzero(first.status == BY_IDD)
        if by_idd.shape[0]:  # parse(digits, hint) strips the international prefix: read the rest as '+…'
            national = candidates[np.arange(sel.shape[0], keys.shape[0])[by_idd]]
            idd_codes, rest_values, rest_lengths = split_country_code(national.value, national.length, _IS_CODE)
            read = _Part.decided(by_idd, _classify(_international(
                idd_codes, rest_values, rest_lengths, national.length, np.zeros(by_idd.shape[0], dtype=bool))))
            first.status[by_idd], first.region[by_idd] = read.status, read.region
            first.numbers[by_idd], first.reason[by_idd] = read.numbers, read.reason
        same = first.status == SAME_AS_MSISDN
        _store(out, _combine(first, msisdn))
        _store(out, _subset(msisdn, same))
    return out


def _subset(part: _Part, sel: np.ndarray) -> _Part:
    sub = _Part(part.idx[sel])
    sub.status, sub.region, sub.numbers, sub.reason = (part.status[sel], part.region[sel], part.numbers[sel],
                                                        part.reason[sel])
    return sub


def _store(out: _Part, part: _Part) -> None:
    out.status[part.idx] = part.status
    out.region[part.idx] = part.region
    out.numbers[part.idx] = part.numbers
    out.reason[part.idx] = part.reason


def _finish(out: _Part, phones: Texts, hints: Hints,
            default_region: str | None) -> NormalizedBatch:
    reasons: dict[int, str] = {int(i): REJECT_REASONS[out.reason[i]] for i in np.flatnonzero(out.status == 0)}
    for i in np.flatnonzero(out.status == SLOW).tolist():
        hint = (hints[i] if hints is not None else None) or default_region
        result = normalize(phones[i], hint.strip() if hint else None)
        if result.e164 is None:
            out.status[i] = 0
            out.numbers[i] = 0
            out.region[i] = 0
            reasons[i] = result.reason or "not-a-number"
            continue
        out.numbers[i] = int(result.e164[1:])
        out.status[i] = result.status
        out.region[i] = REGION_INDEX[result.region or "ZZ"]
    return NormalizedBatch(out.numbers, out.status, out.region, reasons)

