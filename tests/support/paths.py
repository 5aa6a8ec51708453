"""Where things are: the checkout, the tests' data files, and the folder tests leave artifacts in."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
ARTIFACTS = ROOT / "test-artifacts"
