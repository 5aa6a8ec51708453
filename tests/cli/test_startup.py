"""`breachwatch --help` starts without the heavy libraries (numba, Polars, SQLAlchemy, libsodium, Starlette):
they are imported by the commands that use them. Checked by what a fresh interpreter has loaded, not by a clock.
The installed entry point is run as a real process here, since the process is the point."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numba", "polars", "numpy", "sqlalchemy", "alembic", "pysodium", "nacl", "starlette", "phonenumbers",
         "pyarrow", "dask", "distributed", "babel", "matplotlib")

_LOADED_AFTER_HELP = """
import json, sys
from breachwatch.cli import main
try:
    main(sys.argv[1:], prog_name="breachwatch")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["guard", "simulate", "--help"],
                                  ["keys", "create", "--help"], ["--version"]])
def test_help_loads_no_heavy_library_and_creates_no_data_directory(args: list[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = subprocess.run([sys.executable, "-c", _LOADED_AFTER_HELP, "--home", str(home), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "breachwatch" in result.stdout
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert loaded & set(HEAVY) == set()
    assert not home.exists()


def test_the_installed_entry_point_runs() -> None:
    entry = shutil.which("breachwatch") or str(Path(sys.executable).parent / "breachwatch")
    result = subprocess.run([entry, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("breachwatch, version ")
