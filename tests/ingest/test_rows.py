"""Reading a dump in pieces (ingest/chunks.py, ingest/rows.py) gives exactly the rows, row numbers and malformed
rows of a serial read, whatever the pieces' size and whichever reader (the scan, Polars or the serial code)
reads a piece."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from breachwatch.errors import InputError
from breachwatch.ingest.chunks import Piece, cut_pieces
from breachwatch.ingest.rows import PieceRows, read_pieces, read_rows, rows_of_piece
from breachwatch.ingest.sniff import sniff_layout

_HEADER = "phone,country,name,about,email\n"


def _rows(rng: random.Random, count: int, odd: bool) -> list[str]:
    lines = []
    for i in range(count):
        tail = f"{i % 100:02d}"
        phone = rng.choice([f"+20 100 123 45{tail}", f"2010012345{tail}", "", "N/A", f"0100 123 45{tail}"])
        about = rng.choice(["", "Available", '"Busy, at work"', '"He said ""hi"""', "Sleeping"])
        email = rng.choice(["", "a@example.com", "  "])
        line = f"{phone},{rng.choice(['EG', '', 'eg'])},Name {i},{about},{email}"
        if odd:
            line = rng.choice([line, line, line, line + ",extra", f"{phone}", '"multi\nline",EG,x,y,z',
                               "", line + "\r", f"{phone},EG,\x1c,,", f'{phone},EG,O"Brien,,',
                               f'{phone},EG,x"y,"open\nclose",z'])
        lines.append(line + "\n")
    return lines


def _serial(path: Path, batch_rows: int) -> PieceRows:
    return _join(list(read_rows(sniff_layout(path), batch_rows)))


def _chunked(path: Path, batch_rows: int) -> tuple[PieceRows, int]:
    layout = sniff_layout(path)
    pieces = list(read_pieces(layout, batch_rows))
    read = [rows_of_piece(layout, p) if isinstance(p, Piece) else p for p in pieces]
    return _join(read), sum(isinstance(p, Piece) for p in pieces)


def _join(batches: list[PieceRows]) -> PieceRows:
    hints = (None if batches and batches[0].hints is None
             else [h for b in batches for h in (b.hints if b.hints is not None else [])])
    return PieceRows([p for b in batches for p in b.phones], hints,
                    np.concatenate([b.masks for b in batches]) if batches else np.zeros(0, np.uint16),
                    np.concatenate([b.rows for b in batches]) if batches else np.zeros(0, np.int64),
                    [m for b in batches for m in b.malformed])


def _assert_same(expected: PieceRows, got: PieceRows) -> None:
    assert got.phones == expected.phones
    assert got.hints == expected.hints
    assert got.masks.tolist() == expected.masks.tolist()
    assert got.rows.tolist() == expected.rows.tolist()
    assert got.malformed == expected.malformed


@pytest.mark.parametrize("odd", [False, True])
@pytest.mark.parametrize("batch_rows", [64, 100_000])
@pytest.mark.parametrize("compressed", [False, True])
def test_pieces_read_as_a_serial_read(tmp_path: Path, odd: bool, batch_rows: int, compressed: bool) -> None:
    text = _HEADER + "".join(_rows(random.Random(7), 3_000, odd))
    path = tmp_path / ("dump.csv.gz" if compressed else "dump.csv")
    if compressed:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, newline="")
    expected = _serial(path, 500)
    got, pieces = _chunked(path, batch_rows)
    _assert_same(expected, got)
    assert len(expected.phones) > 2_000
    if batch_rows == 64 and not odd:
        assert pieces > 10  # really read in pieces


def test_a_stray_quote_hands_the_rest_to_the_serial_reader(tmp_path: Path) -> None:
    lines = _rows(random.Random(3), 2_000, odd=False)
    lines.insert(100, '+201001234567,EG,O"Brien,x,y\n')  # CSV reads the quote literally: parity never evens
    path = tmp_path / "stray.csv"
    path.write_text(_HEADER + "".join(lines))
    got, pieces = _chunked(path, 64)
    _assert_same(_serial(path, 500), got)
    assert pieces >= 1


@pytest.mark.parametrize("name,body", [
    ("list.txt", "".join(f"+20100123{i:04d}\n" for i in range(2_000)) + "\n\n+201001234567"),
    ("dump.tsv", "phone\tcountry\n" + "".join(f"0100123{i:04d}\tEG\n" for i in range(2_000))),
    ("dump.jsonl", "".join(f'{{"phone": "+20100123{i:04d}", "name": "x"}}\n' for i in range(2_000)) + "{bad\n"),
])
def test_other_formats_read_as_a_serial_read(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    got, _ = _chunked(path, 64)
    _assert_same(_serial(path, 500), got)


def test_bad_utf8_in_a_piece_names_its_line(tmp_path: Path) -> None:
    lines = [line.encode() for line in _rows(random.Random(5), 3_000, odd=False)]
    lines[2_345] = b"+201001234567,EG,\xff\xfe,,\n"
    path = tmp_path / "bad.csv"
    path.write_bytes(_HEADER.encode() + b"".join(lines))
    layout = sniff_layout(path)
    with pytest.raises(InputError) as caught:
        for piece in cut_pieces(layout, 64):
            if isinstance(piece, Piece):
                rows_of_piece(layout, piece)
    assert caught.value.row == 2_347  # header + 0-based index + 1
    assert "UTF-8" in caught.value.reason
