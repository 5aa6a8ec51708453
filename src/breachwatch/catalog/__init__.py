"""The catalog: breaches and their metadata, in SQLite (default) or PostgreSQL, via SQLAlchemy Core."""

from . import (
    claim_store,  # noqa: F401 - registers the claim tables on the shared metadata
    keys,  # noqa: F401 - registers the api_keys table before any Catalog creates the schema
    notify_tables,  # noqa: F401 - registers the notification tables on the shared metadata
)
from .store import Catalog

__all__ = ["Catalog"]
