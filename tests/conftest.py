"""Shared fixtures: an isolated data directory per test, and generated dumps with known ground truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends import postgres_schema_url
from breachwatch.config import load_config
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services

TEST_KEY = "42" * 32
SMALL_MIX = {"EG": 45, "IT": 35.7, "US": 32, "GB": 11, "MY": 12, "SG": 3, "HK": 2.9, "CN": 0.67, "BE": 3.2,
             "SA": 5, "IN": 4, "BR": 3, "DE": 2, "FR": 2, "JP": 1, "AR": 1, "MX": 1, "CA": 1, "AU": 1,
             "NG": 1, "RU": 1, "AE": 1, "IR": 1}


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


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None,
            input: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the real `breachwatch` command in a subprocess."""
    full_env = dict(os.environ)
    full_env["BREACHWATCH_SECRET_KEY"] = TEST_KEY
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-m", "breachwatch.cli", "--home", str(home), *args],
                            capture_output=True, text=True, env=full_env, input=input, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"breachwatch {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
