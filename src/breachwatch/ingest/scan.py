"""Compiled passes (numba) over the lines of a CSV/TSV piece: the fields of each line, whether its quoting is
regular, and which data-class columns hold something, so that a piece is known to read as Python's csv
module reads it without parsing it twice.

A line is *regular* when it is not blank, is well-formed UTF-8, every field is either unquoted and free of
quotes, or quoted from its first to its last character with the quotes inside doubled, and the line holds no
NUL, no CR but its line end and none of the separators \x1c-\x1f. On a regular
line the csv module and Polars read the same fields (the quotes removed, doubled quotes made single), and no
quoted field is left open at its end."""

from __future__ import annotations

import numpy as np
from numba import njit

_QUOTE = 34
_LF = 10
_CR = 13
# Byte kinds for the scan (bytes >= 128 are parts of non-ASCII characters).
_PLAIN, _SPACE, _DELIMITER, _LINE_FEED, _CARRIAGE, _ODD = 0, 1, 2, 3, 4, 5


def byte_kinds(delimiter: str) -> np.ndarray:
    """The scan's kind of each ASCII byte for a one-character ASCII delimiter (not a quote, CR, LF or NUL).
    White space is what Python's str.strip() removes within ASCII."""
    kinds = np.zeros(128, dtype=np.uint8)
    for byte in (9, 11, 12, 32):
        kinds[byte] = _SPACE
    for byte in (0, _QUOTE, 28, 29, 30, 31):  # NUL, quote, and separators str.splitlines() breaks lines at
        kinds[byte] = _ODD
    kinds[_LF] = _LINE_FEED
    kinds[_CR] = _CARRIAGE
    kinds[ord(delimiter)] = _DELIMITER
    return kinds


@njit(cache=True, nogil=True)
def _utf8_width(data: np.ndarray, pos: int) -> int:
    """The length of the well-formed UTF-8 sequence (as Python's strict decoder accepts) starting with the
    non-ASCII byte at `pos`, 0 if it is not one."""
    size = data.shape[0]
    lead = data[pos]
    if 0xC2 <= lead <= 0xDF:
        width, low, high = 2, 0x80, 0xBF
    elif lead == 0xE0:
        width, low, high = 3, 0xA0, 0xBF
    elif lead == 0xED:
        width, low, high = 3, 0x80, 0x9F
    elif 0xE1 <= lead <= 0xEF:
        width, low, high = 3, 0x80, 0xBF
    elif lead == 0xF0:
        width, low, high = 4, 0x90, 0xBF
    elif lead == 0xF4:
        width, low, high = 4, 0x80, 0x8F
    elif 0xF1 <= lead <= 0xF3:
        width, low, high = 4, 0x80, 0xBF
    else:
        return 0
    if pos + width > size or not low <= data[pos + 1] <= high:
        return 0
    for k in range(2, width):
        if not 0x80 <= data[pos + k] <= 0xBF:
            return 0
    return width


@njit(cache=True, nogil=True)
def _next_line(data: np.ndarray, pos: int) -> int:
    """The start of the line after the one holding `pos`."""
    size = data.shape[0]
    while pos < size and data[pos] != _LF:
        pos += 1
    return pos + 1


@njit(cache=True, nogil=True)
def _line(data: np.ndarray, pos: int, kinds: np.ndarray, column_bits: np.ndarray, kept: np.ndarray,
          ranges: np.ndarray, line: int) -> tuple[int, int, bool, int, bool]:
    """Read the line starting at `pos`: (start of the next line, fields, regular, data-class mask, a field of a
    data-class column holds non-ASCII bytes and otherwise only white space). The value of column kept[k] is
    at bytes ranges[line, 2k]:ranges[line, 2k + 1], or ranges[line, 2k] is -1 when the value is not those
    bytes as they stand (doubled quotes inside)."""
    size = data.shape[0]
    column = 0
    mask = 0
    uncertain = False
    if pos == size or data[pos] == _LF or (data[pos] == _CR and pos + 1 < size and data[pos + 1] == _LF):
        return _next_line(data, pos), 0, False, mask, uncertain  # blank: the serial reader skips it
    while True:  # one field per turn; pos is at the field's first byte
        blank = True
        wide = False
        doubled = False
        value_start = pos
        if pos < size and data[pos] == _QUOTE:
            pos += 1
            value_start = pos
            while True:
                if pos >= size:
                    return pos, column + 1, False, mask, uncertain
                c = data[pos]
                if c >= 128:
                    wide = True
                    step = _utf8_width(data, pos)
                    if step == 0:
                        return _next_line(data, pos), column + 1, False, mask, uncertain
                    pos += step
                    continue
                if c == _QUOTE:
                    if pos + 1 < size and data[pos + 1] == _QUOTE:
                        blank = False
                        doubled = True
                        pos += 1
                    else:
                        pos += 1
                        break
                else:
                    kind = kinds[c]
                    if kind in (_PLAIN, _DELIMITER):
                        blank = False
                    elif kind != _SPACE:  # LF, CR or NUL inside quotes
                        return _next_line(data, pos), column + 1, False, mask, uncertain
                pos += 1
            value_end = pos - 1
            kind = kinds[data[pos]] if pos < size and data[pos] < 128 else _PLAIN
            if pos < size and kind != _DELIMITER and kind != _LINE_FEED and kind != _CARRIAGE:
                # Something after the closing quote.
                return _next_line(data, pos), column + 1, False, mask, uncertain
        else:
            while pos < size:
                c = data[pos]
                if c >= 128:
                    wide = True
                    step = _utf8_width(data, pos)
                    if step == 0:
                        return _next_line(data, pos), column + 1, False, mask, uncertain
                    pos += step
                    continue
                kind = kinds[c]
                if kind == _PLAIN:
                    blank = False
                elif kind != _SPACE:
                    break
                pos += 1
            value_end = pos
        for k in range(kept.shape[0]):
            if kept[k] == column:
                ranges[line, 2 * k] = -1 if doubled else value_start
                ranges[line, 2 * k + 1] = value_end
        if column < column_bits.shape[0] and column_bits[column] != 0:
            if not blank:
                mask |= column_bits[column]
            elif wide:
                uncertain = True
        column += 1
        if pos >= size:
            return pos, column, True, mask, uncertain
        c = data[pos]
        if c == _LF:
            return pos + 1, column, True, mask, uncertain
        if c == _CR:
            if pos + 1 < size and data[pos + 1] == _LF:
                return pos + 2, column, True, mask, uncertain
            return _next_line(data, pos), column, False, mask, uncertain
        if c < 128 and kinds[c] == _DELIMITER:  # another field follows
            pos += 1
            continue
        # A quote, NUL or separator inside an unquoted field.
        return _next_line(data, pos), column, False, mask, uncertain


def scan_lines(data: np.ndarray, kinds: np.ndarray, width: int, column_bits: np.ndarray, kept: np.ndarray,
               loose: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(data-class mask of each line, byte offsets of the lines that are blank, not regular or do not hold
    `width` fields, byte offsets of the lines whose mask Python must judge (a data-class field holding
    non-ASCII bytes and otherwise only white space), the byte range of the value of each column in `kept`
    per line: ranges[line, 2k:2k + 2], start -1 where the value holds doubled quotes). A field counts in the
    mask (the bits `column_bits[column]`) when its value holds a character that is not ASCII white space.
    Lines end at LF (a CR right before it belongs to the line end); a last line without LF counts. With
    `loose`, a line may hold more than `width` fields (the delimiter also occurs inside later fields)."""
    lines = int(np.count_nonzero(data == _LF)) + int(data.shape[0] > 0 and data[-1] != _LF)
    return _scan(data, lines, kinds, width, column_bits, kept, loose)


@njit(cache=True, nogil=True)
def _scan(data: np.ndarray, lines: int, kinds: np.ndarray, width: int, column_bits: np.ndarray,
          kept: np.ndarray, loose: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    size = data.shape[0]
    ranges = np.full((lines, 2 * kept.shape[0]), -1, dtype=np.int64)
    masks = np.zeros(lines, dtype=np.uint16)
    irregular = np.empty(lines, dtype=np.int64)
    unsure = np.empty(lines, dtype=np.int64)
    bad = 0
    odd = 0
    pos = 0
    line = 0
    while pos < size and line < lines:
        start = pos
        pos, columns, regular, mask, uncertain = _line(data, pos, kinds, column_bits, kept, ranges, line)
        if not regular or columns < width or (columns > width and not loose):
            irregular[bad] = start
            bad += 1
        if uncertain:
            unsure[odd] = start
            odd += 1
        masks[line] = mask
        line += 1
    return masks, irregular[:bad], unsure[:odd], ranges


def irregular_quoted_lines(data: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Byte offsets of the lines that hold a quote and are not regular (only these can leave a quoted field
    open at their end)."""
    return _irregular_lines_at(data, np.flatnonzero(data == _QUOTE), kinds)


@njit(cache=True, nogil=True)
def _irregular_lines_at(data: np.ndarray, quotes: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    found = np.empty(quotes.shape[0], dtype=np.int64)
    count = 0
    no_columns = np.zeros(0, dtype=np.uint16)
    no_kept = np.zeros(0, dtype=np.int64)
    no_ranges = np.zeros((1, 0), dtype=np.int64)
    end = 0
    for quote in quotes:
        if quote < end:
            continue
        start = quote
        while start > 0 and data[start - 1] != _LF:
            start -= 1
        end, _, regular, _, _ = _line(data, start, kinds, no_columns, no_kept, no_ranges, 0)
        if not regular:
            found[count] = start
            count += 1
    return found[:count]
