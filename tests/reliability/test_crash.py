"""Crash safety: ingests killed with SIGKILL at random moments (several seeds). After each kill the catalog and
the index agree (`breachwatch doctor`), the breach is either absent or complete, and the next ingest succeeds."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from breachwatch.ingest.synth import SynthOptions, synthesize
from tests.support.cli import SMALL_MIX, TEST_KEY, run_cli


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "dump.csv"
    synthesize(SynthOptions(rows=40_000, out=path, seed=21, countries=SMALL_MIX))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kill_at_a_random_moment_leaves_a_consistent_home(dump: Path, tmp_path: Path, seed: int) -> None:
    home = tmp_path / "home"
    run_cli("ingest", str(dump), "--breach", "Before", home=home, check=True)  # an existing breach must survive
    env = dict(os.environ, BREACHWATCH_SECRET_KEY=TEST_KEY, BREACHWATCH_BATCH_ROWS="4000")
    proc = subprocess.Popen([sys.executable, "-m", "breachwatch.cli", "--home", str(home), "ingest", str(dump),
                             "--breach", "Killed"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(0.5, 6.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    doctor = run_cli("doctor", "--json", home=home)
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 0 and report["problems"] == [], report
    breaches = {b["name"]: b for b in json.loads(run_cli("breaches", "--json", home=home, check=True).stdout)}
    assert "Before" in breaches
    if "Killed" in breaches:  # the kill came after the commit: then it is complete
        assert breaches["Killed"]["pwn_count"] == breaches["Before"]["pwn_count"]
    run_cli("ingest", str(dump), "--breach", "Killed", "--replace", home=home, check=True)
    assert json.loads(run_cli("doctor", "--json", home=home).stdout)["leftovers"] == []
