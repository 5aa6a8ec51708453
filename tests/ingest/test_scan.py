"""The compiled CSV line scan (ingest/scan.py): a line it calls regular reads the same with Python's csv module and
with Polars, with the number of fields it counted, the byte ranges it gives are the values, and its
data-class mask is what str.strip() says of the fields; every line that can leave a quoted field open is
among the irregular ones."""

from __future__ import annotations

import csv

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from breachwatch.ingest.chunks import first_open_record
from breachwatch.ingest.scan import byte_kinds, irregular_quoted_lines, scan_lines

_WIDTH = 3
_BITS = np.array([1, 2, 4], dtype=np.uint16)
_PIECES = ["a", "7", " ", '"', '""', ",", "\t", "\u00a0", "\u3000", "é", "\r", "\x1c", "+20 100"]
_fields = st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)
_quoted = st.lists(st.sampled_from(["a", " ", '""', ",", "\u00a0", "é"]), max_size=4).map(lambda p: f'"{"".join(p)}"')
_lines = st.lists(st.one_of(_fields, _quoted), min_size=1, max_size=4).map(",".join)


def _csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]), [])


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines, min_size=1, max_size=12), st.booleans())
def test_a_regular_line_reads_alike_everywhere(lines: list[str], crlf: bool) -> None:
    text = "".join(line + ("\r\n" if crlf else "\n") for line in lines)
    data = text.encode()
    masks, irregular, unsure, ranges = scan_lines(np.frombuffer(data, dtype=np.uint8), byte_kinds(","), _WIDTH,
                                                  _BITS, np.array([0, 2], dtype=np.int64))
    assert masks.shape[0] == len(lines)
    starts = np.cumsum([0] + [len((line + ("\r\n" if crlf else "\n")).encode()) for line in lines])[:-1]
    bad, doubtful = set(irregular.tolist()), set(unsure.tolist())
    for number, (start, line, mask) in enumerate(zip(starts.tolist(), lines, masks.tolist(), strict=True)):
        if start in bad:
            continue
        fields = _csv_fields(line)
        assert len(fields) == _WIDTH, line
        for k, column in enumerate((0, 2)):  # the kept columns' values, as the bytes stand
            begin, end = ranges[number, 2 * k:2 * k + 2].tolist()
            if begin < 0:
                assert '"' in fields[column], line
            else:
                assert data[begin:end].decode() == fields[column], line
        polars_fields = pl.read_csv(line.encode() + b"\n", has_header=False, infer_schema=False).fill_null("").row(0)
        assert list(polars_fields) == fields, line
        want = sum(int(bit) for field, bit in zip(fields, _BITS, strict=True) if field.strip())
        if start in doubtful:
            continue  # rows._judge_masks asks Python
        assert mask == want, line


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines, min_size=1, max_size=12))
def test_every_line_that_opens_a_record_is_irregular(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    data = text.encode()
    suspects = set(irregular_quoted_lines(np.frombuffer(data, dtype=np.uint8), byte_kinds(",")).tolist())
    start = 0
    for line in lines:
        size = len((line + "\n").encode())
        if start not in suspects and "\"" in line:
            fields = _csv_fields(line + "\n")
            assert not any("\n" in field for field in fields), line
        start += size
    # and the lead finds the same first open record as a csv pass over every line with a quote
    first = -1
    start = 0
    for line in lines:
        if '"' in line:
            try:
                if any("\n" in field for field in _csv_fields(line + "\n")):
                    first = start
                    break
            except csv.Error:
                first = start
                break
        start += len((line + "\n").encode())
    assert first_open_record(data, ",") == first


_byte_pieces = st.sampled_from([b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xc0\xaf",
                                b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\x80", b"\xff", b"\xc3", b"\xe2\x82"])
_byte_fields = st.lists(_byte_pieces, max_size=4).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_byte_fields, min_size=3, max_size=3).map(b",".join), min_size=1, max_size=8))
def test_a_line_of_invalid_utf8_is_irregular(lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    _, irregular, _, _ = scan_lines(np.frombuffer(data, dtype=np.uint8), byte_kinds(","), _WIDTH, _BITS,
                                    np.array([0], dtype=np.int64))
    bad = set(irregular.tolist())
    start = 0
    for line in lines:
        try:
            line.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        assert (start in bad) == (not valid), line
        start += len(line) + 1
