"""JSON documents (`json_records`): a top-level array of records, or an object holding one, streamed with
ijson so memory stays bounded on a multi-GB file; a value longer than MAX_VALUE_BYTES is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from ..errors import InputError

#: The longest run of bytes without a quote a record's JSON may hold (one string, number or blank stretch).
MAX_VALUE_BYTES = 1 << 20


def records_prefix(head: bytes) -> str | None:
    """The ijson prefix of the records in a document whose first bytes are `head`: 'item' for a top-level
    array, 'key.item' for the first array (of objects) an object holds, None if none is seen."""
    try:
        for prefix, event, _ in ijson.parse(head):
            if event == "start_array":
                return f"{prefix}.item" if prefix else "item"
    except ijson.JSONError:
        return None
    return None


def json_records(name: str, stream: BinaryIO, prefix: str) -> Iterator[Any]:
    """The records at `prefix` of the JSON document `stream` gives, in order; errors name the record."""
    count = 0
    try:
        for record in ijson.items(_Bounded(name, stream), prefix):
            count += 1
            yield record
    except ijson.JSONError as exc:
        raise InputError(name, f"not valid JSON after record {count}: {exc}", row=count + 1) from None


class _Bounded:
    """The document's bytes, refusing a stretch of more than MAX_VALUE_BYTES bytes without a quote (a JSON
    string or number of that length is not a record of a phone number), so the parser never buffers it."""

    def __init__(self, name: str, stream: BinaryIO) -> None:
        self._name = name
        self._stream = stream
        self._since_quote = 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes."""
        if size == 0:
            return b""
        data = self._stream.read(size if size > 0 else 1 << 16)
        first = data.find(b'"')
        if first < 0:
            self._since_quote += len(data)
        else:
            if self._since_quote + first > MAX_VALUE_BYTES:
                self._refuse()
            self._since_quote = len(data) - data.rfind(b'"') - 1
        if self._since_quote > MAX_VALUE_BYTES:
            self._refuse()
        return data

    def _refuse(self) -> None:
        raise InputError(self._name, f"a JSON value is longer than {MAX_VALUE_BYTES} bytes; this is not a dump "
                         "of records")
