"""Schema migrations with Alembic, configured in code (no alembic.ini): upgrade a catalog to the newest schema,
and make new revisions from the table definitions."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration bound to this engine's connection."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The revision the catalog is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision this build knows."""
    script = ScriptDirectory.from_config(alembic_config_without_engine())
    return script.get_current_head()


def alembic_config_without_engine() -> AlembicConfig:
    """A configuration for reading the revision scripts only."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the catalog's schema up to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def make_revision(engine: Engine, message: str) -> None:
    """Write a new revision script from the difference between the tables and the database (developers only)."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)
