"""DataHome names every path inside the data directory, at the places earlier versions used (a data directory
made by one version is read by the next), and settings that move a path are honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from breachwatch.config import load_config
from breachwatch.datahome import DataHome


def test_every_path_inside_home(tmp_path: Path) -> None:
    config = load_config(environ={}, home=tmp_path)
    home = DataHome(config)
    inside = {name: path for name, path in vars(home).items() if name not in ("root", "cache")}
    assert {name: path.relative_to(tmp_path).as_posix() for name, path in inside.items()} == {
        "segments": "segments", "catalog_file": "catalog.sqlite3", "secret_key_file": "secret.key", "work": "work",
        "ingest_lock_file": "ingest.lock", "uploads": "uploads", "private": "private", "private_parts": "private/parts",
        "private_work": "private/work", "audit": "audit", "mail": "mail", "sms_log": "sms.jsonl", "demo": "demo"}
    assert not home.cache.is_relative_to(tmp_path)  # derived public data, shared by every data directory
    assert config.segments_dir == home.segments
    assert config.catalog_url == f"sqlite:///{(tmp_path / 'catalog.sqlite3').resolve()}"


def test_the_shared_cache_is_outside_every_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first, second = (DataHome(load_config(environ={}, home=tmp_path / name)) for name in ("a", "b"))
    assert first.cache == second.cache == tmp_path / "xdg" / "breachwatch"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: a relative path is invalid
    assert DataHome(load_config(environ={}, home=tmp_path / "a")).cache == Path.home() / ".cache" / "breachwatch"
    chosen = load_config(environ={"BREACHWATCH_CACHE_DIR": str(tmp_path / "c")}, home=tmp_path / "a")
    assert DataHome(chosen).cache == tmp_path / "c"


def test_settings_that_move_a_path(tmp_path: Path) -> None:
    config = load_config(environ={"BREACHWATCH_SEGMENTS_DIR": str(tmp_path / "shared"),
                                  "BREACHWATCH_DATABASE_URL": "postgresql://db/breachwatch"}, home=tmp_path / "home")
    assert DataHome(config).segments == config.segments_dir == tmp_path / "shared"
    assert config.catalog_url == "postgresql://db/breachwatch"
