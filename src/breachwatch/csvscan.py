"""Compiled passes (numba) over the lines of a CSV/TSV piece: the fields of each line, whether its quoting is
regular, and which data-class columns hold something, so that a piece Polars reads is known to read as
Python's csv module reads it without parsing it twice.

A line is *regular* when every field is either unquoted and free of quotes, or quoted from its first to its
last character with the quotes inside doubled, and the line holds no NUL or CR but its line end. On a regular
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
    for byte in (9, 11, 12, 32, 28, 29, 30, 31):
        kinds[byte] = _SPACE
    kinds[_QUOTE] = _ODD
    kinds[0] = _ODD
    kinds[_LF] = _LINE_FEED
    kinds[_CR] = _CARRIAGE
    kinds[ord(delimiter)] = _DELIMITER
    return kinds


@njit(cache=True, nogil=True)
def _line(data: np.ndarray, pos: int, kinds: np.ndarray, column_bits: np.ndarray
          ) -> tuple[int, int, bool, int, bool]:
    """Read the line starting at `pos`: (start of the next line, fields, regular, data-class mask, a field of a
    data-class column holds non-ASCII bytes and otherwise only white space)."""
    size = data.shape[0]
    column = 0
    mask = 0
    uncertain = False
    while True:  # one field per turn; pos is at the field's first byte
        blank = True
        wide = False
        if pos < size and data[pos] == _QUOTE:
            pos += 1
            while True:
                if pos >= size:
                    return pos, column + 1, False, mask, uncertain
                c = data[pos]
                if c >= 128:
                    wide = True
                elif c == _QUOTE:
                    if pos + 1 < size and data[pos + 1] == _QUOTE:
                        blank = False
                        pos += 1
                    else:
                        pos += 1
                        break
                else:
                    kind = kinds[c]
                    if kind in (_PLAIN, _DELIMITER):
                        blank = False
                    elif kind != _SPACE:  # LF, CR or NUL inside quotes
                        while pos < size and data[pos] != _LF:
                            pos += 1
                        return pos + 1, column + 1, False, mask, uncertain
                pos += 1
            kind = kinds[data[pos]] if pos < size and data[pos] < 128 else _PLAIN
            if pos < size and kind != _DELIMITER and kind != _LINE_FEED and kind != _CARRIAGE:
                while pos < size and data[pos] != _LF:  # something after the closing quote
                    pos += 1
                return pos + 1, column + 1, False, mask, uncertain
        else:
            while pos < size:
                c = data[pos]
                if c >= 128:
                    wide = True
                    pos += 1
                    continue
                kind = kinds[c]
                if kind == _PLAIN:
                    blank = False
                elif kind != _SPACE:
                    break
                pos += 1
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
            while pos < size and data[pos] != _LF:
                pos += 1
            return pos + 1, column, False, mask, uncertain
        if c != _QUOTE and c != 0:  # the delimiter: another field follows
            pos += 1
            continue
        while pos < size and data[pos] != _LF:  # a quote or NUL inside an unquoted field
            pos += 1
        return pos + 1, column, False, mask, uncertain


def scan_lines(data: np.ndarray, kinds: np.ndarray, width: int, column_bits: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data-class mask of each line, byte offsets of the lines that are not regular or do not hold `width`
    fields, byte offsets of the lines whose mask Python must judge: a data-class field holding non-ASCII
    bytes and otherwise only white space). A field counts in the mask (the bits `column_bits[column]`) when
    its value holds a character that is not ASCII white space. Lines end at LF (a CR right before it
    belongs to the line end); a last line without LF counts."""
    lines = int(np.count_nonzero(data == _LF)) + int(data.shape[0] > 0 and data[-1] != _LF)
    return _scan(data, lines, kinds, width, column_bits)


@njit(cache=True, nogil=True)
def _scan(data: np.ndarray, lines: int, kinds: np.ndarray, width: int, column_bits: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = data.shape[0]
    masks = np.zeros(lines, dtype=np.uint16)
    irregular = np.empty(lines, dtype=np.int64)
    unsure = np.empty(lines, dtype=np.int64)
    bad = 0
    odd = 0
    pos = 0
    line = 0
    while pos < size and line < lines:
        start = pos
        pos, columns, regular, mask, uncertain = _line(data, pos, kinds, column_bits)
        if not regular or columns != width:
            irregular[bad] = start
            bad += 1
        if uncertain:
            unsure[odd] = start
            odd += 1
        masks[line] = mask
        line += 1
    return masks, irregular[:bad], unsure[:odd]


def irregular_quoted_lines(data: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Byte offsets of the lines that hold a quote and are not regular (only these can leave a quoted field
    open at their end)."""
    return _irregular_lines_at(data, np.flatnonzero(data == _QUOTE), kinds)


@njit(cache=True, nogil=True)
def _irregular_lines_at(data: np.ndarray, quotes: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    found = np.empty(quotes.shape[0], dtype=np.int64)
    count = 0
    no_columns = np.zeros(0, dtype=np.uint16)
    end = 0
    for quote in quotes:
        if quote < end:
            continue
        start = quote
        while start > 0 and data[start - 1] != _LF:
            start -= 1
        end, _, regular, _, _ = _line(data, start, kinds, no_columns)
        if not regular:
            found[count] = start
            count += 1
    return found[:count]
