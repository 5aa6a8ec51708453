"""The catalog: breaches and their metadata, in SQLite (default) or PostgreSQL, via SQLAlchemy Core.

`Catalog` is importable from here; it is loaded on first use (with every module that registers tables on the
shared metadata), so that importing a light module of this package (`scopes`) does not load SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Catalog

__all__ = ["Catalog"]


def __getattr__(name: str) -> object:
    if name == "Catalog":
        from . import (
            claim_store,  # noqa: F401 - registers the claim tables on the shared metadata
            keys,  # noqa: F401 - registers the api_keys table before any Catalog creates the schema
            notify_tables,  # noqa: F401 - registers the notification tables on the shared metadata
        )
        from .store import Catalog

        return Catalog
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
