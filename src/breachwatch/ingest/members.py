"""The files of one dump (`Member`): the paths given, the files under a directory, the members of a zip or tar
archive (plain, gzip, bzip2 or xz). Archive members are streamed, never written to disk; a nested archive is
refused, and so is a member that expands past the allowed ratio (a zip bomb)."""

from __future__ import annotations

import contextlib
import functools
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from .sources import READ_ERRORS, Chained, open_decompressed, position

#: Member names that are archives themselves (refused: a breach is read from one level of archive).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tbz2", ".txz", ".7z", ".rar", ".jar", ".tar.gz", ".tar.bz2",
                    ".tar.xz")
#: Bytes a member may expand to before the ratio limit applies (small files compress very well).
RATIO_FLOOR = 1 << 24
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SEVEN_Z = b"7z\xbc\xaf\x27\x1c"
_RAR = b"Rar!\x1a\x07"


@dataclass(frozen=True)
class Member:
    """One file of a dump: its name in errors (`archive.zip:inner/EG.txt` for an archive member), the file on
    disk that holds it, and that file's byte offset among all the dump's files on disk (for progress)."""

    name: str
    disk: str
    offset: int


@dataclass
class OpenMember:
    """An opened member: its (decompressed) bytes, and the file on disk whose position gives progress."""

    member: Member
    stream: BinaryIO
    raw: BinaryIO
    compressed: bool

    def bytes_read(self) -> int:
        """Bytes of all the dump's files on disk consumed so far."""
        return self.member.offset + position(self.raw)

    def progress_file(self) -> BinaryIO:
        """The file on disk, for its position only: closing this does not close it (the archive's next
        members are read from it)."""
        return _Position(self.raw)  # type: ignore[return-value]  # tell() and close() are all it is asked for


class _Position:
    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        """Leave the file open."""


def dump_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files on disk a dump is read from: each path given, the files under a directory (recursively, in
    name order, hidden files skipped); errors name the path."""
    if not paths:
        raise InputError("(no path)", "give at least one dump file, directory or archive")
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise InputError(str(path), "the directory holds no files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise InputError(str(path), "no such file")
    return files


def archive_kind(path: Path) -> str | None:
    """'zip' or 'tar' when the file is such an archive (by its content), else None; 7z and rar are refused."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGIC) and not path.name.lower().endswith(".xlsx"):
        return "zip"
    if head.startswith(_SEVEN_Z):
        raise InputError(str(path), "7z archives are not read (no maintained library streams their members "
                         "without extracting them); repack it as zip or tar.gz")
    if head.startswith(_RAR):
        raise InputError(str(path), "rar archives are not read; repack it as zip or tar.gz")
    if _is_tar(path):
        return "tar"
    return None


def _is_tar(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:*") as tar:
            return tar.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def open_members(paths: Sequence[str | os.PathLike[str]], max_ratio: float) -> Iterator[OpenMember]:
    """Every member of the dump, opened in turn (each closed when the next is asked for); archive members
    are streamed. Errors name the archive and member."""
    offset = 0
    for path in dump_files(paths):
        size = path.stat().st_size
        kind = archive_kind(path)
        if kind == "zip":
            yield from _zip_members(path, offset, max_ratio)
        elif kind == "tar":
            yield from _tar_members(path, offset, max_ratio)
        else:
            raw = open(path, "rb")  # noqa: SIM115 - closed below
            try:
                stream, compressed = open_decompressed(raw)
                yield OpenMember(Member(str(path), str(path), offset), stream, raw, compressed)
            finally:
                raw.close()
        offset += size


def _refuse_nested(name: str, head: bytes) -> None:
    lowered = name.lower()
    if lowered.endswith(ARCHIVE_SUFFIXES) or head.startswith((*_ZIP_MAGIC, _SEVEN_Z, _RAR)) or (
            len(head) > 262 and head[257:262] == b"ustar"):
        raise InputError(name, "is an archive inside the archive; nested archives are not read (extract it "
                         "and give its files)")


def _zip_members(path: Path, offset: int, max_ratio: float) -> Iterator[OpenMember]:
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        try:
            archive = zipfile.ZipFile(raw)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(str(path), f"the zip archive is truncated or damaged ({exc})") from None
        infos = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        if not infos:
            raise InputError(str(path), "the zip archive holds no files")
        for info in infos:
            name = f"{path}:{info.filename}"
            if info.flag_bits & 0x1:
                raise InputError(name, "the member is encrypted; decrypt the archive first")
            limit = max_ratio * max(info.compress_size, 1)
            if info.file_size > max(limit, RATIO_FLOOR):
                raise InputError(name, f"expands {info.file_size / max(info.compress_size, 1):.0f}-fold, past "
                                 f"the limit of {max_ratio:g} (archive_max_ratio): a zip bomb?")
            try:
                member = archive.open(info)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                raise InputError(name, f"cannot read the member: {exc}") from None
            yield from _opened(name, path, offset, member, raw,  # type: ignore[arg-type]
                               functools.partial(max, limit, RATIO_FLOOR))
    finally:
        raw.close()


def _tar_members(path: Path, offset: int, max_ratio: float) -> Iterator[OpenMember]:
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        try:
            archive = tarfile.open(fileobj=raw, mode="r|*")  # noqa: SIM115 - read to its end below
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InputError(str(path), f"the tar archive is truncated or damaged ({exc})") from None
        seen = 0
        while True:
            try:
                info = archive.next()
            except READ_ERRORS as exc:
                raise InputError(str(path), f"the tar archive is truncated or damaged ({exc})") from None
            if info is None:
                break
            if not info.isfile():
                continue
            seen += 1
            name = f"{path}:{info.name}"
            member = archive.extractfile(info)
            if member is None:
                continue
            yield from _opened(name, path, offset, member, raw,  # type: ignore[arg-type]
                               lambda: max(max_ratio * max(position(raw), 1), RATIO_FLOOR))
        if not seen:
            raise InputError(str(path), "the tar archive holds no files")
    finally:
        raw.close()


def _opened(name: str, disk: Path, offset: int, member: BinaryIO, raw: BinaryIO,
            allowed: Callable[[], float]) -> Iterator[OpenMember]:
    guarded: BinaryIO = _RatioGuard(name, member, allowed)  # type: ignore[assignment]  # a raw byte stream
    try:
        stream, compressed = open_decompressed(guarded)
        head = stream.read(512)
        _refuse_nested(name, head)
        again: BinaryIO = Chained(head, stream)  # type: ignore[assignment]
        yield OpenMember(Member(name, str(disk), offset), again, raw, compressed)
    except READ_ERRORS as exc:
        raise InputError(name, f"cannot read the member: the archive is truncated or damaged ({exc})") from None
    finally:
        with contextlib.suppress(*READ_ERRORS):
            member.close()


class _RatioGuard:
    """A member's bytes as read from the archive, stopping with an error once more come out than `allowed()`
    (the compressed bytes read so far, times the ratio limit)."""

    def __init__(self, name: str, stream: BinaryIO, allowed: Callable[[], float]) -> None:
        self._name = name
        self._stream = stream
        self._allowed = allowed
        self._out = 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the member."""
        data = self._stream.read(size if size is not None and size >= 0 else 1 << 20)
        self._out += len(data)
        if self._out > self._allowed():
            raise InputError(self._name, "expands past the limit of the archive_max_ratio setting (compressed "
                             "bytes read so far times the ratio): a zip bomb?")
        return data

    def readable(self) -> bool:
        """Always."""
        return True

    def close(self) -> None:
        """Close the member."""
        self._stream.close()
