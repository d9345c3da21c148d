"""Apply the Alembic migrations: the only way the schema is made outside tests.

Every replica of the image runs ``db upgrade`` as it starts. On PostgreSQL the upgrade holds an
advisory lock on the connection Alembic migrates on, so replicas started together migrate one
at a time: the first brings the database to head, the others wait and then find nothing to do.
SQLite needs no lock: its single writer lock already serialises them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from service.bundled import migrations_dir
from service.config import Settings
from service.store.engine import make_engine

# One fixed key shared by every replica ("outage-m" as a bigint), unlikely to be another app's.
MIGRATION_LOCK_KEY = 0x6F75_7461_6765_2D6D


@dataclass(frozen=True, slots=True)
class Migration:
    """One Alembic revision: its id and the message it was made with (its docstring's first
    line)."""

    revision: str
    message: str


@dataclass(frozen=True, slots=True)
class Upgraded:
    """What an upgrade did, so the operator sees it: the migrations applied, oldest first, and
    the revision the database is at now (``head`` is the newest there is)."""

    applied: tuple[Migration, ...]
    current: str | None
    head: str | None


def alembic_config(settings: Settings, connection: Connection | None = None) -> Config:
    """Alembic's configuration; with ``connection``, env.py migrates on it instead of its own."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = settings.database_url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(settings: Settings, revision: str = "head") -> Upgraded:
    """Bring the database at ``settings.database_url`` up to ``revision``, one process at a time;
    say what was applied.

    The revisions applied are those between the database's revision before and after (Alembic
    reports none by itself), read under the lock and walked in the script directory.
    """
    if settings.is_sqlite:
        _ensure_sqlite_folder(settings.database_url)
    config = alembic_config(settings)
    before, after = asyncio.run(_upgrade(settings, revision))
    scripts = ScriptDirectory.from_config(config)
    applied = (
        []
        if after == before
        else [
            Migration(script.revision, script.doc)
            for script in scripts.iterate_revisions(after, before or "base")
        ]
    )
    return Upgraded(tuple(reversed(applied)), after, scripts.get_current_head())


async def _upgrade(settings: Settings, revision: str) -> tuple[str | None, str | None]:
    """The database's revision before and after the upgrade.

    The lock is a session lock, so it outlives the transactions Alembic begins and commits;
    it goes when the connection closes (dispose), however the upgrade ends.
    """
    engine = make_engine(settings)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_lock(:key)")
                await connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
                await connection.commit()
            before = await connection.run_sync(_revision)
            await connection.commit()
            await connection.run_sync(_run_alembic, settings, revision)
            await connection.commit()
            after = await connection.run_sync(_revision)
            await connection.commit()
            return before, after
    finally:
        await engine.dispose()


def _run_alembic(connection: Connection, settings: Settings, revision: str) -> None:
    command.upgrade(alembic_config(settings, connection), revision)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _ensure_sqlite_folder(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
