"""Command line: parse arguments, call one library function, format the result. No logic lives here.

The `main` group lives in cli/app.py; each module of this package adds the commands of one area."""

from __future__ import annotations

from . import (
    core,  # noqa: F401 - registers the core commands
    private,  # noqa: F401 - registers the private-check commands
    triage,  # noqa: F401 - registers triage, report, overlap
)
from .app import main

__all__ = ["main"]
