"""Alembic environment: runs migrations on the engine handed over by breachwatch.catalog.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from breachwatch.catalog.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Several API nodes may start at once: one migrates, the others wait, then find nothing to do.
        connection.execute(text("select pg_advisory_lock(727274)"))
    try:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("select pg_advisory_unlock(727274)"))
            connection.commit()
