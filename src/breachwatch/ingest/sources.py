"""Opening a dump: plain or gzip (ISA-L where speed matters), its bytes decoded into numbered lines of bounded
length, and the line a damaged file fails on."""

from __future__ import annotations

import codecs
import gzip
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from isal import igzip, isal_zlib

from ..errors import InputError

MAX_LINE_CHARS = 1 << 20  # a dump line longer than 1 MiB is not a record of a phone number
#: Bytes of a dump's start its layout is sniffed from (a line of up to MAX_LINE_CHARS fits).
HEAD_BYTES = MAX_LINE_CHARS + 4


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


#: What reading a dump can raise besides decoding errors: I/O errors, a truncated or damaged gzip stream.
_ISAL_ERROR: type[BaseException] = isal_zlib.error  # type: ignore[assignment]  # a class (typed as an instance)
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, _ISAL_ERROR, tarfile.TarError,
                                                zipfile.BadZipFile)


def open_binary(path: Path, fast: bool = False) -> tuple[BinaryIO, BinaryIO]:
    """(stream of decompressed bytes, the raw file whose tell() gives progress). With `fast`, gzip is read
    with ISA-L (the gzip module's API, about 3x its speed, but it reads ahead past the end of a gzip member,
    so an error in a later member surfaces early: see `failing_line` for the exact line)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if is_gzip(path):
        if fast:
            return igzip.IGzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[no-untyped-call,return-value]
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def open_decompressed(stream: BinaryIO, fast: bool = True) -> tuple[BinaryIO, bool]:
    """(the bytes of `stream`, gunzipped when they are gzip, whether they were): for a dump that is a
    member of an archive, whose name cannot be trusted."""
    magic = stream.read(2)
    whole: BinaryIO = Chained(magic, stream)  # type: ignore[assignment]  # a raw byte stream
    if magic != b"\x1f\x8b":
        return whole, False
    if fast:
        return igzip.IGzipFile(fileobj=whole, mode="rb"), True  # type: ignore[no-untyped-call,return-value]
    return gzip.GzipFile(fileobj=whole, mode="rb"), True  # type: ignore[return-value]


class Chained(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        """Always."""
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into `target`: first the bytes already read, then from the stream."""
        if self._head.nbytes:
            size = min(len(target), self._head.nbytes)
            target[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Close the stream."""
        self._rest.close()
        super().close()


def position(raw: BinaryIO) -> int:
    """Bytes of the file on disk consumed so far (0 when the file cannot tell)."""
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


def failing_line(path: Path) -> int:
    """The line a read of `path` fails on (the first not wholly read), found by reading it again: a gzip
    stream is decompressed member by member with zlib, at most 64 KiB of output per call, so everything
    before the damage is counted."""
    if not is_gzip(path):
        stream, raw = open_binary(path)
        lines = 0
        try:
            while block := stream.read(1 << 16):
                lines += block.count(b"\n")
        except READ_ERRORS:
            pass
        finally:
            stream.close()
            raw.close()
        return lines + 1
    lines = 0
    with open(path, "rb") as raw:
        pending = b""
        decompressor = zlib.decompressobj(wbits=31)
        try:
            while True:
                if not pending:
                    pending = raw.read(1 << 16)
                    if not pending:
                        return lines + 1
                lines += decompressor.decompress(pending, 1 << 16).count(b"\n")
                pending = decompressor.unconsumed_tail
                if decompressor.eof:  # the next gzip member, if any
                    pending = decompressor.unused_data
                    decompressor = zlib.decompressobj(wbits=31)
        except zlib.error:
            return lines + 1


def encoding_label(encoding: str) -> str:
    """How errors name an encoding: "UTF-8" for every spelling of it (with or without BOM), else as given."""
    return "UTF-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf-8-sig", "utf8") else encoding


def is_utf8(encoding: str) -> bool:
    """Whether `encoding` is UTF-8 (with or without BOM), the encoding dumps can be cut into pieces in."""
    return encoding_label(encoding) == "UTF-8"


class LineSource(Protocol):
    """Numbered lines of a dump (or of a piece of it): `line` is the number of the last line given."""

    line: int

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""

    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far."""


class TextSource:
    """Decoded lines of a plain or gzip file, at most MAX_LINE_CHARS each, counted so errors name the line.

    UTF-8 (the default) is decoded line by line from the byte stream, so a decoding error names its exact
    line; other encodings go through a text decoder (lines can only be split after decoding)."""

    def __init__(self, path: Path, encoding: str, opened: tuple[BinaryIO, BinaryIO] | None = None,
                 line: int = 0) -> None:
        self.path = path
        self.encoding = encoding
        self._stream, self._raw = opened or open_binary(path)
        self._utf8 = is_utf8(encoding)
        self._bytes: IO[bytes] = io.BufferedReader(self._stream, 1 << 20)  # type: ignore[type-var]  # GzipFile and FileIO are raw-enough streams
        self._text: IO[str] | None = None
        if not self._utf8:
            self._text = io.TextIOWrapper(self._bytes, encoding=encoding, errors="strict", newline="")
        self.line = line

    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far."""
        return position(self._raw)

    def _next_line(self) -> str:
        if self._text is not None:
            return self._text.readline(MAX_LINE_CHARS + 1)
        raw = self._bytes.readline(MAX_LINE_CHARS + 1)
        if self.line == 0 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        return raw.decode("utf-8")

    def lines(self) -> Iterator[str]:
        """Lines with their newline; errors name the line."""
        while True:
            try:
                line = self._next_line()
            except UnicodeDecodeError as exc:
                raise InputError(str(self.path), f"not valid {encoding_label(self.encoding)} text ({exc.reason}); "
                                 "give the right one with --encoding", row=self.line + 1) from None
            except READ_ERRORS as exc:  # buffered reads run ahead: find the line itself
                raise InputError(str(self.path), f"cannot read: {exc}", row=max(self.line + 1, failing_line(
                    self.path))) from None
            if not line:
                return
            self.line += 1
            if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                raise InputError(str(self.path), f"line is longer than {MAX_LINE_CHARS} characters; "
                                 "this is not a dump of records", row=self.line)
            yield line

    def close(self) -> None:
        """Close the stream and the file."""
        (self._text or self._bytes).close()
        self._raw.close()
