"""The layouts `synth` writes a generated dump in (`LAYOUTS`): today's CSV/TSV/JSON lines/plain list by the
output's suffix, and the shapes leaks circulate in: the 2021 Facebook colon text, pipe- and semicolon-separated
text with a header, per-country files in a zip or tar.gz archive, a JSON array, MySQL and PostgreSQL dumps,
Parquet and xlsx. Each writer takes one row at a time (phone text, country hint, the other fields)."""

from __future__ import annotations

import csv
import gzip
import json
import random
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from ..models import DATA_CLASS_BITS

#: Column -> (data class, share of rows where it is filled), for the layouts with named columns.
COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("name", "Names", 0.85), ("about", "Bios", 0.6), ("email", "Email addresses", 0.2),
    ("device_model", "Device information", 0.5), ("os_version", "Device information", 0.5),
    ("profile_photo", "Profile photos", 0.4),
)
#: The Facebook layout's fields after the number, (data class or None, share filled). The account creation
#: time holds colons ("5/12/2018 12:00:00 AM"); ingest reads the fields up to it, so the fields from it on
#: count for no data class in the truth.
FACEBOOK_FIELDS: tuple[tuple[str, str | None, float], ...] = (
    ("fbid", "Account identifiers", 1.0), ("first_name", "Names", 0.9), ("last_name", "Names", 0.9),
    ("gender", "Genders", 0.8), ("city", "Geographic locations", 0.6),
    ("hometown", "Geographic locations", 0.5), ("relationship", "Relationship statuses", 0.4),
    ("workplace", "Employers", 0.3), ("created", None, 0.5), ("email", None, 0.15), ("birthday", None, 0.2),
)
_PLACES = ("Cairo, Egypt", "Alexandria, Egypt", "Rome, Italy", "Milan, Italy", "London, United Kingdom",
           "Houston, Texas", "Kuala Lumpur, Malaysia", "Singapore, Singapore", "Giza, Egypt")
_RELATIONSHIPS = ("Single", "Married", "Engaged", "In a relationship", "Divorced")
_EMPLOYERS = ("Vodafone Egypt Ltd", "Cairo University", "National Bank", "Acme Holding", "City Hospital",
              "Telecom Italia SpA", "Maybank Bhd", "Royal Mail Group")


@dataclass(frozen=True)
class Layout:
    """How a layout's rows look: its name, the suffixes its output may have, whether rows carry a country
    column (shapes that need a region hint only then), whether the phone text may hold a colon, whether an
    empty phone field is a row, and which fields count for which data class in the truth."""

    name: str
    suffixes: tuple[str, ...]
    hints: bool = True
    colons: bool = True
    empty_rows: bool = True
    #: "columns" (COLUMNS), "facebook" (FACEBOOK_FIELDS), "none" (a plain list)
    fields: str = "columns"
    #: Data classes every row has besides its fields' (an SQL table's id column).
    always: tuple[str, ...] = ()


LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("csv", (".csv", ".tsv", ".jsonl", ".txt", ".csv.gz", ".tsv.gz", ".jsonl.gz", ".txt.gz")),
    Layout("facebook", (".txt",), hints=False, colons=False, fields="facebook"),
    Layout("pipe", (".txt", ".csv", ".psv")),
    Layout("semicolon", (".csv", ".txt")),
    Layout("zip", (".zip",), hints=False, colons=False, fields="facebook"),
    Layout("tar.gz", (".tar.gz", ".tgz")),
    Layout("json-array", (".json",)),
    Layout("sql-mysql", (".sql",), always=("Account identifiers",)),
    Layout("sql-postgres", (".sql",), always=("Account identifiers",)),
    Layout("parquet", (".parquet",)),
    Layout("xlsx", (".xlsx",)),
)}


def layout_for(name: str, out: Path) -> Layout:
    """The layout `name` for the output `out` (a plain list for the csv layout's .txt); ValueError when the
    name is unknown or the output's suffix does not fit it."""
    layout = LAYOUTS.get(name)
    if layout is None:
        raise ValueError(f"unknown layout {name!r} (one of {', '.join(LAYOUTS)})")
    lowered = out.name.lower()
    if not lowered.endswith(layout.suffixes):
        raise ValueError(f"{out}: --out must end in {', '.join(layout.suffixes)} for the {name} layout")
    if name == "csv" and lowered.endswith((".txt", ".txt.gz")):
        return Layout("txt", layout.suffixes, hints=False, empty_rows=False, fields="none")
    return layout


def facebook_values(rng: random.Random, first: str, last: str, email: str) -> dict[str, str]:
    """The Facebook layout's fields of one row (each filled with its share), besides the number."""
    values = {
        "fbid": f"1000{rng.randrange(10 ** 11):011d}", "first_name": first, "last_name": last,
        "gender": rng.choice(("male", "female")), "city": rng.choice(_PLACES), "hometown": rng.choice(_PLACES),
        "relationship": rng.choice(_RELATIONSHIPS), "workplace": rng.choice(_EMPLOYERS),
        "created": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2009, 2019)} "
                   f"{rng.randint(1, 12)}:{rng.randrange(60):02d}:00 {rng.choice(('AM', 'PM'))}",
        "email": email, "birthday": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1950, 2004)}",
    }
    for field_name, _, share in FACEBOOK_FIELDS:
        if rng.random() >= share:
            values[field_name] = ""
    return values


def fields_mask(layout: Layout, values: dict[str, str]) -> int:
    """The data-class mask ingest should find for a row of `layout` whose other fields are `values`."""
    mask = 0
    if layout.fields == "none":
        return mask
    fields = ([(f, c) for f, c, _ in FACEBOOK_FIELDS] if layout.fields == "facebook"
              else [(f, c) for f, c, _ in COLUMNS])
    for field_name, data_class in fields:
        if data_class is not None and values.get(field_name):
            mask |= 1 << DATA_CLASS_BITS.index(data_class)
    for data_class in layout.always:
        mask |= 1 << DATA_CLASS_BITS.index(data_class)
    return mask


class RowWriter(Protocol):
    """Writes a dump one row at a time."""

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        """One row: phone text, country hint ('' for none), other fields, the number's region (None: junk)."""

    def close(self) -> None:
        """Finish the output."""


def open_writer(layout: Layout, out: Path, regions: list[str]) -> RowWriter:
    """A writer of `layout` to `out`; `regions` are the dump's regions, heaviest first (an archive's junk
    rows go into the heaviest region's file)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if layout.name in ("zip", "tar.gz"):
        return _PerCountryArchive(layout.name, out, regions[0])
    if layout.name == "parquet":
        return _TableWriter(out, "parquet")
    if layout.name == "xlsx":
        return _TableWriter(out, "xlsx")
    handle = _text(out)
    if layout.name in ("csv", "txt"):
        lowered = out.name.lower().removesuffix(".gz")
        kind = "txt" if lowered.endswith(".txt") else "jsonl" if lowered.endswith(".jsonl") else (
            "tsv" if lowered.endswith(".tsv") else "csv")
        if kind == "txt":
            return _TxtWriter(handle)
        if kind == "jsonl":
            return _JsonlWriter(handle)
        return _DelimitedWriter(handle, "\t" if kind == "tsv" else ",")
    if layout.name == "pipe":
        return _DelimitedWriter(handle, "|")
    if layout.name == "semicolon":
        return _DelimitedWriter(handle, ";")
    if layout.name == "facebook":
        return _FacebookWriter(handle)
    if layout.name == "json-array":
        return _JsonArrayWriter(handle)
    if layout.name == "sql-mysql":
        return _MysqlWriter(handle)
    return _PostgresWriter(handle)


def _text(out: Path) -> IO[str]:
    if out.name.lower().endswith(".gz"):
        return gzip.open(out, "wt", encoding="utf-8", newline="", compresslevel=1)
    return open(out, "w", encoding="utf-8", newline="")


def _csv_fields(text: str, hint: str, values: dict[str, str]) -> list[str]:
    return [text, hint, *[values[c] for c, _, _ in COLUMNS]]


HEADER = ["phone", "country", *[c for c, _, _ in COLUMNS]]


class _TxtWriter:
    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._handle.write(text + "\n")

    def close(self) -> None:
        self._handle.close()


def _json_record(text: str, hint: str, values: dict[str, str], phone_key: str = "phone") -> dict[str, Any]:
    return {"user": {phone_key: text, "name": values["name"], "about": values["about"], "email": values["email"],
                     "photo": values["profile_photo"]},
            "country": hint,
            "device": {"model": values["device_model"], "os_version": values["os_version"]}}


class _JsonlWriter(_TxtWriter):
    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._handle.write(json.dumps(_json_record(text, hint, values), ensure_ascii=False) + "\n")


class _DelimitedWriter(_TxtWriter):
    def __init__(self, handle: IO[str], delimiter: str) -> None:
        super().__init__(handle)
        self._writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(HEADER)

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._writer.writerow(_csv_fields(text, hint, values))


class _FacebookWriter(_TxtWriter):
    """MSISDN first, colon-separated, no header; the creation time holds colons itself."""

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._handle.write(":".join([text, *[values[f] for f, _, _ in FACEBOOK_FIELDS]]) + "\n")


class _JsonArrayWriter(_TxtWriter):
    """A top-level array of objects, the number at profile.mobile."""

    def __init__(self, handle: IO[str]) -> None:
        super().__init__(handle)
        self._first = True
        handle.write("[")

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        record = _json_record(text, hint, values, "mobile")
        record = {"profile": record["user"], "country": hint, "device": record["device"]}
        self._handle.write(("\n" if self._first else ",\n") + json.dumps(record, ensure_ascii=False))
        self._first = False

    def close(self) -> None:
        self._handle.write("\n]\n")
        super().close()


_SQL_COLUMNS = ("id", *HEADER)
_INSERT_ROWS = 250


def _mysql_quote(value: str) -> str:
    if not value:
        return "NULL"
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


class _MysqlWriter(_TxtWriter):
    """mysqldump's shape: CREATE TABLE, then multi-row INSERTs with backslash escapes; empty values are NULL."""

    def __init__(self, handle: IO[str]) -> None:
        super().__init__(handle)
        self._rows: list[str] = []
        self._id = 0
        columns = ",\n".join(f"  `{c}` {'int NOT NULL' if c == 'id' else 'varchar(255) DEFAULT NULL'}"
                             for c in _SQL_COLUMNS)
        handle.write("-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `users`;\n"
                     f"CREATE TABLE `users` (\n{columns},\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n"
                     "LOCK TABLES `users` WRITE;\n")

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._id += 1
        self._rows.append("(" + ",".join([str(self._id), *map(_mysql_quote, _csv_fields(text, hint, values))]) + ")")
        if len(self._rows) >= _INSERT_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            statement = "INSERT INTO `users` VALUES " + ",".join(self._rows)  # noqa: S608 - text of a dump file, never run
            self._handle.write(statement + ";\n")
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._handle.write("UNLOCK TABLES;\n")
        super().close()


def _copy_text(value: str) -> str:
    if not value:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _PostgresWriter(_TxtWriter):
    """pg_dump's shape: CREATE TABLE, then one COPY ... FROM stdin block; empty values are NULL (\\N)."""

    def __init__(self, handle: IO[str]) -> None:
        super().__init__(handle)
        self._id = 0
        columns = ",\n".join(f"    {c} {'integer NOT NULL' if c == 'id' else 'text'}" for c in _SQL_COLUMNS)
        handle.write("--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\n"
                     f"CREATE TABLE public.users (\n{columns}\n);\n\n"
                     f"COPY public.users ({', '.join(_SQL_COLUMNS)}) FROM stdin;\n")

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        self._id += 1
        self._handle.write("\t".join([str(self._id), *map(_copy_text, _csv_fields(text, hint, values))]) + "\n")

    def close(self) -> None:
        self._handle.write("\\.\n\n--\n-- PostgreSQL database dump complete\n--\n")
        super().close()


class _TableWriter:
    """Parquet (Polars) or xlsx (openpyxl, write-only): the CSV layout's columns, empty values as nulls."""

    def __init__(self, out: Path, kind: str) -> None:
        self._out = out
        self._kind = kind
        self._columns: dict[str, list[str | None]] = {c: [] for c in HEADER}
        self._book: Any = None
        if kind == "xlsx":
            import openpyxl  # type: ignore[import-untyped]  # only xlsx output loads it

            self._book = openpyxl.Workbook(write_only=True)
            self._sheet = self._book.create_sheet("users")
            self._sheet.append(HEADER)

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        cells = [v or None for v in _csv_fields(text, hint, values)]
        if self._book is not None:
            self._sheet.append(cells)
            return
        for column, cell in zip(HEADER, cells, strict=True):
            self._columns[column].append(cell)

    def close(self) -> None:
        if self._book is not None:
            self._book.save(self._out)
            return
        import polars as pl

        pl.DataFrame(self._columns, schema=dict.fromkeys(HEADER, pl.String)).write_parquet(self._out)


class _PerCountryArchive:
    """One file per region (zip: Facebook colon text, REGION.txt; tar.gz: JSON lines, REGION.jsonl) under a
    folder named after the archive, written to a temporary folder beside it, then packed; junk rows go into
    the heaviest region's file."""

    def __init__(self, kind: str, out: Path, junk_region: str) -> None:
        self._kind = kind
        self._out = out
        self._junk_region = junk_region
        self._folder = Path(tempfile.mkdtemp(prefix=".synth-", dir=out.parent))
        self._writers: dict[str, RowWriter] = {}
        self._stem = out.name.split(".")[0] or "dump"

    def write(self, text: str, hint: str, values: dict[str, str], region: str | None) -> None:
        region = region or self._junk_region
        writer = self._writers.get(region)
        if writer is None:
            suffix = ".txt" if self._kind == "zip" else ".jsonl"
            handle = open(self._folder / f"{region}{suffix}", "w", encoding="utf-8", newline="")  # noqa: SIM115
            writer = _FacebookWriter(handle) if self._kind == "zip" else _JsonlWriter(handle)
            self._writers[region] = writer
        writer.write(text, hint, values, region)

    def close(self) -> None:
        try:
            for writer in self._writers.values():
                writer.close()
            members = sorted(self._folder.iterdir())
            if self._kind == "zip":
                with zipfile.ZipFile(self._out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                    for member in members:
                        archive.write(member, f"{self._stem}/{member.name}")
            else:
                with tarfile.open(self._out, "w:gz", compresslevel=1) as archive:
                    for member in members:
                        archive.add(member, f"{self._stem}/{member.name}")
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
