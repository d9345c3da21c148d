"""Overdue actions escalate: an open action past its due time is flagged once, on the timeline,
for the leading HQ to chase. Run by the scheduler every ``escalation_interval_seconds``."""

from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Action
from models.base import utcnow
from service.plan.duties import OPEN_STATES
from service.store import feeds, timeline
from service.store.batch import WriteBatch


async def escalate_overdue(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Flag every open action past due and not yet escalated; returns how many.

    The UPDATE … RETURNING claims the rows atomically, so two workers running this at once
    escalate each action exactly once.
    """
    async with sessions() as session:
        claimed = (
            await session.execute(
                update(Action)
                .where(
                    Action.state.in_(OPEN_STATES),
                    Action.due_at < now,
                    Action.escalated_at.is_(None),
                )
                .values(escalated_at=now, updated_at=now)
                .returning(
                    Action.id,
                    Action.event_id,
                    Action.key,
                    Action.agency,
                    Action.clause,
                    Action.due_at,
                )
                .execution_options(synchronize_session=False)
            )
        ).all()
        await feeds.touch(session, {row.agency for row in claimed}, now)
        async with WriteBatch(session) as batch:
            for action_id, event_id, key, agency, clause, due_at in claimed:
                timeline.record(
                    batch,
                    event_id,
                    "action_overdue",
                    None,
                    f"{agency} has not completed {key}, due {due_at.isoformat()}: escalated",
                    clause=clause,
                    at=now,
                    action_id=str(action_id),
                    agency=agency,
                )
        await session.commit()
    return len(claimed)


def start_scheduler(
    sessions: async_sessionmaker[AsyncSession], interval: float
) -> AsyncIOScheduler:
    """An asyncio scheduler running the escalation job every ``interval`` seconds."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def job() -> None:
        await escalate_overdue(sessions, utcnow())

    scheduler.add_job(
        job, "interval", seconds=interval, id="escalate-overdue", max_instances=1, coalesce=True
    )
    scheduler.start()
    return scheduler
