"""A corpus of hostile dumps: each ends with a clear error or a correct partial count, in bounded memory, with no
crash and nothing half-loaded."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import TEST_KEY

MAX_RSS_MB = 600  # far below the size of any of these inputs once decompressed


# Runs a command as its child and prints, last on stderr, the largest resident set (KB) of that child and the
# processes it waited for (its workers): the peak of this one run, whatever ran before it in this test session.
_MEASURED = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def _ingest(home: Path, dump: Path, *extra: str) -> tuple[int, str, str, float]:
    """Run the real CLI; returns (exit code, stdout, stderr, peak RSS in MB of its largest process)."""
    env = dict(os.environ, BREACHWATCH_SECRET_KEY=TEST_KEY)
    proc = subprocess.Popen([sys.executable, "-c", _MEASURED, sys.executable, "-m", "breachwatch.cli", "--home",
                             str(home), "ingest", str(dump), "--breach", "Hostile", "--json", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=900)
    lines = err.decode().rstrip("\n").split("\n")
    return proc.returncode, out.decode(), "\n".join(lines[:-1]), int(lines[-1]) / 1024


def _assert_clear_error(code: int, err: str, dump: Path, *fragments: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    flat = " ".join(err.split())
    assert str(dump) in flat
    for fragment in fragments:
        assert fragment in flat, flat


def test_gzip_bomb_of_one_endless_line(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "bomb.csv.gz"
    with gzip.open(dump, "wb", compresslevel=9) as f:
        chunk = b"9" * (1 << 20)
        for _ in range(256):  # 256 MiB of one line, about 250 KiB on disk
            f.write(chunk)
    assert dump.stat().st_size < 2_000_000
    code, _, err, peak = _ingest(home, dump)
    _assert_clear_error(code, err, dump, "row 1", "longer than")
    assert peak < MAX_RSS_MB


def test_gzip_bomb_of_blank_lines(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "blank.txt.gz"
    with gzip.open(dump, "wb", compresslevel=9) as f:
        for _ in range(64):
            f.write(b"\n" * (1 << 20))
    code, _, err, peak = _ingest(home, dump)
    _assert_clear_error(code, err, dump, "empty")
    assert peak < MAX_RSS_MB


@pytest.mark.slow
def test_one_gigabyte_single_line(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "huge.txt"
    with open(dump, "wb") as f:
        f.write(b"+201001234567\n")
        chunk = b"7" * (1 << 24)
        for _ in range(64):
            f.write(chunk)
    code, _, err, peak = _ingest(home, dump)
    _assert_clear_error(code, err, dump, "row 2", "longer than")
    assert peak < MAX_RSS_MB


def test_quotes_everywhere_and_formula_injection(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "quoted.csv"
    dump.write_text('"phone","name","note"\n'
                    '"+20 100 123 4567","=cmd|\' /C calc\'!A0","@SUM(1+1)"\n'
                    '"=+201001234568","+Mona","-2+3"\n'
                    '"""+201001234569""","""quoted""",""\n'
                    '"+201001234570","a ""b"" c","multi\nline"\n')
    code, out, err, _ = _ingest(home, dump)
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 4
    assert report["unique_numbers"] == 2  # the formula-prefixed and the quote-wrapped numbers are rejected, counted
    assert report["rejected_rows"] == 2
    assert "cmd" not in out and "calc" not in out  # cell values never echo back


def test_unterminated_quote_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "unterminated.csv"
    dump.write_text("phone,name\n+201001234567,Mona\n\"+201001234568,oops\n" + "x,y\n" * 100_000)
    code, _, err, _ = _ingest(home, dump)
    _assert_clear_error(code, err, dump, "row", "not readable as CSV")


def test_ten_thousand_columns(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "wide.csv"
    header = [f"c{i}" for i in range(10_000)]
    header[5_000] = "phone"
    rows = [",".join(header)]
    for n in range(50):
        cells = [""] * 10_000
        cells[5_000] = f"+2010012345{n:02d}"
        rows.append(",".join(cells))
    dump.write_text("\n".join(rows) + "\n")
    code, out, err, peak = _ingest(home, dump)
    assert code == 0, err
    assert json.loads(out)["unique_numbers"] == 50
    assert peak < MAX_RSS_MB


def test_nul_bytes_and_invalid_utf8_mid_file(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "mixed.csv"
    dump.write_bytes(b"phone\n" + b"+201001234567\n" * 20_000 + b"+2010\x00\x00\n" + b"+2010\xc3\x28\n")
    code, _, err, _ = _ingest(home, dump)
    _assert_clear_error(code, err, dump, "row 20003", "UTF-8")
