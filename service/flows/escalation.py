"""Overdue actions escalate: an open action past its due time is flagged once, on the timeline,
for the leading HQ to chase. Run by the scheduler every ``escalation_interval_seconds``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Action
from models.base import utcnow
from service.plan.duties import OPEN_STATES
from service.store import feeds, idempotency, timeline
from service.store.batch import WriteBatch
from service.store.events import lock_event
from service.store.transactions import in_transaction


async def escalate_overdue(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Flag every open action past due and not yet escalated; returns how many.

    Event by event, each in a transaction of its own that takes the one lock order (the event,
    then its actions): the job never holds one event while waiting for another, and a storm's
    writers on an event wait for it, or it for them, but never in a circle. The UPDATE's
    ``escalated_at IS NULL`` makes the claim: two workers running this at once escalate each
    action exactly once.
    """
    async with sessions() as session:
        overdue = sorted(
            set(await session.scalars(select(Action.event_id).where(*_overdue(now)).distinct()))
        )
        await session.rollback()
    escalated = 0
    for event_id in overdue:

        async def escalate(session: AsyncSession, event_id: uuid.UUID = event_id) -> int:
            return await _escalate_event(session, event_id, now)

        escalated += await in_transaction(sessions, escalate)
    return escalated


def _overdue(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Action.state.in_(OPEN_STATES),
        Action.due_at < now,
        Action.escalated_at.is_(None),
    )


async def _escalate_event(session: AsyncSession, event_id: uuid.UUID, now: datetime) -> int:
    event = await lock_event(session, event_id)
    claimed = (
        await session.execute(
            update(Action)
            .where(Action.event_id == event_id, *_overdue(now))
            .values(escalated_at=now, updated_at=now)
            .returning(Action.id, Action.key, Action.agency, Action.clause, Action.due_at)
            .execution_options(synchronize_session=False)
        )
    ).all()
    await feeds.touch(session, {row.agency for row in claimed}, now)
    async with WriteBatch(session) as batch:
        for action_id, key, agency, clause, due_at in sorted(claimed, key=lambda row: row.key):
            timeline.record(
                batch,
                event,
                "action_overdue",
                None,
                f"{agency} has not completed {key}, due {due_at.isoformat()}: escalated",
                clause=clause,
                at=now,
                action_id=str(action_id),
                agency=agency,
            )
    return len(claimed)


# How often answers kept for an Idempotency-Key are looked at for expiry.
PRUNE_SECONDS: Final = 600


def start_scheduler(
    sessions: async_sessionmaker[AsyncSession], interval: float, idempotency_ttl: timedelta
) -> AsyncIOScheduler:
    """An asyncio scheduler running the escalation job every ``interval`` seconds (0: never), and
    deleting expired Idempotency-Key answers every ``PRUNE_SECONDS``."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def escalate() -> None:
        await escalate_overdue(sessions, utcnow())

    async def prune() -> None:
        await in_transaction(sessions, lambda s: idempotency.prune(s, utcnow(), idempotency_ttl))

    jobs = {"escalate-overdue": (escalate, interval), "prune-idempotency": (prune, PRUNE_SECONDS)}
    for name, (job, seconds) in jobs.items():
        if seconds <= 0:
            continue
        scheduler.add_job(job, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
