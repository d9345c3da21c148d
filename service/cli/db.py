"""``db upgrade``: the Alembic migrations the database lacks, applied and named. ``db backup``: a
consistent copy of a running SQLite service's database (service.store.backup)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings
    from service.store.backup import Backup
    from service.store.migrate import Upgraded


def register(commands: Commands) -> None:
    db = add_group(commands, "db", help="the database schema", description="The database schema.")
    upgrade = db.add_parser(
        "upgrade",
        help="apply the Alembic migrations, saying which",
        description="Apply the Alembic migrations the database at OUTAGE_DATABASE_URL lacks "
        "and say which were applied (or that none were needed).",
    )
    upgrade.set_defaults(handler=run_upgrade)
    backup = db.add_parser(
        "backup",
        help="copy the SQLite database, consistent, while the service runs",
        description="Copy the SQLite database at OUTAGE_DATABASE_URL to FILE with SQLite's "
        "online backup: the database as it was at one moment, taken while the service goes on "
        "writing, checked and written to FILE only when whole. Restore it by serving a fresh "
        "data folder with FILE as its database. PostgreSQL is refused: use pg_dump, or base "
        "backups with WAL archiving (docs/operations.md, Backups).",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where the copy goes")
    backup.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (refused otherwise)"
    )
    backup.set_defaults(handler=run_backup)


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from service.store.migrate import upgrade

    print(said(upgrade(settings)))
    return 0


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from service.store.backup import back_up_sqlite

    print(backed_up(back_up_sqlite(settings, args.file, replace=args.force)))
    return 0


def backed_up(done: Backup) -> str:
    """``已将 var/coordinator.db 备份到 /backup/1207.db：1204 页，4931584 字节，完整性检查通过``."""
    return _(
        "已将 {source} 备份到 {target}：{pages} 页，{size} 字节，完整性检查通过",
        source=str(done.source),
        target=str(done.target),
        pages=done.pages,
        size=done.size,
    )


def said(done: Upgraded) -> str:
    """``applied 0001 foundation, 0002 …; now at 0003 (head)``, or that nothing was needed."""
    at = (
        _("{revision}（最新）", revision=done.current)
        if done.current == done.head
        else str(done.current)
    )
    if not done.applied:
        return _("数据库已在 {at}，无需迁移", at=at)
    applied = _("、").join(f"{m.revision} {m.message}" for m in done.applied)
    return _("已执行迁移 {applied}；现在在 {at}", applied=applied, at=at)
