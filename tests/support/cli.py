"""Running the `breachwatch` command in tests: in this process through click's runner (fast: no interpreter,
numba or Polars start-up per call), or as a real process where the process is the point (signals, kill -9,
the installed entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

TEST_KEY = "42" * 32
SMALL_MIX = {"EG": 45, "IT": 35.7, "US": 32, "GB": 11, "MY": 12, "SG": 3, "HK": 2.9, "CN": 0.67, "BE": 3.2,
             "SA": 5, "IN": 4, "BR": 3, "DE": 2, "FR": 2, "JP": 1, "AR": 1, "MX": 1, "CA": 1, "AU": 1,
             "NG": 1, "RU": 1, "AE": 1, "IR": 1}


@dataclass(frozen=True)
class CliOutcome:
    """What a run of the command left: its exit code and what it wrote on stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None, input: str | None = None,
            check: bool = False, process: bool = False) -> CliOutcome:
    """Run `breachwatch --home HOME ARGS…` with the test key: in this process, or as a real process with
    `process=True`. An exception that escapes the command counts as a crash: exit code 1, its traceback on
    stderr (as a real process would print it), so that tests asserting "no traceback" still see it."""
    full_env = {"BREACHWATCH_SECRET_KEY": TEST_KEY, **(env or {})}
    if process:
        proc = subprocess.run([sys.executable, "-m", "breachwatch.cli", "--home", str(home), *args],
                              capture_output=True, text=True, env={**os.environ, **full_env}, input=input,
                              timeout=600)
        outcome = CliOutcome(proc.returncode, proc.stdout, proc.stderr)
    else:
        from breachwatch.cli import main

        result = CliRunner().invoke(main, ["--home", str(home), *args], env=full_env, input=input,
                                    catch_exceptions=True)
        stderr = result.stderr
        crash = result.exception
        if crash is not None and not isinstance(crash, SystemExit):
            stderr += "".join(traceback.format_exception(crash))
        outcome = CliOutcome(result.exit_code, result.stdout, stderr)
    if check and outcome.returncode != 0:
        raise AssertionError(f"breachwatch {' '.join(args)} failed:\n{outcome.stdout}\n{outcome.stderr}")
    return outcome
