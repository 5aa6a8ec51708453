"""Dumps in the layouts leaks circulate in (colon text, pipes, archives, JSON documents, SQL dumps, Parquet, xlsx),
made from a generated dump with known truth, load exactly that truth."""

from __future__ import annotations

import csv
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from breachwatch.errors import InputError
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services

MIX = {"EG": 5, "GB": 3, "US": 2, "IT": 2}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], dict[str, Any]]:
    root = tmp_path_factory.mktemp("layouts")
    synthesize(SynthOptions(rows=1500, out=root / "d.csv", truth=root / "t.json", seed=11, countries=MIX))
    with open(root / "d.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows, json.loads((root / "t.json").read_text())


def _check(report: Any, truth: dict[str, Any]) -> None:
    assert report.rows == truth["rows"]
    assert report.unique_numbers == truth["unique_numbers"]
    assert report.rejected_by_reason == truth["rejected_by_reason"]
    assert report.countries == truth["countries"]


def _colon_line(row: dict[str, str]) -> str:
    # the 2021 layout: number first, no header, a date and time (with colons) in a later field
    return ":".join([row["phone"].replace(":", ""), row["country"], row["name"], "", "male",
                     "5/12/2018 12:00:00 AM" if len(row["phone"]) % 2 else "", row["email"], ""]) + "\n"


def test_pipe_with_header_and_semicolons(services: Services, generated: Any, tmp_path: Path) -> None:
    rows, truth = generated
    for sep, name in (("|", "pipe.txt"), (";", "semi.csv")):
        dump = tmp_path / name
        with open(dump, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter=sep, lineterminator="\n")
            writer.writerow(["phone", "country", "name"])
            writer.writerows([r["phone"], r["country"], r["name"]] for r in rows)
        _check(services.ingest(dump, IngestOptions(breach=f"P-{name}")), truth)


def test_archive_of_per_country_files_is_one_breach(services: Services, generated: Any, tmp_path: Path) -> None:
    rows, truth = generated
    by_country: dict[str, list[str]] = {}
    for i, r in enumerate(rows):
        by_country.setdefault(str(i % 3), []).append(r["phone"] + "," + r["country"] + "\n")
    for kind in ("zip", "tar.gz"):
        archive = tmp_path / f"leak.{kind}"
        if kind == "zip":
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                for part, lines in sorted(by_country.items()):
                    z.writestr(f"part{part}.csv", "phone,country\n" + "".join(lines))
        else:
            for part, lines in by_country.items():
                (tmp_path / f"part{part}.csv").write_text("phone,country\n" + "".join(lines))
            with tarfile.open(archive, "w:gz") as t:
                for part in sorted(by_country):
                    t.add(tmp_path / f"part{part}.csv", f"dir/part{part}.csv")
        report = services.ingest(archive, IngestOptions(breach=f"A-{kind.replace('.', '-')}"))
        assert len(report.files) == 3
        assert report.unique_numbers == truth["unique_numbers"]
        assert report.countries == truth["countries"]
        assert report.rejected_by_reason == truth["rejected_by_reason"]


def test_json_document_sql_parquet_xlsx(services: Services, generated: Any, tmp_path: Path) -> None:
    rows, truth = generated
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps({"users": [{"profile": {"mobile": r["phone"], "cc": r["country"]}} for r in rows]}))
    report = services.ingest(doc, IngestOptions(breach="J", phone_column="profile.mobile",
                                                country_column="profile.cc"))
    _check(report, truth)

    sql = tmp_path / "dump.sql"
    def quote(v: str) -> str:
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" if v else "NULL"
    body = ",".join(f"({i},{quote(r['phone'])},{quote(r['country'])},{quote(r['name'])})"
                    for i, r in enumerate(rows))
    sql.write_text("CREATE TABLE `users` (\n  `id` int,\n  `phone` varchar(64),\n  `country` char(2),\n"
                   f"  `name` text\n);\nINSERT INTO `users` VALUES {body};\n")
    _check(services.ingest(sql, IngestOptions(breach="S")), truth)

    frame = pl.DataFrame({"phone": [r["phone"] for r in rows], "country": [r["country"] for r in rows]})
    frame.write_parquet(tmp_path / "d.parquet")
    _check(services.ingest(tmp_path / "d.parquet", IngestOptions(breach="Q")), truth)


def test_colon_layout_reads_up_to_the_ragged_fields(services: Services, generated: Any, tmp_path: Path) -> None:
    rows, _ = generated
    dump = tmp_path / "Egypt.txt"
    dump.write_text("".join(_colon_line(r) for r in rows if ":" not in r["phone"] and r["phone"]))
    report = services.ingest(dump, IngestOptions(breach="FB"))
    assert report.format == "csv" and report.files[0]["delimiter"] == ":"
    assert any("fields" in note for note in report.notes)
    assert "Genders" in report.data_classes


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
