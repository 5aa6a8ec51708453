"""Sniffing a dump's layout (`DumpLayout`): its format (CSV, TSV, JSON lines, plain list), encoding,
delimiter and header, from its first lines, and which columns hold the numbers, countries and data classes
(`columns.py`)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import DATA_CLASS_BITS
from .columns import (
    detect_class_columns,
    detect_country_column,
    detect_phone_column,
    looks_like_number,
)
from .sources import READ_ERRORS, TextSource, encoding_label, is_gzip, open_binary

SAMPLE_ROWS = 1000
_SNIFF_BYTES = 1 << 16
_FORMATS = ("csv", "tsv", "jsonl", "txt")


@dataclass(frozen=True)
class DumpLayout:
    """How a dump is laid out: format, columns, which column holds numbers, countries and data classes."""

    path: str
    format: str
    compressed: bool
    encoding: str
    delimiter: str | None
    has_header: bool
    columns: tuple[str, ...]
    phone_column: str | None
    country_column: str | None
    class_columns: dict[str, str] = field(default_factory=dict)

    @property
    def data_classes(self) -> list[str]:
        """Data classes with a column in the dump, in canonical order."""
        present = set(self.class_columns.values())
        return [c for c in DATA_CLASS_BITS if c in present]


def _head(path: Path) -> bytes:
    stream, raw = open_binary(path)
    try:
        return stream.read(_SNIFF_BYTES)
    except READ_ERRORS as exc:
        raise InputError(str(path), f"cannot decompress: {exc}") from None
    finally:
        stream.close()
        raw.close()


def _check_text(path: Path, head: bytes, encoding: str | None) -> str:
    """The encoding to read with; refuses binary files and text that is not valid in it."""
    if not head.strip():
        raise InputError(str(path), "the file is empty")
    if encoding is None:
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(str(path), "the file is UTF-16 text; read it with --encoding utf-16", row=1)
        if b"\0" in head:
            raise InputError(str(path), "this is a binary file, not a text dump (NUL bytes in the first "
                             f"{len(head)} bytes)", row=head[: head.index(b"\0")].count(b"\n") + 1)
        encoding = "utf-8-sig"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(str(path), f"unknown encoding {encoding!r}") from None
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise InputError(str(path), f"not valid {encoding_label(encoding)} text (byte 0x{head[exc.start]:02x}); "
                         "give the right one with --encoding", row=line) from None
    return encoding


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "jsonl", ".txt": "txt", ".lst": "txt"}.get(ext)


def _format_from_content(first_lines: list[str]) -> str:
    sample = [ln for ln in first_lines if ln.strip()][:20]
    if sample and all(ln.lstrip().startswith("{") for ln in sample):
        return "jsonl"
    if sample and all("\t" in ln for ln in sample):
        return "tsv"
    if sample and all(any(d in ln for d in ",;|") for ln in sample):
        return "csv"
    return "txt"


def _delimiter(first_lines: list[str]) -> str:
    sample = [ln for ln in first_lines if ln.strip()][:50]
    best, best_score = ",", -1.0
    for d in (",", ";", "|", "\t"):
        counts = [ln.count(d) for ln in sample]
        if not counts or min(counts) == 0:
            continue
        score = min(counts) + (1.0 if len(set(counts)) == 1 else 0.0)
        if score > best_score:
            best, best_score = d, score
    return best


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """A JSON object flattened to {'a.b.c': text}; lists are joined, None becomes ''."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(flatten(value, name))
            elif isinstance(value, list):
                out[name] = " ".join("" if v is None else str(v) for v in value)
            elif value is None:
                out[name] = ""
            elif isinstance(value, bool):
                out[name] = str(value).lower()
            else:
                out[name] = str(value)
    return out


def sniff_layout(path: str | os.PathLike[str], *, phone_column: str | None = None,
                 country_column: str | None = None, encoding: str | None = None,
                 format: str | None = None) -> DumpLayout:
    """Work out how a dump is laid out; raises InputError naming the file when it cannot be read."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(p), "no such file")
    if p.is_dir():
        raise InputError(str(p), "is a directory, not a dump file")
    head = _head(p)
    enc = _check_text(p, head, encoding)
    compressed = is_gzip(p)
    source = TextSource(p, enc)
    try:
        first_lines = []
        for line in source.lines():
            first_lines.append(line)
            if len(first_lines) > SAMPLE_ROWS:
                break
    finally:
        source.close()
    if not any(ln.strip() for ln in first_lines):
        raise InputError(str(p), "the file is empty")
    fmt = format or _format_from_name(p) or _format_from_content(first_lines)
    if fmt not in _FORMATS:
        raise InputError(str(p), f"unknown format {fmt!r} (one of {', '.join(_FORMATS)})")
    if fmt == "txt":
        if phone_column:
            raise InputError(str(p), "a plain list has no columns; --phone-column does not apply")
        first = first_lines[0].strip()
        has_header = bool(first) and not any(ch.isdigit() for ch in first)
        return DumpLayout(str(p), fmt, compressed, enc, None, has_header, (), None, None, {})
    if fmt == "jsonl":
        return _sniff_jsonl(p, first_lines, compressed, enc, phone_column, country_column)
    delimiter = "\t" if fmt == "tsv" else _delimiter(first_lines)
    return _sniff_delimited(p, fmt, first_lines, compressed, enc, delimiter, phone_column, country_column)


def _sniff_delimited(p: Path, fmt: str, first_lines: list[str], compressed: bool, enc: str, delimiter: str,
                     phone_column: str | None, country_column: str | None) -> DumpLayout:
    try:
        records = list(csv.reader(io.StringIO("".join(first_lines)), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(str(p), f"not readable as {fmt.upper()}: {exc}", row=1) from None
    records = [r for r in records if any(c.strip() for c in r)]
    if not records:
        raise InputError(str(p), "the file is empty")
    has_header = not any(looks_like_number(c) for c in records[0])
    width = max(len(r) for r in records[: SAMPLE_ROWS + 1])
    if has_header:
        columns = tuple(c.strip() or f"col{i + 1}" for i, c in enumerate(records[0]))
        body = records[1:]
    else:
        columns = tuple(f"col{i + 1}" for i in range(width))
        body = records
    samples = {col: [r[i] if i < len(r) else "" for r in body] for i, col in enumerate(columns)}
    return _layout_from_samples(p, fmt, compressed, enc, delimiter, has_header, columns, samples,
                                phone_column, country_column)


def _sniff_jsonl(p: Path, first_lines: list[str], compressed: bool, enc: str, phone_column: str | None,
                 country_column: str | None) -> DumpLayout:
    rows: list[dict[str, str]] = []
    for line in first_lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            rows.append(flatten(obj))
    if not rows:
        raise InputError(str(p), "no JSON object found in the first lines; is this JSON lines?", row=1)
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    samples = {col: [r.get(col, "") for r in rows] for col in columns}
    return _layout_from_samples(p, "jsonl", compressed, enc, None, False, tuple(columns), samples,
                                phone_column, country_column)


def _layout_from_samples(p: Path, fmt: str, compressed: bool, enc: str, delimiter: str | None,
                         has_header: bool, columns: tuple[str, ...], samples: dict[str, list[str]],
                         phone_column: str | None, country_column: str | None) -> DumpLayout:
    listing = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    if phone_column is not None:
        if phone_column not in columns:
            raise InputError(str(p), f"no column {phone_column!r}; the columns are: {listing}")
        phone = phone_column
    else:
        detected = detect_phone_column(columns, samples)
        if detected is None:
            raise InputError(str(p), f"no column of phone numbers found; the columns are: {listing}. "
                             "Name it with --phone-column")
        phone = detected
    if country_column is not None:
        if country_column not in columns:
            raise InputError(str(p), f"no column {country_column!r}; the columns are: {listing}")
        country: str | None = country_column
    else:
        country = detect_country_column(columns, samples, exclude=phone)
    class_columns = detect_class_columns(columns, samples, exclude=(phone, country))
    return DumpLayout(str(p), fmt, compressed, enc, delimiter, has_header, columns, phone, country, class_columns)
