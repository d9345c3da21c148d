"""``db upgrade``: the Alembic migrations the database lacks, applied and named."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from service.cli.parsing import Commands, add_group

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
    at = f"{done.current} (head)" if done.current == done.head else str(done.current)
    if not done.applied:
        return f"already at {at}; nothing to apply"
    return f"applied {', '.join(f'{m.revision} {m.message}' for m in done.applied)}; now at {at}"
