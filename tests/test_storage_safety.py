"""The data directory never holds a number in clear; interrupted ingests leave no trace; segments are checked."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from breachwatch.errors import BreachExistsError, IndexCorruptError
from breachwatch.index import SegmentReader
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services
from tests.support.cli import SMALL_MIX, TEST_KEY, run_cli


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def test_no_number_in_clear_anywhere_in_the_data_directory(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth"))
    services.checker.check_many(list(dumps["csv"]["truth"]["numbers"])[:50])
    files = _all_bytes(services.config.home)
    assert any(p.suffix == ".seg" for p, _ in files)
    numbers = list(dumps["csv"]["truth"]["numbers"])
    # No number in clear, nor any 8-digit tail of one (a national form or a fragment long enough to identify it),
    # nor one as a little-endian 64-bit integer at any byte offset.
    tails = {e164[-8:].encode() for e164 in numbers}
    as_ints = np.array(sorted(int(e164[1:]) for e164 in numbers), dtype=np.uint64)
    for path, data in files:
        for run in re.findall(rb"[0-9]{8,}", data):
            found = [run[i:i + 8] for i in range(len(run) - 7) if run[i:i + 8] in tails]
            assert found == [], f"a number's last 8 digits {found[0]!r} in {path}"
        raw = np.frombuffer(data, dtype=np.uint8)
        for offset in range(8):
            usable = (len(raw) - offset) // 8 * 8
            words = raw[offset:offset + usable].view("<u8")
            assert not np.isin(words, as_ints).any(), f"a number as an integer in {path} (offset {offset} mod 8)"


def test_secret_key_file_is_private(tmp_path: Path) -> None:
    from breachwatch.config import load_config

    s = Services(load_config(environ={}, home=tmp_path / "h"))
    try:
        s.hasher  # noqa: B018 - creates the key
        key_file = tmp_path / "h" / "secret.key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    finally:
        s.close()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secret_key_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "secret.key").write_text("42" * 32 + "\n")
    os.chmod(home / "secret.key", mode)
    result = run_cli("check", "+201001234567", home=home, env={"BREACHWATCH_SECRET_KEY": ""})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"mode {mode:04o}" in result.stderr and "chmod 600" in result.stderr
    os.chmod(home / "secret.key", 0o600)
    assert run_cli("check", "+201001234567", home=home, env={"BREACHWATCH_SECRET_KEY": ""}).returncode == 0


def test_audit_files_are_private(services: Services, tmp_path: Path) -> None:
    audit = services.guard.audit
    assert audit is not None
    from breachwatch.guard.clients import ClientHasher

    client = ClientHasher(b"k" * 32).client(None, "203.0.113.9")
    audit.record_checks(client, ["+201001234567"], [1], "ok", time.time())
    audit.flush()
    (path,) = (services.config.home / "audit").glob("*.jsonl")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


def test_another_key_is_refused_not_silently_answering_not_found(services: Services, tmp_path: Path) -> None:

    dump = tmp_path / "a.txt"
    dump.write_text("+201001234567\n")
    services.ingest(dump, IngestOptions(breach="A"))
    other = Services(dataclasses.replace(services.config, secret_key="17" * 32))
    try:
        with pytest.raises(Exception, match="secret key"):
            other.checker.check("+201001234567")
    finally:
        other.close()


def test_reingest_is_refused_unless_replace(services: Services, tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("+201001234567\n")
    second.write_text("+447911123456\n")
    services.ingest(first, IngestOptions(breach="A"))
    with pytest.raises(BreachExistsError):
        services.ingest(second, IngestOptions(breach="A"))
    services.ingest(second, IngestOptions(breach="A", replace=True))
    assert not services.checker.check("+201001234567").found
    assert services.checker.check("+447911123456").found
    segments = list((services.config.home / "segments").iterdir())
    assert len(segments) == 1  # the replaced segment is gone


def _wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_ingest_leaves_nothing(home: Path, tmp_path: Path, sig: int) -> None:
    dump = tmp_path / "big.csv"
    synthesize(SynthOptions(rows=60_000, out=dump, seed=5, countries=SMALL_MIX))
    env = dict(os.environ, BREACHWATCH_SECRET_KEY=TEST_KEY, BREACHWATCH_BATCH_ROWS="2000")
    proc = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "--home", str(home), "ingest", str(dump),
                             "--breach", "Killed"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    work = home / "work"
    assert _wait_for(lambda: work.exists() and any(work.rglob("*.run")), 60), "ingest never started"
    time.sleep(0.3)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Traceback" not in stderr
    listing = run_cli("breaches", "--json", home=home, check=True)
    assert listing.stdout.strip() == "[]"
    assert not run_cli("check", "--json", "+201001234567", home=home).stdout.count('"found": true')
    # The next ingest clears whatever the killed one left behind.
    small = tmp_path / "small.txt"
    small.write_text("+201001234567\n")
    run_cli("ingest", str(small), "--breach", "Next", home=home, check=True)
    assert list(work.iterdir()) == []
    assert len(list((home / "segments").iterdir())) == 1


def test_failure_mid_file_leaves_nothing(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "late-error.csv"
    dump.write_bytes(b"phone\n" + b"+201001234567\n" * 30_000 + b"\xff\xfe\n")
    with pytest.raises(Exception, match="row 30002"):
        services.ingest(dump, IngestOptions(breach="Late"))
    assert services.catalog.list_breaches() == []
    assert list((services.config.home / "segments").iterdir()) == []
    assert list((services.config.home / "work").iterdir()) == []


def _segment(services: Services, tmp_path: Path) -> Path:
    dump = tmp_path / "a.txt"
    dump.write_text("".join(f"+2010012345{i:02d}\n" for i in range(60)))
    services.ingest(dump, IngestOptions(breach="A"))
    return next((services.config.home / "segments").iterdir())


def test_bit_flip_in_a_segment_is_refused(services: Services, tmp_path: Path) -> None:
    path = _segment(services, tmp_path)
    data = bytearray(path.read_bytes())
    data[200] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=r"corrupt|checksum"):
        SegmentReader(path, services.hasher.fingerprint)
    with pytest.raises(IndexCorruptError):
        services.checker.check("+201001234500")


def test_truncated_segment_is_refused(services: Services, tmp_path: Path) -> None:
    path = _segment(services, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(IndexCorruptError, match="truncated"):
        SegmentReader(path, services.hasher.fingerprint)
    env = {"BREACHWATCH_DATABASE_URL": services.config.database_url or ""}
    result = run_cli("check", "+201001234500", home=services.config.home, env=env)
    assert result.returncode == 1
    assert "truncated" in result.stderr and "Traceback" not in result.stderr


def test_segment_is_ten_bytes_per_number(services: Services, tmp_path: Path) -> None:
    path = _segment(services, tmp_path)
    reader = SegmentReader(path, services.hasher.fingerprint)
    assert reader.count == 60
    assert path.stat().st_size == 128 + 10 * 60
    assert bool(np.all(reader.hashes[1:] > reader.hashes[:-1]))  # sorted, unique
