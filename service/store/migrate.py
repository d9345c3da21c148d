"""Apply the Alembic migrations: the only way the schema is made outside tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from service.config import PROJECT_ROOT, Settings
from service.store.engine import make_engine


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


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = settings.database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> Upgraded:
    """Bring the database at ``settings.database_url`` up to ``revision``; say what was applied.

    The revisions applied are those between the database's revision before and after (Alembic
    reports none by itself), walked in the script directory.
    """
    if settings.is_sqlite:
        _ensure_sqlite_folder(settings.database_url)
    config = alembic_config(settings)
    before = current_revision(settings)
    command.upgrade(config, revision)
    after = current_revision(settings)
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


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at; None when no migration has been applied."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def run() -> str | None:
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _ensure_sqlite_folder(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
