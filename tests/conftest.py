"""Shared fixtures: an isolated data directory per test, and generated dumps with known ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from breachwatch.config import load_config
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services
from tests.support.backends import postgres_schema_url
from tests.support.cli import SMALL_MIX, TEST_KEY


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh, empty data directory."""
    return tmp_path / "home"


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, home: Path) -> Iterator[Services]:
    """Services on a fresh data directory with a fixed test key; the catalog on SQLite and on PostgreSQL."""
    environ = {"BREACHWATCH_SECRET_KEY": TEST_KEY}
    if request.param == "sqlite":
        s = Services(load_config(environ=environ, home=home))
        yield s
        s.close()
        return
    with postgres_schema_url() as url:
        s = Services(load_config(environ={**environ, "BREACHWATCH_DATABASE_URL": url}, home=home))
        yield s
        s.close()


@pytest.fixture(scope="session")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Small generated dumps in each format, with their truth (generated once per session)."""
    root = tmp_path_factory.mktemp("dumps")
    made: dict[str, Any] = {}
    for name, rows, seed in (("csv", 6000, 1), ("jsonl", 3000, 2), ("txt", 3000, 3), ("csv.gz", 3000, 4)):
        out = root / f"dump.{name}"
        truth = root / f"truth-{name}.json"
        synthesize(SynthOptions(rows=rows, out=out, truth=truth, seed=seed, countries=SMALL_MIX))
        made[name] = {"path": out, "truth": json.loads(truth.read_text())}
    return made
