"""`breachwatch doctor` reports a healthy home as healthy, and finds corruption, missing segments and leftovers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.fixture
def loaded(home: Path, tmp_path: Path) -> Path:
    dump = tmp_path / "a.txt"
    dump.write_text("".join(f"+2010012345{i:02d}\n" for i in range(40)))
    run_cli("ingest", str(dump), "--breach", "A", home=home, check=True)
    return home


def _doctor(home: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = run_cli("doctor", "--json", *args, home=home)
    return result.returncode, json.loads(result.stdout)


def test_healthy_home(loaded: Path) -> None:
    code, report = _doctor(loaded)
    assert code == 0
    assert report["healthy"] is True and report["breaches_checked"] == 1 and report["numbers_checked"] == 40


def test_bit_flip_is_a_problem(loaded: Path) -> None:
    segment = next((loaded / "segments").iterdir())
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0x80
    segment.write_bytes(bytes(data))
    code, report = _doctor(loaded)
    assert code == 1
    assert any("corrupt" in p for p in report["problems"])  # type: ignore[union-attr]


def test_missing_segment_is_a_problem(loaded: Path) -> None:
    next((loaded / "segments").iterdir()).unlink()
    code, report = _doctor(loaded)
    assert code == 1 and any("missing" in p for p in report["problems"])  # type: ignore[union-attr]


def test_leftovers_are_listed_then_repaired(loaded: Path) -> None:
    (loaded / "segments" / "B-0123456789ab.seg.tmp").write_bytes(b"partial")
    (loaded / "work" / "ingest-deadbeef0000").mkdir()
    code, report = _doctor(loaded)
    assert code == 0 and len(report["leftovers"]) == 2  # type: ignore[arg-type]
    code, report = _doctor(loaded, "--repair")
    assert code == 0 and len(report["removed"]) == 2  # type: ignore[arg-type]
    assert _doctor(loaded)[1]["leftovers"] == []
