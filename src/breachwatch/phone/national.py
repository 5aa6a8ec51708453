"""The national reading of bare digit strings with a region hint, for a whole batch at once: what
`phonenumbers.parse(digits, hint)` does up to the national-prefix strip (international prefix, country code
at the start of a national number, national prefix), as `classify.national_readings` does per row, here with
integer arithmetic on digit strings and the region automata of `automaton.py`. Rows it cannot read in bulk
(more than 18 digits, a region whose tables are not usable) get `classify.national_readings`.

Digit strings are held as (sentinel value, length): '0123' is (10123, 4), so leading zeros survive."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from .automaton import AUTOMATA
from .classify import NO_REASON, REASON_CODE, SLOW, national_readings
from .kernels import MAX_DIGITS, POW10
from .reference import REGION_INDEX, REGIONS
from .tables import MAX_NSN, country_table, region_table

_ALTERNATIVES = 3
_LENGTH_CODES = MAX_NSN + 4
_TOO_SHORT = REASON_CODE["too-short"]
_GENERAL, _NPP_REGEX, _IDD_REGEX, _IDD_EXACT, _NPP_EXACT = 1, 2, 4, 8, 16  # region automata's label bits


class _RegionInfo:
    """Per region index: what the bulk national reading needs, filled on first use."""

    def __init__(self) -> None:
        size = len(REGIONS)
        self._lock = threading.Lock()
        self.filled = np.zeros(size, dtype=bool)
        self.ok = np.zeros(size, dtype=bool)
        self.code = np.zeros(size, dtype=np.int64)
        self.code_digits = np.zeros(size, dtype=np.int64)
        self.main = np.zeros(size, dtype=np.int64)
        self.npp_mode = np.zeros(size, dtype=np.int64)  # 0 none, 1 literal alternatives, 2 regex
        self.npp_transform = np.zeros(size, dtype=bool)
        self.alt_value = np.zeros((size, _ALTERNATIVES), dtype=np.uint64)
        self.alt_length = np.zeros((size, _ALTERNATIVES), dtype=np.int64)
        self.idd_mode = np.zeros(size, dtype=np.int64)  # 0 none, 1 literal, 2 regex
        self.idd_value = np.zeros(size, dtype=np.uint64)
        self.idd_length = np.zeros(size, dtype=np.int64)
        self.length_code = np.zeros((size, _LENGTH_CODES), dtype=np.int64)

    def ensure(self, regions: np.ndarray) -> None:
        """Fill the rows of `regions` (and of their countries' main regions)."""
        wanted = [int(r) for r in np.unique(regions) if not self.filled[r]]
        if not wanted:
            return
        with self._lock:
            for index in wanted:
                self._fill(index)
                if self.ok[index]:
                    main = int(self.main[index])
                    if not self.filled[main]:
                        self._fill(main)
                    self.ok[index] = self.ok[main]
            AUTOMATA.regions.ensure(np.array([i for i in range(len(REGIONS)) if self.ok[i]], dtype=np.int64))
            for index in wanted:
                if self.ok[index]:
                    pair = np.array([index, self.main[index]])
                    self.ok[index] = bool((AUTOMATA.regions.start[pair] >= 0).all())

    def _fill(self, index: int) -> None:
        self.filled[index] = True
        name = REGIONS[index]
        table = region_table(name) if name not in ("001", "ZZ") else None
        country = country_table(table.country_code) if table is not None else None
        if table is None or country is None or not (table.usable and country.usable):
            return
        if name not in {r.region for r in country.regions}:
            return
        self.code[index] = table.country_code
        self.code_digits[index] = len(str(table.country_code))
        self.main[index] = REGION_INDEX.get(country.main_region, index)
        if table.npp is not None and (table.npp_transform or not table.npp_alternatives):
            self.npp_mode[index] = 2
            self.npp_transform[index] = table.npp_transform
        elif table.npp is not None:
            if len(table.npp_alternatives) > _ALTERNATIVES:
                return
            self.npp_mode[index] = 1
            for j, alternative in enumerate(table.npp_alternatives):
                self.alt_value[index, j] = int(alternative)
                self.alt_length[index, j] = len(alternative)
        if table.idd is not None and table.idd_literal:
            self.idd_mode[index] = 1
            self.idd_value[index] = int(table.idd)
            self.idd_length[index] = len(table.idd)
        elif table.idd is not None:
            self.idd_mode[index] = 2
        self.length_code[index] = table.lengths[:_LENGTH_CODES]
        self.ok[index] = True


_INFO = _RegionInfo()
_MAIN_OF_CODE = np.full(1000, -2, dtype=np.int64)  # -2: not looked up yet, -1: unknown code


def _main_regions(codes: np.ndarray) -> np.ndarray:
    """The region index of each country code's main region (-1 when unknown)."""
    for code in np.unique(codes).tolist():
        if _MAIN_OF_CODE[code] == -2:
            country = country_table(int(code)) if 0 < code < 1000 else None
            _MAIN_OF_CODE[code] = REGION_INDEX.get(country.main_region, -1) if country is not None else -1
    found: np.ndarray = _MAIN_OF_CODE[codes]
    return found


def strip_international(codes: np.ndarray, values: np.ndarray,
                        lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The national-prefix strip parse applies to the national part of an international number (with the
    main region of its country code), in bulk: (sentinel value, length, decided); where not decided the
    per-candidate classifier must strip."""
    decided = np.zeros(codes.shape[0], dtype=bool)
    out_values, out_lengths = values.copy(), lengths.copy()
    codes = np.clip(codes, 0, 999)
    main = _main_regions(codes)
    known = main >= 0
    _INFO.ensure(main[known])
    rows = np.flatnonzero(known & (lengths <= MAX_DIGITS) & (lengths >= 1))
    rows = rows[_INFO.ok[main[rows]]]
    if rows.shape[0]:
        stripped_values, stripped_lengths, _, undecided = _strip(main[rows], values[rows], lengths[rows], gated=True)
        out_values[rows], out_lengths[rows] = stripped_values, stripped_lengths
        decided[rows] = ~undecided
    return out_values, out_lengths, decided


def _starts(plain: np.ndarray, lengths: np.ndarray, value: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Whether each digit string (plain value, length) starts with the digit string (value, width > 0)."""
    cut = np.clip(lengths - width, 0, None)
    found: np.ndarray = (width > 0) & (lengths >= width) & (plain // POW10[cut] == value)
    return found


def _tail(values: np.ndarray, lengths: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each digit string without its first `width` digits, as (sentinel value, length)."""
    rest = np.clip(lengths - width, 0, None)
    return (values % POW10[rest]) + POW10[rest], rest


def _bits(regions: np.ndarray, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The region automata's label bits of each digit string."""
    machines = AUTOMATA.regions
    bits: np.ndarray = machines.labels["bits"][machines.run(regions, values, lengths)]
    return bits


def _strip(regions: np.ndarray, values: np.ndarray, lengths: np.ndarray,
           gated: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """classify._Region.strip in bulk: (sentinel value, length, general-description match of the result,
    'the per-row path must decide' flag)."""
    info = _INFO
    plain = values - POW10[lengths]
    bits = _bits(regions, values, lengths)
    undecided = (info.npp_mode[regions] == 2) & ((bits & _NPP_REGEX) > 0)
    width = np.zeros(values.shape[0], dtype=np.int64)
    # A national prefix given as a regex (no transform rule) that can match one way only: re.match takes it.
    exact = np.flatnonzero(undecided & ~info.npp_transform[regions])
    if exact.shape[0]:
        count, last = AUTOMATA.regions.hits(regions[exact], values[exact], lengths[exact], "bits", _NPP_EXACT)
        unique = (count == 1) & (last > 0)
        width[exact[unique]] = last[unique]
        undecided[exact[unique]] = False
    literal = info.npp_mode[regions] == 1
    for j in range(_ALTERNATIVES):
        alt_width = np.where(literal, info.alt_length[regions, j], 0)
        found = (width == 0) & _starts(plain, lengths, info.alt_value[regions, j], alt_width)
        width[found] = alt_width[found]
    rest_values, rest_lengths = _tail(values, lengths, width)
    viable = (bits & _GENERAL) > 0
    rest_general = (_bits(regions, rest_values, rest_lengths) & _GENERAL) > 0
    keep = (width == 0) | (viable & ~rest_general)
    if gated:
        code = info.length_code[regions, np.clip(rest_lengths, 0, _LENGTH_CODES - 1)]
        keep |= (code == 1) | (code == 3) | (code == 4)  # TOO_SHORT, INVALID_LENGTH, IS_POSSIBLE_LOCAL_ONLY
    return (np.where(keep, values, rest_values), np.where(keep, lengths, rest_lengths),
            np.where(keep, viable, rest_general), undecided)


def _idd_width(regions: np.ndarray, values: np.ndarray, lengths: np.ndarray, plain: np.ndarray,
               bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the digits start with the region's international prefix, the prefix's width where only one width
    can match (so `re.match` takes it), else 0)."""
    info = _INFO
    idd_mode = info.idd_mode[regions]
    literal = np.where(idd_mode == 1, info.idd_length[regions], 0)
    found = _starts(plain, lengths, info.idd_value[regions], literal)
    width = np.where(found, literal, 0)
    regex = np.flatnonzero((idd_mode == 2) & ((bits & _IDD_REGEX) > 0))
    if regex.shape[0]:
        count, last = AUTOMATA.regions.hits(regions[regex], values[regex], lengths[regex], "bits", _IDD_EXACT)
        found[regex] = True
        width[regex] = np.where((count == 1) & (last > 0), last, 0)
    return found, width


def _bulk(regions: np.ndarray, values: np.ndarray, lengths: np.ndarray, classify_status: int,
          same_status: int, idd_status: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """classify.national_readings for rows a bulk read can decide: (code, national sentinel value, national
    length, slow, pre-status, reason). Where parse strips an international prefix, the pre-status is
    `same_status` when what follows is the MSISDN reading ('00'), else `idd_status` with the digits after
    the prefix as the national value (to be read as an international number)."""
    info = _INFO
    plain = values - POW10[lengths]
    bits = _bits(regions, values, lengths)
    idd, width = _idd_width(regions, values, lengths, plain, bits)
    after_idd = (plain // POW10[np.clip(lengths - width - 1, 0, None)]) % np.uint64(10)
    stripped = idd & (width > 0) & (after_idd != 0) & (lengths - width >= 3)
    same = stripped & (width == 2) & (plain // POW10[np.clip(lengths - 2, 0, None)] == 0)  # '00'
    by_idd = stripped & ~same if idd_status != SLOW else np.zeros(values.shape[0], dtype=bool)
    slow = idd & ~same & ~by_idd
    code = info.code[regions]
    digits = info.code_digits[regions]
    lead = _starts(plain, lengths, code.astype(np.uint64), digits)
    after_values, after_lengths = _tail(values, lengths, digits)
    potential_values, potential_lengths, potential_general, no_potential = _strip(
        regions, after_values, after_lengths, gated=False)
    early = slow | (lead & no_potential)
    potential_values = np.where(no_potential, after_values, potential_values)
    potential_lengths = np.where(no_potential, after_lengths, potential_lengths)
    after_general = (_bits(regions, after_values, after_lengths) & _GENERAL) > 0
    potential_general = np.where(no_potential, after_general, potential_general)
    general = (bits & _GENERAL) > 0
    too_long = info.length_code[regions, np.clip(lengths, 0, _LENGTH_CODES - 1)] == 2
    extracted = lead & ~early & ((~general & potential_general) | too_long)
    first_values = np.where(extracted, potential_values, values)
    first_lengths = np.where(extracted, potential_lengths, lengths)
    owner = np.where(extracted, info.main[regions], regions)
    national_values, national_lengths, _, undecided = _strip(owner, first_values, first_lengths, gated=True)
    status = np.full(values.shape[0], classify_status, dtype=np.uint8)
    reason = np.full(values.shape[0], NO_REASON, dtype=np.int8)
    short = first_lengths < 2
    status[short] = 0
    reason[short] = _TOO_SHORT
    status[early] = SLOW
    reason[early] = NO_REASON
    status[same] = same_status
    reason[same] = NO_REASON
    if by_idd.any():
        rest_values, rest_lengths = _tail(values, lengths, width)
        national_values = np.where(by_idd, rest_values, national_values)
        national_lengths = np.where(by_idd, rest_lengths, national_lengths)
        undecided = undecided & ~by_idd
        status[by_idd] = idd_status
        reason[by_idd] = NO_REASON
    return code, national_values, national_lengths, undecided, status, reason


def national_candidates(values: np.ndarray, lengths: np.ndarray, regions: np.ndarray,
                        digits_of: Callable[[np.ndarray], list[str]], classify_status: int, same_status: int,
                        idd_status: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(code, national sentinel value, national length, slow, pre-status, reason) of parse(digits, hint) for
    bare digit strings (sentinel value, length; value 0 past MAX_DIGITS) with a region hint (region index),
    up to the national-prefix strip: equal row by row to `classify.national_readings`, except that with
    `idd_status` rows whose international prefix parse strips get that status and the digits after it as
    the national digits. `digits_of(positions)` gives the digit strings of rows the bulk read leaves to
    `national_readings`."""
    n = values.shape[0]
    _INFO.ensure(regions)
    bulk = _INFO.ok[regions] & (lengths >= 3) & (lengths <= MAX_DIGITS)
    rows = np.flatnonzero(bulk)
    out_code = np.zeros(n, dtype=np.int64)
    out_values = np.ones(n, dtype=np.uint64)
    out_lengths = np.zeros(n, dtype=np.int64)
    out_slow = np.zeros(n, dtype=bool)
    out_status = np.zeros(n, dtype=np.uint8)
    out_reason = np.full(n, NO_REASON, dtype=np.int8)
    if rows.shape[0]:
        (out_code[rows], out_values[rows], out_lengths[rows], out_slow[rows], out_status[rows],
         out_reason[rows]) = _bulk(regions[rows], values[rows], lengths[rows], classify_status, same_status,
                                   SLOW if idd_status is None else idd_status)
    # Rows the bulk read cannot take, or leaves undecided (a national prefix given as a regex that matches,
    # an international prefix with more than one possible width...): read one by one.
    rest = np.flatnonzero(~bulk | out_slow | (out_status == SLOW))
    if rest.shape[0]:
        names = [REGIONS[r] for r in regions[rest].tolist()]
        readings = national_readings(digits_of(rest), names, classify_status, same_status, idd_status)
        for position, (code, national, slow, status, reason) in zip(rest.tolist(), readings, strict=True):
            out_code[position], out_status[position], out_reason[position] = code, status, reason
            out_slow[position] = slow or len(national) > MAX_DIGITS
            if not out_slow[position]:
                out_values[position], out_lengths[position] = int("1" + national), len(national)
    out_values[out_slow] = 1
    out_lengths[out_slow] = 0
    return out_code, out_values, out_lengths, out_slow, out_status, out_reason
