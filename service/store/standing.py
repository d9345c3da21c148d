"""The readiness register's rows (design § Standing duties): inserting tasks once per duty, unit
and period, and locking them.

Lock order. A standing task belongs to no event, and its writers take: an event first where they
act on one (a finding that raises a revision, service.flows.events.findings), then a task row
(``lock_task``), then the duty's raising lock (``lock_raising``), then the new rows. No writer
of a task holds a task row while it waits for an event, and the escalation takes task rows
alone, so no two writers wait on each other in a circle. On SQLite a write transaction holds
the one writer lock, and the order holds trivially.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import StandingTask
from models.base import table_of
from service.errors import NotFound, Said

TASKS: Final = table_of(StandingTask)
# The advisory lock space of the duties' raising ("st"), beside the grids' (service.store.events).
RAISING_LOCKS: Final = 0x7374


async def insert_new(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Insert ``rows`` (every column named) but those whose (key, agency, period) is taken
    already, in one statement; the rows inserted, as written. Two workers raising a year's
    duties at once insert each task once: the unique key decides, and the loser inserts none."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(TASKS)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["key", "agency", "period"])
        .returning(*TASKS.c)
    )
    return [dict(row) for row in (await session.execute(statement)).mappings()]


async def lock_raising(session: AsyncSession, key: str) -> None:
    """Hold the raising of duty ``key`` for this transaction: a writer that decides who gets a
    new task of it by who holds one open (a county's revision) decides alone. PostgreSQL only:
    on SQLite the writer lock admits one such transaction at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    number = zlib.crc32(key.encode()) - 2**31  # a signed 32-bit int, as the lock takes
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:space, :key)"),
        {"space": RAISING_LOCKS, "key": number},
    )


async def lock_task(
    session: AsyncSession, task_id: uuid.UUID, *where: ColumnElement[bool]
) -> StandingTask:
    """The task, locked for this transaction. ``where`` narrows the tasks the caller may know of
    (an agency: its own); one outside it does not exist for the caller (404, not 403)."""
    task = await session.scalar(
        select(StandingTask).where(StandingTask.id == task_id, *where).with_for_update()
    )
    if task is None:
        raise NotFound(Said("常备任务 {id} 不存在", id=task_id))
    return task
