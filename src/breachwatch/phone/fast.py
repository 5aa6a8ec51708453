"""The vectorized fast path of the normalization policy (Polars): decides the common shapes of a batch in
bulk and hands every row it cannot decide with certainty to the per-row policy, so the result equals
`normalize` on every row.

Bulk shapes: '+…', '(+…', 'tel:+…' (international); bare digits, '00…' and WhatsApp JIDs (MSISDN); bare
digits with a region hint (national form: international prefix, country code of the hint, national prefix
stripped as libphonenumber's parse does). Digits may be ASCII, Arabic-Indic, Persian or full-width; the
separators are space, '-', '.', '/', '(' and ')'. Every step mirrors a step of `phonenumbers.parse`,
`is_valid_number`, `region_code_for_number` and `is_possible_number_with_reason`, with the metadata tables
of `tables.py`; where a step would need more than those tables (a national prefix given as a regex that
matches, a transform rule, an international prefix regex that matches, a pattern Polars cannot compile)
the row goes to the per-row path."""

from __future__ import annotations

import numpy as np
import polars as pl

from .policy import REGION_INDEX, REJECT_REASONS, SUPPORTED_REGIONS, NormalizedBatch, normalize
from .tables import (
    LENGTH_POSSIBLE,
    LENGTH_REASONS,
    MAX_NSN,
    CountryTable,
    RegionTable,
    country_codes,
    country_table,
    region_table,
)

SLOW = 255  # status code of a row left to the per-row path
_NO_REASON = -1
_REASON = {r: i for i, r in enumerate(REJECT_REASONS)}
_LEN_REASON = np.array([_NO_REASON if r is None else _REASON[r] for r in LENGTH_REASONS], dtype=np.int8)
_MAX_TEXT = 200
# Python's str.strip() whitespace within ASCII (other whitespace sends the row to the per-row path).
_WS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_DIGIT_SETS = ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９")
_FROM = [ch for digits in _DIGIT_SETS for ch in digits]
_TO = [str(i) for _ in _DIGIT_SETS for i in range(10)]
_SEP = r"[0-9 ().\-/]"
_PLUS_SHAPE = rf"^(?:\(?\+|tel:\+){_SEP}*$"
_BARE_SHAPE = rf"^{_SEP}*[0-9]{_SEP}*$"
# The domain ends in a letter or digit: parse() then never reads the JID as a number (the '@' stays in it).
_JID_SHAPE = r"^[0-9]+(?::[0-9]+)?@[A-Za-z0-9.\-]*[A-Za-z0-9]$"
_WORD_SHAPE = r"^[A-Za-z][A-Za-z ./\-]*$"  # no digit, not 'tel:': no candidate without a hint
_REGION_OF = {r: REGION_INDEX[r] for r in REGION_INDEX}


class _Out:
    """Result arrays of a batch; status SLOW marks rows for the per-row path."""

    def __init__(self, n: int) -> None:
        self.numbers = np.zeros(n, dtype=np.uint64)
        self.status = np.full(n, SLOW, dtype=np.uint8)
        self.region = np.zeros(n, dtype=np.uint8)
        self.reason = np.full(n, _NO_REASON, dtype=np.int8)

    def reject(self, idx: np.ndarray, reason: str) -> None:
        self.status[idx] = 0
        self.reason[idx] = _REASON[reason]


class _Part:
    """A set of rows (row indices `idx`) with one candidate each, decided as arrays (status SLOW = undecided)."""

    def __init__(self, idx: np.ndarray) -> None:
        n = idx.shape[0]
        self.idx = idx
        self.numbers = np.zeros(n, dtype=np.uint64)
        self.status = np.full(n, SLOW, dtype=np.uint8)
        self.region = np.zeros(n, dtype=np.uint8)
        self.reason = np.full(n, _NO_REASON, dtype=np.int8)

    def reject(self, sel: np.ndarray, reason: str | np.ndarray) -> None:
        self.status[sel] = 0
        self.reason[sel] = _REASON[reason] if isinstance(reason, str) else reason


def _contains(values: pl.Series, pattern: str | None) -> np.ndarray:
    if pattern is None:
        return np.zeros(values.len(), dtype=bool)
    return values.str.contains(pattern).fill_null(False).to_numpy()


def _lengths(values: pl.Series) -> np.ndarray:
    return values.str.len_bytes().to_numpy().astype(np.int64)


def _len_code(table: RegionTable, lengths: np.ndarray) -> np.ndarray:
    return np.asarray(table.lengths, dtype=np.int8)[np.minimum(lengths, len(table.lengths) - 1)]


def _general(table: RegionTable, values: pl.Series) -> np.ndarray:
    """libphonenumber's _match_national_number against the general description (pattern only)."""
    return _contains(values, table.general)


def _valid_expr(table: RegionTable) -> pl.Expr:
    """_number_type_helper(...) != UNKNOWN over column 'n' (digits) and 'l' (its length): the general
    description, then any number type."""
    if table.general is None or not table.types:
        return pl.lit(False)
    general = pl.col("n").str.contains(table.general)
    if table.general_lengths:
        general = general & pl.col("l").is_in(list(table.general_lengths))
    any_type: pl.Expr | None = None
    for pattern, allowed in table.types:
        match = pl.col("n").str.contains(pattern)
        if allowed:
            match = pl.col("l").is_in(list(allowed)) & match
        any_type = match if any_type is None else (any_type | match)
    assert any_type is not None
    return (general & any_type).fill_null(False)


def _valid_in(table: RegionTable, values: pl.Series, lengths: np.ndarray) -> np.ndarray:
    """_valid_expr evaluated on `values`."""
    frame = pl.DataFrame({"n": values, "l": lengths})
    return frame.select(_valid_expr(table)).to_series().to_numpy()


def _strip_national_prefix(table: RegionTable, values: pl.Series, gated: bool) -> tuple[pl.Series, np.ndarray]:
    """(numbers after _maybe_strip_national_prefix_carrier_code, rows needing the per-row path). With
    `gated`, the strip is kept only where parse keeps it (by the length test of the stripped number)."""
    slow = np.zeros(values.len(), dtype=bool)
    if table.npp is None:
        return values, slow
    if table.npp_transform or not table.npp_alternatives:
        # A regex prefix: the rows where it matches something go to the per-row path; an empty match
        # leaves the number as it is (no group took part, so neither strip nor transform applies).
        matched = values.str.extract(table.npp, 0)
        width = matched.str.len_bytes().fill_null(0).to_numpy()
        return values, width > 0
    starts = np.zeros(values.len(), dtype=bool)
    width = np.zeros(values.len(), dtype=np.int64)
    for alternative in table.npp_alternatives:  # re.match tries alternatives in order
        hit = ~starts & values.str.starts_with(alternative).to_numpy()
        starts |= hit
        width[hit] = len(alternative)
    if not starts.any():
        return values, slow
    rest = pl.DataFrame({"v": values, "w": width}).select(pl.col("v").str.slice(pl.col("w"))).to_series()
    viable = _general(table, values)
    kept = _general(table, rest)
    strip = starts & ~(viable & ~kept)
    if gated:
        code = _len_code(table, _lengths(rest))
        strip &= ~np.isin(code, (1, 3, 4))  # TOO_SHORT, INVALID_LENGTH, IS_POSSIBLE_LOCAL_ONLY
    if not strip.any():
        return values, slow
    out = pl.select(pl.when(pl.lit(pl.Series(strip))).then(pl.lit(rest)).otherwise(pl.lit(values))).to_series()
    return out, slow


def _classify(part: _Part, sel: np.ndarray, cc: int, table: CountryTable, national: pl.Series) -> None:
    """Decide rows `sel` of `part`, parsed as country code `cc` and national significant number `national`
    (after the national-prefix strip): the TOO_LONG parse error, validity, region, possible-length reason."""
    frame = pl.DataFrame({"n": national}).with_columns(pl.col("n").str.len_bytes().cast(pl.Int64).alias("l"))
    exprs = [(pl.lit(str(cc)) + pl.col("n")).cast(pl.UInt64, strict=False).fill_null(0).alias("num"), pl.col("l")]
    if len(table.regions) == 1:
        exprs.append(_valid_expr(table.regions[0]).alias("valid"))
    computed = frame.select(exprs)
    num = computed["num"].to_numpy()
    lengths = computed["l"].to_numpy()
    too_long = lengths > MAX_NSN
    overflow = (num == 0) & ~too_long
    region = np.full(lengths.shape[0], -1, dtype=np.int64)
    valid = np.zeros(lengths.shape[0], dtype=bool)
    if len(table.regions) == 1:
        region[:] = _REGION_OF[table.regions[0].region]
        valid = computed["valid"].to_numpy()
    else:
        for reg in table.regions:
            left = region < 0
            if not left.any():
                break
            if reg.leading_digits is not None:
                hit = left & _contains(national, reg.leading_digits)
                valid[hit] = _valid_in(reg, national, lengths)[hit]
            else:
                hit = left & _valid_in(reg, national, lengths)
                valid[hit] = True
            region[hit] = _REGION_OF[reg.region]
        region[region < 0] = _REGION_OF.get(table.main_region, _REGION_OF["ZZ"])
    code = _len_code(table.main, lengths)
    status = np.where(valid, 2, np.where(code == LENGTH_POSSIBLE, 1, 0)).astype(np.uint8)
    reason = np.where(status == 0, _LEN_REASON[code], _NO_REASON).astype(np.int8)
    status[too_long] = 0
    reason[too_long] = _REASON["too-long"]
    status[overflow] = SLOW
    rows = np.flatnonzero(sel)
    part.status[rows] = status
    part.reason[rows] = reason
    part.region[rows] = np.where(status > 0, region, 0)
    part.numbers[rows] = np.where((status == 1) | (status == 2), num, 0)


def _split_cc(digits: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(country code or 0, its length) of each digit string, by longest (= only) prefix."""
    codes = country_codes()
    cc = np.zeros(digits.len(), dtype=np.int64)
    width = np.zeros(digits.len(), dtype=np.int64)
    for n in (1, 2, 3):
        head = digits.str.slice(0, n)
        value = head.cast(pl.Int64, strict=False).fill_null(0).to_numpy()
        hit = (cc == 0) & np.isin(value, list(codes)) & (_lengths(head) == n) & (head.str.slice(0, 1) != "0").to_numpy()
        cc[hit] = value[hit]
        width[hit] = n
    return cc, width


def _international(idx: np.ndarray, digits: pl.Series, hinted: np.ndarray) -> _Part:
    """parse('+' + digits, None) for each row, then validity: one part over `idx`. Rows whose country code
    is invalid but that have a region hint go to the per-row path (parse retries them as national)."""
    part = _Part(idx)
    lengths = _lengths(digits)
    short = lengths < 3
    cc, width = _split_cc(digits)
    bad_cc = (cc == 0) & ~short
    part.reject(bad_cc & ~hinted, "invalid-country-code")
    national_len = lengths - width
    part.reject(~short & ~bad_cc & (national_len < 2), "too-short")
    todo = ~short & ~bad_cc & (national_len >= 2)
    frame = pl.DataFrame({"d": digits, "cc": cc, "w": width})
    for code in np.unique(cc[todo]):
        sel = todo & (cc == code)
        table = country_table(int(code))
        if table is None or not table.usable:
            continue
        rows = np.flatnonzero(sel)
        sub = frame[rows]
        national = sub["d"].str.slice(int(sub["w"][0]))
        stripped, slow = _strip_national_prefix(table.main, national, gated=True)
        decide = np.zeros_like(sel)
        decide[rows[~slow]] = True
        if (~slow).any():
            _classify(part, decide, int(code), table, stripped.filter(pl.Series(~slow)))
    return part


def _national(idx: np.ndarray, digits: pl.Series, hints: pl.Series) -> _Part:
    """parse(digits, hint) then validity, for bare digit strings with a region hint."""
    part = _Part(idx)
    frame = pl.DataFrame({"d": digits, "h": hints, "pos": np.arange(idx.shape[0])})
    for (hint,), group in frame.group_by(["h"], maintain_order=False):
        table = region_table(str(hint))
        main = country_table(table.country_code) if table is not None else None
        if table is None or main is None or not table.usable or not main.usable:
            continue
        pos = group["pos"].to_numpy()
        values = group["d"]
        lengths = _lengths(values)
        if lengths.min() < 3:
            keep = lengths >= 3
            pos, values, lengths = pos[keep], values.filter(pl.Series(keep)), lengths[keep]
        handled = np.zeros(pos.shape[0], dtype=bool)
        if table.idd is not None:
            if table.idd_literal:
                starts = values.str.starts_with(table.idd).to_numpy()
                after = values.str.slice(len(table.idd), 1)
                idd = starts & (after != "0").to_numpy() & (lengths - len(table.idd) >= 3)
                handled |= starts & ~idd  # '0' after the prefix, or too short after it: per-row path
                if idd.any():
                    sub = _international(idx[pos[idd]], values.filter(pl.Series(idd)).str.slice(len(table.idd)),
                                         np.zeros(int(idd.sum()), dtype=bool))
                    _merge_into(part, pos[idd], sub)
                    handled |= idd
            else:
                handled |= _contains(values, table.idd)
        _national_default(part, table, main, pos[~handled], values.filter(pl.Series(~handled)))
    return part


def _national_default(part: _Part, table: RegionTable, main: CountryTable, pos: np.ndarray,
                      values: pl.Series) -> None:
    """Rows without an international prefix: the hint's country code may lead the digits; then the national
    prefix strip and validity."""
    if pos.shape[0] == 0:
        return
    lengths = _lengths(values)
    ccs = str(table.country_code)
    lead = values.str.starts_with(ccs).to_numpy()
    potential = values.str.slice(len(ccs))
    potential, slow = _strip_national_prefix(table, potential, gated=False)
    slow &= lead
    extracted = lead & ~slow & (
        (~_general(table, values) & _general(table, potential))
        | (_len_code(table, lengths) == 2)  # TOO_LONG
    )
    national = pl.select(pl.when(pl.lit(pl.Series(extracted))).then(pl.lit(potential))
                         .otherwise(pl.lit(values))).to_series()
    short = _lengths(national) < 2
    sub = _Part(pos)
    sub.reject(short & ~slow, "too-short")
    for meta, sel in ((main.main, extracted & ~short & ~slow), (table, ~extracted & ~short & ~slow)):
        if not sel.any():
            continue
        rows = np.flatnonzero(sel)
        stripped, slow2 = _strip_national_prefix(meta, national.filter(pl.Series(sel)), gated=True)
        decide = np.zeros_like(sel)
        decide[rows[~slow2]] = True
        if (~slow2).any():
            _classify(sub, decide, table.country_code, main, stripped.filter(pl.Series(~slow2)))
    _merge_into(part, pos, sub)


def _merge_into(part: _Part, pos: np.ndarray, sub: _Part) -> None:
    part.status[pos] = sub.status
    part.region[pos] = sub.region
    part.numbers[pos] = sub.numbers
    part.reason[pos] = sub.reason


def _store(out: _Out, part: _Part) -> None:
    out.status[part.idx] = part.status
    out.region[part.idx] = part.region
    out.numbers[part.idx] = part.numbers
    out.reason[part.idx] = part.reason


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
    out.reason[take2] = _NO_REASON
    return out


def _msisdn(values: pl.Series) -> pl.Series:
    """The policy's MSISDN reading of digits: a leading '00' is dropped."""
    return pl.select(pl.when(pl.lit(values).str.starts_with("00")).then(pl.lit(values).str.slice(2))
                     .otherwise(pl.lit(values))).to_series()


def _resolve_hints(n: int, hints: list[str | None] | None, default_region: str | None) -> tuple[pl.Series, np.ndarray]:
    """(the hint each row's normalize call gets, or null; rows whose hint needs the per-row path)."""
    default = default_region.strip() if default_region else None
    if hints is None:
        value = default.upper() if default else None
        ok = value if value in SUPPORTED_REGIONS else None
        odd = default is not None and not default.isascii()
        return pl.Series("h", [ok] * n, dtype=pl.String), np.full(n, odd)
    raw = pl.Series("h", hints, dtype=pl.String)
    fallback = default_region or None
    frame = pl.DataFrame({"h": raw}).with_columns(
        pl.when(pl.col("h").is_null() | (pl.col("h") == "")).then(pl.lit(fallback, dtype=pl.String))
        .otherwise(pl.col("h")).str.strip_chars(_WS).alias("t"))
    frame = frame.with_columns(pl.col("t").str.to_uppercase().alias("u"))
    odd = (~pl.select(frame["t"].fill_null("").str.contains(r"^[\x00-\x7f]*$")).to_series()).to_numpy()
    known = frame["u"].is_in(sorted(SUPPORTED_REGIONS)).fill_null(False)
    resolved = pl.select(pl.when(pl.lit(known)).then(pl.lit(frame["u"])).otherwise(None)).to_series()
    return resolved.alias("h"), odd


def normalize_fast(phones: list[str], hints: list[str | None] | None,
                   default_region: str | None = None) -> NormalizedBatch:
    """normalize_many with the vectorized fast path; equal to the per-row policy on every row."""
    return _finish(_decide(phones, hints, default_region), phones, hints, default_region)


def undecided_rows(phones: list[str], hints: list[str | None] | None,
                   default_region: str | None = None) -> np.ndarray:
    """Indices of the rows the fast path leaves to the per-row policy (for benchmarks and tests)."""
    return np.flatnonzero(_decide(phones, hints, default_region).status == SLOW)


def _decide(phones: list[str], hints: list[str | None] | None, default_region: str | None) -> _Out:
    n = len(phones)
    out = _Out(n)
    if n == 0:
        return out
    hint, odd_hint = _resolve_hints(n, hints, default_region)
    raw = pl.Series("raw", phones, dtype=pl.String)
    text = raw.str.strip_chars(_WS)
    text = text.str.replace_many(_FROM, _TO)
    has_hint = hint.is_not_null().to_numpy() & ~odd_hint
    usable = ~odd_hint & (raw.str.len_chars().to_numpy() <= _MAX_TEXT)
    empty = usable & (text == "").to_numpy()
    out.reject(np.flatnonzero(empty), "empty")
    plus = usable & _contains(text, _PLUS_SHAPE)
    bare = usable & ~plus & _contains(text, _BARE_SHAPE)
    jid = usable & _contains(text, _JID_SHAPE)
    word = usable & ~has_hint & _contains(text, _WORD_SHAPE) & ~empty
    out.reject(np.flatnonzero(word), "no-digits")
    digits = text.str.replace_all("[^0-9]", "")
    if plus.any():
        sel = np.flatnonzero(plus)
        _store(out, _international(sel, digits.gather(sel), has_hint[sel]))
    jid_user = text.str.extract(r"^([0-9]+)", 1)
    for rows, source in ((bare & ~has_hint, digits), (jid & ~has_hint, jid_user)):
        if not rows.any():
            continue
        sel = np.flatnonzero(rows)
        _store(out, _international(sel, _msisdn(source.gather(sel)), np.zeros(sel.shape[0], dtype=bool)))
    if (jid & has_hint).any():
        # parse(jid, hint) is NOT_A_NUMBER, so the MSISDN reading decides, with that reason if rejected.
        sel = np.flatnonzero(jid & has_hint)
        first = _Part(sel)
        first.reject(np.ones(sel.shape[0], dtype=bool), "not-a-number")
        _store(out, _combine(first, _international(sel, _msisdn(jid_user.gather(sel)),
                                                   np.zeros(sel.shape[0], dtype=bool))))
    hinted = bare & has_hint
    if hinted.any():
        sel = np.flatnonzero(hinted)
        values = digits.gather(sel)
        first = _national(sel, values, hint.gather(sel))
        msisdn = _msisdn(values)
        need = first.status != 2
        second = _Part(sel)
        if need.any():
            sub = _international(sel[need], msisdn.filter(pl.Series(need)), np.zeros(int(need.sum()), dtype=bool))
            _merge_into(second, np.flatnonzero(need), sub)
        _store(out, _combine(first, second))
    return out


def _finish(out: _Out, phones: list[str], hints: list[str | None] | None,
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

