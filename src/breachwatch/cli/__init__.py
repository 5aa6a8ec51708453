"""Command line: parse arguments, call one library function, format the result. No logic lives here.

The `main` group lives in cli/app.py; each module of this package adds the commands of one area."""

from __future__ import annotations

from . import (
    core,  # noqa: F401 - registers the core commands
    notify,  # noqa: F401 - registers notify and org commands
    private,  # noqa: F401 - registers the private-check commands
)
from .app import main

__all__ = ["main"]
