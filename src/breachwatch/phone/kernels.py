"""Compiled loops of the fast path (numba, compiled on first use and cached next to this file): walking the
digit automata of `automaton.py` and reading the shape and digits of raw texts, one pass per batch, row by
row, with no Python object per row.

Digit strings are held as (sentinel value, length): '0123' is (10123, 4), so leading zeros survive; strings
longer than `MAX_DIGITS` get the value 0 (callers treat them separately)."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Longest digit string the sentinel form holds: '1' + 18 digits fits in 64 bits.
MAX_DIGITS = 18
#: Powers of ten as uint64, for digit arithmetic on numbers held as integers.
POW10 = np.array([10**k for k in range(20)], dtype=np.uint64)
_SYMBOLS = 11  # digits 0-9 and the pad symbol of the automata tables

# Row kinds written by `read_texts`.
KIND_SLOW = 0  # the per-row policy decides
KIND_EMPTY = 1  # nothing but whitespace
KIND_WORD = 2  # letters only, no region hint: no digits
KIND_PLUS = 3  # '+…', '(+…', 'tel:+…'
KIND_BARE = 4  # digits and separators only
KIND_JID = 5  # WhatsApp JID: digits[:device]@domain


@njit(cache=True, nogil=True)
def run_automata(starts: np.ndarray, values: np.ndarray, lengths: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The final state of each digit string walked from its start state through a flat transition table
    (11 columns per state)."""
    n = starts.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        state = np.int64(starts[i])
        length = lengths[i]
        plain = values[i] - POW10[length]
        for k in range(length):
            digit = (plain // POW10[length - 1 - k]) % np.uint64(10)
            state = np.int64(table[state * _SYMBOLS + np.int64(digit)])
        out[i] = state
    return out


@njit(cache=True, nogil=True)
def count_label_hits(starts: np.ndarray, values: np.ndarray, lengths: np.ndarray, table: np.ndarray,
                     marks: np.ndarray, bit: int) -> tuple[np.ndarray, np.ndarray]:
    """Per digit string: how many of its prefixes (the empty one included) end in a state whose label has
    `bit`, and the length of the longest such prefix (-1 if none)."""
    n = starts.shape[0]
    count = np.zeros(n, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        state = np.int64(starts[i])
        if marks[state] & bit:
            count[i] += 1
            last[i] = 0
        length = lengths[i]
        plain = values[i] - POW10[length]
        for k in range(length):
            digit = (plain // POW10[length - 1 - k]) % np.uint64(10)
            state = np.int64(table[state * _SYMBOLS + np.int64(digit)])
            if marks[state] & bit:
                count[i] += 1
                last[i] = k + 1
    return count, last


@njit(cache=True, nogil=True)
def short_keys(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A key per text of at most 7 bytes (its bytes and length packed in 64 bits, equal keys for equal
    texts), -1 for longer texts."""
    n = starts.shape[0]
    keys = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        size = ends[i] - starts[i]
        if size > 7:
            continue
        key = np.int64(size) << 56
        for k in range(size):
            key |= np.int64(data[starts[i] + k]) << (8 * k)
        keys[i] = key
    return keys


@njit(cache=True, nogil=True)
def _sentinel(digits: np.ndarray, start: int, end: int) -> tuple[np.uint64, int]:
    """digits[start:end] as (sentinel value, length); the value is 0 past MAX_DIGITS digits."""
    length = end - start
    if length > MAX_DIGITS:
        return np.uint64(0), length
    value = np.uint64(1)
    for k in range(start, end):
        value = value * np.uint64(10) + np.uint64(digits[k])
    return value, length


@njit(cache=True, nogil=True)
def _split(digits: np.ndarray, start: int, end: int, is_code: np.ndarray) -> tuple[int, np.uint64, int]:
    """digits[start:end] split at the country code: the first of its 1-, 2- or 3-digit prefixes that is a
    country calling code, none when it starts with 0: (code or 0, rest value, rest length)."""
    length = end - start
    code = 0
    width = 0
    if length >= 1 and digits[start] != 0:
        prefix = 0
        for w in range(1, 4):
            if length < w:
                break
            prefix = prefix * 10 + int(digits[start + w - 1])
            if is_code[prefix]:
                code = prefix
                width = w
                break
    value, rest = _sentinel(digits, start + width, end)
    return code, value, rest


@njit(cache=True, nogil=True)
def split_country_code(values: np.ndarray, lengths: np.ndarray, is_code: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """parse's country-code step on '+' + digits (sentinel values, at most MAX_DIGITS digits): (code or 0, the
    rest as (sentinel value, length)), as `read_texts` splits the digits it reads."""
    n = values.shape[0]
    codes = np.zeros(n, dtype=np.int64)
    rest_values = np.zeros(n, dtype=np.uint64)
    rest_lengths = np.zeros(n, dtype=np.int64)
    digits = np.empty(MAX_DIGITS, dtype=np.uint8)
    for i in range(n):
        length = lengths[i]
        plain = values[i] - POW10[length]
        for k in range(length):
            digits[k] = np.uint8((plain // POW10[length - 1 - k]) % np.uint64(10))
        codes[i], rest_values[i], rest_lengths[i] = _split(digits, 0, length, is_code)
    return codes, rest_values, rest_lengths


@njit(cache=True, nogil=True)
def read_texts(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, usable: np.ndarray, hinted: np.ndarray,
               max_chars: int, is_ws: np.ndarray, is_code: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shape of each UTF-8 text data[starts[i]:ends[i]] (rows `usable` is false for are KIND_SLOW) and its
    digits, as
    `fast.py`'s shape rules define them: (kind, digits value, digits length, international digits length,
    country code, national digits value, national digits length). The digits are all digits of the text
    for '+' and bare shapes (Arabic-Indic, Persian and full-width digits read as ASCII); the international
    digits are those digits ('+' shapes), the digits without a leading '00' (bare shapes) or the JID's
    user part without a leading '00'; they are split into country code (`_split`) and
    national digits."""
    n = starts.shape[0]
    kind = np.zeros(n, dtype=np.uint8)
    d_values = np.zeros(n, dtype=np.uint64)
    d_lengths = np.zeros(n, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int64)
    n_values = np.zeros(n, dtype=np.uint64)
    n_lengths = np.zeros(n, dtype=np.int64)
    i_lengths = np.zeros(n, dtype=np.int64)
    text = np.empty(4 * max_chars + 8, dtype=np.uint8)
    found = np.empty(4 * max_chars + 8, dtype=np.uint8)
    for i in range(n):
        if not usable[i]:
            continue
        start = starts[i]
        end = ends[i]
        chars = 0
        for j in range(start, end):
            if (data[j] & 0xC0) != 0x80:
                chars += 1
        if chars > max_chars:
            continue
        while start < end and is_ws[data[start]]:
            start += 1
        while end > start and is_ws[data[end - 1]]:
            end -= 1
        size = 0
        odd = False
        j = start
        while j < end:
            b = data[j]
            if b < 0x80:
                text[size] = b
                size += 1
                j += 1
            elif j + 1 < end and ((b == 0xD9 and 0xA0 <= data[j + 1] <= 0xA9)
                                  or (b == 0xDB and 0xB0 <= data[j + 1] <= 0xB9)):
                text[size] = 48 + (data[j + 1] & 0x0F)
                size += 1
                j += 2
            elif j + 2 < end and b == 0xEF and data[j + 1] == 0xBC and 0x90 <= data[j + 2] <= 0x99:
                text[size] = 48 + (data[j + 2] - 0x90)
                size += 1
                j += 3
            else:
                odd = True
                break
        if odd:
            continue
        if size == 0:
            kind[i] = KIND_EMPTY
            continue
        first = text[0]
        # '+' shapes: '+', '(+' or 'tel:+', then separators and digits only.
        lead = 0
        if first == 43:  # '+'
            lead = 1
        elif first == 40 and size >= 2 and text[1] == 43:  # '(+'
            lead = 2
        elif (size >= 5 and text[0] == 116 and text[1] == 101 and text[2] == 108 and text[3] == 58
              and text[4] == 43):  # 'tel:+'
            lead = 5
        all_sep = True
        digits = 0
        for k in range(lead, size):
            c = text[k]
            if 48 <= c <= 57:
                found[digits] = c - 48
                digits += 1
            elif not (c == 32 or c == 40 or c == 41 or c == 46 or c == 45 or c == 47):
                all_sep = False
                break
        if all_sep and (lead > 0 or digits > 0):
            kind[i] = KIND_PLUS if lead > 0 else KIND_BARE
            d_values[i], d_lengths[i] = _sentinel(found, 0, digits)
            skip = 2 if lead == 0 and digits >= 2 and found[0] == 0 and found[1] == 0 else 0
            codes[i], n_values[i], n_lengths[i] = _split(found, skip, digits, is_code)
            i_lengths[i] = digits - skip
            continue
        if 48 <= first <= 57:  # JID: [0-9]+(:[0-9]+)?@[A-Za-z0-9.-]*[A-Za-z0-9]
            k = 0
            while k < size and 48 <= text[k] <= 57:
                found[k] = text[k] - 48
                k += 1
            user = k
            if k < size and text[k] == 58:  # ':' device
                k += 1
                device = k
                while k < size and 48 <= text[k] <= 57:
                    k += 1
                if k == device:
                    continue
            if k >= size or text[k] != 64:  # '@'
                continue
            k += 1
            if k >= size:
                continue
            domain_ok = True
            for m in range(k, size):
                c = text[m]
                if not ((48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 46 or c == 45):
                    domain_ok = False
                    break
            last = text[size - 1]
            if not domain_ok or last == 46 or last == 45:
                continue
            kind[i] = KIND_JID
            skip = 2 if user >= 2 and found[0] == 0 and found[1] == 0 else 0
            codes[i], n_values[i], n_lengths[i] = _split(found, skip, user, is_code)
            i_lengths[i] = user - skip
            continue
        if not hinted[i] and ((65 <= first <= 90) or (97 <= first <= 122)):  # letters, ' ', '.', '/', '-'
            word = True
            for k in range(1, size):
                c = text[k]
                if not ((65 <= c <= 90) or (97 <= c <= 122) or c == 32 or c == 46 or c == 47 or c == 45):
                    word = False
                    break
            if word:
                kind[i] = KIND_WORD
    return kind, d_values, d_lengths, i_lengths, codes, n_values, n_lengths
