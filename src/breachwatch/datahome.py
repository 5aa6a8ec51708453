"""The data directory (BREACHWATCH_HOME): every path inside it, the ingest lock, and orphan cleanup."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class HomeSettings(Protocol):
    """The settings a data directory is laid out from (a Config has them; config.py asks DataHome for its
    default paths, so this module does not import it)."""

    @property
    def home(self) -> Path:
        """BREACHWATCH_HOME."""

    @property
    def segments_path(self) -> Path | None:
        """BREACHWATCH_SEGMENTS_DIR, when set."""

    @property
    def cache_path(self) -> Path | None:
        """BREACHWATCH_CACHE_DIR, when set."""


def shared_cache_dir(configured: Path | None = None) -> Path:
    """The directory of compiled tables shared by every data directory: BREACHWATCH_CACHE_DIR when set, else
    $XDG_CACHE_HOME/breachwatch, else ~/.cache/breachwatch (outside any HOME, so a new data directory pays
    nothing to set up)."""
    if configured is not None:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "breachwatch"


class DataHome:
    """Paths inside BREACHWATCH_HOME and the operations on them: the one place that names them."""

    def __init__(self, config: HomeSettings) -> None:
        self.root = Path(config.home)
        #: Index segment files (BREACHWATCH_SEGMENTS_DIR, e.g. read-only shared storage, else HOME/segments).
        self.segments = Path(config.segments_path) if config.segments_path else self.root / "segments"
        #: The catalog's SQLite file, when no database URL is set.
        self.catalog_file = self.root / "catalog.sqlite3"
        #: The master secret (0600), when BREACHWATCH_SECRET_KEY does not give it.
        self.secret_key_file = self.root / "secret.key"
        #: Ingest work files (one directory per ingest, removed after it).
        self.work = self.root / "work"
        #: Held by the one ingest running on this data directory.
        self.ingest_lock_file = self.root / "ingest.lock"
        #: Dumps uploaded for triage while they are read (private to the owner, deleted after).
        self.uploads = self.root / "uploads"
        #: Derived public data (compiled libphonenumber automata), safe to delete: outside HOME, shared by
        #: every data directory (see `shared_cache_dir`).
        self.cache = shared_cache_dir(config.cache_path)
        #: Private check: the served bucket file, each breach's part file under `private_parts`, and the
        #: checkpoints of a rebuild from a dump under `private_work`/BREACH.
        self.private = self.root / "private"
        self.private_parts = self.private / "parts"
        self.private_work = self.private / "work"
        #: The guard's audit log, unless BREACHWATCH_GUARD_AUDIT names another place.
        self.audit = self.root / "audit"
        #: Emails written as .eml files when no SMTP server is set.
        self.mail = self.root / "mail"
        #: Verification codes the console SMS backend appends (numbers masked).
        self.sms_log = self.root / "sms.jsonl"
        #: What `breachwatch demo` generates: a fake dump and its ground truth.
        self.demo = self.root / "demo"

    def ensure(self) -> None:
        """Create the directories that are missing, private to the owner (existing ones, such as read-only
        shared segment storage, are left as they are)."""
        for path in (self.root, self.segments, self.work):
            if not path.exists():
                path.mkdir(parents=True, exist_ok=True)
                os.chmod(path, 0o700)

    def new_segment_path(self, breach: str) -> Path:
        """A fresh, unique file name for a breach's segment."""
        return self.segments / f"{breach}-{uuid.uuid4().hex[:12]}.seg"

    def new_upload(self, suffix: str) -> tuple[int, str]:
        """A new file for an uploaded dump, created 0600 in HOME/uploads: (open descriptor, path)."""
        if not self.uploads.exists():
            self.uploads.mkdir(parents=True, exist_ok=True)
            os.chmod(self.uploads, 0o700)
        return tempfile.mkstemp(prefix="triage-", suffix=suffix, dir=self.uploads)

    def new_workdir(self) -> Path:
        """A fresh directory for an ingest's temporary files."""
        path = self.work / f"ingest-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    @contextlib.contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """Hold the exclusive ingest lock (one ingest per data directory at a time)."""
        self.ensure()
        with open(self.ingest_lock_file, "w") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def orphans(self, referenced: set[str]) -> list[Path]:
        """Segment files the catalog does not reference, and leftover work directories."""
        found: list[Path] = []
        if self.segments.exists():
            found += [p for p in sorted(self.segments.iterdir()) if p.name not in referenced]
        if self.work.exists():
            found += sorted(self.work.iterdir())
        return found

    def remove_orphans(self, referenced: set[str]) -> list[Path]:
        """Delete what orphans() lists; only safe while holding the ingest lock."""
        removed = self.orphans(referenced)
        for path in removed:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return removed
