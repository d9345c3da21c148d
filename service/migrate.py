"""Apply the Alembic migrations: the only way the schema is made outside tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from service.bundled import migrations_dir
from service.config import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = settings.database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database at ``settings.database_url`` up to ``revision``."""
    if settings.is_sqlite:
        _ensure_sqlite_folder(settings.database_url)
    command.upgrade(alembic_config(settings), revision)


def _ensure_sqlite_folder(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
