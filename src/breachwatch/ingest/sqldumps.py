"""SQL dumps (`sql_rows`): the rows of MySQL and PostgreSQL `INSERT INTO t (cols) VALUES (...), (...);`
statements (quoted strings with escapes, NULLs, numbers) and PostgreSQL `COPY t (cols) FROM stdin;` blocks,
with column names from the INSERT's column list, the COPY's, or the table's preceding CREATE TABLE."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InputError

#: The most text one statement's unfinished row may hold before the dump is refused.
MAX_ROW_CHARS = 1 << 24

_NAME = r'(?:`[^`]+`|"[^"]+"|\[[^\]]+\]|[\w$.]+)'
_INSERT = re.compile(rf"\s*INSERT\s+(?:IGNORE\s+)?INTO\s+({_NAME})\s*(\(([^)]*)\))?\s*VALUES\s*", re.IGNORECASE)
_CREATE = re.compile(rf"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s*\(", re.IGNORECASE)
_COPY = re.compile(rf"\s*COPY\s+({_NAME})\s*(\(([^)]*)\))?\s+FROM\s+stdin", re.IGNORECASE)
_NOT_COLUMNS = ("primary", "key", "unique", "constraint", "index", "foreign", "check", "fulltext", "spatial", ")")
_VALUE = re.compile(r"""\s*(?:'((?:[^'\\]|\\.|'')*)'|(NULL)\b|([^,()'\s]+))\s*""", re.IGNORECASE | re.DOTALL)
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_COPY_ESCAPE = re.compile(r"\\(.)")


def unquote_name(name: str) -> str:
    """A table or column name without its quotes (and schema: public.users -> users)."""
    name = name.strip()
    if name[:1] in "`\"[":
        name = name[1:-1]
    return name.rsplit(".", 1)[-1].strip("`\"[]")


@dataclass(frozen=True)
class SqlRow:
    """One row of one table: the line it starts on, its column names (or None if the dump never says) and
    its values (None for NULL)."""

    table: str
    line: int
    columns: tuple[str, ...] | None
    values: tuple[str | None, ...]


def _unescape(text: str, backslashes: bool) -> str:
    text = text.replace("''", "'")
    if backslashes and "\\" in text:
        text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text, flags=re.DOTALL)
    return text


def sql_rows(name: str, lines: Iterator[str]) -> Iterator[SqlRow]:
    """Every row of every INSERT and COPY of the dump whose lines `lines` gives, in order; errors name the
    line (an unterminated string names the line it starts on)."""
    created: dict[str, tuple[str, ...]] = {}
    backslashes = True  # MySQL escapes; a PostgreSQL dump (standard_conforming_strings) does not
    number = 0
    pending: list[str] = []
    for line in lines:
        number += 1
        stripped = line.lstrip()
        if not pending:
            if not stripped or (stripped.startswith(("--", "#", "/*")) and not stripped.startswith("/*!")):
                if "pg_dump" in stripped or "PostgreSQL" in stripped:
                    backslashes = False
                continue
            if stripped.upper().startswith("SET STANDARD_CONFORMING_STRINGS"):
                backslashes = "off" in stripped.lower()
            create = _CREATE.match(line)
            if create:
                columns_made, more = _create_columns(line, lines)
                created[unquote_name(create.group(1))] = tuple(columns_made)
                number += more
                continue
            copy = _COPY.match(line)
            if copy:
                table = unquote_name(copy.group(1))
                columns = (tuple(unquote_name(c) for c in copy.group(3).split(",")) if copy.group(3)
                           else created.get(table))
                for data in lines:
                    number += 1
                    if data.rstrip("\r\n") == "\\.":
                        break
                    values = tuple(None if v == "\\N" else _COPY_ESCAPE.sub(
                        lambda m: _ESCAPES.get(m.group(1), m.group(1)), v) for v in data.rstrip("\r\n").split("\t"))
                    yield SqlRow(table, number, columns, values)
                else:
                    raise InputError(name, f"the COPY of {table} has no end marker (\\.)", row=number)
                continue
            if not _INSERT.match(line):
                continue
        pending.append(line)
        if sum(len(p) for p in pending) > MAX_ROW_CHARS:
            raise InputError(name, f"an INSERT statement holds a row of more than {MAX_ROW_CHARS} characters, or "
                             "a string that is never closed", row=number - len(pending) + 1)
        statement = "".join(pending)
        rows = _insert_rows(name, statement, number - len(pending) + 1, backslashes, created)
        if rows is None:
            continue  # the statement goes on on the next line
        pending = []
        yield from rows
    if pending:
        start = number - len(pending) + 1
        raise InputError(name, "unterminated string or statement at the end of the dump (the INSERT starting "
                         "here never ends)", row=start)


def _create_columns(first: str, lines: Iterator[str]) -> tuple[list[str], int]:
    """The column names of a CREATE TABLE starting on `first`, and how many more lines it took."""
    columns: list[str] = []
    text = first[first.index("(") + 1:]
    more = 0
    while True:
        for part in text.splitlines():
            word = part.strip().split(None, 1)[0] if part.strip() else ""
            if word and word.lower().strip("`\"") not in _NOT_COLUMNS and not word.startswith(")"):
                columns.append(unquote_name(word.rstrip(",")))
        if re.search(r"\)\s*[^,]*;\s*$", text):
            return columns, more
        text = next(lines, "")
        if not text:
            return columns, more
        more += 1


def _insert_rows(name: str, statement: str, line: int, backslashes: bool,
                 created: dict[str, tuple[str, ...]]) -> list[SqlRow] | None:
    """The rows of one whole INSERT statement, or None when it is not whole yet."""
    head = _INSERT.match(statement)
    assert head is not None
    table = unquote_name(head.group(1))
    columns = (tuple(unquote_name(c) for c in head.group(3).split(",")) if head.group(3) else created.get(table))
    pos = head.end()
    rows: list[SqlRow] = []
    size = len(statement)
    while True:
        while pos < size and statement[pos].isspace():
            pos += 1
        if pos >= size:
            return None
        if statement[pos] != "(":
            raise InputError(name, f"not a row of VALUES at {statement[pos:pos + 20]!r}",
                             row=line + statement.count("\n", 0, pos))
        row_line = line + statement.count("\n", 0, pos)
        pos += 1
        values: list[str | None] = []
        while True:
            match = _VALUE.match(statement, pos)
            if match is None or match.end() >= size:
                return None  # a string still open: more lines to come
            if match.group(1) is not None:
                values.append(_unescape(match.group(1), backslashes))
            elif match.group(2) is not None:
                values.append(None)
            else:
                values.append(match.group(3))
            pos = match.end()
            if statement[pos] == ",":
                pos += 1
                continue
            if statement[pos] == ")":
                pos += 1
                break
            if statement[pos] == "'":
                return None
            raise InputError(name, f"unreadable value at {statement[pos:pos + 20]!r}",
                             row=line + statement.count("\n", 0, pos))
        rows.append(SqlRow(table, row_line, columns, tuple(values)))
        while pos < size and statement[pos].isspace():
            pos += 1
        if pos >= size:
            return None
        if statement[pos] == ",":
            pos += 1
            continue
        if statement[pos] == ";":
            return rows
        raise InputError(name, f"unexpected {statement[pos:pos + 20]!r} after a row", row=row_line)
