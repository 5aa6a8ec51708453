"""Bad dumps end with one clear error that names the file and the row, no traceback, and load nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from breachwatch.errors import InputError
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from tests.support.cli import run_cli


def _assert_clean_failure(home: Path, dump: Path, *fragments: str, extra: tuple[str, ...] = ()) -> str:
    result = run_cli("ingest", str(dump), "--breach", "Bad", *extra, home=home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert str(dump) in message
    for fragment in fragments:
        assert fragment in message, message
    listing = run_cli("breaches", "--json", home=home, check=True)
    assert listing.stdout.strip() == "[]"
    return message


def test_empty_file(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "empty.csv"
    dump.write_text("")
    _assert_clean_failure(home, dump, "empty")


def test_binary_file(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "image.csv"
    dump.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4)
    _assert_clean_failure(home, dump, "binary", "row 3")


def test_wrong_encoding_names_the_line_and_suggests_encoding(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "latin1.csv"
    dump.write_bytes("phone,name\n+201001234567,Mona\n+201001234568,Andr\u00e9\n".encode("latin-1"))
    _assert_clean_failure(home, dump, "UTF-8", "row 3", "--encoding")


def test_wrong_encoding_can_be_given(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "latin1.csv"
    dump.write_bytes("phone,name\n+201001234567,Mona\n+201001234568,Andr\u00e9\n".encode("latin-1"))
    result = run_cli("ingest", str(dump), "--breach", "Latin", "--encoding", "latin-1", "--json", home=home)
    assert result.returncode == 0, result.stderr
    assert '"unique_numbers": 2' in result.stdout


def test_utf16_is_named(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "utf16.csv"
    dump.write_bytes("phone\n+201001234567\n".encode("utf-16"))
    _assert_clean_failure(home, dump, "UTF-16", "--encoding utf-16")


def test_utf8_bom_is_accepted(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "bom.csv"
    dump.write_bytes("\ufeffphone,name\n+201001234567,Mona\n".encode())
    report = services.ingest(dump, IngestOptions(breach="Bom"))
    assert report.phone_column == "phone"
    assert report.unique_numbers == 1


def test_missing_phone_column_lists_the_columns(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "nophone.csv"
    dump.write_text("name,city\nMona,Cairo\nJohn,Leeds\n")
    _assert_clean_failure(home, dump, "no column of phone numbers", "name, city", "--phone-column")


def test_named_phone_column_that_does_not_exist(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "named.csv"
    dump.write_text("msisdn,name\n201001234567,Mona\n")
    _assert_clean_failure(home, dump, "no column 'tel'", extra=("--phone-column", "tel"))


def test_ten_megabyte_single_line(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "oneline.txt"
    dump.write_text("+201001234567\n" + "9" * (10 * 1024 * 1024) + "\n")
    _assert_clean_failure(home, dump, "row 2", "longer than")


def test_nul_bytes_deep_inside_a_csv_make_a_rejected_row(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "nul.csv"
    dump.write_bytes(b"phone,name\n" + b"+201001234567,Mona\n" * 5000 + b"+20100\0,x\n")
    report = services.ingest(dump, IngestOptions(breach="Nul"))
    assert (report.rows, report.unique_numbers, report.rejected_rows) == (5001, 1, 1)
    assert report.rejected_samples[next(iter(report.rejected_samples))][0].row == 5002


def test_invalid_utf8_deep_in_a_gzip_names_its_line(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "deep.csv.gz"
    body = b"phone\n" + b"+201001234567\n" * 100_000 + b"+2010\xff\n"
    with gzip.open(dump, "wb") as f:
        f.write(body)
    _assert_clean_failure(home, dump, "row 100002", "UTF-8")


def test_truncated_gzip(home: Path, tmp_path: Path) -> None:
    whole = gzip.compress(b"phone\n" + b"+201001234567\n" * 50_000)
    dump = tmp_path / "cut.csv.gz"
    dump.write_bytes(whole[: len(whole) // 2])
    _assert_clean_failure(home, dump, "row")


def test_damaged_gzip(home: Path, tmp_path: Path) -> None:
    whole = gzip.compress(b"phone\n" + b"+201001234567\n" * 50_000)
    damaged = whole[:10] + b"\x07" + bytes(4_000)  # a gzip header, then an invalid deflate block
    dump = tmp_path / "damaged.csv.gz"
    dump.write_bytes(damaged)
    _assert_clean_failure(home, dump, "cannot decompress")
    deep = tmp_path / "deep.csv.gz"
    deep.write_bytes(whole + damaged)  # a second gzip member, damaged, after 50,001 good lines
    _assert_clean_failure(home, deep, "row 50002")


def test_missing_file(home: Path, tmp_path: Path) -> None:
    _assert_clean_failure(home, tmp_path / "nope.csv", "no such file")


def test_unknown_region_and_bad_name_are_refused_before_reading(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "a.txt"
    dump.write_text("+201001234567\n")
    with pytest.raises(Exception, match="default-region"):
        services.ingest(dump, IngestOptions(breach="A", default_region="XX"))
    with pytest.raises(Exception, match="breach name"):
        services.ingest(dump, IngestOptions(breach="../etc"))


def test_only_junk_loads_nothing(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "junk.txt"
    dump.write_text("hello\n12\nN/A\n")
    with pytest.raises(Exception, match="no phone number"):
        services.ingest(dump, IngestOptions(breach="Junk"))
    assert services.catalog.list_breaches() == []


def test_rows_with_a_missing_phone_field_are_counted(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "short.csv"
    dump.write_text("name,phone\nMona,+201001234567\nJohn\n,\n")
    report = services.ingest(dump, IngestOptions(breach="Short"))
    assert report.rows == 3
    assert report.rejected_by_reason == {"missing-field": 1, "empty": 1}


def test_input_error_message_names_file_row_and_field() -> None:
    error = InputError("dump.csv", "bad value", row=7, field="phone")
    assert str(error) == "dump.csv, row 7, field 'phone': bad value"
