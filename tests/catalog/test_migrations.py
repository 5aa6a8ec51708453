"""Alembic migrations build exactly the schema the code declares, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from breachwatch.catalog import Catalog
from breachwatch.catalog.migrate import current_revision, head_revision
from breachwatch.catalog.tables import metadata
from tests.support.backends import postgres_schema_url
from tests.support.cli import run_cli


def _assert_schema_matches(catalog: Catalog) -> None:
    with catalog.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diffs == []
    assert current_revision(catalog.engine) == head_revision()


def test_fresh_sqlite_is_migrated_to_head(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        _assert_schema_matches(catalog)
        Catalog(catalog.url).close()  # opening again is a no-op
    finally:
        catalog.close()


def test_postgresql_is_migrated_to_head() -> None:
    with postgres_schema_url() as url:
        catalog = Catalog(url)
        try:
            _assert_schema_matches(catalog)
        finally:
            catalog.close()


def test_db_commands(home: Path) -> None:
    result = run_cli("db", "upgrade", home=home, check=True)
    assert f"revision {head_revision()}" in result.stdout
    current = run_cli("db", "current", home=home, check=True)
    assert f"current {head_revision()}, newest {head_revision()}" in current.stdout


@pytest.mark.parametrize("revision", ["base"])
def test_downgrade_to_base_and_back(tmp_path: Path, revision: str) -> None:
    from alembic import command

    from breachwatch.catalog.migrate import alembic_config, upgrade

    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        command.downgrade(alembic_config(catalog.engine), revision)
        assert current_revision(catalog.engine) is None
        upgrade(catalog.engine)
        _assert_schema_matches(catalog)
    finally:
        catalog.close()
