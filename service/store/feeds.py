"""Each agency's change counter: bumped with every change to its actions, read by its polls.

An agency polls often and its actions rarely change; comparing a counter read by primary key
answers "nothing new" (304) without looking at the actions at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import AgencyFeed
from models.base import table_of

FEEDS = table_of(AgencyFeed)


async def touch(session: AsyncSession, agencies: Iterable[str], now: datetime) -> None:
    """Bump the counters of ``agencies`` in the caller's transaction (one statement).

    Codes are taken in sorted order, so two transactions touching the same agencies lock their
    rows in the same order and cannot deadlock.
    """
    codes = sorted(set(agencies))
    if not codes:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(FEEDS).values(
        [{"agency": c, "version": 1, "changed_at": now} for c in codes]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[FEEDS.c.agency],
            set_={"version": FEEDS.c.version + 1, "changed_at": now},
        )
    )


async def version(reader: AsyncSession | AsyncConnection, agency: str) -> int:
    """The agency's counter; 0 before anything was ever dispatched to it."""
    found = await reader.scalar(select(FEEDS.c.version).where(FEEDS.c.agency == agency))
    return int(found or 0)
