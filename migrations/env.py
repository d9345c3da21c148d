"""Alembic environment: async engine, batch mode on SQLite, the models' naming convention.

On SQLite the migrations run as SQLite says a schema change must
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
foreign keys off for the connection, before the transaction; then, after each migration,
``PRAGMA foreign_key_check`` must find no row whose parent is gone. Batch mode changes a table
by copying it, dropping the old one and renaming the copy; with foreign keys on, the drop
deletes every row that cascades from the table (0015's rebuild of ``outbox`` took every
delivery with it). A migration that means to remove children deletes them itself.

SQLite's DDL is transactional (the service's engine sends BEGIN itself, not the driver), so an
upgrade is one transaction there too, as on PostgreSQL: a migration refused leaves the database
at the revision it had.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy.engine import Connection

import models
from service.config import Settings
from service.store.engine import make_engine

config = context.config
target_metadata = models.Base.metadata


def _settings() -> Settings:
    url = config.attributes.get("database_url")
    return Settings(database_url=url) if url else Settings()


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys_off(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        transactional_ddl=True,
        on_version_apply=_check_foreign_keys if sqlite else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def _foreign_keys_off(connection: Connection) -> None:
    """``PRAGMA foreign_keys=OFF`` sent by the driver itself: through SQLAlchemy it would begin
    the transaction first (service.store.engine), where SQLite ignores the pragma. The
    connection is the migration's own and is closed after it; the service's connections turn
    foreign keys on as they open."""
    if connection.in_transaction():
        raise RuntimeError("migrate SQLite on a connection with no transaction open")
    cursor = connection.connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


def _check_foreign_keys(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """After each migration (Alembic's ``on_version_apply``), refuse one that left rows whose
    parent row is gone: the upgrade's transaction rolls back."""
    assert ctx.connection is not None
    broken = ctx.connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        found = ", ".join(sorted({f"{row[0]} → {row[2]}" for row in broken}))
        raise RuntimeError(
            f"after migration {', '.join(step.destination_revision_ids) or 'base'}: {len(broken)} "
            f"row(s) whose parent is gone ({found}); the upgrade is rolled back"
        )


async def _run_online() -> None:
    engine = make_engine(_settings())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_settings().is_sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif "connection" in config.attributes:
    # service.store.migrate's upgrade: the connection that holds its advisory lock.
    _configure(config.attributes["connection"])
else:
    asyncio.run(_run_online())
