"""Dumps in the layouts leaks circulate in, written by `synth --layout` with their ground truth: ingest loads
exactly that truth, every reader agrees row for row with a plain reference reader, and hostile variants give
one-line errors naming the file (and member)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import polars as pl
import pytest

from breachwatch.errors import InputError
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.chunks import Piece
from breachwatch.ingest.members import open_members
from breachwatch.ingest.pipeline import member_batches
from breachwatch.ingest.rows import rows_of_piece
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services
from tests.support.cli import run_cli

MIX = {"EG": 5, "GB": 3, "US": 2, "IT": 2}
LAYOUTS = {"facebook": "Egypt.txt", "pipe": "pipe.txt", "semicolon": "semi.csv", "zip": "leak.zip",
           "tar.gz": "leak.tar.gz", "json-array": "doc.json", "sql-mysql": "mysql.sql",
           "sql-postgres": "pg.sql", "parquet": "d.parquet", "xlsx": "d.xlsx"}
Row = tuple[str, int, str, str | None]  # (file or member, row, phone text, country hint)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("layouts")
    made = {}
    for seed, (layout, name) in enumerate(LAYOUTS.items(), start=20):
        out, truth = root / name, root / f"{name}.truth.json"
        synthesize(SynthOptions(rows=1200, out=out, truth=truth, seed=seed, countries=MIX, junk_share=0.03,
                                layout=layout))
        made[layout] = (out, json.loads(truth.read_text()))
    return made


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_each_layout_loads_exactly_its_truth(services: Services, generated: Any, layout: str) -> None:
    dump, truth = generated[layout]
    report = services.ingest(dump, IngestOptions(breach=f"L-{layout.replace('.', '-')}"))
    assert report.rows == truth["rows"]
    assert report.unique_numbers == truth["unique_numbers"]
    assert report.countries == truth["countries"]
    assert report.rejected_by_reason == truth["rejected_by_reason"] and truth["junk_rows"] > 0
    assert report.rejected_rows == truth["junk_rows"]
    found = {c for entry in truth["numbers"].values() for c in entry["data_classes"]}
    assert found <= set(report.data_classes)
    if layout in ("zip", "tar.gz"):
        assert len(report.files) == len(MIX)
    if layout in ("facebook", "zip"):
        assert {f["delimiter"] for f in report.files} == {":"} and all(f["loose"] for f in report.files)
        assert any("fields 1-10 are read" in note for note in report.notes)


def _library_rows(path: Path) -> list[Row]:
    """The rows as ingest's readers give them (the compiled scan, Polars or the serial code per piece; the
    record readers), in small pieces so that many are cut."""
    out: list[Row] = []
    for opened in open_members([path], 100.0):
        layout, batches = member_batches(opened, IngestOptions(breach="x"), 64)
        for batch in batches:
            rows = rows_of_piece(layout, batch) if isinstance(batch, Piece) else batch
            assert not rows.malformed
            hints = list(rows.hints) if rows.hints is not None else [None] * len(rows.phones)
            out += [(layout.path, row, phone, hint) for row, phone, hint in
                    zip(rows.rows.tolist(), list(rows.phones), hints, strict=True)]
    return out


def _colon_rows(name: str, text: str) -> list[Row]:
    return [(name, i, record[0], None) for i, record in enumerate(csv.reader(io.StringIO(text), delimiter=":"),
                                                                   start=1) if record]


def _header_rows(name: str, text: str, delimiter: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [(name, i, r["phone"], r["country"]) for i, r in enumerate(reader, start=2)]


def _jsonl_rows(name: str, text: str) -> list[Row]:
    records = [json.loads(line) for line in text.splitlines()]
    return [(name, i, r["user"]["phone"], r["country"]) for i, r in enumerate(records, start=1)]


def _mysql_rows(name: str, text: str) -> list[Row]:
    # sqlite3 executes each INSERT (it reads '' where mysqldump writes \'; the values hold no other escape)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE users (id, phone, country, name, about, email, device_model, os_version, "
               "profile_photo)")
    out: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("INSERT INTO"):
            assert "\\\\" not in line
            before = db.execute("SELECT count(*) FROM users").fetchone()[0]
            db.execute(line.replace("\\'", "''"))
            out += [(name, number, phone or "", country or "") for phone, country in db.execute(
                "SELECT phone, country FROM users WHERE rowid > ? ORDER BY rowid", (before,))]
    return out


def _copy_rows(name: str, text: str) -> list[Row]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("COPY "))
    out: list[Row] = []
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if line == "\\.":
            return out
        fields = ["" if f == "\\N" else re.sub(r"\\(.)", r"\1", f) for f in line.split("\t")]
        out.append((name, number, fields[1], fields[2]))
    raise AssertionError("no end of COPY")


def _reference_rows(layout: str, path: Path) -> list[Row]:
    """The rows as a plain reader of the layout reads them."""
    name = str(path)
    if layout == "facebook":
        return _colon_rows(name, path.read_text(encoding="utf-8"))
    if layout in ("pipe", "semicolon"):
        return _header_rows(name, path.read_text(encoding="utf-8"), "|" if layout == "pipe" else ";")
    if layout == "zip":
        with zipfile.ZipFile(path) as archive:
            return [row for info in archive.infolist()
                    for row in _colon_rows(f"{name}:{info.filename}", archive.read(info).decode())]
    if layout == "tar.gz":
        with tarfile.open(path) as archive:
            return [row for info in archive.getmembers() if info.isfile() for row in _jsonl_rows(
                f"{name}:{info.name}", archive.extractfile(info).read().decode())]  # type: ignore[union-attr]
    if layout == "json-array":
        records = json.loads(path.read_text(encoding="utf-8"))
        return [(name, i, r["profile"]["mobile"], r["country"]) for i, r in enumerate(records, start=1)]
    if layout == "sql-mysql":
        return _mysql_rows(name, path.read_text(encoding="utf-8"))
    if layout == "sql-postgres":
        return _copy_rows(name, path.read_text(encoding="utf-8"))
    if layout == "parquet":  # the eager reader, no cast (ingest scans in batches, cast to text)
        frame = pl.read_parquet(path)
        return [(name, i, phone or "", country or "") for i, (phone, country) in
                enumerate(frame.select("phone", "country").rows(), start=2)]
    book = openpyxl.load_workbook(path)  # not read-only: the other openpyxl reader
    rows = list(book.worksheets[0].values)
    assert rows[0][:2] == ("phone", "country")
    return [(name, i, row[0] or "", row[1] or "") for i, row in enumerate(rows[1:], start=2)]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_readers_agree_row_for_row_with_a_reference_reader(generated: Any, layout: str) -> None:
    dump, truth = generated[layout]
    expected = _reference_rows(layout, dump)
    assert len(expected) == truth["rows"]
    assert _library_rows(dump) == expected


@pytest.mark.parametrize("layout", ["facebook", "pipe", "semicolon"])
def test_text_layouts_go_through_the_compiled_scan(generated: Any, monkeypatch: pytest.MonkeyPatch,
                                                   layout: str) -> None:
    """Colon text with ragged rows, pipes and semicolons are read by the scan (or Polars), never by the serial
    code."""
    from breachwatch.ingest import rows as rows_module

    def refuse(*args: Any) -> Any:
        raise AssertionError("the serial reader was used")

    monkeypatch.setattr(rows_module, "rows_of_lines", refuse)
    dump, truth = generated[layout]
    assert len(_library_rows(dump)) == truth["rows"]


def test_synth_command_writes_a_layout_and_its_truth(tmp_path: Path) -> None:
    out = tmp_path / "EG.txt"
    result = run_cli("synth", "--rows", "50", "--layout", "facebook", "--out", str(out), "--truth",
                     str(tmp_path / "t.json"), "--countries", "EG=1", home=tmp_path / "home", check=True)
    assert "wrote 50 rows" in result.stdout
    assert all(line.split(":")[0] for line in out.read_text().splitlines()[:5])
    bad = run_cli("synth", "--rows", "5", "--layout", "parquet", "--out", str(tmp_path / "x.csv"),
                  home=tmp_path / "home")
    assert bad.returncode != 0 and ".parquet" in bad.stderr and "Traceback" not in bad.stderr


def test_truncated_tar_gz_names_the_archive(generated: Any, tmp_path: Path) -> None:
    dump, _ = generated["tar.gz"]
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    result = run_cli("ingest", str(cut), "--breach", "T", home=tmp_path / "home")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert "\n" not in message and str(cut) in message and "truncated" in message, message


def test_hostile_archives_and_documents(services: Services, tmp_path: Path) -> None:
    nested = tmp_path / "nested.zip"
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("a.csv", "phone\n+201001234567\n")
    with zipfile.ZipFile(nested, "w") as z:
        z.write(inner, "inner.zip")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"1" * (64 << 20))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(inner.read_bytes()[:40])
    sql = tmp_path / "open.sql"
    sql.write_text("INSERT INTO t (phone) VALUES ('+201001234567'),('+2010\n" + "x\n" * 10)
    for dump, fragment in ((nested, "nested"), (bomb, "zip bomb"), (cut, "truncated"), (sql, "unterminated")):
        with pytest.raises(InputError) as caught:
            services.ingest(dump, IngestOptions(breach="H"))
        assert fragment in str(caught.value) and str(dump) in str(caught.value)


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_1_gb_json_string_is_refused_with_bounded_memory(services: Services, tmp_path: Path) -> None:
    doc = tmp_path / "huge.json"
    with open(doc, "wb") as f:  # streamed to disk: three records, then one whose string runs for 1 GB
        f.write(b'[{"phone": "+201001234567"}, {"phone": "+201001234568"}, {"phone": "+201001234569"},\n'
                b'{"phone": "+201001234570", "about": "')
        block = b"x" * (1 << 20)
        for _ in range(1024):
            f.write(block)
        f.write(b'"}]\n')
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
    start = _peak_kb()
    with pytest.raises(InputError) as caught:
        services.ingest(doc, IngestOptions(breach="J"))
    assert str(doc) in str(caught.value) and "longer than" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (_peak_kb() - start) * 1024 < 100 * 1024 * 1024
