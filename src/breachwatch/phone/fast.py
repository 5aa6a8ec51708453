"""The fast path of the normalization policy: Polars extracts and reads the digits of a whole batch in bulk,
`classify.py` decides each candidate with precompiled Python `re` patterns (compiled once per process),
and every row it cannot decide with certainty goes to the per-row policy, so the result equals
`normalize` on every row.

Bulk shapes: '+…', '(+…', 'tel:+…' (international); bare digits, '00…' and WhatsApp JIDs (MSISDN); bare
digits with a region hint (national form: international prefix, country code of the hint, national prefix
stripped as libphonenumber's parse does). Digits may be ASCII, Arabic-Indic, Persian or full-width; the
separators are space, '-', '.', '/', '(' and ')'. Every step mirrors a step of `phonenumbers.parse`,
`is_valid_number`, `region_code_for_number` and `is_possible_number_with_reason`, with the metadata tables
of `tables.py`; where a step would need more than those tables (a national prefix given as a regex that
matches, a transform rule, an international prefix regex that matches, a pattern Rust's regex engine cannot compile)
the row goes to the per-row path."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .automaton import AUTOMATA
from .classify import NO_REASON, REASON_CODE, SLOW, classify
from .national import national_candidates, strip_international
from .policy import REGION_INDEX, REJECT_REASONS, SUPPORTED_REGIONS, Hints, NormalizedBatch, Texts, normalize
from .tables import (
    country_codes,
)

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
_BARE_SHAPE = rf"^{_SEP}*[0-9]{_SEP}*$"
# The domain ends in a letter or digit: parse() then never reads the JID as a number (the '@' stays in it).
_JID_SHAPE = r"^[0-9]+(?::[0-9]+)?@[A-Za-z0-9.\-]*[A-Za-z0-9]$"
_WORD_SHAPE = r"^[A-Za-z][A-Za-z ./\-]*$"  # no digit, not 'tel:': no candidate without a hint
_OPTS = pl.QueryOptFlags.none()


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
    def from_frame(cls, idx: np.ndarray, frame: pl.DataFrame) -> _Part:
        """Results for `idx` from a frame of (i = position in idx, st, rg, num, rs); missing rows: SLOW."""
        part = cls(idx)
        pos = frame["i"].to_numpy()
        part.status[pos] = frame["st"].to_numpy()
        part.region[pos] = frame["rg"].to_numpy()
        part.numbers[pos] = frame["num"].to_numpy()
        part.reason[pos] = frame["rs"].to_numpy()
        return part


# ---------------------------------------------------------------------------------------------- expressions

# ---------------------------------------------------------------------------------------------- readings

CLASSIFY = 253  # pre-status of a candidate still to be classified


def _candidates_frame(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.select(pl.col("k").cast(pl.Int64), pl.col("cc").cast(pl.Int64), pl.col("n").cast(pl.String),
                        pl.col("slow").cast(pl.Boolean), pl.col("st").cast(pl.UInt8), pl.col("rs").cast(pl.Int8),
                        pl.col("ps").cast(pl.Boolean))


def _international(digits: pl.Series, hinted: np.ndarray, offset: int) -> pl.LazyFrame:
    """Candidates (k, cc, n, slow, st, rs) of parse('+' + digits, None) up to the national-prefix strip; k is
    offset + position. Rows whose country code is invalid but that have a region hint go to the per-row
    path (parse retries them as national numbers of the hint)."""
    first = pl.col("d").str.slice(0, 1)
    cc_chain: Any = pl
    codes = sorted(country_codes())
    for width in (1, 2, 3):
        value = pl.col("d").str.slice(0, width).cast(pl.Int64, strict=False)
        cc_chain = cc_chain.when((pl.col("l") >= width) & (first != "0") & value.is_in(codes)).then(value)
    frame = (pl.DataFrame({"d": digits, "h": hinted}).with_row_index("k")
             .with_columns((pl.col("k").cast(pl.Int64) + offset).alias("k"),
                           pl.col("d").str.len_bytes().cast(pl.Int64).alias("l"))
             .with_columns(cc_chain.otherwise(pl.lit(0)).cast(pl.Int64).alias("cc"))
             .with_columns(pl.col("d").str.slice(pl.col("cc").cast(pl.String).str.len_bytes()).alias("n"))
             .with_columns(pl.col("n").str.len_bytes().cast(pl.Int64).alias("nl")))
    status = (pl.when(pl.col("l") < 3).then(pl.lit(SLOW))
              .when((pl.col("cc") == 0) & pl.col("h")).then(pl.lit(SLOW))
              .when(pl.col("cc") == 0).then(pl.lit(0))
              .when(pl.col("nl") < 2).then(pl.lit(0)).otherwise(pl.lit(CLASSIFY)))
    reason = (pl.when(pl.col("cc") == 0).then(pl.lit(REASON_CODE["invalid-country-code"]))
              .otherwise(pl.lit(REASON_CODE["too-short"])))
    frame = frame.with_columns(status.alias("st"), reason.alias("rs"), pl.lit(False).alias("slow"),
                               pl.lit(True).alias("ps"))
    return _candidates_frame(frame.lazy())


def _national(digits: pl.Series, hints: pl.Series, offset: int) -> tuple[pl.LazyFrame, pl.Series]:
    """Candidates (k, cc, n, slow, st, rs) of parse(digits, hint) for bare digit strings with a region hint,
    up to the national-prefix strip; st SAME_AS_MSISDN where the reading equals the MSISDN reading, and
    BY_IDD where parse strips an international prefix (n is then what follows it). Also the n column."""
    frame = national_candidates(digits, hints, CLASSIFY, SAME_AS_MSISDN, BY_IDD).with_columns(
        pl.int_range(offset, offset + digits.shape[0], dtype=pl.Int64).alias("k"),
        pl.lit(False).alias("ps"))
    return _candidates_frame(frame.lazy()), frame["n"]


def _classify_candidates(candidates: pl.LazyFrame) -> pl.DataFrame:
    """(i = k, st, rg, num, rs) of every candidate: decided by the compiled automata, by the per-candidate
    classifier where the automata cannot decide (a national prefix still to strip, an unknown code), or its
    pre-status."""
    frame = candidates.collect(optimizations=_OPTS)
    todo = frame.filter(pl.col("st") == CLASSIFY)
    late = todo["slow"].to_numpy()
    lengths = todo["n"].str.len_bytes().cast(pl.Int64).to_numpy()
    values = pl.select(pl.concat_str([pl.lit("1"), pl.lit(todo["n"])]).cast(pl.UInt64, strict=False)
                       .fill_null(0)).to_series().to_numpy()
    codes, pending = todo["cc"].to_numpy(), todo["ps"].to_numpy()
    st, rg, num, rs = AUTOMATA.decide(codes, values, lengths, pending)
    st[late] = SLOW
    to_strip = np.flatnonzero((st == SLOW) & ~late & pending)
    if to_strip.shape[0]:  # a national prefix to strip first (as parse does after the country code)
        stripped_values, stripped_lengths, done = strip_international(
            codes[to_strip], values[to_strip], lengths[to_strip])
        rows = to_strip[done]
        after_strip = AUTOMATA.decide(codes[rows], stripped_values[done], stripped_lengths[done],
                                      np.zeros(rows.shape[0], dtype=bool))
        for column, decided_column in zip((st, rg, num, rs), after_strip, strict=True):
            column[rows] = decided_column
    back = np.flatnonzero((st == SLOW) & ~late)
    if back.shape[0]:
        rows = todo[back]
        decided = classify(rows["cc"].to_list(), rows["n"].to_list(), rows["ps"].to_list(),
                           [False] * back.shape[0])
        for column, decided_values in zip((st, rg, num, rs), zip(*decided, strict=True), strict=True):
            column[back] = decided_values
    classified = pl.DataFrame({"i": todo["k"], "st": pl.Series(st, dtype=pl.UInt8),
                               "rg": pl.Series(rg, dtype=pl.UInt8), "num": pl.Series(num, dtype=pl.UInt64),
                               "rs": pl.Series(rs, dtype=pl.Int8)})
    rest = frame.filter(pl.col("st") != CLASSIFY).select(
        pl.col("k").alias("i"), pl.col("st"), pl.lit(0, dtype=pl.UInt8).alias("rg"),
        pl.lit(0, dtype=pl.UInt64).alias("num"), pl.col("rs"))
    return pl.concat([rest, classified], how="vertical_relaxed")


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


def _resolve_hints(n: int, hints: Hints,
                   default_region: str | None) -> tuple[pl.Series, np.ndarray]:
    """(the hint each row's normalize call gets, or null; rows whose hint needs the per-row path)."""
    default = default_region.strip() if default_region else None
    if hints is None:
        value = default.upper() if default else None
        ok = value if value in SUPPORTED_REGIONS else None
        odd = bool(default is not None and not default.isascii())
        return pl.Series("h", [ok] * n, dtype=pl.String), np.full(n, odd, dtype=bool)
    raw = pl.Series("h", hints, dtype=pl.String)
    fallback = default_region or None
    frame = pl.DataFrame({"h": raw}).with_columns(
        pl.when(pl.col("h").is_null() | (pl.col("h") == "")).then(pl.lit(fallback, dtype=pl.String))
        .otherwise(pl.col("h")).str.strip_chars(WS).alias("t"))
    frame = frame.with_columns(pl.col("t").str.to_uppercase().alias("u"))
    ascii_only = frame["t"].fill_null("").str.contains(r"^[\x00-\x7f]*$").to_numpy()
    odd_rows: np.ndarray = ~ascii_only
    known = frame["u"].is_in(sorted(SUPPORTED_REGIONS)).fill_null(False)
    resolved = pl.select(pl.when(pl.lit(known)).then(pl.lit(frame["u"])).otherwise(None)).to_series()
    return resolved.alias("h"), odd_rows


def normalize_fast(phones: Texts, hints: Hints,
                   default_region: str | None = None) -> NormalizedBatch:
    """normalize_many with the vectorized fast path; equal to the per-row policy on every row."""
    return _finish(_decide(phones, hints, default_region), phones, hints, default_region)


def undecided_rows(phones: Texts, hints: Hints,
                   default_region: str | None = None) -> np.ndarray:
    """Indices of the rows the fast path leaves to the per-row policy (for benchmarks and tests)."""
    return np.flatnonzero(_decide(phones, hints, default_region).status == SLOW)


def _msisdn(values: pl.Expr) -> pl.Expr:
    """The policy's MSISDN reading of digits: a leading '00' is dropped."""
    return pl.when(values.str.starts_with("00")).then(values.str.slice(2)).otherwise(values)


def _decide(phones: Texts, hints: Hints, default_region: str | None) -> _Part:
    n = len(phones)
    out = _Part(np.arange(n))
    if n == 0:
        return out
    hint, odd_hint = _resolve_hints(n, hints, default_region)
    raw = phones.cast(pl.String) if isinstance(phones, pl.Series) else pl.Series(phones, dtype=pl.String)
    frame = pl.DataFrame({"raw": raw.alias("raw"), "h": hint, "odd": odd_hint})
    text = pl.col("raw").str.strip_chars(WS).str.replace_many(_FROM, _TO)
    frame = frame.with_columns(text.alias("t")).with_columns(
        (pl.col("h").is_not_null() & ~pl.col("odd")).alias("hinted"),
        (~pl.col("odd") & (pl.col("raw").str.len_chars() <= MAX_TEXT)).alias("ok"),
        pl.col("t").str.replace_all("[^0-9]", "").alias("d"),
        pl.col("t").str.extract(r"^([0-9]+)", 1).alias("user"),
    ).with_columns(
        (pl.col("ok") & (pl.col("t") == "")).alias("empty"),
        (pl.col("ok") & pl.col("t").str.contains(PLUS_SHAPE)).alias("plus"),
        (pl.col("ok") & pl.col("t").str.contains(_BARE_SHAPE) & ~pl.col("t").str.contains(PLUS_SHAPE)).alias("bare"),
        (pl.col("ok") & pl.col("t").str.contains(_JID_SHAPE)).alias("jid"),
        (pl.col("ok") & ~pl.col("hinted") & pl.col("t").str.contains(_WORD_SHAPE)).alias("word"),
    ).with_columns(
        pl.when(pl.col("plus")).then(pl.col("d")).when(pl.col("bare")).then(_msisdn(pl.col("d")))
        .when(pl.col("jid")).then(_msisdn(pl.col("user"))).alias("intl"),
    )
    flags = {name: frame[name].fill_null(False).to_numpy() for name in
             ("empty", "plus", "bare", "jid", "word", "hinted")}
    out.reject(np.flatnonzero(flags["empty"]), "empty")
    out.reject(np.flatnonzero(flags["word"]), "no-digits")
    has_intl = flags["plus"] | flags["bare"] | flags["jid"]
    sel = np.flatnonzero(has_intl)
    if sel.shape[0] == 0:
        return out
    bare_hinted = (flags["bare"] & flags["hinted"])[sel]
    rows = sel[bare_hinted]
    parts = [_international(frame["intl"].gather(sel), (flags["plus"] & flags["hinted"])[sel], 0)]
    national_n = pl.Series("n", [], dtype=pl.String)
    if rows.shape[0]:
        national, national_n = _national(frame["d"].gather(rows), frame["h"].gather(rows), sel.shape[0])
        parts.append(national)
    results = _classify_candidates(pl.concat(parts))
    keys = np.concatenate([sel, rows])
    both = _Part.from_frame(keys, results)
    second = _subset(both, np.arange(sel.shape[0]))
    # Rows read only internationally: '+…' shapes, and MSISDN/JID rows without a hint.
    alone = (flags["plus"] | ~flags["hinted"])[sel]
    _store(out, _subset(second, alone))
    # A JID with a hint: parse(jid, hint) is NOT_A_NUMBER, so the MSISDN reading decides.
    jid_hinted = (flags["jid"] & flags["hinted"] & ~flags["plus"])[sel]
    if jid_hinted.any():
        first = _Part(sel[jid_hinted])
        first.reject(np.ones(first.idx.shape[0], dtype=bool), "not-a-number")
        _store(out, _combine(first, _subset(second, jid_hinted)))
    if rows.shape[0]:
        msisdn = _subset(second, bare_hinted)
        first = _subset(both, np.arange(sel.shape[0], keys.shape[0]))
        by_idd = np.flatnonzero(first.status == BY_IDD)
        if by_idd.shape[0]:  # parse(digits, hint) strips the international prefix: read the rest as '+…'
            read = _Part.from_frame(by_idd, _classify_candidates(
                _international(national_n.gather(by_idd), np.zeros(by_idd.shape[0], dtype=bool), 0)))
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

