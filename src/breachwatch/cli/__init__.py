"""Command line: parse arguments, call one library function, format the result. No logic lives here.

The `main` group lives in cli/app.py; each module of this package adds the commands of one area."""

from __future__ import annotations

from . import claims, core, guard, keys, notify, private, serve, triage  # noqa: F401 - each registers its area's commands
from .app import main

__all__ = ["main"]
