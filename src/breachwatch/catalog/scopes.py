"""What an API key may be used for (a light module: the CLI offers the scopes as choices without loading the
catalog)."""

from __future__ import annotations

SCOPES: tuple[str, ...] = ("check", "private-check", "metrics", "admin", "organisation")
