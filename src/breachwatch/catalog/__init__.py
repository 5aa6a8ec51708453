"""The catalog: breaches and their metadata, in SQLite (default) or PostgreSQL, via SQLAlchemy Core."""

from .store import Catalog

__all__ = ["Catalog"]
