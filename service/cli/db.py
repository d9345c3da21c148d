"""``db upgrade``: the Alembic migrations the database lacks, applied and named."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group
from service.words import _

if TYPE_CHECKING:
    from service.config import Settings
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


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from service.store.migrate import upgrade

    print(said(upgrade(settings)))
    return 0


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
